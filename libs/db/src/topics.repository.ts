import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { newId } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { SubscribersRepository } from './subscribers.repository';
import { inTransaction } from './transaction';

export interface TopicView {
  key: string;
  members: number;
  createdAt: Date;
}

// The topic is made on first use; racing PUTs agree on one row.
const UPSERT_TOPIC = `
INSERT INTO topics (id, tenant_id, key) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, key) DO UPDATE SET key = EXCLUDED.key
RETURNING id`;
const ADD_MEMBERS = `
INSERT INTO topic_members (topic_id, tenant_id, subscriber_id)
SELECT $1, $2, s FROM unnest($3::text[]) AS s
ON CONFLICT (topic_id, subscriber_id) DO NOTHING`;
const REMOVE_MEMBERS = `
DELETE FROM topic_members WHERE topic_id = $1 AND tenant_id = $2 AND subscriber_id = ANY($3::text[])`;
const MEMBER_COUNT = `SELECT count(*)::int AS n FROM topic_members WHERE topic_id = $1 AND tenant_id = $2`;
const FIND_TOPIC = `SELECT id, key, created_at AS "createdAt" FROM topics WHERE tenant_id = $1 AND key = $2`;
const LIST_MEMBERS = `
SELECT subscriber_id AS id, created_at AS "createdAt" FROM topic_members
WHERE topic_id = $1 AND tenant_id = $2 AND ($3::timestamptz IS NULL OR (created_at, subscriber_id) < ($3, $4))
ORDER BY created_at DESC, subscriber_id DESC
LIMIT $5`;
const DELETE_TOPIC = `DELETE FROM topics WHERE tenant_id = $1 AND key = $2`;

/**
 * A tenant's topics and their members, every statement filtered by the tenant (the fan-out's reading of a
 * broadcast's members, which follows a cursor across batches, is FanoutRepository's).
 */
@Injectable()
export class TopicsRepository {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly subscribers: SubscribersRepository,
  ) {}

  /**
   * Adds, then removes, members in one transaction, creating the topic on first use; ids not seen before become
   * bare subscribers in the same transaction.
   */
  changeMembers(
    tenantId: string,
    key: string,
    add: string[],
    remove: string[],
  ): Promise<{ added: number; removed: number; members: number }> {
    return inTransaction(this.pool, async (client) => {
      const topic = await client.query<{ id: string }>(UPSERT_TOPIC, [newId(), tenantId, key]);
      const topicId = topic.rows[0]!.id;
      // Sorted, so two changes over the same ids lock their rows in the same order and cannot deadlock.
      const adding = [...new Set(add)].sort();
      await this.subscribers.ensure(tenantId, adding, client);
      const added = adding.length ? ((await client.query(ADD_MEMBERS, [topicId, tenantId, adding])).rowCount ?? 0) : 0;
      const removed = remove.length
        ? ((await client.query(REMOVE_MEMBERS, [topicId, tenantId, remove])).rowCount ?? 0)
        : 0;
      const members = (await client.query<{ n: number }>(MEMBER_COUNT, [topicId, tenantId])).rows[0]!.n;
      return { added, removed, members };
    });
  }

  /** The topic with its member count, or null. */
  async find(tenantId: string, key: string): Promise<TopicView | null> {
    const topic = await this.lookup(tenantId, key);
    if (!topic) return null;
    const { rows } = await this.pool.query<{ n: number }>(MEMBER_COUNT, [topic.id, tenantId]);
    return { key: topic.key, members: rows[0]!.n, createdAt: topic.createdAt };
  }

  /** Newest members of a topic (its id from `lookup`), after the cursor; one more than `limit`. */
  async members(
    tenantId: string,
    topicId: string,
    after: { at: Date; id: string } | undefined,
    limit: number,
  ): Promise<{ id: string; createdAt: Date }[]> {
    const { rows } = await this.pool.query<{ id: string; createdAt: Date }>(LIST_MEMBERS, [
      topicId,
      tenantId,
      after?.at ?? null,
      after?.id ?? null,
      limit + 1,
    ]);
    return rows;
  }

  /** Deletes the topic and its memberships (the subscribers stay); false when there was none. */
  async remove(tenantId: string, key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(DELETE_TOPIC, [tenantId, key]);
    return (rowCount ?? 0) > 0;
  }

  /** The topic's row, or null. */
  async lookup(tenantId: string, key: string): Promise<{ id: string; key: string; createdAt: Date } | null> {
    const { rows } = await this.pool.query<{ id: string; key: string; createdAt: Date }>(FIND_TOPIC, [tenantId, key]);
    return rows[0] ?? null;
  }
}
