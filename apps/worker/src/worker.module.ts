import { DynamicModule, Module } from '@nestjs/common';
import { type WorkerRole } from '@herald/config';
import { MetricsModule } from '@herald/observability';
import { QueueModule, type QueueName } from '@herald/queue';
import { ChannelProvidersModule } from './channels/channel-providers.module';
import { WorkerHttpModule } from './health/worker-http.module';
import { ROLES } from './roles';

// Where @Processor(name) keeps its options (@nestjs/bullmq's PROCESSOR_METADATA, not exported).
const QUEUE_PROCESSOR_METADATA = 'bullmq:processor_metadata';

/** The worker side for a set of roles. Expects ConfigModule and DbModule from the entry point. */
@Module({})
export class WorkerModule {
  /**
   * `httpPort: false` leaves out the worker's health and metrics port (WORKER_HEALTH_PORT), for a
   * process whose api already serves /health and /metrics.
   */
  static forRoles(roles: readonly WorkerRole[], options: { httpPort?: boolean } = {}): DynamicModule {
    checkCatalogue(roles);
    const specs = roles.map((role) => ROLES[role]);
    const queues = new Set<QueueName>(specs.flatMap((s) => [...s.produces, ...(s.consumes ? [s.consumes] : [])]));
    const channels = specs.flatMap((s) => (s.provider ? [s.provider] : []));
    return {
      module: WorkerModule,
      imports: [
        MetricsModule,
        QueueModule.forQueues([...queues]),
        ...(channels.length ? [ChannelProvidersModule.forChannels(channels)] : []),
        ...(options.httpPort === false ? [] : [WorkerHttpModule]),
      ],
      // A Set: roles share providers (DeliveryRunner), and Nest wants each once.
      providers: [...new Set(specs.flatMap((s) => [...s.providers, ...(s.processor ? [s.processor] : [])]))],
    };
  }
}

/** Refuses to start when a consumed queue does not have exactly one processor for it. */
function checkCatalogue(roles: readonly WorkerRole[]): void {
  for (const role of roles) {
    const { consumes, processor } = ROLES[role];
    if (!consumes) continue;
    const handles = processor && Reflect.getMetadata(QUEUE_PROCESSOR_METADATA, processor)?.name;
    if (handles !== consumes) {
      throw new Error(`Worker role ${role} consumes ${consumes} but its processor handles ${handles ?? 'nothing'}`);
    }
  }
}
