import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { OutboundDelivery } from '@herald/channels';
import { EmailProvider } from '../../../libs/channels/src/email/email.provider';
import { SmtpSandbox } from '../../../libs/sandbox/src/smtp';

// The real EmailProvider (real nodemailer, pooled) against the SMTP sandbox: every row of the
// classification table that a server can produce.
describe('EmailProvider against the SMTP sandbox', () => {
  let sandbox: SmtpSandbox;
  let provider: EmailProvider;

  const delivery = (): OutboundDelivery => ({ id: randomUUID(), tenantId: 't1', eventId: randomUUID(), attempt: 1 });
  const send = (to: string, subject = 'Hello') => provider.send(delivery(), { to, subject, html: '<p>Hi</p>' });

  beforeAll(async () => {
    sandbox = await SmtpSandbox.start();
  });
  afterAll(async () => {
    await sandbox.stop();
  });
  // A fresh pool per test: nodemailer requeues by itself a message whose reused connection fails before
  // sending, which would hide the server's answer from the row being tested.
  beforeEach(() => {
    sandbox.reset();
    provider = new EmailProvider({ smtpUrl: sandbox.url, from: 'Herald <noreply@herald.test>' });
  });
  afterEach(async () => {
    await provider.close();
  });

  it('sends html with a text part derived from it, the delivery id as Message-ID and header', async () => {
    const d = delivery();
    const result = await provider.send(d, {
      to: 'ada@example.com',
      subject: 'Your order shipped',
      html: '<h1>Shipped</h1><p>Order <b>42</b> is on its way.</p>',
    });

    expect(result).toEqual({ outcome: 'ok', providerMessageId: `<${d.id}@herald>` });
    const [record] = sandbox.messages();
    expect(record).toMatchObject({ channel: 'email', to: 'ada@example.com', summary: 'Your order shipped' });
    expect(record.outcome).toBe('accepted');
    expect(record.detail).toMatchObject({
      from: '"Herald" <noreply@herald.test>',
      subject: 'Your order shipped',
      html: '<h1>Shipped</h1><p>Order <b>42</b> is on its way.</p>',
      text: expect.stringMatching(/^SHIPPED\s+Order 42 is on its way\.$/),
      messageId: `<${d.id}@herald>`,
      headers: { 'x-herald-delivery-id': d.id },
    });
  });

  it('keeps a text part that is given', async () => {
    await provider.send(delivery(), { to: 'ada@example.com', subject: 's', html: '<p>html</p>', text: 'plain' });
    expect(sandbox.messages()[0].detail.text).toBe('plain');
  });

  it('logs in with whatever credentials the URL carries', async () => {
    await provider.close();
    provider = new EmailProvider({ smtpUrl: sandbox.url.replace('//', '//user:pass@'), from: 'noreply@herald.test' });
    expect((await send('ada@example.com')).outcome).toBe('ok');
  });

  it('550 at RCPT TO (bounce@) → bad_address', async () => {
    const result = await send('bounce+1@example.com');
    expect(result).toMatchObject({ outcome: 'bad_address', code: '550', message: '550 5.1.1 Mailbox does not exist' });
    expect(sandbox.messages()[0]).toMatchObject({
      to: 'bounce+1@example.com',
      outcome: 'rejected',
      error: { code: '550', message: '5.1.1 Mailbox does not exist' },
    });
  });

  it('452 at RCPT TO (full@) → retryable', async () => {
    expect(await send('full@example.com')).toMatchObject({ outcome: 'retryable', code: '452' });
  });

  it('554 at the end of DATA (reject-data@) → permanent, the refused message recorded', async () => {
    expect(await send('reject-data@example.com', 'Refused')).toMatchObject({ outcome: 'permanent', code: '554' });
    expect(sandbox.messages()[0]).toMatchObject({
      to: 'reject-data@example.com',
      summary: 'Refused',
      outcome: 'rejected',
    });
  });

  it('550 at DATA is about the content → permanent, not bad_address', async () => {
    sandbox.setRecipientFailure('ada@example.com', 550, 'Looks like spam', 'data');
    expect(await send('ada@example.com')).toMatchObject({ outcome: 'permanent', code: '550' });
  });

  it('421 → retryable', async () => {
    sandbox.failNext(1, 421, 'Closing');
    expect(await send('ada@example.com')).toMatchObject({ outcome: 'retryable', code: '421' });
  });

  it('failNext refuses the next message only', async () => {
    sandbox.failNext(1, 451, 'Try later');
    expect(await send('ada@example.com')).toMatchObject({ outcome: 'retryable', code: '451' });
    expect(await send('ada@example.com')).toMatchObject({ outcome: 'ok' });
    expect(sandbox.messages().map((m) => m.outcome)).toEqual(['accepted', 'rejected']);
  });

  it('some recipients refused, others not → bad_address with the message id', async () => {
    const result = await send('ada@example.com, bounce@example.com');
    expect(result).toMatchObject({ outcome: 'bad_address', code: '550', providerMessageId: expect.any(String) });
    expect(sandbox.messages().map((m) => [m.to, m.outcome])).toEqual([
      ['ada@example.com', 'accepted'],
      ['bounce@example.com', 'rejected'],
    ]);
  });

  it('a server that does not answer (slow@) → retryable ETIMEDOUT', async () => {
    await provider.close();
    provider = new EmailProvider({ smtpUrl: `${sandbox.url}?socketTimeout=200`, from: 'noreply@herald.test' });
    expect(await send('slow@example.com')).toMatchObject({ outcome: 'retryable', code: 'ETIMEDOUT' });
  });

  it('connection refused → retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    await provider.close();
    provider = new EmailProvider({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'noreply@herald.test' });

    expect(await send('ada@example.com')).toMatchObject({ outcome: 'retryable', code: 'ECONNREFUSED' });
  });
});
