import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PostgresHealth } from '@herald/db';
import { QueueHealth } from '@herald/queue';
import { WorkerHttpServer } from './worker-http.server';

/** A worker process's health and metrics port, for the queues its roles registered (QueueRegistry). */
@Module({
  // Failed checks are in the 503 answer (and outages logged where work fails), not logged per probe.
  imports: [TerminusModule.forRoot({ logger: false })],
  providers: [PostgresHealth, QueueHealth, WorkerHttpServer],
})
export class WorkerHttpModule {}
