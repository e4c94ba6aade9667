import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { QueueRegistry } from './queue-registry';

const QUIET_MS = 30_000;

/**
 * BullMQ queues emit 'error' while Redis is away; an EventEmitter error without a listener would
 * crash the process. The outage itself surfaces where work fails (the relay, the jobs), so here
 * it is only logged, once per queue per 30 s.
 */
@Injectable()
export class QueueErrorLogger implements OnModuleInit {
  private readonly logger = new Logger('queue');
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly queues: QueueRegistry) {}

  onModuleInit(): void {
    for (const queue of this.queues.all()) {
      const name = queue.name;
      queue.on('error', (err: Error) => {
        const now = Date.now();
        if ((this.lastLogged.get(name) ?? 0) > now - QUIET_MS) return;
        this.lastLogged.set(name, now);
        this.logger.warn(`queue ${name}: ${err.message}`);
      });
    }
  }
}
