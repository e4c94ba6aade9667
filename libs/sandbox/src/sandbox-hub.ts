import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { FcmSandbox } from './fcm';
import type { FaultInjector, FaultSettings } from './faults';
import { SandboxRecorder } from './recorder';
import { SmtpSandbox } from './smtp';
import { TwilioSandbox } from './twilio';
import { WebhookReceiver } from './webhook';

interface Stoppable {
  readonly faults: FaultInjector;
  stop(): Promise<void>;
}

/**
 * The provider sandboxes of this process, started on first use and sharing one recorder, so the
 * /sandbox page (api) sees what the channel workers (same process) sent. Used when a channel has
 * no provider credentials: Herald then runs end to end on one machine with nothing to sign up for.
 * Only while `config.sandbox` is on: otherwise no sandbox starts, whoever asks.
 */
@Injectable()
export class SandboxHub implements OnApplicationShutdown {
  readonly recorder = new SandboxRecorder();
  /**
   * The Twilio sandbox's auth token, which signs its status callbacks. Derived from the root key, so
   * it is this deployment's own (a public constant would let anyone forge callbacks) and a split api
   * and worker agree on it without talking.
   */
  readonly twilioAuthToken: string;
  private readonly logger = new Logger('sandbox');
  private readonly running = new Map<string, Promise<Stoppable>>();

  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {
    this.twilioAuthToken = createHash('sha256').update(`herald-twilio-sandbox:${config.rootKey}`).digest('hex');
  }

  /** Whether sandboxes may run in this process (HERALD_SANDBOX; on by default in development only). */
  get enabled(): boolean {
    return this.config.sandbox;
  }

  smtp(): Promise<SmtpSandbox> {
    return this.start('email', 'SMTP server', () => SmtpSandbox.start({ recorder: this.recorder }));
  }

  twilio(): Promise<TwilioSandbox> {
    return this.start('sms', 'Twilio REST API', () =>
      TwilioSandbox.start({ recorder: this.recorder, authToken: this.twilioAuthToken }),
    );
  }

  fcm(): Promise<FcmSandbox> {
    return this.start('push', 'FCM HTTP v1 API', () => FcmSandbox.start({ recorder: this.recorder }));
  }

  /**
   * On `port` when given and free, else on any free port: npm start keeps the port, so endpoints
   * registered with the receiver's URL outlive a restart (apps/herald/src/receiver-port.ts).
   */
  webhookReceiver(port?: number): Promise<WebhookReceiver> {
    return this.start('webhook', 'webhook receiver', () =>
      WebhookReceiver.start({ recorder: this.recorder, port }).catch((err: NodeJS.ErrnoException) => {
        if (!port || err.code !== 'EADDRINUSE') throw err;
        return WebhookReceiver.start({ recorder: this.recorder });
      }),
    );
  }

  /** Resolves once every sandbox asked for so far is running (or failed to start). */
  async started(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Which sandboxes run here (the /sandbox page is only useful when some do). */
  get channels(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Makes the running sandboxes (all, or those of `channels`) fail a share of requests from now on,
   * with transient errors, silence, or a message taken and its answer lost; rates of 0 heal them.
   */
  async setFaults(settings: Partial<FaultSettings>, channels: string[] = this.channels): Promise<void> {
    const sandboxes = channels.map((channel) => this.running.get(channel)).filter((s) => s !== undefined);
    for (const sandbox of await Promise.all(sandboxes)) sandbox.faults.set(settings);
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map(async (s) => (await s).stop().catch(() => undefined)));
  }

  private start<T extends Stoppable & { url: string }>(
    channel: string,
    what: string,
    start: () => Promise<T>,
  ): Promise<T> {
    let running = this.running.get(channel) as Promise<T> | undefined;
    if (!running) {
      if (!this.config.sandbox) {
        return Promise.reject(new Error(`the ${what} sandbox (${channel}) is off: HERALD_SANDBOX is not on`));
      }
      running = start().then((sandbox) => {
        this.logger.log(
          `${channel}: no provider credentials, using the sandbox ${what} at ${sandbox.url} (see /sandbox)`,
        );
        return sandbox;
      });
      this.running.set(channel, running);
    }
    return running;
  }
}
