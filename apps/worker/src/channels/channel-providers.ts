import type { ChannelProvider } from '@herald/channels';
import type { ExternalChannel } from './channel-messages';
import type { ProviderCircuits } from './provider-circuit';

/** DI token of the providers behind an external channel (built by ChannelProvidersModule). */
export function providerToken(channel: ExternalChannel): string {
  return `herald:provider:${channel}`;
}

export type AnyProvider = ChannelProvider<ExternalChannel>;

/**
 * A channel's providers in their configured order (the primary, then its fallbacks), each with a
 * name of its own. A send goes down the chain while providers answer retryable; a provider whose
 * circuit is open is tried after every closed one.
 */
export class ProviderChain {
  constructor(
    readonly providers: AnyProvider[],
    private readonly circuits: ProviderCircuits,
  ) {}

  /** The order to try now: closed circuits as configured, then open ones, the soonest to close first. */
  ordered(): AnyProvider[] {
    const closed = this.providers.filter((p) => !this.circuits.isOpen(p.name));
    const open = this.providers
      .filter((p) => this.circuits.isOpen(p.name))
      .sort((a, b) => this.circuits.openUntil(a.name) - this.circuits.openUntil(b.name));
    return [...closed, ...open];
  }

  /** Feeds a provider's answer to its circuit; true when this answer opened it. */
  record(provider: AnyProvider, ok: boolean): boolean {
    return this.circuits.record(provider.name, ok);
  }

  async close(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.close?.().catch(() => undefined)));
  }
}
