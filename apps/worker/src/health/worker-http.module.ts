import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PostgresHealth } from '@herald/db';
import { QueueHealth, type QueueName } from '@herald/queue';
import { WORKER_QUEUES, WorkerHttpServer } from './worker-http.server';

/** A worker process's health and metrics port, for the queues its roles use. */
@Module({})
export class WorkerHttpModule {
  static forQueues(queues: QueueName[]): DynamicModule {
    return {
      module: WorkerHttpModule,
      // Failed checks are in the 503 answer (and outages logged where work fails), not logged per probe.
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [{ provide: WORKER_QUEUES, useValue: queues }, PostgresHealth, QueueHealth, WorkerHttpServer],
    };
  }
}
