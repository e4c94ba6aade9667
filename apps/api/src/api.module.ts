import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { MetricsModule } from '@herald/observability';
import { PostgresHealth, PrismaModule } from '@herald/db';
import { QueueClients, RedisHealth } from '@herald/queue';
import { AuditLogController } from './audit/audit-log.controller';
import { AuditInterceptor } from './audit/audit.interceptor';
import { ApiKeysService } from './auth/api-keys.service';
import { AuthGuard } from './auth/auth.guard';
import { RevocationsService } from './auth/revocations.service';
import { ConsoleModule } from './console/console.module';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeadLettersService } from './dead-letters/dead-letters.service';
import { DocsController } from './docs/docs.controller';
import { EmailFeedbackService } from './feedback/email-feedback.service';
import { FeedbackController } from './feedback/feedback.controller';
import { SmsFeedbackService } from './feedback/sms-feedback.service';
import { HealthController } from './health/health.controller';
import { HooksController } from './hooks/hooks.controller';
import { SourcesController } from './sources/sources.controller';
import { ProblemFilter } from './http/problem.filter';
import { InboxStreamService } from './inbox/inbox-stream.service';
import { InboxTokenController } from './inbox/inbox-token.controller';
import { InboxController } from './inbox/inbox.controller';
import { InboxService } from './inbox/inbox.service';
import { EventSchemasController } from './event-types/event-schemas.controller';
import { EventSchemas } from './event-types/event-schemas.service';
import { CancelEventUseCase } from './events/cancel-event.usecase';
import { CloudEventsIngest } from './events/cloud-events.ingest';
import { EventsController } from './events/events.controller';
import { EventsQuery } from './events/events.query';
import { IngestUseCase } from './events/ingest.usecase';
import { McpController } from './mcp/mcp.controller';
import { MetricsController } from './metrics/metrics.controller';
import { QueueDashboard } from './queue-dashboard/queue-dashboard';
import { RulePreviewController } from './rules/rule-preview.controller';
import { RulesController } from './rules/rules.controller';
import { SandboxController } from './sandbox/sandbox.controller';
import { SettingsController } from './settings/settings.controller';
import { StatsController } from './stats/stats.controller';
import { SuppressionsController } from './suppressions/suppressions.controller';
import { DevicesController } from './subscribers/devices.controller';
import { PreferencesController } from './subscribers/preferences.controller';
import { SubscribersController } from './subscribers/subscribers.controller';
import { SmsSenders } from './tenants/sms-senders.service';
import { TenantsController } from './tenants/tenants.controller';
import { ApiRateLimitGuard } from './throttle/api-rate-limit.guard';
import { TopicsController } from './topics/topics.controller';
import { WebhookEndpointsController } from './webhooks/webhook-endpoints.controller';

/** The HTTP side (with Prisma for its admin routes). Expects ConfigModule and DbModule from the entry point. */
@Module({
  // Terminus does not log failed checks: they are in the 503 answer, and outages are logged where work fails.
  imports: [DiscoveryModule, TerminusModule.forRoot({ logger: false }), MetricsModule, ConsoleModule, PrismaModule],
  // Grouped by who calls them (docs/architecture.md, "The api by audience").
  controllers: [
    // ingest: product backends sending events (ingest or admin keys), and inbound hooks
    EventsController,
    HooksController,
    EventSchemasController,
    // admin: a tenant's configuration and its data (admin keys), and the operator's tenants (root key)
    TenantsController,
    SettingsController,
    RulesController,
    RulePreviewController,
    SubscribersController,
    PreferencesController,
    DevicesController,
    TopicsController,
    WebhookEndpointsController,
    SourcesController,
    DeliveriesController,
    DeadLettersController,
    SuppressionsController,
    StatsController,
    AuditLogController,
    InboxTokenController,
    // inbox: a subscriber's own messages (inbox tokens)
    InboxController,
    // provider callbacks: delivery receipts, bounces, opt-outs (signed by the provider, no Herald key)
    FeedbackController,
    // operations: health, metrics, the API reference, the assistant bridge, the development sandbox
    HealthController,
    MetricsController,
    DocsController,
    McpController,
    SandboxController,
  ],
  providers: [
    // Guards run in this order: the rate limit counts the caller the AuthGuard identified.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: ApiRateLimitGuard },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
    { provide: APP_FILTER, useClass: ProblemFilter },
    ApiKeysService,
    RevocationsService,
    IngestUseCase,
    EventsQuery,
    CancelEventUseCase,
    EventSchemas,
    CloudEventsIngest,
    InboxService,
    InboxStreamService,
    QueueClients,
    DeadLettersService,
    EmailFeedbackService,
    SmsFeedbackService,
    SmsSenders,
    PostgresHealth,
    RedisHealth,
    QueueDashboard,
  ],
})
export class ApiModule {}
