/**
 * Each provider's module — and with it its SDK (nodemailer, twilio, firebase-admin) — is loaded when a
 * worker role first builds that provider: a worker running the in-app role never loads any of them, an
 * email worker only nodemailer. Hence no value export of the provider classes from this library's index.
 */
export const providerModules = {
  email: () => import('./email/email.provider.js').then((m) => m.EmailProvider),
  sms: () => import('./sms/sms.provider.js').then((m) => m.SmsProvider),
  push: () => import('./push/push.provider.js').then((m) => m.PushProvider),
  webhook: () => import('./webhook/webhook.provider.js').then((m) => m.WebhookProvider),
};

export type { EmailProvider, EmailProviderOptions } from './email/email.provider';
export type { SmsProvider, SmsProviderOptions } from './sms/sms.provider';
export type { PushProvider, PushProviderOptions } from './push/push.provider';
export type { WebhookProvider } from './webhook/webhook.provider';
