import { loadConfig } from './load-config';

const valid = {
  HERALD_ROOT_KEY: 'r'.repeat(32),
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/herald',
};

describe('loadConfig', () => {
  it('applies defaults to a minimal environment', () => {
    const config = loadConfig(valid);
    expect(config.port).toBe(3000);
    expect(config.workerHealthPort).toBe(9464);
    expect(config.workerRoles).toEqual(['relay', 'fanout', 'email', 'sms', 'push', 'inapp', 'webhook', 'housekeeping']);
    expect(config.providers).toMatchObject({
      email: null,
      sms: null,
      push: null,
      webhook: { allowPrivateNetworks: false },
    });
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.tokenSecret).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [{ REDIS_URL: undefined }, 'REDIS_URL is missing: expects a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL is invalid: expects a redis:// or rediss:// URL'],
    [{ DATABASE_URL: '' }, 'DATABASE_URL is missing: expects a postgresql:// URL'],
    [{ HERALD_ROOT_KEY: 'short' }, 'HERALD_ROOT_KEY is invalid: expects a secret of at least 24 characters'],
    [{ PORT: 'eighty' }, 'PORT is invalid'],
    [{ WORKER_HEALTH_PORT: '70000' }, 'WORKER_HEALTH_PORT is invalid'],
    [
      { WORKER_ROLES: 'relay,mail' },
      'WORKER_ROLES is invalid: expects a comma-separated list of relay, fanout, email, sms, push, inapp, webhook, housekeeping (unknown: mail)',
    ],
    [{ PROVIDER_RATE_SMS: '100 per second' }, 'PROVIDER_RATE_SMS is invalid: expects <jobs>/<duration>, e.g. 100/1s'],
    [{ RETRY_MAX_ATTEMPTS_EMAIL: '0' }, 'RETRY_MAX_ATTEMPTS_EMAIL is invalid'],
    [{ TRACING_EXPORTER: 'jaeger' }, 'TRACING_EXPORTER is invalid: expects none, console, otlp or memory'],
    [
      { TRACING_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT is invalid: expects an http(s):// URL',
    ],
    [
      { RETRY_BASE_DELAY_MS: '5000', RETRY_MAX_DELAY_MS: '1000' },
      'RETRY_MAX_DELAY_MS is invalid: must not be below RETRY_BASE_DELAY_MS',
    ],
  ])('names the setting and what it expects: %j', (override, message) => {
    expect(() => loadConfig({ ...valid, ...override })).toThrow(message);
  });

  it('production (NODE_ENV) turns the sandboxes off unless HERALD_SANDBOX=on, and wants a 32-character root key', () => {
    expect(loadConfig(valid)).toMatchObject({ production: false, sandbox: true });
    expect(loadConfig({ ...valid, HERALD_SANDBOX: 'off' })).toMatchObject({ production: false, sandbox: false });
    expect(loadConfig({ ...valid, NODE_ENV: 'production' })).toMatchObject({ production: true, sandbox: false });
    expect(loadConfig({ ...valid, NODE_ENV: 'production', HERALD_SANDBOX: 'on' })).toMatchObject({ sandbox: true });
    expect(() => loadConfig({ ...valid, HERALD_SANDBOX: 'yes' })).toThrow(
      'HERALD_SANDBOX is invalid: expects on or off',
    );
    const short = { ...valid, HERALD_ROOT_KEY: 'r'.repeat(31) };
    expect(loadConfig(short).rootKey).toHaveLength(31);
    expect(() => loadConfig({ ...short, NODE_ENV: 'production' })).toThrow(
      'HERALD_ROOT_KEY is invalid: expects a secret of at least 32 characters in production',
    );
  });

  it('requires the rest of a provider once part of it is configured', () => {
    expect(() => loadConfig({ ...valid, TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}` })).toThrow(
      'Configuration error: TWILIO_AUTH_TOKEN is missing: is required when TWILIO_ACCOUNT_SID is set',
    );
    const sms = loadConfig({
      ...valid,
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 't',
      TWILIO_FROM: '+15550001111',
    });
    expect(sms.providers.sms).toMatchObject({ from: '+15550001111' });
  });

  it('reads retry budgets per channel over the default, and provider throughputs', () => {
    const config = loadConfig({
      ...valid,
      RETRY_MAX_ATTEMPTS: '4',
      RETRY_MAX_ATTEMPTS_WEBHOOK: '9',
      PROVIDER_RATE_SMS: '100/1s',
      PROVIDER_RATE_EMAIL: '6000/1m',
    });
    expect(config.retry.maxAttempts).toEqual({ email: 4, sms: 4, push: 4, webhook: 9, inapp: 4 });
    expect(config.providerRates).toEqual({
      email: { max: 6000, duration: 60_000 },
      sms: { max: 100, duration: 1000 },
      push: undefined,
      webhook: undefined,
    });
  });

  it('leaves tracing off by default, and reads the exporter, collector and service name', () => {
    expect(loadConfig(valid).tracing).toEqual({
      exporter: 'none',
      otlpTracesUrl: 'http://localhost:4318/v1/traces',
      serviceName: 'herald',
    });
    expect(
      loadConfig({
        ...valid,
        TRACING_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com:4318/',
        OTEL_SERVICE_NAME: 'herald-eu',
      }).tracing,
    ).toEqual({ exporter: 'otlp', otlpTracesUrl: 'https://otel.example.com:4318/v1/traces', serviceName: 'herald-eu' });
  });

  it('reads provider fallbacks in order, and the circuit settings', () => {
    const config = loadConfig({
      ...valid,
      SMTP_FALLBACK_URLS: 'smtp://a.example:25, smtps://u:p@b.example:465',
      TWILIO_FALLBACK_URLS: `https://AC${'1'.repeat(32)}:tok%2Fen@api.example.com?from=%2B15550001111`,
      PROVIDER_CIRCUIT_FAILURES: '3',
    });
    expect(config.providers.fallbacks.email.map((e) => e.smtpUrl)).toEqual([
      'smtp://a.example:25',
      'smtps://u:p@b.example:465',
    ]);
    expect(config.providers.fallbacks.sms).toEqual([
      {
        accountSid: `AC${'1'.repeat(32)}`,
        authToken: 'tok/en',
        apiBaseUrl: 'https://api.example.com',
        from: '+15550001111',
      },
    ]);
    expect(config.providers.circuit).toEqual({ failures: 3, windowMs: 60_000, cooldownMs: 30_000 });
    expect(loadConfig(valid).providers.fallbacks).toEqual({ email: [], sms: [] });
    expect(() => loadConfig({ ...valid, SMTP_FALLBACK_URLS: 'smtp://a, http://b' })).toThrow(
      'SMTP_FALLBACK_URLS is invalid',
    );
    expect(() => loadConfig({ ...valid, TWILIO_FALLBACK_URLS: 'https://api.twilio.com' })).toThrow(
      'TWILIO_FALLBACK_URLS is invalid',
    );
  });

  it('reads the SNS topics SES feedback may come from (none by default), refusing what is not a topic ARN', () => {
    expect(loadConfig(valid).feedback.sesTopicArns).toEqual([]);
    const topics = 'arn:aws:sns:eu-west-1:123456789012:ses-feedback, arn:aws-cn:sns:cn-north-1:210987654321:x.fifo';
    expect(loadConfig({ ...valid, SES_SNS_TOPIC_ARNS: topics }).feedback.sesTopicArns).toEqual([
      'arn:aws:sns:eu-west-1:123456789012:ses-feedback',
      'arn:aws-cn:sns:cn-north-1:210987654321:x.fifo',
    ]);
    expect(() => loadConfig({ ...valid, SES_SNS_TOPIC_ARNS: 'arn:aws:sqs:eu-west-1:123456789012:q' })).toThrow(
      /^Configuration error: SES_SNS_TOPIC_ARNS is invalid: expects comma-separated SNS topic ARNs/,
    );
  });

  it('parses and de-duplicates worker roles', () => {
    expect(loadConfig({ ...valid, WORKER_ROLES: 'inapp, relay,inapp' }).workerRoles).toEqual(['inapp', 'relay']);
  });

  it('reports the message on a single line', () => {
    expect(() => loadConfig({})).toThrow(/^[^\n]+$/);
  });
});
