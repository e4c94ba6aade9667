import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PG_POOL } from './pg-pool';
import { inTransaction } from './transaction';

/**
 * The transaction a recording of provider answers writes in, when an answer says something about its address
 * (DeliveriesRepository.finish, suppress, recordFeedback and SendFeedbackRepository run in it). System: a
 * recording spans the tenants of the deliveries it ends.
 */
@Injectable()
export class SendOutcomesRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Runs `work` in one transaction: the claims' ends, their attempt rows and what the answers change about
   * addresses (suppressions and their records, dead push tokens, failing endpoints) commit together, or not at all.
   */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}
