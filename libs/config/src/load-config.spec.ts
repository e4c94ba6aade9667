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
    expect(config.workerRoles).toEqual(['relay', 'fanout', 'email', 'sms', 'push', 'inapp', 'webhook']);
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
    [
      { WORKER_ROLES: 'relay,mail' },
      'WORKER_ROLES is invalid: expects a comma-separated list of relay, fanout, email, sms, push, inapp, webhook (unknown: mail)',
    ],
  ])('names the setting and what it expects: %j', (override, message) => {
    expect(() => loadConfig({ ...valid, ...override })).toThrow(message);
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

  it('parses and de-duplicates worker roles', () => {
    expect(loadConfig({ ...valid, WORKER_ROLES: 'inapp, relay,inapp' }).workerRoles).toEqual(['inapp', 'relay']);
  });

  it('reports the message on a single line', () => {
    expect(() => loadConfig({})).toThrow(/^[^\n]+$/);
  });
});
