import { classifySmtpError, smtpFailure, SMTP_ERROR_TABLE } from './email-classification';

/** Shaped like the errors nodemailer 10's smtp-connection builds (see its _formatError). */
function smtpError(code: string, command: string, responseCode?: number, response?: string, originalCode?: string) {
  const fields = { code, command, responseCode, response, originalCode };
  return Object.assign(new Error(response ? `Failed: ${response}` : 'Failed'), fields);
}

const rcpt = (reply: number, response: string) => smtpError('EENVELOPE', 'RCPT TO', reply, response);
const data = (reply: number, response: string) => smtpError('EMESSAGE', 'DATA', reply, response);
const auth = (reply?: number, response?: string) => smtpError('EAUTH', 'AUTH PLAIN', reply, response);
const conn = (code: string, originalCode?: string) => smtpError(code, 'CONN', undefined, undefined, originalCode);

const cases: [name: string, err: unknown, outcome: string, code: string | undefined][] = [
  ['421 closing the connection', smtpError('ECONNECTION', 'CONN', 421, '421 4.4.2 Bye'), 'retryable', '421'],
  ['450 mailbox busy on RCPT', rcpt(450, '450 4.2.1 Try later'), 'retryable', '450'],
  ['451 local error on DATA', data(451, '451 4.3.0 Local error'), 'retryable', '451'],
  ['452 mailbox full on RCPT', rcpt(452, '452 4.2.2 Mailbox full'), 'retryable', '452'],
  ['454 temporary auth failure', auth(454, '454 4.7.0 Try later'), 'retryable', '454'],
  ['503 bad sequence', smtpError('EENVELOPE', 'DATA', 503, '503 5.5.1 Bad sequence'), 'retryable', '503'],
  ['550 5.7.1 relaying denied on RCPT', rcpt(550, '550 5.7.1 Relaying denied'), 'permanent', '550'],
  ['554 5.1.1 on RCPT', rcpt(554, '554 5.1.1 No such user'), 'bad_address', '554'],
  ['501 5.1.3 bad address syntax on RCPT', rcpt(501, '501 5.1.3 Bad address syntax'), 'bad_address', '501'],
  ['550 on RCPT', rcpt(550, '550 Mailbox unavailable'), 'bad_address', '550'],
  ['550 5.2.1 mailbox disabled on RCPT', rcpt(550, '550-5.2.1 Disabled\n550 5.2.1 for good'), 'bad_address', '550'],
  ['551 on RCPT', rcpt(551, '551 User not local'), 'bad_address', '551'],
  ['553 on RCPT', rcpt(553, '553 Mailbox name not allowed'), 'bad_address', '553'],
  ['554 on RCPT without a status', rcpt(554, '554 Transaction failed'), 'permanent', '554'],
  ['552 too large on DATA', data(552, '552 5.3.4 Too big'), 'permanent', '552'],
  ['554 on DATA', data(554, '554 5.6.0 Refused'), 'permanent', '554'],
  ['550 on DATA: the content, not the address', data(550, '550 Spam'), 'permanent', '550'],
  ['550 on MAIL FROM', smtpError('EENVELOPE', 'MAIL FROM', 550, '550 Sender rejected'), 'permanent', '550'],
  ['535 credentials refused', auth(535, '535 5.7.8 Authentication failed'), 'permanent', '535'],
  ['EAUTH without a reply', auth(), 'permanent', 'EAUTH'],
  ['ENOAUTH', smtpError('ENOAUTH', 'API'), 'permanent', 'ENOAUTH'],
  ['EMESSAGE over the advertised SIZE', smtpError('EMESSAGE', 'MAIL FROM'), 'permanent', 'EMESSAGE'],
  ['ECONNECTION', conn('ECONNECTION'), 'retryable', 'ECONNECTION'],
  ['ESOCKET wrapping ECONNREFUSED', conn('ESOCKET', 'ECONNREFUSED'), 'retryable', 'ECONNREFUSED'],
  ['ETIMEDOUT', conn('ETIMEDOUT'), 'retryable', 'ETIMEDOUT'],
  ['a bare ECONNREFUSED', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'retryable', 'ECONNREFUSED'],
  ['EDNS wrapping ENOTFOUND', conn('EDNS', 'ENOTFOUND'), 'retryable', 'ENOTFOUND'],
  ['ETLS', conn('ETLS'), 'retryable', 'ETLS'],
  ['an unknown code', smtpError('ESTREAM', 'API'), 'retryable', 'ESTREAM'],
  ['a thrown string', 'boom', 'retryable', undefined],
];

describe('classifySmtpError', () => {
  it.each(cases)('%s → %s', (_name, err, outcome, code) => {
    const result = classifySmtpError(err);
    expect(result.outcome).toBe(outcome);
    expect(result.code).toBe(code);
  });

  it('every row of the table is exercised by a case above', () => {
    const hit = new Set(cases.map(([, err]) => SMTP_ERROR_TABLE.find((rule) => rule.matches(smtpFailure(err)))));
    expect(SMTP_ERROR_TABLE.filter((rule) => !hit.has(rule)).map((rule) => rule.when)).toEqual([]);
  });

  it("reports the server's reply on one line", () => {
    const { message } = classifySmtpError(rcpt(550, '550-5.1.1 No such user\r\n550 5.1.1 here'));
    expect(message).toBe('550-5.1.1 No such user 550 5.1.1 here');
  });

  it('strips credentials from URLs and caps the length', () => {
    const err = conn('ESOCKET');
    err.message = `cannot reach smtp://alice:s3cret@mail.example.com:587 ${'x'.repeat(400)}`;
    const { message } = classifySmtpError(err);
    expect(message).not.toContain('s3cret');
    expect(message).toMatch(/^cannot reach smtp:\/\/mail\.example\.com:587 x+…$/);
    expect(message!.length).toBe(200);
  });
});
