import twilio from 'twilio';
import TwilioServiceException from 'twilio/lib/base/TwilioServiceException';
import { classifyTwilioError } from './sms-classification';

/** What the SDK throws for a legacy error body. */
function restException(status: number, code?: number, message = 'Twilio says no', headers?: Record<string, string>) {
  const error = new twilio.RestException({
    statusCode: status,
    body: code === undefined ? '' : JSON.stringify({ code, message, more_info: 'https://x', status }),
  });
  return headers ? Object.assign(error, { headers }) : error;
}

function networkError(code: string, message = `connect ${code} 127.0.0.1:1`) {
  return Object.assign(new Error(message), { code });
}

describe('classifyTwilioError', () => {
  it.each([
    [21211, 'bad_address', /invalid To/],
    [21612, 'bad_address', /cannot route/],
    [21614, 'bad_address', /not a mobile/],
    [21635, 'bad_address', /cannot receive SMS/],
    [21610, 'bad_address', /opted out/],
    [21408, 'permanent', /region/],
  ])('Twilio code %i → %s', (code, outcome, message) => {
    const result = classifyTwilioError(restException(400, code));
    expect(result).toEqual({ outcome, code: String(code), message: expect.stringMatching(message) });
  });

  it('429 is retryable, with Retry-After seconds as retryAfterMs', () => {
    expect(classifyTwilioError(restException(429, 20429, 'Too Many Requests', { 'retry-after': '3' }))).toEqual({
      outcome: 'retryable',
      code: '20429',
      message: 'Twilio HTTP 429: Too Many Requests',
      retryAfterMs: 3000,
    });
  });

  it('429 reads an HTTP-date Retry-After against now', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const err = restException(429, 20429, 'Too Many Requests', { 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' });
    expect(classifyTwilioError(err, now).retryAfterMs).toBe(5000);
  });

  it('429 without Retry-After is retryable with no retryAfterMs', () => {
    const result = classifyTwilioError(restException(429, 20429));
    expect(result.outcome).toBe('retryable');
    expect(result).not.toHaveProperty('retryAfterMs');
  });

  it.each([500, 502, 503])('HTTP %i → retryable', (status) => {
    expect(classifyTwilioError(restException(status, 20500))).toMatchObject({ outcome: 'retryable', code: '20500' });
  });

  it('5xx without a Twilio body → retryable, coded by HTTP status', () => {
    expect(classifyTwilioError(restException(503))).toMatchObject({ outcome: 'retryable', code: '503' });
  });

  it.each([
    [401, 20003],
    [400, 21602],
    [404, 20404],
  ])('other 4xx (HTTP %i, code %i) → permanent', (status, code) => {
    expect(classifyTwilioError(restException(status, code))).toMatchObject({
      outcome: 'permanent',
      code: String(code),
    });
  });

  it('RFC 9457 errors (TwilioServiceException) classify by status and code too', () => {
    const body = { type: 'https://x', title: 'Bad number', status: 400, code: 21211 };
    expect(classifyTwilioError(new TwilioServiceException({ statusCode: 400, body }))).toMatchObject({
      outcome: 'bad_address',
      code: '21211',
    });
    const unknown = { type: 'https://x', title: 'Nope', status: 403, code: 0 };
    expect(classifyTwilioError(new TwilioServiceException({ statusCode: 403, body: unknown }))).toMatchObject({
      outcome: 'permanent',
      code: '403',
    });
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN'])(
    'network error %s → retryable',
    (errno) => {
      expect(classifyTwilioError(networkError(errno))).toEqual({
        outcome: 'retryable',
        code: errno,
        message: `network error: ${errno}`,
      });
    },
  );

  it('socket hang up → retryable', () => {
    expect(classifyTwilioError(new Error('socket hang up'))).toMatchObject({
      outcome: 'retryable',
      code: 'ECONNRESET',
    });
  });

  it.each([new Error('something odd'), 'a string', undefined, null])('unknown %p → retryable', (err) => {
    expect(classifyTwilioError(err).outcome).toBe('retryable');
  });

  it('never copies an unknown error message (it may hold request details)', () => {
    const result = classifyTwilioError(new Error('Basic QUN4eHg6c2VjcmV0 refused'));
    expect(result.message).not.toContain('QUN4');
  });
});
