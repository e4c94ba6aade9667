import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { QueueName } from './queue-names';
import { QUEUE_NAMES, QueueErrorLogger } from './queue-error-logger';
import { queueOptions } from './queue-options';

/** BullMQ wiring in one place: the root connection for workers and the producer side of each queue. */
@Module({})
export class QueueModule {
  static forQueues(names: QueueName[]): DynamicModule {
    return {
      module: QueueModule,
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
      providers: [{ provide: QUEUE_NAMES, useValue: names }, QueueErrorLogger],
      exports: [BullModule],
    };
  }
}
