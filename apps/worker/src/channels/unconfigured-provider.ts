import type { SendResult } from '@herald/channels';
import type { ExternalChannel } from './channel-messages';
import type { AnyProvider } from './channel-providers';

/** What to set so a channel has a provider (with the sandboxes off), as the start-up report names it. */
export const PROVIDER_SETTINGS: Record<Exclude<ExternalChannel, 'webhook'>, string> = {
  email: 'SMTP_URL (or SMTP_FALLBACK_URLS)',
  sms: 'TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID (or TWILIO_FALLBACK_URLS)',
  push: 'FCM_PROJECT_ID and FCM_SERVICE_ACCOUNT',
};

/**
 * Stands in for a channel that has no provider and no sandbox (production without HERALD_SANDBOX=on):
 * each send is a permanent failure naming the settings to set, so the delivery ends `failed` with
 * that reason on its attempt, rather than the worker failing to start or retrying for ever.
 */
export class UnconfiguredProvider implements AnyProvider {
  readonly name = 'unconfigured';

  constructor(readonly channel: Exclude<ExternalChannel, 'webhook'>) {}

  /** The reason recorded on every delivery of the channel. */
  get reason(): string {
    return `no ${this.channel} provider is configured: set ${PROVIDER_SETTINGS[this.channel]}, or HERALD_SANDBOX=on`;
  }

  send(): Promise<SendResult> {
    return Promise.resolve({ outcome: 'permanent', code: 'provider-not-configured', message: this.reason });
  }
}
