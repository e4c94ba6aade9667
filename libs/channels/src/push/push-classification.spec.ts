import { AppErrorCode } from 'firebase-admin/app';
import { MessagingErrorCode } from 'firebase-admin/messaging';
import type { SendOutcome } from '../provider';
import { classifyFcmError } from './push-classification';

const NOT_A_TOKEN = 'The registration token is not a valid FCM registration token';
const IAM_DENIED =
  "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/p' (or it may not exist).";
const TOKEN_PREAMBLE =
  'Credential implementation provided to initializeApp() via the "credential" property failed to fetch a valid ' +
  'Google OAuth2 access token with the following error: ';

const rows: [code: string, message: string, outcome: SendOutcome, retryAfterMs?: number][] = [
  ['messaging/registration-token-not-registered', 'Requested entity was not found.', 'bad_address'],
  ['messaging/invalid-registration-token', 'Invalid registration token provided.', 'bad_address'],
  ['messaging/mismatched-credential', 'SenderId mismatch', 'bad_address'],
  ['messaging/mismatched-credential', IAM_DENIED, 'permanent'],
  ['messaging/invalid-argument', NOT_A_TOKEN, 'bad_address'],
  ['messaging/invalid-argument', 'Request contains an invalid argument.', 'permanent'],
  ['messaging/invalid-recipient', 'Invalid message recipient provided.', 'permanent'],
  ['messaging/invalid-payload', 'Invalid message payload provided.', 'permanent'],
  ['messaging/invalid-data-payload-key', 'The data message payload contains an invalid key.', 'permanent'],
  ['messaging/payload-size-limit-exceeded', 'Message is too big', 'permanent'],
  ['messaging/invalid-options', 'Invalid message options provided.', 'permanent'],
  ['messaging/invalid-package-name', 'The package name does not match.', 'permanent'],
  ['messaging/third-party-auth-error', 'Auth error from APNS or Web Push Service', 'permanent'],
  ['messaging/third-party-auth-error', 'Request had invalid authentication credentials.', 'permanent'],
  ['messaging/authentication-error', 'An error occurred when trying to authenticate to the FCM servers.', 'permanent'],
  ['messaging/message-rate-exceeded', 'Sending limit exceeded for the message target.', 'retryable', 60_000],
  ['messaging/device-message-rate-exceeded', 'The rate of messages to a particular device is too high.', 'retryable'],
  ['messaging/server-unavailable', 'The service is currently unavailable.', 'retryable'],
  ['messaging/internal-error', 'Internal error encountered.', 'retryable'],
  ['messaging/unknown-error', 'An unknown server error was returned.', 'retryable'],
  [
    'app/network-error',
    'Error while making request: connect ECONNREFUSED 127.0.0.1:9. Error code: ECONNREFUSED',
    'retryable',
  ],
  ['app/network-timeout', 'Error while making request: timeout of 15000ms exceeded.', 'retryable'],
  [
    'app/invalid-credential',
    `${TOKEN_PREAMBLE}"token request to http://127.0.0.1:9 failed: ECONNREFUSED".`,
    'retryable',
  ],
  [
    'app/invalid-credential',
    `${TOKEN_PREAMBLE}"request to https://oauth2.googleapis.com/token failed, reason: getaddrinfo ENOTFOUND oauth2.googleapis.com".`,
    'retryable',
  ],
  // undici's code for a kept-alive connection the server closed
  [
    'app/invalid-credential',
    `${TOKEN_PREAMBLE}"token request to http://127.0.0.1:9 failed: UND_ERR_SOCKET".`,
    'retryable',
  ],
  [
    'app/invalid-credential',
    `${TOKEN_PREAMBLE}"token request to http://127.0.0.1:9 failed: status code 503".`,
    'retryable',
  ],
  ['app/invalid-credential', `${TOKEN_PREAMBLE}"invalid_grant: Invalid JWT Signature.".`, 'permanent'],
  ['messaging/some-code-from-a-later-sdk', 'Something new.', 'retryable'],
];

describe('classifyFcmError', () => {
  const cases = rows.map(([code, message, outcome, retryAfterMs]) => ({ code, message, outcome, retryAfterMs }));
  it.each(cases)('$code "$message" → $outcome', ({ code, message, outcome, retryAfterMs }) => {
    const result = classifyFcmError({ code, message });
    expect(result).toEqual({ outcome, code, message: expect.any(String), ...(retryAfterMs && { retryAfterMs }) });
  });

  it('names only codes firebase-admin 14 actually reports', () => {
    const known = new Set([
      ...Object.values(MessagingErrorCode).map((code: string) => `messaging/${code}`),
      ...Object.values(AppErrorCode).map((code: string) => `app/${code}`),
    ]);
    const unknown = rows.map(([code]) => code).filter((code) => !known.has(code));
    expect(unknown).toEqual(['messaging/some-code-from-a-later-sdk']);
  });

  it('keeps the cause of an OAuth failure, not the SDK preamble', () => {
    const result = classifyFcmError({
      code: 'app/invalid-credential',
      message: `${TOKEN_PREAMBLE}"invalid_grant: bad".`,
    });
    expect(result.message).toBe('OAuth2 access token: invalid_grant: bad');
  });

  it('shortens long messages', () => {
    expect(classifyFcmError({ code: 'messaging/internal-error', message: 'x'.repeat(500) }).message).toHaveLength(200);
  });

  it('treats socket errors and things that are not errors as transient', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifyFcmError(refused)).toEqual({
      outcome: 'retryable',
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED',
    });
    expect(classifyFcmError(undefined)).toEqual({ outcome: 'retryable', code: 'unknown', message: 'undefined' });
  });
});
