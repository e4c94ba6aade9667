import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS, demoteNestBootstrap, redactUrl } from './logging';

describe('log redaction', () => {
  function logged(entry: object): string {
    let out = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    });
    pino({ redact: { paths: REDACT_PATHS, censor: '[Redacted]' } }, sink).info(entry, 'line');
    return out;
  }

  it('removes keys, tokens, secrets and credentials wherever they sit one level down', () => {
    const line = logged({
      req: { headers: { authorization: 'Bearer hk_admin_topsecret', 'x-twilio-signature': 'tw-sig-value' } },
      endpoint: { secret: 'whsec_abc' },
      inbox: { token: 'hit_abc.def' },
      created: { key: 'hk_ingest_xyz' },
      provider: { authToken: 'twilio-token', smtpUrl: 'smtp://user:pass@host' },
    });
    for (const secret of [
      'hk_admin_topsecret',
      'tw-sig-value',
      'whsec_abc',
      'hit_abc',
      'hk_ingest_xyz',
      'twilio-token',
      'pass@host',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('[Redacted]');
  });

  it('removes credentials from query strings', () => {
    expect(redactUrl('/v1/inbox/stream?token=hit_abc.def&x=1')).toBe('/v1/inbox/stream?token=[Redacted]&x=1');
  });
});

describe("Nest's start-up lines", () => {
  function lines(
    level: string,
    log: (logger: pino.Logger) => void,
  ): { level: number; context?: string; msg: string }[] {
    let out = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    });
    log(pino({ level, hooks: { logMethod: demoteNestBootstrap } }, sink));
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  }
  const startUp = (logger: pino.Logger) => {
    logger.info({ context: 'InstanceLoader' }, 'HeraldModule dependencies initialized');
    logger.info({ context: 'RouterExplorer' }, 'Mapped {/v1/events, POST} route');
    logger.info({ context: 'sandbox' }, 'email: no provider credentials, using the sandbox SMTP server');
    logger.warn({ context: 'NestApplication' }, 'something Nest warns about');
  };

  it('are left out at info level, while other lines and Nest’s warnings stay', () => {
    expect(lines('info', startUp).map((l) => [l.level, l.context])).toEqual([
      [30, 'sandbox'],
      [40, 'NestApplication'],
    ]);
  });

  it('are written at debug level when LOG_LEVEL=debug', () => {
    expect(lines('debug', startUp).map((l) => [l.level, l.context])).toEqual([
      [20, 'InstanceLoader'],
      [20, 'RouterExplorer'],
      [30, 'sandbox'],
      [40, 'NestApplication'],
    ]);
  });
});
