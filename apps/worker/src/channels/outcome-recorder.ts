import { Inject, Injectable } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import {
  DeliveriesRepository,
  GroupCommit,
  SendOutcomesRepository,
  isDatabaseUnavailable,
  whileDatabaseUnavailable,
  type ClaimedDelivery,
  type DeliveryEnd,
} from '@herald/db';
import { applySendFeedback, hasSendFeedback, type SendAnswer } from './send-feedback';

interface Outcome {
  delivery: ClaimedDelivery;
  end: DeliveryEnd;
  /** the provider's answer, when one was asked: what it says about the address is acted on too */
  answer?: SendAnswer;
}

/**
 * Records what providers answered, group-committed like ingest: the sends finishing while a write is out
 * are written together by the next one (one transaction: the claims' ends, their attempt rows, and what the
 * answers say about addresses), so a batch of sends costs a few commits rather than one each, and an answer
 * waits for no slower send of its batch. The provider has answered already, so a short Postgres outage
 * must not lose the answer (the lease would run out and the message go again): a write is retried while the
 * database is unreachable, for up to half the lease.
 */
@Injectable()
export class OutcomeRecorder {
  private readonly group: GroupCommit<Outcome, boolean>;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly sendOutcomes: SendOutcomesRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {
    this.group = new GroupCommit(
      (outcomes) => whileDatabaseUnavailable(() => this.write(outcomes), (config.deliveryLeaseSeconds * 1000) / 2),
      256,
      2,
      (err) => !isDatabaseUnavailable(err),
    );
  }

  /** Records one outcome; resolves true when the claim was still this worker's to end. */
  async record(outcome: Outcome): Promise<boolean> {
    const [result] = await this.group.submit([outcome]);
    if (typeof result !== 'boolean') throw result!.error;
    return result;
  }

  private async write(outcomes: Outcome[]): Promise<boolean[]> {
    const answers = outcomes.flatMap((o) => (o.answer ? [o.answer] : []));
    // Most answers say nothing about the address: then the one statement is its own transaction.
    const ended = answers.some(hasSendFeedback)
      ? await this.sendOutcomes.transaction(async (client) => {
          const finished = await this.deliveries.finish(outcomes, client);
          await applySendFeedback(client, answers, this.config);
          return finished;
        })
      : await this.deliveries.finish(outcomes);
    return outcomes.map((o) => ended.has(o.delivery.id));
  }
}
