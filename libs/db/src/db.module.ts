import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { Pool } from 'pg';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveryContextRepository } from './delivery-context.repository';
import { DeliverySweepRepository } from './delivery-sweep.repository';
import { FanoutRepository } from './fanout.repository';
import { PG_POOL, createPool } from './pg-pool';
import { PrismaService } from './prisma.service';
import { SourcesRepository } from './sources.repository';
import { SubscribersRepository } from './subscribers.repository';
import { TopicsRepository } from './topics.repository';
import { WebhookEndpointsRepository } from './webhook-endpoints.repository';
import { AuditLogRepository } from './audit-log.repository';
import { RulesRepository } from './rules.repository';
import { TenantSettingsRepository } from './tenant-settings.repository';
import { ApiKeysRepository } from './api-keys.repository';
import { RevocationsRepository } from './revocations.repository';
import { TenantsRepository } from './tenants.repository';
import { SmsSendersRepository } from './sms-senders.repository';
import { InboxRepository } from './inbox.repository';
import { StatsRepository } from './stats.repository';
import { EventsRepository } from './events.repository';
import { EventSchemasRepository } from './event-schemas.repository';
import { DigestsRepository } from './digests.repository';
import { HousekeepingRepository } from './housekeeping.repository';
import { DeliveryViewsRepository } from './delivery-views.repository';
import { SuppressionsRepository } from './suppressions.repository';
import { DeadLettersRepository } from './dead-letters.repository';
import { ProviderFeedbackRepository } from './provider-feedback.repository';
import { OutboxRepository } from './outbox.repository';
import { SendOutcomesRepository } from './send-outcomes.repository';
import { OutboxLagProbe } from './db-probes';
import { FeedbackEventsRepository } from './feedback-events';

/** Raw SQL over the pool, for the workers (and the api where it shares them). */
const REPOSITORIES = [
  DeliveriesRepository,
  DeliveryContextRepository,
  FanoutRepository,
  DigestsRepository,
  HousekeepingRepository,
  DeliverySweepRepository,
  OutboxRepository,
  SendOutcomesRepository,
  OutboxLagProbe,
];
/** The api's repositories (some over Prisma): a worker process never builds a Prisma client. */
const ADMIN_REPOSITORIES = [
  AuditLogRepository,
  RulesRepository,
  SourcesRepository,
  SubscribersRepository,
  TenantSettingsRepository,
  TopicsRepository,
  WebhookEndpointsRepository,
  ApiKeysRepository,
  RevocationsRepository,
  TenantsRepository,
  SmsSendersRepository,
  InboxRepository,
  StatsRepository,
  EventsRepository,
  EventSchemasRepository,
  DeliveryViewsRepository,
  SuppressionsRepository,
  DeadLettersRepository,
  ProviderFeedbackRepository,
  FeedbackEventsRepository,
];

@Global()
@Module({
  providers: [
    { provide: PG_POOL, inject: [HERALD_CONFIG], useFactory: (config: HeraldConfig) => createPool(config) },
    ...REPOSITORIES,
  ],
  exports: [PG_POOL, ...REPOSITORIES],
})
export class DbModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Prisma, for the api's admin routes and their repositories (the workers' paths are raw SQL in the repositories
 * above): imported by ApiModule, so a worker process never builds a Prisma client (nor loads its query compiler).
 */
@Global()
@Module({
  providers: [PrismaService, ...ADMIN_REPOSITORIES],
  exports: [PrismaService, ...ADMIN_REPOSITORIES],
})
export class PrismaModule {}
