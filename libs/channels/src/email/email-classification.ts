import type { SendOutcome, SendResult } from '../provider';

/** The parts of a nodemailer error that decide its outcome. */
export interface SmtpFailure {
  /** the server's reply code, when it answered (nodemailer's `responseCode`) */
  reply?: number;
  /** the RFC 3463 enhanced status at the start of the reply text, e.g. '5.1.1' */
  status?: string;
  /** the command in flight: 'RCPT TO', 'DATA', 'MAIL FROM', 'AUTH PLAIN', 'CONN', 'API' */
  command?: string;
  /** nodemailer's code (EENVELOPE, EMESSAGE, EAUTH, ESOCKET…) and the system code it replaced (ECONNREFUSED…) */
  codes: string[];
}

export interface SmtpRule {
  when: string;
  outcome: Exclude<SendOutcome, 'ok'>;
  matches(failure: SmtpFailure): boolean;
}

const NETWORK_CODES = new Set([
  'ECONNECTION',
  'ESOCKET',
  'ETIMEDOUT',
  'EDNS',
  'ETLS',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const replyClass = (f: SmtpFailure): number | undefined =>
  f.reply === undefined ? undefined : Math.floor(f.reply / 100);
const onRcpt = (f: SmtpFailure): boolean => f.command === 'RCPT TO' && replyClass(f) === 5;

/** First match wins. The spec tests every row. */
export const SMTP_ERROR_TABLE: readonly SmtpRule[] = [
  {
    when: '4xx reply (421, 450, 451, 452, 454…): the server asks to come back later',
    outcome: 'retryable',
    matches: (f) => replyClass(f) === 4,
  },
  {
    // nodemailer does not count 503 as permanent either: the same message goes through on a fresh session
    when: '503 bad sequence of commands: the session was out of step, the message was not judged',
    outcome: 'retryable',
    matches: (f) => f.reply === 503,
  },
  {
    // e.g. 550 5.7.1 relaying denied: blaming the address would suppress a subscriber for our own sending problem
    when: '5xx on RCPT TO with a 5.7.x status: refused by policy (relay denied, blocked sender), not a dead address',
    outcome: 'permanent',
    matches: (f) => onRcpt(f) && f.status?.startsWith('5.7.') === true,
  },
  {
    when: '5xx on RCPT TO with a 5.1.x status: bad mailbox, domain or address syntax',
    outcome: 'bad_address',
    matches: (f) => onRcpt(f) && f.status?.startsWith('5.1.') === true,
  },
  {
    when: '550, 551, 553 on RCPT TO: mailbox unavailable, not local, name not allowed',
    outcome: 'bad_address',
    matches: (f) => onRcpt(f) && [550, 551, 553].includes(f.reply!),
  },
  {
    when: 'any other 5xx (552 too large, 554 on RCPT TO or DATA, 535 credentials refused…)',
    outcome: 'permanent',
    matches: (f) => replyClass(f) === 5,
  },
  {
    when: 'EAUTH, ENOAUTH: credentials missing or not accepted, a misconfiguration',
    outcome: 'permanent',
    matches: (f) => f.codes.includes('EAUTH') || f.codes.includes('ENOAUTH'),
  },
  {
    when: 'EMESSAGE without a reply: refused by nodemailer itself (over the SIZE the server advertises, empty)',
    outcome: 'permanent',
    matches: (f) => f.reply === undefined && f.codes.includes('EMESSAGE'),
  },
  {
    when: 'network: ECONNECTION, ESOCKET, ETIMEDOUT, ECONNREFUSED, EDNS, ETLS…',
    outcome: 'retryable',
    matches: (f) => f.codes.some((code) => NETWORK_CODES.has(code)),
  },
  {
    when: 'anything else',
    outcome: 'retryable',
    matches: () => true,
  },
];

interface ErrorFields {
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
}

const MAX_MESSAGE = 200;

function fields(err: unknown): ErrorFields {
  return err !== null && typeof err === 'object' ? (err as ErrorFields) : { message: String(err) };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

export function smtpFailure(err: unknown): SmtpFailure {
  const e = fields(err);
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  return {
    reply,
    status: reply === undefined ? undefined : text(e.response)?.match(/^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/)?.[1],
    command: text(e.command),
    codes: [text(e.code), text(e.originalCode)].filter((code) => code !== undefined),
  };
}

/** The server's reply when there is one (it says more than nodemailer's wrapper), on one line, without URL credentials. */
function describe(e: ErrorFields): string {
  const raw = text(e.response) ?? text(e.message) ?? 'unknown error';
  const clean = raw
    .replace(/\/\/[^/@\s]*@/g, '//')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
}

/**
 * nodemailer error → SendResult. `code` is the SMTP reply code when the server answered, else the most
 * specific error code (ECONNREFUSED rather than the ESOCKET nodemailer wraps it in).
 */
export function classifySmtpError(err: unknown): SendResult {
  const e = fields(err);
  const failure = smtpFailure(err);
  const { outcome } = SMTP_ERROR_TABLE.find((rule) => rule.matches(failure))!;
  const code = failure.reply !== undefined ? String(failure.reply) : (text(e.originalCode) ?? text(e.code));
  return { outcome, code, message: describe(e) };
}
