import { SsrfBlockedError } from './ssrf-guard';
import { classifyWebhookAttempt, type WebhookAttempt } from './webhook-classification';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function classify(attempt: WebhookAttempt) {
  return classifyWebhookAttempt(attempt, 'dlv_1', NOW);
}

function status(code: number, headers: { location?: string; retryAfter?: string } = {}) {
  return classify({ kind: 'response', status: code, ...headers });
}

describe('classifyWebhookAttempt', () => {
  it.each([200, 201, 202, 204, 299])('%i is ok, with the delivery id as the provider message id', (code) => {
    expect(status(code)).toEqual({ outcome: 'ok', code: String(code), providerMessageId: 'dlv_1' });
  });

  it('410 means the endpoint is gone', () => {
    expect(status(410)).toMatchObject({ outcome: 'bad_address', code: '410' });
  });

  it.each([408, 429, 500, 502, 503, 504])('%i is retryable', (code) => {
    expect(status(code)).toMatchObject({ outcome: 'retryable', code: String(code) });
    expect(status(code)).not.toHaveProperty('retryAfterMs');
  });

  it.each([400, 401, 403, 404, 405, 409, 413, 422])('%i is permanent', (code) => {
    expect(status(code)).toMatchObject({ outcome: 'permanent', code: String(code) });
  });

  it('honours Retry-After in seconds or as an HTTP date', () => {
    expect(status(429, { retryAfter: '2' })).toMatchObject({ outcome: 'retryable', retryAfterMs: 2000 });
    expect(status(503, { retryAfter: 'Sun, 22 Nov 2026 12:00:30 GMT' })).toMatchObject({ retryAfterMs: 30_000 });
    expect(status(408, { retryAfter: '0' })).toMatchObject({ retryAfterMs: 0 });
  });

  it('ignores a Retry-After in the past, unparseable, or on a status it does not apply to', () => {
    expect(status(429, { retryAfter: 'Sun, 22 Nov 2026 11:00:00 GMT' })).toMatchObject({ retryAfterMs: 0 });
    expect(status(429, { retryAfter: 'soon' })).not.toHaveProperty('retryAfterMs');
    expect(status(400, { retryAfter: '5' })).not.toHaveProperty('retryAfterMs');
  });

  it('a redirect is permanent and names where it pointed, without the query string', () => {
    const result = status(302, { location: 'https://new.example.com/hooks?token=s3cret#x' });
    expect(result).toMatchObject({ outcome: 'permanent', code: '302' });
    expect(result.message).toContain('https://new.example.com/hooks');
    expect(result.message).not.toContain('s3cret');
    expect(status(301).message).toContain('Location: none');
  });

  it('an unexpected status is permanent', () => {
    expect(status(600)).toMatchObject({ outcome: 'permanent', code: '600' });
  });

  it('a timeout is retryable', () => {
    expect(classify({ kind: 'timeout', timeoutMs: 300 })).toEqual({
      outcome: 'retryable',
      code: 'timeout',
      message: 'no answer within 300 ms',
    });
  });

  it('a network error is retryable, with its errno code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(classify({ kind: 'error', error: refused })).toMatchObject({ outcome: 'retryable', code: 'ECONNREFUSED' });
    expect(classify({ kind: 'error', error: new Error('socket hang up') })).toMatchObject({
      outcome: 'retryable',
      code: 'network_error',
    });
  });

  it('an SSRF refusal is permanent, reported as the guard said it', () => {
    const error = new SsrfBlockedError('metadata.internal', '169.254.169.254', 'link-local (cloud metadata)');
    expect(classify({ kind: 'error', error })).toEqual({
      outcome: 'permanent',
      code: 'ssrf_blocked',
      message: 'refused to connect to metadata.internal (169.254.169.254): link-local (cloud metadata)',
    });
  });
});
