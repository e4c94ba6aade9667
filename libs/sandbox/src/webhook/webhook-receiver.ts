import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '@herald/channels';
import { FaultInjector, LOST_ANSWER, type Fault } from '../faults';
import { SandboxRecorder } from '../recorder';

export interface WebhookReceiverOptions {
  port?: number;
  recorder?: SandboxRecorder;
  /** the endpoint's `whsec_…` secret; without one, signatures are not checked */
  secret?: string;
}

/** What the receiver answers instead of its default 200. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** wait this long before answering (for timeout tests) */
  delayMs?: number;
}

/** One request the receiver got, and what it answered. */
export interface ReceivedWebhook {
  at: Date;
  method: string;
  /** the request path, with its query string */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** the body parsed, when it is JSON */
  json?: unknown;
  /** undefined when the receiver has no secret */
  signatureValid?: boolean;
  /** why the signature did not verify */
  signatureError?: string;
  status: number;
}

/**
 * A local webhook endpoint: verifies Standard Webhooks signatures, records every request, answers
 * 200 unless told otherwise. Tests script failures and redirects; in demo mode it is the endpoint
 * Herald's webhooks go to. Each answer is decided in this order: failNext, redirectTo, respondWith.
 */
export class WebhookReceiver {
  readonly recorder: SandboxRecorder;
  /** random 503s, unanswered requests and lost answers, for chaos tests */
  readonly faults = new FaultInjector();
  private secret: string | undefined;
  private readonly received: ReceivedWebhook[] = [];
  private readonly failures: ScriptedAnswer[] = [];
  private readonly answers = new Map<string, ScriptedAnswer>();
  private readonly delays = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    options: WebhookReceiverOptions,
  ) {
    this.recorder = options.recorder ?? new SandboxRecorder();
    this.secret = options.secret;
  }

  static async start(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, options);
    server.on('request', (req, res) => {
      receiver.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  /** the base URL, e.g. http://127.0.0.1:40123 */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  urlFor(path: string): string {
    return this.url + (path.startsWith('/') ? path : `/${path}`);
  }

  setSecret(secret: string | undefined): void {
    this.secret = secret;
  }

  /** The next `count` requests, whatever their path, get this status (and headers, e.g. Retry-After). */
  failNext(count: number, status: number, headers: Record<string, string> = {}): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, headers });
  }

  /** Every request to `path` gets this answer until reset. */
  respondWith(path: string, status: number, answer: Omit<ScriptedAnswer, 'status'> = {}): void {
    this.answers.set(path, { status, ...answer });
  }

  /** Every request to `path` is redirected to `location` until reset. */
  redirectTo(path: string, location: string, status = 302): void {
    this.answers.set(path, { status, headers: { location } });
  }

  /** received requests, oldest first */
  requests(): ReceivedWebhook[] {
    return [...this.received];
  }

  /** Forgets requests and scripted answers; the recorder may be shared, so it is left alone. */
  reset(): void {
    this.received.length = 0;
    this.failures.length = 0;
    this.answers.clear();
  }

  async stop(): Promise<void> {
    for (const delay of this.delays) clearTimeout(delay);
    this.delays.clear();
    this.faults.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = req.url ?? '/';
    const fault = this.faults.next();
    if (fault && fault.kind !== 'lostAnswer') return this.misbehave(fault, req, path, res);
    const answer = this.failures.shift() ?? this.answers.get(path) ?? { status: 200 };

    const verification = this.secret === undefined ? undefined : verifyWebhook(req.headers, raw, this.secret);
    const body = raw.toString('utf8');
    const json = parseJson(body);
    this.received.push({
      at: new Date(),
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      ...(json !== undefined && { json }),
      ...(verification && { signatureValid: verification.valid }),
      ...(verification && !verification.valid && { signatureError: verification.reason }),
      status: answer.status,
    });
    const accepted = answer.status >= 200 && answer.status < 300;
    this.recorder.add({
      channel: 'webhook',
      to: path,
      summary: eventType(json),
      outcome: accepted ? 'accepted' : 'rejected',
      ...(!accepted && { error: { code: String(answer.status), message: `the receiver answered ${answer.status}` } }),
      detail: {
        headers: webhookHeaders(req.headers),
        body: json ?? body,
        signatureValid: verification?.valid,
        status: answer.status,
        ...(fault && { fault: LOST_ANSWER }),
      },
    });
    if (fault) {
      // Taken (recorded above), but the answer never reaches the sender: silence, then a cut.
      await this.faults.hold(fault.ms);
      return void res.destroy();
    }

    if (answer.delayMs) {
      await new Promise<void>((resolve) => {
        const delay = setTimeout(() => {
          this.delays.delete(delay);
          resolve();
        }, answer.delayMs);
        this.delays.add(delay);
      });
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body ?? JSON.stringify({ received: accepted }));
  }

  /** An injected fault: recorded as refused (the message was not taken), then a 503 or silence and a cut. */
  private async misbehave(
    fault: Exclude<Fault, { kind: 'lostAnswer' }>,
    req: IncomingMessage,
    path: string,
    res: ServerResponse,
  ): Promise<void> {
    const code = fault.kind === 'error' ? '503' : 'timeout';
    this.recorder.add({
      channel: 'webhook',
      to: path,
      summary: '',
      outcome: 'rejected',
      error: { code, message: `fault injected: ${code}` },
      detail: { headers: webhookHeaders(req.headers) },
    });
    if (fault.kind === 'error') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ received: false }));
      return;
    }
    await this.faults.hold(fault.ms);
    res.destroy();
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function eventType(json: unknown): string {
  const type = (json as { type?: unknown } | null | undefined)?.type;
  return typeof type === 'string' ? type : '';
}

function webhookHeaders(headers: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('webhook-')));
}
