import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put, Query } from '@nestjs/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import { newId, recipientSchema, topicKeySchema } from '@herald/core';
import { PG_POOL, SubscribersRepository, inTransaction } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { parse } from '../http/parse';
import { Problem } from '../http/problem';

/** Subscriber ids per list in one PUT: 10,000 ids of 255 characters still fit the 5 MB body limit. */
export const MAX_TOPIC_CHANGES = 10_000;

const subscriberIds = z.array(recipientSchema.shape.subscriberId).max(MAX_TOPIC_CHANGES);
const changeSchema = z
  .strictObject({ add: subscriberIds.optional(), remove: subscriberIds.optional() })
  .refine((c) => (c.add?.length ?? 0) + (c.remove?.length ?? 0) > 0, {
    error: 'expects at least one subscriber id in add or remove',
  });
const listQuery = z.object({
  cursor: z.string().max(400).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

// The topic is made on first use; racing PUTs agree on one row.
const UPSERT_TOPIC = `
INSERT INTO topics (id, tenant_id, key) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, key) DO UPDATE SET key = EXCLUDED.key
RETURNING id`;
const ADD_MEMBERS = `
INSERT INTO topic_members (topic_id, tenant_id, subscriber_id)
SELECT $1, $2, s FROM unnest($3::text[]) AS s
ON CONFLICT (topic_id, subscriber_id) DO NOTHING`;
const REMOVE_MEMBERS = `DELETE FROM topic_members WHERE topic_id = $1 AND subscriber_id = ANY($2::text[])`;
const MEMBER_COUNT = `SELECT count(*)::int AS n FROM topic_members WHERE topic_id = $1`;
const FIND_TOPIC = `SELECT id, key, created_at AS "createdAt" FROM topics WHERE tenant_id = $1 AND key = $2`;
const LIST_MEMBERS = `
SELECT subscriber_id AS id, created_at AS "createdAt" FROM topic_members
WHERE topic_id = $1 AND ($2::timestamptz IS NULL OR (created_at, subscriber_id) < ($2, $3))
ORDER BY created_at DESC, subscriber_id DESC
LIMIT $4`;

/**
 * Topics: named audiences. An event sent `to: { topic }` reaches every member, fanned out in
 * batches by the worker; membership is changed in bulk here.
 */
@Controller('v1/topics')
@Auth('admin')
export class TopicsController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SubscribersRepository) private readonly subscribers: SubscribersRepository,
  ) {}

  /** Adds and removes members in one transaction (removals after additions); creates the topic on first use. */
  @Put(':key/subscribers')
  @ApiInput({ body: changeSchema })
  async change(@TenantId() tenantId: string, @Param('key') rawKey: string, @Body() body: unknown) {
    const key = parse(topicKeySchema, rawKey, 'key');
    const { add = [], remove = [] } = parse(changeSchema, body);
    const removing = new Set(remove);
    const both = add.filter((id) => removing.has(id));
    if (both.length) {
      throw Problem.unprocessable('topic-change-conflict', 'A subscriber cannot be added and removed at once', [
        { path: 'remove', message: `also in add: ${both.slice(0, 10).join(', ')}` },
      ]);
    }
    return inTransaction(this.pool, async (client) => {
      const topic = await client.query<{ id: string }>(UPSERT_TOPIC, [newId(), tenantId, key]);
      const topicId = topic.rows[0].id;
      // Sorted, so two PUTs over the same ids lock their rows in the same order and cannot deadlock.
      const adding = [...new Set(add)].sort();
      // Members must be subscribers: ids not seen before become bare ones, in this transaction.
      await this.subscribers.ensure(tenantId, adding, client);
      const added = adding.length ? (await client.query(ADD_MEMBERS, [topicId, tenantId, adding])).rowCount : 0;
      const removed = remove.length ? (await client.query(REMOVE_MEMBERS, [topicId, remove])).rowCount : 0;
      const members = (await client.query<{ n: number }>(MEMBER_COUNT, [topicId])).rows[0].n;
      return { key, added, removed, members };
    });
  }

  @Get(':key')
  async get(@TenantId() tenantId: string, @Param('key') key: string) {
    const topic = await this.find(tenantId, key);
    const { rows } = await this.pool.query<{ n: number }>(MEMBER_COUNT, [topic.id]);
    return { key: topic.key, members: rows[0].n, createdAt: topic.createdAt };
  }

  /** Newest members first; `nextCursor` is present while there are more. */
  @Get(':key/subscribers')
  @ApiInput({ query: listQuery })
  async members(@TenantId() tenantId: string, @Param('key') key: string, @Query() query: unknown) {
    const input = parse(listQuery, query, 'query');
    const topic = await this.find(tenantId, key);
    const after = input.cursor ? decodeCursor(input.cursor, (id) => id.length > 0) : undefined;
    const { rows } = await this.pool.query<{ id: string; createdAt: Date }>(LIST_MEMBERS, [
      topic.id,
      after?.at ?? null,
      after?.id ?? null,
      input.limit + 1,
    ]);
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    return { items: page.map((m) => ({ subscriberId: m.id, addedAt: m.createdAt })), nextCursor };
  }

  /** Deletes the topic and its memberships (the subscribers stay); events already fanning out to it stop. */
  @Delete(':key')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('key') key: string): Promise<void> {
    const { rowCount } = await this.pool.query('DELETE FROM topics WHERE tenant_id = $1 AND key = $2', [tenantId, key]);
    if (!rowCount) throw Problem.notFound(`Topic ${key}`);
  }

  private async find(tenantId: string, key: string): Promise<{ id: string; key: string; createdAt: Date }> {
    const { rows } = await this.pool.query<{ id: string; key: string; createdAt: Date }>(FIND_TOPIC, [tenantId, key]);
    if (!rows[0]) throw Problem.notFound(`Topic ${key}`);
    return rows[0];
  }
}
