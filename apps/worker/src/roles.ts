import type { Provider, Type } from '@nestjs/common';
import type { WorkerRole } from '@herald/config';
import { DELIVERY_QUEUES, QueueName } from '@herald/queue';
import { DeliverExternalUseCase } from './channels/deliver-external.usecase';
import { DeliverInappUseCase } from './channels/deliver-inapp.usecase';
import { DeliveryBatchRunner } from './channels/delivery-batch';
import { OutcomeRecorder } from './channels/outcome-recorder';
import {
  EmailProcessor,
  InappProcessor,
  PushProcessor,
  SmsProcessor,
  WebhookProcessor,
} from './channels/delivery.processor';
import { FanoutProcessor } from './fanout/fanout.processor';
import { FanoutUseCase } from './fanout/fanout.usecase';
import { DeadLetterCopier } from './dlq/dead-letter-copier';
import { DeliverySweepService } from './housekeeping/delivery-sweep.service';
import { RetentionService } from './housekeeping/retention.service';
import { OutboxRelayService } from './relay/outbox-relay.service';
import { RateLimitGate } from './channels/rate-limit-gate';

interface RoleSpec {
  /** the queue this role consumes, if any */
  consumes?: QueueName;
  /** the queues this role produces to */
  produces: QueueName[];
  providers: Provider[];
  processor?: Type<unknown>;
  /** an external channel whose provider this role needs */
  provider?: 'email' | 'sms' | 'push' | 'webhook';
}

const deliveryRunner = [DeliveryBatchRunner, RateLimitGate, DeadLetterCopier];

const external = (
  channel: 'email' | 'sms' | 'push' | 'webhook',
  queue: QueueName,
  processor: Type<unknown>,
): RoleSpec => ({
  consumes: queue,
  produces: [QueueName.DeadLetter],
  providers: [...deliveryRunner, DeliverExternalUseCase, OutcomeRecorder],
  processor,
  provider: channel,
});

/** What each worker role runs. A role that consumes a queue must bring exactly that queue's processor. */
export const ROLES: Record<WorkerRole, RoleSpec> = {
  relay: { produces: [QueueName.Fanout], providers: [OutboxRelayService] },
  fanout: {
    consumes: QueueName.Fanout,
    produces: [...DELIVERY_QUEUES],
    providers: [FanoutUseCase],
    processor: FanoutProcessor,
  },
  email: external('email', QueueName.DeliverEmail, EmailProcessor),
  sms: external('sms', QueueName.DeliverSms, SmsProcessor),
  push: external('push', QueueName.DeliverPush, PushProcessor),
  webhook: external('webhook', QueueName.DeliverWebhook, WebhookProcessor),
  inapp: {
    consumes: QueueName.DeliverInapp,
    produces: [QueueName.DeadLetter],
    providers: [...deliveryRunner, DeliverInappUseCase],
    processor: InappProcessor,
  },
  housekeeping: {
    // dead-letter: expired dead letters' copies are removed from it
    produces: [QueueName.Fanout, ...DELIVERY_QUEUES, QueueName.DeadLetter],
    providers: [DeliverySweepService, RetentionService],
  },
};
