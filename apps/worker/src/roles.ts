import type { Provider, Type } from '@nestjs/common';
import type { WorkerRole } from '@herald/config';
import { QueueName } from '@herald/queue';
import { DeliverInappUseCase } from './channels/deliver-inapp.usecase';
import { InappProcessor } from './channels/inapp.processor';
import { FanoutProcessor } from './fanout/fanout.processor';
import { FanoutUseCase } from './fanout/fanout.usecase';
import { OutboxRelayService } from './relay/outbox-relay.service';

interface RoleSpec {
  /** the queue this role consumes, if any */
  consumes?: QueueName;
  /** the queues this role produces to */
  produces: QueueName[];
  providers: Provider[];
  processor?: Type<unknown>;
}

/** What each worker role runs. A role that consumes a queue must bring exactly that queue's processor. */
export const ROLES: Record<WorkerRole, RoleSpec> = {
  relay: { produces: [QueueName.Fanout], providers: [OutboxRelayService] },
  fanout: {
    consumes: QueueName.Fanout,
    produces: [QueueName.DeliverInapp],
    providers: [FanoutUseCase],
    processor: FanoutProcessor,
  },
  inapp: {
    consumes: QueueName.DeliverInapp,
    produces: [],
    providers: [DeliverInappUseCase],
    processor: InappProcessor,
  },
};
