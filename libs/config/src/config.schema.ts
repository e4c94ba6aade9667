import { z } from 'zod';
import { WORKER_ROLES } from './worker-roles';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const optionalInt = (min: number) => z.coerce.number().int().min(min).optional();
// A provider's throughput as `<jobs>/<duration>`, e.g. `100/1s` or `6000/1m` (BullMQ's queue limiter).
const throughput = z
  .string()
  .regex(/^\d+\/\d+(ms|s|m)$/, { error: 'expects <jobs>/<duration>, e.g. 100/1s or 6000/1m' })
  .transform((value) => {
    const [, max, amount, unit] = /^(\d+)\/(\d+)(ms|s|m)$/.exec(value)!;
    return { max: Number(max), duration: Number(amount) * { ms: 1, s: 1000, m: 60_000 }[unit as 'ms' | 's' | 'm'] };
  })
  .refine((limit) => limit.max > 0 && limit.duration > 0, { error: 'expects a positive count and duration' })
  .optional();
const url = (protocols: string[], what: string) =>
  z
    .string({ error: `expects ${what}` })
    .refine((value) => protocols.some((p) => value.startsWith(`${p}://`)), `expects ${what}`);

const urlList = (protocols: string[], what: string) =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .refine(
      (urls) => urls.every((u) => protocols.some((p) => u.startsWith(`${p}://`))),
      `expects comma-separated ${what}`,
    );

// arn:<partition>:sns:<region>:<12-digit account>:<topic name> (a FIFO topic's name ends in .fifo)
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** A Twilio-API account written as one URL (TWILIO_FALLBACK_URLS), or null when it lacks a part. */
export function twilioAccount(value: string): {
  accountSid: string;
  authToken: string;
  apiBaseUrl: string;
  from?: string;
  messagingServiceSid?: string;
} | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const from = url.searchParams.get('from') ?? undefined;
  const messagingServiceSid = url.searchParams.get('messagingServiceSid') ?? undefined;
  if (!url.username || !url.password || (!from && !messagingServiceSid)) return null;
  return {
    accountSid: decodeURIComponent(url.username),
    authToken: decodeURIComponent(url.password),
    apiBaseUrl: url.origin,
    from,
    messagingServiceSid,
  };
}

/** The shortest root key NODE_ENV=production accepts (development accepts 24 characters). */
export const PRODUCTION_ROOT_KEY_LENGTH = 32;

/** Every setting Herald reads, with its default. Nothing else in the code reads process.env. */
export const configSchema = z
  .object({
    // production: stricter defaults (no sandboxes, no private-network webhooks, a 32-character root key);
    // see docs/production.md. Anything else is development.
    NODE_ENV: z.string().default('development'),
    // The provider sandboxes: on by default in development, off in production (docs/production.md).
    HERALD_SANDBOX: z.enum(['on', 'off'], { error: 'expects on or off' }).optional(),
    PORT: int(3000, 0),
    HOST: z.string().default('0.0.0.0'),
    // A worker's own HTTP port for /health/live, /health/ready and /metrics (on HOST); 0 turns it off.
    WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    HERALD_ROOT_KEY: z.string({ error: 'expects a secret of at least 24 characters' }).min(24, {
      error: 'expects a secret of at least 24 characters',
    }),
    HERALD_TOKEN_SECRET: z.string().min(24, { error: 'expects a secret of at least 24 characters' }).optional(),
    HERALD_PUBLIC_URL: url(['http', 'https'], 'an http(s):// URL').optional(),
    REDIS_URL: url(['redis', 'rediss'], 'a redis:// or rediss:// URL'),
    // REDIS_URL then names one node of a Redis Cluster; the client discovers the others.
    REDIS_CLUSTER: z
      .enum(['true', 'false'], { error: 'expects true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    DATABASE_URL: url(['postgres', 'postgresql'], 'a postgresql:// URL'),
    DATABASE_POOL_SIZE: int(20, 1),
    HERALD_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, { error: 'expects letters, digits, _ or -' })
      .default('herald'),
    WORKER_ROLES: z
      .string()
      .default(WORKER_ROLES.join(','))
      .transform((value, ctx) => {
        const roles = value
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
        const unknown = roles.filter((r) => !(WORKER_ROLES as readonly string[]).includes(r));
        if (unknown.length || roles.length === 0) {
          ctx.addIssue({
            code: 'custom',
            message: `expects a comma-separated list of ${WORKER_ROLES.join(', ')} (unknown: ${unknown.join(', ') || 'none given'})`,
          });
          return z.NEVER;
        }
        return [...new Set(roles)] as (typeof WORKER_ROLES)[number][];
      }),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    RELAY_BATCH_SIZE: int(500, 1),
    RELAY_POLL_MS: int(1000, 10),
    INGEST_MAX_BATCH: int(256, 1),
    INBOX_TOKEN_TTL_SECONDS: int(3600, 60),
    // Requests per second per key (token bucket: this rate, bursts up to API_RATE_LIMIT_BURST); 0 turns it off.
    API_RATE_LIMIT_PER_SECOND: int(200, 0),
    API_RATE_LIMIT_BURST: int(400, 1),
    DELIVERY_LEASE_SECONDS: int(30, 1),
    CONCURRENCY_FANOUT: int(8, 1),
    // Topic members per fan-out batch (one job each): what a fan-out worker holds in memory at once.
    FANOUT_BATCH_SIZE: int(1000, 1),
    // Work moves in batches: events per fan-out job (from the relay), and deliveries per channel job (from
    // the fan-out). A retry, a deferral or a sweep's re-enqueue is a job of one delivery.
    FANOUT_JOB_EVENTS: int(100, 1),
    DELIVERY_JOB_SIZE: int(100, 1),
    CONCURRENCY_INAPP: int(16, 1),
    SHUTDOWN_GRACE_MS: int(10000, 0),
    CONCURRENCY_EMAIL: int(8, 1),
    CONCURRENCY_SMS: int(8, 1),
    CONCURRENCY_PUSH: int(8, 1),
    CONCURRENCY_WEBHOOK: int(16, 1),

    // Providers. A channel whose credentials are unset runs against its in-process sandbox.
    SMTP_URL: url(['smtp', 'smtps'], 'an smtp:// or smtps:// URL').optional(),
    EMAIL_FROM: z.string().min(3).default('Herald <no-reply@herald.localhost>'),
    TWILIO_ACCOUNT_SID: z
      .string()
      .regex(/^AC[0-9a-zA-Z]{32}$/, { error: 'expects a Twilio Account SID (AC + 32 characters)' })
      .optional(),
    TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    TWILIO_FROM: z.string().min(1).optional(),
    TWILIO_MESSAGING_SERVICE_SID: z
      .string()
      .regex(/^MG[0-9a-zA-Z]{32}$/, { error: 'expects a Messaging Service SID (MG + 32 characters)' })
      .optional(),
    TWILIO_API_BASE_URL: url(['http', 'https'], 'an http(s):// URL').optional(),
    // Failover: providers tried in order after the primary (SMTP_URL, or the sandbox) when it answers
    // retryable or its circuit is open. Comma-separated.
    SMTP_FALLBACK_URLS: urlList(['smtp', 'smtps'], 'smtp:// or smtps:// URLs'),
    // Twilio-API accounts as https://<AccountSid>:<AuthToken>@api.twilio.com?from=+1… (or ?messagingServiceSid=MG…)
    TWILIO_FALLBACK_URLS: urlList(['http', 'https'], 'http(s)://<AccountSid>:<AuthToken>@host?from=… URLs').refine(
      (urls) => urls.every((u) => twilioAccount(u) !== null),
      {
        error:
          'expects each URL to carry an Account SID and auth token as user:password, and ?from= or ?messagingServiceSid=',
      },
    ),
    // A provider's circuit opens after this many retryable answers in a row within the window, and stays
    // open (the provider is tried last) for the cool-down; 0 turns circuits off.
    PROVIDER_CIRCUIT_FAILURES: int(5, 0),
    PROVIDER_CIRCUIT_WINDOW_SECONDS: int(60, 1),
    PROVIDER_CIRCUIT_COOLDOWN_SECONDS: int(30, 1),
    FCM_PROJECT_ID: z.string().min(1).optional(),
    FCM_SERVICE_ACCOUNT: z.string().min(1).optional(),
    FCM_API_BASE_URL: url(['http', 'https'], 'an http(s):// URL').optional(),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
      .enum(['true', 'false'], { error: 'expects true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    WEBHOOK_TIMEOUT_MS: int(15000, 100),
    // An endpoint is disabled after this many consecutive failed attempts spanning at least this long.
    WEBHOOK_DISABLE_AFTER_FAILURES: int(20, 1),
    WEBHOOK_DISABLE_AFTER_SECONDS: int(86_400, 0),

    // Provider feedback. SendGrid's and the generic form's URLs refuse everything until their key is
    // set; SNS messages verify against Amazon's certificates (plus one trusted certificate, if set).
    SES_AUTO_CONFIRM: z
      .enum(['true', 'false'], { error: 'expects true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    // The SNS topics SES publishes Herald's feedback to (comma-separated ARNs). A validly signed message
    // from any other topic (another AWS account's) is refused; until set, the SES route refuses everything.
    SES_SNS_TOPIC_ARNS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((arn) => arn.trim())
          .filter(Boolean),
      )
      .refine((arns) => arns.every((arn) => SNS_TOPIC_ARN.test(arn)), {
        error: 'expects comma-separated SNS topic ARNs, e.g. arn:aws:sns:us-east-1:123456789012:ses-feedback',
      }),
    SNS_TRUSTED_CERT_URL: url(['https'], 'an https:// URL').optional(),
    SNS_TRUSTED_CERT_FILE: z.string().min(1).optional(),
    SENDGRID_WEBHOOK_PUBLIC_KEY: z
      .string()
      .min(40, { error: 'expects the base64 public key SendGrid shows' })
      .optional(),
    FEEDBACK_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, { error: 'expects a whsec_… secret' })
      .optional(),

    // Retries of retryable provider answers: attempts per delivery (per channel when set), and the
    // exponential backoff with full jitter between them.
    RETRY_MAX_ATTEMPTS: int(5, 1),
    RETRY_MAX_ATTEMPTS_EMAIL: optionalInt(1),
    RETRY_MAX_ATTEMPTS_SMS: optionalInt(1),
    RETRY_MAX_ATTEMPTS_PUSH: optionalInt(1),
    RETRY_MAX_ATTEMPTS_WEBHOOK: optionalInt(1),
    RETRY_BASE_DELAY_MS: int(1000, 1),
    RETRY_MAX_DELAY_MS: int(3_600_000, 1),
    PROVIDER_RATE_EMAIL: throughput,
    PROVIDER_RATE_SMS: throughput,
    PROVIDER_RATE_PUSH: throughput,
    PROVIDER_RATE_WEBHOOK: throughput,

    // Housekeeping: how often the sweep runs, and how long a delivery may sit in queued/pending
    // (or past its lease in sending) before the sweep makes sure a job exists for it.
    HOUSEKEEPING_INTERVAL_MS: int(15_000, 100),
    STUCK_AFTER_SECONDS: int(120, 1),
    // Retention, purged by the housekeeping role on the same interval: how long finished data is kept.
    // 0 keeps it for ever. Work still in motion is never purged (docs/production.md, "Retention").
    // Idempotency keys are released (cleared on their event, which stays) this long after the event came.
    RETENTION_IDEMPOTENCY_KEY_HOURS: int(24, 0),
    // Finished events with their deliveries and attempts, from when the event finished; feedback events
    // (bounces, receipts, opt-outs as received) from when they came.
    RETENTION_EVENTS_DAYS: int(30, 0),
    // Dead deliveries stay replayable this long after dying, then leave the dead-letter queue as `failed`.
    RETENTION_DEAD_LETTERS_DAYS: int(30, 0),
    // Inbox messages the subscriber archived (hidden from every listing), from when they were archived.
    RETENTION_ARCHIVED_INBOX_DAYS: int(30, 0),
    // Outbox rows after the relay published them (only a relay log by then).
    RETENTION_PUBLISHED_OUTBOX_HOURS: int(1, 0),
    // Rows per purge statement, and statements per kind in one pass: the most one pass does.
    RETENTION_BATCH_SIZE: int(500, 1),
    RETENTION_BATCHES_PER_PASS: int(10, 1),

    // Tracing (OpenTelemetry): where spans go. none: nothing is set up and spans cost nothing;
    // console: one line per span on stdout; otlp: batched to an OTLP/HTTP collector at
    // OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces); memory: kept in the process, for the tests only.
    TRACING_EXPORTER: z
      .enum(['none', 'console', 'otlp', 'memory'], { error: 'expects none, console, otlp or memory' })
      .default('none'),
    OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https'], 'an http(s):// URL').default('http://localhost:4318'),
    OTEL_SERVICE_NAME: z.string().min(1).default('herald'),
    // When set, /metrics (the api's and each worker's own port) answers only `Authorization: Bearer
    // <METRICS_TOKEN>`; the health routes stay open. Unset: /metrics is open, as the health routes are.
    METRICS_TOKEN: z.string().min(16, { error: 'expects a secret of at least 16 characters' }).optional(),
  })
  .superRefine((env, ctx) => {
    // Conditional requirements: a provider is either fully configured or left to its sandbox.
    const need = (name: keyof typeof env, when: string) =>
      env[name] === undefined &&
      ctx.addIssue({ code: 'custom', path: [name], message: `is required when ${when} is set` });
    if (env.TWILIO_ACCOUNT_SID) {
      need('TWILIO_AUTH_TOKEN', 'TWILIO_ACCOUNT_SID');
      if (!env.TWILIO_FROM && !env.TWILIO_MESSAGING_SERVICE_SID)
        need('TWILIO_FROM', 'TWILIO_ACCOUNT_SID (or set TWILIO_MESSAGING_SERVICE_SID)');
    }
    if (env.FCM_PROJECT_ID && !env.FCM_API_BASE_URL) need('FCM_SERVICE_ACCOUNT', 'FCM_PROJECT_ID');
    if (env.SNS_TRUSTED_CERT_URL) need('SNS_TRUSTED_CERT_FILE', 'SNS_TRUSTED_CERT_URL');
    if (env.NODE_ENV === 'production' && env.HERALD_ROOT_KEY.length < PRODUCTION_ROOT_KEY_LENGTH)
      ctx.addIssue({
        code: 'custom',
        path: ['HERALD_ROOT_KEY'],
        message: `expects a secret of at least ${PRODUCTION_ROOT_KEY_LENGTH} characters in production`,
      });
    if (env.RETRY_MAX_DELAY_MS < env.RETRY_BASE_DELAY_MS)
      ctx.addIssue({ code: 'custom', path: ['RETRY_MAX_DELAY_MS'], message: 'must not be below RETRY_BASE_DELAY_MS' });
  });

export type RawConfig = z.infer<typeof configSchema>;
