export const CHANNELS = ['email', 'sms', 'push', 'inapp', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];
