import { DynamicModule, Inject, Module, OnApplicationShutdown, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { EmailProvider, PushProvider, SmsProvider, WebhookProvider } from '@herald/channels';
import { SandboxHub, TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import type { ExternalChannel } from './channel-messages';
import { providerToken, type AnyProvider } from './channel-providers';

const SMS_STATUS_PATH = '/v1/feedback/twilio/status';

/** Builds each channel's provider from its credentials, or against its sandbox when there are none. */
const factories: Record<ExternalChannel, (config: HeraldConfig, sandboxes: SandboxHub) => Promise<AnyProvider>> = {
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

@Module({})
export class ChannelProvidersModule implements OnApplicationShutdown {
  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  static forChannels(channels: ExternalChannel[]): DynamicModule {
    const providers: Provider[] = channels.map((channel) => ({
      provide: providerToken(channel),
      inject: [HERALD_CONFIG, SandboxHub],
      useFactory: factories[channel],
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
    await Promise.all(
      channels.map((c) =>
        this.moduleRef
          .get<AnyProvider>(providerToken(c))
          .close?.()
          .catch(() => undefined),
      ),
    );
  }
}
