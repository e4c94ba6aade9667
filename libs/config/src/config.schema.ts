import { z } from 'zod';
import { WORKER_ROLES } from './worker-roles';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const url = (protocols: string[], what: string) =>
  z
    .string({ error: `expects ${what}` })
    .refine((value) => protocols.some((p) => value.startsWith(`${p}://`)), `expects ${what}`);

/** Every setting Herald reads, with its default. Nothing else in the code reads process.env. */
export const configSchema = z
  .object({
    PORT: int(3000, 0),
    HOST: z.string().default('0.0.0.0'),
    HERALD_ROOT_KEY: z.string({ error: 'expects a secret of at least 24 characters' }).min(24, {
      error: 'expects a secret of at least 24 characters',
    }),
    HERALD_TOKEN_SECRET: z.string().min(24, { error: 'expects a secret of at least 24 characters' }).optional(),
    HERALD_PUBLIC_URL: url(['http', 'https'], 'an http(s):// URL').optional(),
    REDIS_URL: url(['redis', 'rediss'], 'a redis:// or rediss:// URL'),
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
    DELIVERY_LEASE_SECONDS: int(30, 1),
    CONCURRENCY_FANOUT: int(8, 1),
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
    FCM_PROJECT_ID: z.string().min(1).optional(),
    FCM_SERVICE_ACCOUNT: z.string().min(1).optional(),
    FCM_API_BASE_URL: url(['http', 'https'], 'an http(s):// URL').optional(),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
      .enum(['true', 'false'], { error: 'expects true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    WEBHOOK_TIMEOUT_MS: int(15000, 100),
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
  });

export type RawConfig = z.infer<typeof configSchema>;
