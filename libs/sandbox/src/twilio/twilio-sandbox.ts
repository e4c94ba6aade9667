/**
 * A local stand-in for Twilio's Messages API, answered by the real `twilio` SDK pointed at `url`.
 *
 * Magic recipient numbers, after Twilio's own test credentials (any other number is accepted):
 *
 *   To              HTTP  Twilio code  meaning
 *   +15005550001    400   21211        invalid 'To' phone number
 *   +15005550002    400   21612        Twilio cannot route to this number
 *   +15005550003    400   21408        permission to send to this region not enabled
 *   +15005550004    400   21610        recipient opted out (unsubscribed / blacklisted)
 *   +15005550009    400   21614        'To' number is not a mobile number
 *   +15005550429    429   20429        Too Many Requests, with Retry-After: 1
 *   +15005550500    500   20500        Internal Server Error
 *
 * Wrong Basic-auth credentials answer 401 with code 20003, as Twilio does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { FaultInjector, LOST_ANSWER } from '../faults';
import { SandboxRecorder } from '../recorder';

/** The sender number Herald uses against the sandbox (Twilio's magic "valid" From number). */
export const TWILIO_SANDBOX_FROM = '+15005550006';

export interface TwilioSandboxOptions {
  port?: number;
  recorder?: SandboxRecorder;
  accountSid?: string;
  /** default: a random one for this instance */
  authToken?: string;
  /** fire 'sent' then 'delivered' status callbacks after each accepted message */
  autoCallbacks?: boolean;
}

/** A Twilio API error as the legacy JSON body carries it. */
export interface TwilioFailure {
  status: number;
  code: number;
  message: string;
  /** sent as the Retry-After header */
  retryAfterSeconds?: number;
}

export type SandboxSmsStatus = 'queued' | 'accepted' | 'sent' | 'delivered' | 'undelivered' | 'failed';
export type CallbackStatus = 'sent' | 'delivered' | 'undelivered' | 'failed';

/** A message the sandbox accepted. */
export interface SandboxSms {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  status: SandboxSmsStatus;
  dateCreated: Date;
}

const API_VERSION = '2010-04-01';
const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
const DEFAULT_ACCOUNT_SID = 'ACsandbox' + '0'.repeat(25);

const MAGIC_NUMBERS: Readonly<Record<string, (to: string) => TwilioFailure>> = {
  '+15005550001': (to) => ({ status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` }),
  '+15005550002': (to) => ({
    status: 400,
    code: 21612,
    message: `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number via SMS.`,
  }),
  '+15005550003': (to) => ({
    status: 400,
    code: 21408,
    message: `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
  }),
  '+15005550004': () => ({ status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' }),
  '+15005550009': () => ({ status: 400, code: 21614, message: "'To' number is not a valid mobile number" }),
  '+15005550429': () => ({ status: 429, code: 20429, message: 'Too Many Requests', retryAfterSeconds: 1 }),
  '+15005550500': () => ({ status: 500, code: 20500, message: 'Internal Server Error' }),
};

export class TwilioSandbox {
  readonly recorder: SandboxRecorder;
  readonly accountSid: string;
  readonly authToken: string;
  /** random 503s, unanswered requests and lost answers, for chaos tests */
  readonly faults = new FaultInjector();
  private readonly sent: SandboxSms[] = [];
  private readonly failures: TwilioFailure[] = [];
  private readonly callbacks = new Set<Promise<unknown>>();

  private constructor(
    private readonly server: Server,
    options: TwilioSandboxOptions,
    private readonly autoCallbacks: boolean,
  ) {
    this.recorder = options.recorder ?? new SandboxRecorder();
    this.accountSid = options.accountSid ?? DEFAULT_ACCOUNT_SID;
    // Never a constant: the token signs status callbacks, and a known one would let anyone forge them.
    this.authToken = options.authToken ?? randomBytes(16).toString('hex');
  }

  static async start(options: TwilioSandboxOptions = {}): Promise<TwilioSandbox> {
    const server = createServer();
    const sandbox = new TwilioSandbox(server, options, options.autoCallbacks ?? false);
    server.on('request', (req, res) => {
      sandbox.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return sandbox;
  }

  /** the API base URL, to give the SDK (SmsProvider's apiBaseUrl) */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next `count` message requests with valid credentials fail with this error. */
  failNext(count: number, failure: TwilioFailure): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** accepted messages, oldest first */
  messages(): SandboxSms[] {
    return [...this.sent];
  }

  /** Forgets messages and pending failures; the recorder may be shared, so it is left alone. */
  reset(): void {
    this.sent.length = 0;
    this.failures.length = 0;
  }

  /**
   * POSTs a status callback for a message to the StatusCallback it was created with, signed with
   * X-Twilio-Signature as Twilio signs it. Resolves to the HTTP status the callback target answered.
   */
  async sendStatusCallback(
    messageSid: string,
    status: CallbackStatus,
    extra: { ErrorCode?: string } = {},
  ): Promise<number> {
    const message = this.sent.find((m) => m.sid === messageSid);
    if (!message) throw new Error(`TwilioSandbox: no message ${messageSid}`);
    if (!message.statusCallback) throw new Error(`TwilioSandbox: message ${messageSid} has no StatusCallback`);
    message.status = status;
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ApiVersion: API_VERSION,
      MessageSid: message.sid,
      MessageStatus: status,
      SmsSid: message.sid,
      SmsStatus: status,
      To: message.to,
      ...(message.from && { From: message.from }),
      ...(message.messagingServiceSid && { MessagingServiceSid: message.messagingServiceSid }),
      ...(extra.ErrorCode && { ErrorCode: extra.ErrorCode }),
    };
    return this.post(message.statusCallback, params);
  }

  /**
   * The recipient of a message texts back (STOP, START, …): Twilio POSTs an incoming message to the
   * number's "A message comes in" webhook, `url`, signed like a status callback. Resolves to the HTTP
   * status the webhook answered.
   */
  async reply(messageSid: string, body: string, url: string): Promise<number> {
    const message = this.sent.find((m) => m.sid === messageSid);
    if (!message) throw new Error(`TwilioSandbox: no message ${messageSid}`);
    const sid = `SM${randomBytes(16).toString('hex')}`;
    return this.post(url, {
      AccountSid: this.accountSid,
      ApiVersion: API_VERSION,
      MessageSid: sid,
      SmsSid: sid,
      From: message.to,
      To: message.from ?? '',
      Body: body,
      NumMedia: '0',
    });
  }

  private async post(url: string, params: Record<string, string>): Promise<number> {
    // The SDK signs as Twilio does; loaded here, on the sandbox's first callback, not with the module.
    const { default: twilio } = await import('twilio');
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(this.authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
    await response.arrayBuffer();
    return response.status;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.callbacks]);
    this.faults.release();
    // The SDK keeps connections alive; close() alone would wait for them.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const account = MESSAGES_PATH.exec(req.url ?? '')?.[1];
    const form = new URLSearchParams(await readBody(req));
    const to = form.get('To') ?? '';
    const body = form.get('Body') ?? '';

    const fault = account !== undefined ? this.faults.next() : undefined;
    if (fault?.kind === 'timeout') {
      this.recorder.add({
        channel: 'sms',
        to,
        summary: body,
        outcome: 'rejected',
        error: { code: 'timeout', message: 'fault injected: no answer' },
        detail: {},
      });
      await this.faults.hold(fault.ms);
      return void res.destroy();
    }
    const failure =
      fault?.kind === 'error'
        ? { status: 503, code: 20503, message: 'Service Unavailable (fault injected)' }
        : this.check(req, account, form);
    if (failure) {
      this.recorder.add({
        channel: 'sms',
        to,
        summary: body,
        outcome: 'rejected',
        error: { code: String(failure.code), message: failure.message },
        detail: {
          status: failure.status,
          from: form.get('From'),
          messagingServiceSid: form.get('MessagingServiceSid'),
        },
      });
      const headers: Record<string, string> =
        failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
      return json(res, failure.status, errorBody(failure), headers);
    }

    const message: SandboxSms = {
      sid: 'SM' + randomBytes(16).toString('hex'),
      to,
      from: form.get('From'),
      messagingServiceSid: form.get('MessagingServiceSid'),
      body,
      statusCallback: form.get('StatusCallback'),
      // Twilio answers 'accepted' while a Messaging Service still has to pick the sender.
      status: form.get('From') ? 'queued' : 'accepted',
      dateCreated: new Date(),
    };
    this.sent.push(message);
    this.recorder.add({
      channel: 'sms',
      to,
      summary: body,
      outcome: 'accepted',
      detail: {
        sid: message.sid,
        from: message.from,
        messagingServiceSid: message.messagingServiceSid,
        statusCallback: message.statusCallback,
        ...(fault?.kind === 'lostAnswer' && { fault: LOST_ANSWER }),
      },
    });
    if (fault?.kind === 'lostAnswer') {
      // Taken (recorded above), but the 201 never reaches the sender: silence, then a cut.
      await this.faults.hold(fault.ms);
      return void res.destroy();
    }
    json(res, 201, this.resource(message));
    if (this.autoCallbacks && message.statusCallback) this.track(this.deliver(message.sid));
  }

  /** The error this request earns, in the order Twilio checks: credentials, resource, input. */
  private check(req: IncomingMessage, account: string | undefined, form: URLSearchParams): TwilioFailure | undefined {
    if (req.method !== 'POST' || account === undefined) {
      return { status: 404, code: 20404, message: `The requested resource ${req.url} was not found` };
    }
    if (!this.authorized(req.headers.authorization)) return { status: 401, code: 20003, message: 'Authenticate' };
    if (account !== this.accountSid) {
      return { status: 404, code: 20404, message: `The requested resource ${req.url} was not found` };
    }
    const injected = this.failures.shift();
    if (injected) return injected;
    const to = form.get('To');
    if (!to) return { status: 400, code: 21604, message: "A 'To' phone number is required." };
    if (!form.get('From') && !form.get('MessagingServiceSid')) {
      return { status: 400, code: 21603, message: "A 'From' or 'MessagingServiceSid' parameter is required" };
    }
    if (!form.get('Body')) return { status: 400, code: 21602, message: 'Message body is required.' };
    return MAGIC_NUMBERS[to]?.(to);
  }

  private authorized(header: string | undefined): boolean {
    const encoded = /^Basic (.+)$/i.exec(header ?? '')?.[1];
    return !!encoded && Buffer.from(encoded, 'base64').toString() === `${this.accountSid}:${this.authToken}`;
  }

  private resource(m: SandboxSms): Record<string, unknown> {
    const uri = `/${API_VERSION}/Accounts/${this.accountSid}/Messages/${m.sid}`;
    const date = rfc2822(m.dateCreated);
    return {
      account_sid: this.accountSid,
      api_version: API_VERSION,
      body: m.body,
      date_created: date,
      date_sent: null,
      date_updated: date,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: m.from,
      messaging_service_sid: m.messagingServiceSid,
      num_media: '0',
      price: null,
      price_unit: 'USD',
      sid: m.sid,
      status: m.status,
      subresource_uris: { media: `${uri}/Media.json` },
      to: m.to,
      uri: `${uri}.json`,
    };
  }

  private async deliver(sid: string): Promise<void> {
    try {
      await this.sendStatusCallback(sid, 'sent');
      await this.sendStatusCallback(sid, 'delivered');
    } catch {
      // An unreachable callback target doesn't affect the message, at Twilio or here.
    }
  }

  private track(promise: Promise<unknown>): void {
    this.callbacks.add(promise);
    void promise.finally(() => this.callbacks.delete(promise));
  }
}

function errorBody(f: TwilioFailure): Record<string, unknown> {
  return {
    code: f.code,
    message: f.message,
    more_info: `https://www.twilio.com/docs/errors/${f.code}`,
    status: f.status,
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Twilio's date format: 'Wed, 18 Aug 2010 20:01:40 +0000' */
function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}
