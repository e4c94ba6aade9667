import { DynamicModule, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { providerModules } from '@herald/channels';
import { SandboxHub, TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import type { ExternalChannel } from './channel-messages';
import { ProviderChain, ProviderChains, type AnyProvider } from './channel-providers';
import { ProviderCircuits } from './provider-circuit';
import { UnconfiguredProvider } from './unconfigured-provider';

const SMS_STATUS_PATH = '/v1/feedback/twilio/status';

type BuildPrimary = (config: HeraldConfig, sandboxes: SandboxHub) => Promise<AnyProvider | null>;

/**
 * Builds each channel's primary provider from its credentials, or against its sandbox when there are
 * none and the sandboxes are on (config.sandbox); null when there are neither. Each provider's module
 * (and its SDK) is loaded here, for the channels this worker's roles send on only.
 */
const primaries: Record<ExternalChannel, BuildPrimary> = {
  email: async (config, sandboxes) => {
    if (!config.providers.email && !config.sandbox) return null;
    const settings = config.providers.email ?? {
      smtpUrl: (await sandboxes.smtp()).url,
      from: config.providers.emailFrom,
    };
    const EmailProvider = await providerModules.email();
    return new EmailProvider(settings) as AnyProvider;
  },
  sms: async (config, sandboxes) => {
    const statusCallbackUrl = `${config.publicUrl}${SMS_STATUS_PATH}`;
    if (!config.providers.sms && !config.sandbox) return null;
    const SmsProvider = await providerModules.sms();
    if (config.providers.sms) return new SmsProvider({ ...config.providers.sms, statusCallbackUrl }) as AnyProvider;
    const twilio = await sandboxes.twilio();
    return new SmsProvider({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: TWILIO_SANDBOX_FROM,
      apiBaseUrl: twilio.url,
      statusCallbackUrl,
    }) as AnyProvider;
  },
  push: async (config, sandboxes) => {
    if (!config.providers.push && !config.sandbox) return null;
    const PushProvider = await providerModules.push();
    if (config.providers.push) return new PushProvider(config.providers.push) as AnyProvider;
    const fcm = await sandboxes.fcm();
    return new PushProvider({ projectId: fcm.projectId, apiBaseUrl: fcm.url }) as AnyProvider;
  },
  webhook: async (config) => new (await providerModules.webhook())(config.providers.webhook) as AnyProvider,
};

/** The fallbacks after the primary (SMTP_FALLBACK_URLS, TWILIO_FALLBACK_URLS), named `<name>-fallback-<n>`. */
async function fallbacks(channel: ExternalChannel, config: HeraldConfig): Promise<AnyProvider[]> {
  const statusCallbackUrl = `${config.publicUrl}${SMS_STATUS_PATH}`;
  if (channel === 'email' && config.providers.fallbacks.email.length) {
    const EmailProvider = await providerModules.email();
    return config.providers.fallbacks.email.map(
      (settings, i) => new EmailProvider({ ...settings, name: `smtp-fallback-${i + 1}` }) as AnyProvider,
    );
  }
  if (channel === 'sms' && config.providers.fallbacks.sms.length) {
    const SmsProvider = await providerModules.sms();
    return config.providers.fallbacks.sms.map(
      (account, i) =>
        new SmsProvider({ ...account, statusCallbackUrl, name: `twilio-fallback-${i + 1}` }) as AnyProvider,
    );
  }
  return [];
}

/**
 * The channel's providers. With no primary, the fallbacks alone; with none at all, the channel is
 * reported once at start and an UnconfiguredProvider fails its deliveries, naming what to set.
 */
async function chainOf(channel: ExternalChannel, config: HeraldConfig, sandboxes: SandboxHub): Promise<ProviderChain> {
  const primary = await primaries[channel](config, sandboxes);
  let providers = [...(primary ? [primary] : []), ...(await fallbacks(channel, config))];
  if (providers.length === 0 && channel !== 'webhook') {
    const unconfigured = new UnconfiguredProvider(channel);
    new Logger('channels').warn(`${channel}: ${unconfigured.reason}; until then its deliveries fail`);
    providers = [unconfigured];
  }
  return new ProviderChain(providers, new ProviderCircuits(config.providers.circuit));
}

@Module({})
export class ChannelProvidersModule implements OnApplicationShutdown {
  constructor(private readonly chains: ProviderChains) {}

  static forChannels(channels: ExternalChannel[]): DynamicModule {
    return {
      module: ChannelProvidersModule,
      providers: [
        {
          provide: ProviderChains,
          inject: [HERALD_CONFIG, SandboxHub],
          useFactory: async (config: HeraldConfig, sandboxes: SandboxHub) =>
            new ProviderChains(
              new Map(await Promise.all(channels.map(async (c) => [c, await chainOf(c, config, sandboxes)] as const))),
            ),
        },
      ],
      exports: [ProviderChains],
    };
  }

  /** Pooled SMTP connections, firebase apps: closed with the process. */
  async onApplicationShutdown(): Promise<void> {
    await this.chains.close();
  }
}
