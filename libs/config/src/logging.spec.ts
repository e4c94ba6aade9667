import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS, redactUrl } from './logging';

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
