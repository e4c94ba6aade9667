export const CHANNELS = ['email', 'sms', 'push', 'inapp', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Channels whose delivery worker exists today; rules naming another channel are refused. */
export const AVAILABLE_CHANNELS: readonly Channel[] = ['inapp'];
