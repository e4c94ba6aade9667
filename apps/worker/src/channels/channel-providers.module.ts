import { DynamicModule, Inject, Module, OnApplicationShutdown, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { EmailProvider, PushProvider, SmsProvider, WebhookProvider } from '@herald/channels';
import { SandboxHub, TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import type { ExternalChannel } from './channel-messages';
import { ProviderChain, providerToken, type AnyProvider } from './channel-providers';
import { ProviderCircuits } from './provider-circuit';

const SMS_STATUS_PATH = '/v1/feedback/twilio/status';

/** Builds each channel's primary provider from its credentials, or against its sandbox when there are none. */
const primaries: Record<ExternalChannel, (config: HeraldConfig, sandboxes: SandboxHub) => Promise<AnyProvider>> = {
  email: async (config, sandboxes) => {
    const settings = config.providers.email ?? {
      smtpUrl: (await sandboxes.smtp()).url,
      from: config.providers.emailFrom,
    };
    return new EmailProvider(settings) as AnyProvider;
  },
  sms: async (config, sandboxes) => {
    const statusCallbackUrl = `${config.publicUrl}${SMS_STATUS_PATH}`;
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
    if (config.providers.push) return new PushProvider(config.providers.push) as AnyProvider;
    const fcm = await sandboxes.fcm();
    return new PushProvider({ projectId: fcm.projectId, apiBaseUrl: fcm.url }) as AnyProvider;
  },
  webhook: async (config) => new WebhookProvider(config.providers.webhook) as AnyProvider,
};

/** The fallbacks after the primary (SMTP_FALLBACK_URLS, TWILIO_FALLBACK_URLS), named `<name>-fallback-<n>`. */
function fallbacks(channel: ExternalChannel, config: HeraldConfig): AnyProvider[] {
  const statusCallbackUrl = `${config.publicUrl}${SMS_STATUS_PATH}`;
  if (channel === 'email') {
    return config.providers.fallbacks.email.map(
      (settings, i) => new EmailProvider({ ...settings, name: `smtp-fallback-${i + 1}` }) as AnyProvider,
    );
  }
  if (channel === 'sms') {
    return config.providers.fallbacks.sms.map(
      (account, i) =>
        new SmsProvider({ ...account, statusCallbackUrl, name: `twilio-fallback-${i + 1}` }) as AnyProvider,
    );
  }
  return [];
}

async function chainOf(channel: ExternalChannel, config: HeraldConfig, sandboxes: SandboxHub): Promise<ProviderChain> {
  const providers = [await primaries[channel](config, sandboxes), ...fallbacks(channel, config)];
  return new ProviderChain(providers, new ProviderCircuits(config.providers.circuit));
}

@Module({})
export class ChannelProvidersModule implements OnApplicationShutdown {
  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  static forChannels(channels: ExternalChannel[]): DynamicModule {
    const providers: Provider[] = channels.map((channel) => ({
      provide: providerToken(channel),
      inject: [HERALD_CONFIG, SandboxHub],
      useFactory: (config: HeraldConfig, sandboxes: SandboxHub) => chainOf(channel, config, sandboxes),
    }));
    return {
      module: ChannelProvidersModule,
      providers: [...providers, { provide: 'herald:provider-channels', useValue: channels }],
      exports: providers.map((p) => (p as { provide: string }).provide),
    };
  }

  /** Pooled SMTP connections, firebase apps: closed with the process. */
  async onApplicationShutdown(): Promise<void> {
    const channels = this.moduleRef.get<ExternalChannel[]>('herald:provider-channels');
    await Promise.all(channels.map((c) => this.moduleRef.get<ProviderChain>(providerToken(c)).close()));
  }
}
