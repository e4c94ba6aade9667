export { HeraldClient, type HeraldClientOptions } from './herald-client';
export { heraldFetch, type HeraldFetchOptions } from './herald-fetch';
export { HeraldProblemError, type FieldError, type Problem } from './problem-error';
export { RETRY_DEFAULTS, type RetryOptions } from './retry-policy';
export {
  verifyWebhook,
  WebhookVerificationError,
  type VerifyWebhookInput,
  type WebhookVerificationFailure,
} from './verify-webhook';
export * from './api-types';
export type { components, operations, paths } from './openapi';
