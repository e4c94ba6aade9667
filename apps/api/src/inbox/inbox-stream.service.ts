import { Inject, Injectable, Logger, OnApplicationShutdown, BeforeApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { createRedis, inboxChannel, type RedisClient } from '@herald/queue';
import { RevocationsService, revokes } from '../auth/revocations.service';
import { Problem } from '../http/problem';

type Listener = (message: string) => void;
const SUBSCRIBE_TIMEOUT_MS = 3000;

/** Why the server ends a stream (the SSE event it sends last). */
export type StreamEnd = 'expired' | 'revoked' | 'shutdown';

/** An open stream: whose credential it rides on, and how to end it. */
export interface OpenStream {
  tenantId: string;
  /** the key of the stream's credential: an admin key's id, or the key that issued its inbox token */
  keyId?: string;
  end(reason: StreamEnd): void;
}

/**
 * Live inbox: one Redis subscriber connection per api process, shared by every open SSE stream of
 * that process. Workers publish each new message on the subscriber's channel, so a stream sees it
 * whichever api replica it is connected to.
 */
@Injectable()
export class InboxStreamService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('inbox-stream');
  private redis?: RedisClient;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly streams = new Set<OpenStream>();

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    revocations: RevocationsService,
  ) {
    // Revocations are rare (each is heard at every poll for about a minute): a look through this process's
    // open streams each time, and no query per stream.
    revocations.onRevoked((revocation) => {
      for (const stream of [...this.streams]) if (revokes(revocation, stream)) stream.end('revoked');
    });
  }

  /** Calls `listener` with each message JSON for the subscriber; returns the unsubscribe function. */
  async listen(tenantId: string, subscriberId: string, listener: Listener): Promise<() => void> {
    const channel = inboxChannel(this.config.queuePrefix, tenantId, subscriberId);
    const redis = this.subscriber();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await withTimeout(redis.subscribe(channel), SUBSCRIBE_TIMEOUT_MS).catch(() => {
        this.listeners.delete(channel);
        throw new Problem(
          503,
          'unavailable',
          'Service unavailable',
          'The live stream is unavailable; try again shortly',
          undefined,
          {
            headers: { 'retry-after': '5' },
          },
        );
      });
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        redis.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  /**
   * Streams register how to end themselves: politely at shutdown, and when the key or tenant of their
   * credential is revoked (here or, seen by the revocation poll, on another replica). Returns the
   * function that forgets the stream.
   */
  track(stream: OpenStream): () => void {
    this.streams.add(stream);
    return () => this.streams.delete(stream);
  }

  beforeApplicationShutdown(): void {
    for (const stream of [...this.streams]) stream.end('shutdown');
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }

  private subscriber(): RedisClient {
    if (!this.redis) {
      // The subscriber keeps its subscriptions across reconnects (ioredis autoResubscribe), so it
      // may queue commands while offline, unlike the fail-fast clients elsewhere.
      this.redis = createRedis(this.config, 'inbox-stream', {
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
      });
      this.redis.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener(message);
      });
      this.redis.on('ready', () => this.logger.log('subscribed to live inbox updates'));
    }
    return this.redis;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
