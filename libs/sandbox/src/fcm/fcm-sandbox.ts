/*
 * FCM sandbox: FCM HTTP v1 and Google's OAuth token endpoint on 127.0.0.1, for firebase-admin.
 *
 *   POST /v1/projects/{projectId}/messages:send   Bearer FcmSandbox.token, body { message, validate_only? }
 *   POST /token                                   jwt-bearer grant (what a service-account key file sends)
 *                                                 or client_credentials (Herald's key-less sandbox mode)
 *
 * Magic device tokens (by prefix) answer as FCM does:
 *
 *   unregistered…  404 NOT_FOUND          UNREGISTERED        the app was uninstalled: token deactivated
 *   invalid…       400 INVALID_ARGUMENT   INVALID_ARGUMENT    "The registration token is not a valid FCM
 *                                                             registration token": token deactivated
 *   quota…         429 RESOURCE_EXHAUSTED QUOTA_EXCEEDED      with Retry-After: 1; retried later
 *   unavailable…   503 UNAVAILABLE        UNAVAILABLE         firebase-admin itself retries a 503 four
 *                                                             times (~7 s) before giving up; retried later
 *   internal…      500 INTERNAL           INTERNAL            retried later
 *   mismatch…      403 PERMISSION_DENIED  SENDER_ID_MISMATCH  token of another Firebase project: deactivated
 *
 * Any other token is accepted. A wrong Bearer token gets 401 UNAUTHENTICATED, another project's URL
 * 403 PERMISSION_DENIED (both without an FcmError, as Google answers them). `failNext` overrides the
 * answer for the next messages whatever their token. Every message sent (not validate_only) is
 * recorded, accepted or rejected.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultInjector, LOST_ANSWER } from '../faults';
import { SandboxRecorder, type SandboxRecord } from '../recorder';

export interface FcmSandboxOptions {
  recorder?: SandboxRecorder;
  /** 0 (default) picks a free port */
  port?: number;
  projectId?: string;
}

/** An FCM error answer: HTTP status, and the FcmError code FCM puts in `details` (none for plain Google errors). */
export interface FcmFailure {
  status: number;
  errorCode?: string;
  message?: string;
}

interface MagicToken extends Required<FcmFailure> {
  prefix: string;
  retryAfterSeconds?: number;
}

const MAGIC_TOKENS: readonly MagicToken[] = [
  { prefix: 'unregistered', status: 404, errorCode: 'UNREGISTERED', message: 'Requested entity was not found.' },
  {
    prefix: 'invalid',
    status: 400,
    errorCode: 'INVALID_ARGUMENT',
    message: 'The registration token is not a valid FCM registration token',
  },
  {
    prefix: 'quota',
    status: 429,
    errorCode: 'QUOTA_EXCEEDED',
    message: 'Sending limit exceeded for the message target.',
    retryAfterSeconds: 1,
  },
  { prefix: 'unavailable', status: 503, errorCode: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
  { prefix: 'internal', status: 500, errorCode: 'INTERNAL', message: 'Internal error encountered.' },
  { prefix: 'mismatch', status: 403, errorCode: 'SENDER_ID_MISMATCH', message: 'SenderId mismatch' },
];

/** What a token whose app was uninstalled gets (`uninstall()`): FCM's answer to the magic `unregistered…`. */
const UNINSTALLED = MAGIC_TOKENS.find((m) => m.errorCode === 'UNREGISTERED')!;

/** google.rpc.Code names of the HTTP statuses, as Google puts them in `error.status`. */
const GOOGLE_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const MESSAGING_SCOPES = [
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
];
const MAX_BODY = 1024 * 1024;
const MAX_KEPT = 1000;

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class FcmSandbox {
  /** the only access token the send endpoint accepts, and the one the token endpoint hands out */
  static readonly token = 'fcm-sandbox-access-token';

  readonly url: string;
  /** random 500s, unanswered sends and lost answers, for chaos tests */
  readonly faults = new FaultInjector();
  private readonly failures: FcmFailure[] = [];
  private readonly uninstalled = new Set<string>();
  private received: SandboxRecord[] = [];

  private constructor(
    private readonly server: Server,
    readonly projectId: string,
    readonly recorder: SandboxRecorder,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(options: FcmSandboxOptions = {}): Promise<FcmSandbox> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    const sandbox = new FcmSandbox(
      server,
      options.projectId ?? 'herald-sandbox',
      options.recorder ?? new SandboxRecorder(),
    );
    server.on('request', (req, res) => void sandbox.handle(req, res).catch(() => res.destroy()));
    return sandbox;
  }

  /**
   * The app behind `token` is uninstalled: from now on a message to it gets 404 UNREGISTERED, as from
   * FCM, which is how Herald learns to deactivate the token (the /sandbox page's "uninstall app").
   */
  uninstall(token: string): void {
    this.uninstalled.add(token);
  }

  /** The next `count` messages (whatever their token) get this answer instead. */
  failNext(count: number, failure: FcmFailure): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** What this sandbox received since the last reset, newest first. */
  messages(): SandboxRecord[] {
    return [...this.received];
  }

  reset(): void {
    this.failures.length = 0;
    this.received = [];
  }

  async stop(): Promise<void> {
    this.faults.release();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // firebase-admin keeps connections alive; close() alone would wait for them
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string | undefined;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-request: nobody to answer
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let answer: Answer;
    if (body === undefined) answer = googleError({ status: 413, message: 'Request payload size exceeds the limit.' });
    else if (req.method === 'POST' && path === '/token') answer = tokenAnswer(new URLSearchParams(body));
    else if (req.method === 'POST' && SEND_PATH.test(path)) {
      const fault = this.faults.next();
      if (fault?.kind === 'timeout') {
        await this.faults.hold(fault.ms);
        return void res.destroy();
      }
      const losing = fault?.kind === 'lostAnswer';
      answer =
        fault?.kind === 'error'
          ? googleError({ status: 500, errorCode: 'INTERNAL', message: 'Internal error (fault injected).' })
          : this.sendAnswer(req, path, body, losing);
      if (losing && answer.status === 200) {
        // Taken (recorded by sendAnswer), but the answer never reaches the sender: silence, then a cut.
        await this.faults.hold(fault.ms);
        return void res.destroy();
      }
    } else answer = googleError({ status: 404, message: `${req.method} ${path} is not an FCM HTTP v1 endpoint` });
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  }

  /** `losing`: the answer will be lost, which the record notes (detail.fault) */
  private sendAnswer(req: IncomingMessage, path: string, body: string, losing = false): Answer {
    if (req.headers.authorization !== `Bearer ${FcmSandbox.token}`) {
      return googleError({
        status: 401,
        message:
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      });
    }
    const projectId = decodeURIComponent(SEND_PATH.exec(path)?.[1] ?? '');
    if (projectId !== this.projectId) {
      return googleError({
        status: 403,
        message: `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}' (or it may not exist).`,
      });
    }
    let request: { message?: unknown; validate_only?: unknown };
    try {
      request = Object(JSON.parse(body)) as typeof request;
    } catch {
      return googleError({ status: 400, message: 'Invalid JSON payload received.' });
    }
    const { token, ...rest } = Object(request.message) as Record<string, unknown>;
    if (typeof token !== 'string' || !token) {
      return googleError({
        status: 400,
        errorCode: 'INVALID_ARGUMENT',
        message: 'Recipient of the message is not set.',
      });
    }
    const failure: FcmFailure | MagicToken | undefined =
      this.failures.shift() ??
      (this.uninstalled.has(token) ? UNINSTALLED : MAGIC_TOKENS.find((m) => token.startsWith(m.prefix)));
    if (failure) {
      if (!request.validate_only) this.record(token, rest, { failure });
      const retryAfter = 'retryAfterSeconds' in failure ? failure.retryAfterSeconds : undefined;
      return {
        ...googleError(failure),
        ...(retryAfter !== undefined && { headers: { 'retry-after': `${retryAfter}` } }),
      };
    }
    // a dry run is checked like a send but delivers nothing, so FCM names no real message
    if (request.validate_only) {
      return { status: 200, body: { name: `projects/${this.projectId}/messages/fake_message_id` } };
    }
    const name = `projects/${this.projectId}/messages/${randomUUID()}`;
    this.record(token, { ...rest, ...(losing && { fault: LOST_ANSWER }) }, { name });
    return { status: 200, body: { name } };
  }

  private record(
    token: string,
    message: Record<string, unknown>,
    { name, failure }: { name?: string; failure?: FcmFailure },
  ): void {
    const notification = message.notification as { title?: unknown } | undefined;
    const record = this.recorder.add({
      channel: 'push',
      to: token,
      summary: typeof notification?.title === 'string' ? notification.title : '(no title)',
      outcome: failure ? 'rejected' : 'accepted',
      ...(failure && {
        error: {
          code: failure.errorCode ?? GOOGLE_STATUS[failure.status] ?? String(failure.status),
          message: failure.message ?? '',
        },
      }),
      detail: { ...(name && { name }), ...message },
    });
    this.received.unshift(record);
    if (this.received.length > MAX_KEPT) this.received.length = MAX_KEPT;
  }
}

/** Google's error body; with an errorCode, the FcmError detail firebase-admin reads its code from. */
function googleError({ status, errorCode, message }: FcmFailure): Answer {
  const error = {
    code: status,
    message: message ?? GOOGLE_STATUS[status] ?? 'Error',
    status: GOOGLE_STATUS[status] ?? 'UNKNOWN',
    ...(errorCode && { details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] }),
  };
  return { status, body: { error } };
}

/**
 * OAuth 2.0 token endpoint. A jwt-bearer assertion is checked for its claims only: the sandbox never
 * saw the key it was signed with, and real keys must not be needed to run Herald locally.
 */
function tokenAnswer(form: URLSearchParams): Answer {
  const grant = form.get('grant_type');
  if (grant === JWT_BEARER) {
    const problem = assertionProblem(form.get('assertion') ?? '');
    if (problem) return { status: 400, body: { error: 'invalid_grant', error_description: `Invalid JWT: ${problem}` } };
  } else if (grant !== 'client_credentials') {
    return {
      status: 400,
      body: { error: 'unsupported_grant_type', error_description: `Invalid grant_type: ${grant}` },
    };
  }
  return { status: 200, body: { access_token: FcmSandbox.token, expires_in: 3599, token_type: 'Bearer' } };
}

function assertionProblem(assertion: string): string | undefined {
  let claims: { iss?: unknown; aud?: unknown; scope?: unknown; exp?: unknown };
  try {
    claims = Object(
      JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')),
    ) as typeof claims;
  } catch {
    return 'not a JWT';
  }
  if (typeof claims.iss !== 'string' || !claims.iss) return 'no issuer (client_email)';
  if (claims.aud !== TOKEN_AUDIENCE) return `audience must be ${TOKEN_AUDIENCE}`;
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (!MESSAGING_SCOPES.some((s) => scopes.includes(s))) return 'no Firebase Messaging scope';
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return 'Token must be a short-lived token';
  return undefined;
}

/** Resolves undefined when the body is over the limit (read to the end, so a 413 can still be sent). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_BODY ? Buffer.concat(chunks).toString('utf8') : undefined));
    req.on('error', reject);
  });
}
