import { createHash } from 'node:crypto';
import { configSchema, twilioAccount, type RawConfig } from './config.schema';

export class ConfigError extends Error {}

/** The validated, typed settings: the only view of the environment the rest of Herald gets. */
export type HeraldConfig = ReturnType<typeof toConfig>;

/**
 * NODE_ENV=production, read in this one place: toConfig's `production`, and `npm start`, which must
 * know it before it has a config (it invents a root key in development only).
 */
export function isProduction(env: { NODE_ENV?: string }): boolean {
  return env.NODE_ENV === 'production';
}

function toConfig(env: RawConfig) {
  const production = isProduction(env);
  return {
    /** NODE_ENV=production: no sandboxes unless HERALD_SANDBOX=on, no private-network webhooks unless allowed */
    production,
    /** whether channels without provider credentials use the in-process sandboxes (and /sandbox is served) */
    sandbox: env.HERALD_SANDBOX ? env.HERALD_SANDBOX === 'on' : !production,
    port: env.PORT,
    host: env.HOST,
    /** a worker process's health and metrics port; 0: none */
    workerHealthPort: env.WORKER_HEALTH_PORT,
    rootKey: env.HERALD_ROOT_KEY,
    // Inbox tokens are signed with their own secret; when none is set one is derived from the
    // root key, so rotating the root key also invalidates every inbox token.
    tokenSecret:
      env.HERALD_TOKEN_SECRET ?? createHash('sha256').update(`herald-inbox-token:${env.HERALD_ROOT_KEY}`).digest('hex'),
    publicUrl: (env.HERALD_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    redisUrl: env.REDIS_URL,
    redisCluster: env.REDIS_CLUSTER,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    queuePrefix: env.HERALD_QUEUE_PREFIX,
    workerRoles: env.WORKER_ROLES,
    logLevel: env.LOG_LEVEL,
    relay: { batchSize: env.RELAY_BATCH_SIZE, pollMs: env.RELAY_POLL_MS },
    ingest: { maxBatch: env.INGEST_MAX_BATCH },
    inboxTokenTtlSeconds: env.INBOX_TOKEN_TTL_SECONDS,
    apiRateLimit: { perSecond: env.API_RATE_LIMIT_PER_SECOND, burst: env.API_RATE_LIMIT_BURST },
    deliveryLeaseSeconds: env.DELIVERY_LEASE_SECONDS,
    concurrency: { fanout: env.CONCURRENCY_FANOUT, inapp: env.CONCURRENCY_INAPP },
    fanout: { batchSize: env.FANOUT_BATCH_SIZE, eventsPerJob: env.FANOUT_JOB_EVENTS },
    deliveryJobSize: env.DELIVERY_JOB_SIZE,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    channelConcurrency: {
      email: env.CONCURRENCY_EMAIL,
      sms: env.CONCURRENCY_SMS,
      push: env.CONCURRENCY_PUSH,
      webhook: env.CONCURRENCY_WEBHOOK,
    },
    /** null: no credentials, the channel uses its sandbox */
    providers: {
      email: env.SMTP_URL ? { smtpUrl: env.SMTP_URL, from: env.EMAIL_FROM } : null,
      emailFrom: env.EMAIL_FROM,
      sms: env.TWILIO_ACCOUNT_SID
        ? {
            accountSid: env.TWILIO_ACCOUNT_SID,
            authToken: env.TWILIO_AUTH_TOKEN!,
            from: env.TWILIO_FROM,
            messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID,
            apiBaseUrl: env.TWILIO_API_BASE_URL,
          }
        : null,
      push: env.FCM_PROJECT_ID
        ? {
            projectId: env.FCM_PROJECT_ID,
            serviceAccountPath: env.FCM_SERVICE_ACCOUNT,
            apiBaseUrl: env.FCM_API_BASE_URL,
          }
        : null,
      webhook: { allowPrivateNetworks: env.WEBHOOK_ALLOW_PRIVATE_NETWORKS, timeoutMs: env.WEBHOOK_TIMEOUT_MS },
      /** tried in order after the channel's primary provider */
      fallbacks: {
        email: env.SMTP_FALLBACK_URLS.map((smtpUrl) => ({ smtpUrl, from: env.EMAIL_FROM })),
        sms: env.TWILIO_FALLBACK_URLS.map((u) => twilioAccount(u)!),
      },
      /** circuit breaker per provider and worker process; failures 0: off */
      circuit: {
        failures: env.PROVIDER_CIRCUIT_FAILURES,
        windowMs: env.PROVIDER_CIRCUIT_WINDOW_SECONDS * 1000,
        cooldownMs: env.PROVIDER_CIRCUIT_COOLDOWN_SECONDS * 1000,
      },
    },
    webhookDisable: {
      afterFailures: env.WEBHOOK_DISABLE_AFTER_FAILURES,
      afterSeconds: env.WEBHOOK_DISABLE_AFTER_SECONDS,
    },
    feedback: {
      sesAutoConfirm: env.SES_AUTO_CONFIRM,
      /** the SNS topics SES feedback may come from; empty: the SES route refuses everything */
      sesTopicArns: env.SES_SNS_TOPIC_ARNS,
      /** a certificate trusted for SNS signatures besides Amazon's (tests, private setups) */
      snsTrustedCertificate: env.SNS_TRUSTED_CERT_URL
        ? { url: env.SNS_TRUSTED_CERT_URL, file: env.SNS_TRUSTED_CERT_FILE! }
        : undefined,
      sendgridPublicKey: env.SENDGRID_WEBHOOK_PUBLIC_KEY,
      genericSecret: env.FEEDBACK_WEBHOOK_SECRET,
    },
    retry: {
      maxAttempts: {
        email: env.RETRY_MAX_ATTEMPTS_EMAIL ?? env.RETRY_MAX_ATTEMPTS,
        sms: env.RETRY_MAX_ATTEMPTS_SMS ?? env.RETRY_MAX_ATTEMPTS,
        push: env.RETRY_MAX_ATTEMPTS_PUSH ?? env.RETRY_MAX_ATTEMPTS,
        webhook: env.RETRY_MAX_ATTEMPTS_WEBHOOK ?? env.RETRY_MAX_ATTEMPTS,
        // In-app has no provider to retry: only infrastructure failures repeat it.
        inapp: env.RETRY_MAX_ATTEMPTS,
      },
      baseDelayMs: env.RETRY_BASE_DELAY_MS,
      maxDelayMs: env.RETRY_MAX_DELAY_MS,
    },
    /** BullMQ limiter per channel queue, from PROVIDER_RATE_<CHANNEL>; absent: unlimited */
    providerRates: {
      email: env.PROVIDER_RATE_EMAIL,
      sms: env.PROVIDER_RATE_SMS,
      push: env.PROVIDER_RATE_PUSH,
      webhook: env.PROVIDER_RATE_WEBHOOK,
    },
    housekeeping: { intervalMs: env.HOUSEKEEPING_INTERVAL_MS, stuckAfterSeconds: env.STUCK_AFTER_SECONDS },
    /** how long finished data is kept, in seconds (0: for ever), and how much one purge pass does */
    retention: {
      idempotencyKeySeconds: env.RETENTION_IDEMPOTENCY_KEY_HOURS * 3600,
      eventSeconds: env.RETENTION_EVENTS_DAYS * 86_400,
      deadLetterSeconds: env.RETENTION_DEAD_LETTERS_DAYS * 86_400,
      archivedInboxSeconds: env.RETENTION_ARCHIVED_INBOX_DAYS * 86_400,
      publishedOutboxSeconds: env.RETENTION_PUBLISHED_OUTBOX_HOURS * 3600,
      batchSize: env.RETENTION_BATCH_SIZE,
      batchesPerPass: env.RETENTION_BATCHES_PER_PASS,
    },
    tracing: {
      exporter: env.TRACING_EXPORTER,
      /** the collector's OTLP/HTTP traces URL (used by the otlp exporter) */
      otlpTracesUrl: `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
      serviceName: env.OTEL_SERVICE_NAME,
    },
    /** the bearer token /metrics asks for (api and worker ports); undefined: /metrics is open */
    metricsToken: env.METRICS_TOKEN,
  };
}

/**
 * Validates the environment once. A bad setting throws a ConfigError whose message is one line
 * naming the setting and what it expects; entry points print it and exit.
 */
export function loadConfig(env: Record<string, string | undefined>): HeraldConfig {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(blankAsUnset);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue.path[0]);
    const problem = env[name] === undefined || env[name] === '' ? 'is missing' : 'is invalid';
    throw new ConfigError(`Configuration error: ${name} ${problem}: ${issue.message}`);
  }
  return toConfig(result.data);
}
