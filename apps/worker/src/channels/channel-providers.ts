import type { ChannelProvider } from '@herald/channels';
import type { ExternalChannel } from './channel-messages';

/** DI token of the provider behind an external channel (built by ChannelProvidersModule). */
export function providerToken(channel: ExternalChannel): string {
  return `herald:provider:${channel}`;
}

export type AnyProvider = ChannelProvider<ExternalChannel>;
