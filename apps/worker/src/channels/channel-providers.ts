import type { ChannelProvider } from '@herald/channels';
import type { ExternalChannel } from './channel-messages';
import type { ProviderCircuits } from './provider-circuit';

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

/** Each external channel's provider chain in this worker (built by ChannelProvidersModule for its roles). */
export class ProviderChains {
  constructor(private readonly chains: ReadonlyMap<ExternalChannel, ProviderChain>) {}

  /** The chain of a channel this worker sends on; another is a wiring mistake, said at once. */
  of(channel: ExternalChannel): ProviderChain {
    const chain = this.chains.get(channel);
    if (!chain) throw new Error(`no providers for ${channel} in this worker: its role is not running here`);
    return chain;
  }

  /** Pooled SMTP connections, firebase apps: closed with the process. */
  async close(): Promise<void> {
    await Promise.all([...this.chains.values()].map((chain) => chain.close()));
  }
}
