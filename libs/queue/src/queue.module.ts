import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { Queue } from 'bullmq';
import { QueueName } from './queue-names';
import { QueueRegistry } from './queue-registry';
import { QueueErrorLogger } from './queue-error-logger';
import { closeClusterConnections, queueOptions } from './queue-options';

/** BullMQ wiring in one place: the root connection for workers and the producer side of each queue. */
@Module({})
export class QueueModule implements OnApplicationShutdown {
  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  /** A cluster's connections were handed to BullMQ, which leaves them open: they are closed here. */
  async onApplicationShutdown(): Promise<void> {
    await closeClusterConnections(this.config);
  }

  static forQueues(names: QueueName[]): DynamicModule {
    return {
      module: QueueModule,
      // The queues and their registry are this application's: every module of it may hand work to them.
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [HERALD_CONFIG],
          useFactory: (config: HeraldConfig) => queueOptions(config),
        }),
        ...names.map((name) =>
          BullModule.registerQueueAsync({
            name,
            inject: [HERALD_CONFIG],
            useFactory: (config: HeraldConfig) => ({ ...queueOptions(config), name }),
          }),
        ),
      ],
      providers: [
        {
          provide: QueueRegistry,
          inject: names.map((name) => getQueueToken(name)),
          useFactory: (...queues: Queue[]) => new QueueRegistry(names, queues),
        },
        QueueErrorLogger,
      ],
      exports: [BullModule, QueueRegistry],
    };
  }
}
