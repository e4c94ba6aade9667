/*
 * SMTP sandbox: a real SMTP server on 127.0.0.1, no TLS, any credentials (or none) accepted. It records
 * every message it takes, and every refusal, in a SandboxRecorder (channel 'email').
 *
 * Magic addresses (any domain, case-insensitive; a +tag is allowed, as in bounce+42@example.com):
 *   bounce@…       550 5.1.1 at RCPT TO: no such mailbox (the address is dead)
 *   full@…         452 4.2.2 at RCPT TO: mailbox full (try again later)
 *   reject-data@…  554 5.6.0 at the end of DATA: message refused (permanent)
 *   slow@…         RCPT TO answered only after `slowMs` (5 s unless set), for client timeouts
 * Any other address is accepted. Tests script more with failNext() and setRecipientFailure(); those win
 * over the magic addresses.
 */
// smtp-server and mailparser are loaded when a sandbox starts (start()): a process whose channels have
// their own providers, or no email role, never loads them.
import type { SMTPServer, SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { ParsedMail } from 'mailparser';
import { FaultInjector, LOST_ANSWER, type Fault } from '../faults';
import { SandboxRecorder, type SandboxRecord } from '../recorder';

export type SmtpStage = 'rcpt' | 'data';

interface Failure {
  code: number;
  message: string;
  stage: SmtpStage;
}

const MAGIC: { pattern: RegExp; failure: Failure }[] = [
  { pattern: /^bounce(\+.*)?@/i, failure: { stage: 'rcpt', code: 550, message: '5.1.1 Mailbox does not exist' } },
  { pattern: /^full(\+.*)?@/i, failure: { stage: 'rcpt', code: 452, message: '4.2.2 Mailbox full' } },
  { pattern: /^reject-data(\+.*)?@/i, failure: { stage: 'data', code: 554, message: '5.6.0 Message refused' } },
];
const FAULT_ERROR: Failure = { stage: 'rcpt', code: 451, message: '4.3.0 Temporary failure (fault injected)' };
const FAULT_TIMEOUT: Failure = { stage: 'rcpt', code: 421, message: '4.4.2 Timeout (fault injected)' };
const SLOW = /^slow(\+.*)?@/i;
const DEFAULT_SLOW_MS = 5000;
const MAX_MESSAGES = 1000;
// how long stop() lets clients that are still connected finish before cutting them off
const CLOSE_TIMEOUT_MS = 1000;

export interface SmtpSandboxOptions {
  /** 0 (default) picks a free port */
  port?: number;
  /** shared with the other sandboxes of the process; a private one by default */
  recorder?: SandboxRecorder;
  /** how long slow@ addresses wait for their RCPT TO answer */
  slowMs?: number;
}

export class SmtpSandbox {
  /**
   * random 451s, RCPT TO answers held past the client's timeout, and messages taken whose answer
   * to the end of DATA is held past it (lost answers), for chaos tests
   */
  readonly faults = new FaultInjector();
  /**
   * transactions (a session's envelope, new at each MAIL FROM) whose answer to the end of DATA is to
   * be lost: decided at RCPT TO, with the other faults
   */
  private readonly losing = new WeakMap<object, Extract<Fault, { kind: 'lostAnswer' }>>();
  private readonly server: SMTPServer;
  private readonly parse: (stream: SMTPServerDataStream) => Promise<ParsedMail>;
  private readonly received: SandboxRecord[] = [];
  private readonly scripted: (Failure & { remaining: number })[] = [];
  private readonly byRecipient = new Map<string, Failure>();
  private readonly slowTimers = new Set<NodeJS.Timeout>();
  private port = 0;

  private constructor(
    private readonly recorder: SandboxRecorder,
    private readonly slowMs: number,
    libraries: { SMTPServer: typeof SMTPServer; simpleParser: (stream: SMTPServerDataStream) => Promise<ParsedMail> },
  ) {
    this.parse = libraries.simpleParser;
    this.server = new libraries.SMTPServer({
      logger: false,
      hideSTARTTLS: true,
      authOptional: true,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      closeTimeout: CLOSE_TIMEOUT_MS,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'sandbox' }),
      onRcptTo: (address, session, callback) => this.onRcptTo(address, session, callback),
      onData: (stream, session, callback) => {
        this.onData(stream, session).then(
          () => callback(),
          (err: Error) => callback(err),
        );
      },
    });
    // A client hanging up mid-session is reported here; the server lives on.
    this.server.on('error', () => undefined);
  }

  static async start(options: SmtpSandboxOptions = {}): Promise<SmtpSandbox> {
    const [{ SMTPServer }, { simpleParser }] = await Promise.all([import('smtp-server'), import('mailparser')]);
    const sandbox = new SmtpSandbox(options.recorder ?? new SandboxRecorder(), options.slowMs ?? DEFAULT_SLOW_MS, {
      SMTPServer,
      simpleParser: (stream) => simpleParser(stream),
    });
    await new Promise<void>((resolve, reject) => {
      sandbox.server.server.once('error', reject);
      sandbox.server.listen(options.port ?? 0, '127.0.0.1', () => {
        sandbox.server.server.off('error', reject);
        resolve();
      });
    });
    const address = sandbox.server.server.address();
    sandbox.port = typeof address === 'object' && address ? address.port : 0;
    return sandbox;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.slowTimers) clearTimeout(timer);
    this.slowTimers.clear();
    this.faults.release();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `count` messages are refused with `code`: at RCPT TO (each recipient counts) or at the end of DATA. */
  failNext(count: number, code: number, message = 'Refused by the sandbox', stage: SmtpStage = 'rcpt'): void {
    this.scripted.push({ remaining: count, code, message, stage });
  }

  setRecipientFailure(address: string, code: number, message: string, stage: SmtpStage): void {
    this.byRecipient.set(address.toLowerCase(), { code, message, stage });
  }

  clearFailures(): void {
    this.scripted.length = 0;
    this.byRecipient.clear();
  }

  /** What this sandbox received or refused, newest first. */
  messages(): SandboxRecord[] {
    return [...this.received];
  }

  reset(): void {
    this.clearFailures();
    this.received.length = 0;
  }

  private onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error) => void): void {
    const fault = this.faults.next();
    if (fault?.kind === 'timeout') {
      // By the time 421 (closing) goes out, a client with a shorter socket timeout has given up.
      void this.faults.hold(fault.ms).then(() => callback(smtpError(FAULT_TIMEOUT)));
      return;
    }
    if (fault?.kind === 'lostAnswer') this.losing.set(session.envelope, fault);
    const failure =
      (fault?.kind === 'error' ? FAULT_ERROR : undefined) ??
      this.takeScripted('rcpt') ??
      this.failureFor(address.address, 'rcpt');
    if (failure) {
      this.record({
        to: address.address,
        summary: `refused at RCPT TO (${failure.code})`,
        outcome: 'rejected',
        error: { code: String(failure.code), message: failure.message },
        detail: { from: envelopeFrom(session), stage: 'rcpt' },
      });
      return callback(smtpError(failure));
    }
    if (!SLOW.test(address.address)) return callback();
    const timer = setTimeout(() => {
      this.slowTimers.delete(timer);
      callback();
    }, this.slowMs);
    this.slowTimers.add(timer);
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const parsed = await this.parse(stream);
    const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
    const failure =
      this.takeScripted('data') ??
      recipients.map((to) => this.failureFor(to, 'data')).find((found) => found !== undefined);
    const lost = failure ? undefined : this.losing.get(session.envelope);
    const detail = {
      ...messageDetail(parsed),
      envelopeFrom: envelopeFrom(session),
      ...(lost && { fault: LOST_ANSWER }),
    };
    for (const to of recipients) {
      this.record({
        to,
        summary: parsed.subject ?? '',
        outcome: failure ? 'rejected' : 'accepted',
        error: failure && { code: String(failure.code), message: failure.message },
        detail,
      });
    }
    if (failure) throw smtpError(failure);
    if (lost) {
      // Taken (recorded above), but the 250 comes only after the client's timeout: it never learns.
      this.losing.delete(session.envelope);
      await this.faults.hold(lost.ms);
      throw smtpError(FAULT_TIMEOUT);
    }
  }

  private takeScripted(stage: SmtpStage): Failure | undefined {
    const next = this.scripted.find((failure) => failure.stage === stage);
    if (!next) return undefined;
    if (--next.remaining <= 0) this.scripted.splice(this.scripted.indexOf(next), 1);
    return next;
  }

  private failureFor(address: string, stage: SmtpStage): Failure | undefined {
    const failure = this.byRecipient.get(address.toLowerCase()) ?? MAGIC.find((m) => m.pattern.test(address))?.failure;
    return failure?.stage === stage ? failure : undefined;
  }

  private record(record: Omit<SandboxRecord, 'id' | 'at' | 'channel'>): void {
    this.received.unshift(this.recorder.add({ channel: 'email', ...record }));
    if (this.received.length > MAX_MESSAGES) this.received.length = MAX_MESSAGES;
  }
}

/** smtp-server replies with the error's message, under its responseCode. */
function smtpError(failure: Failure): Error {
  return Object.assign(new Error(failure.message), { responseCode: failure.code });
}

function envelopeFrom(session: SMTPServerSession): string | undefined {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
}

function messageDetail(parsed: ParsedMail): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of parsed.headers) {
    if (name.startsWith('x-') && typeof value === 'string') headers[name] = value;
  }
  return {
    from: parsed.from?.text,
    subject: parsed.subject,
    html: parsed.html || undefined,
    text: parsed.text,
    messageId: parsed.messageId,
    headers,
  };
}
