import { Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { z } from 'zod';
import { recipientSchema, topicKeySchema } from '@herald/core';
import { TopicsRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';
import { ValidBody, ValidParam, ValidQuery } from '../http/valid-input';
import { Returns } from '../docs/api-output.decorator';
import { topicChangeSchema, topicMemberPageSchema, topicSchema } from './topics.contract';

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

/**
 * Topics: named audiences. An event sent `to: { topic }` reaches every member, fanned out in
 * batches by the worker; membership is changed in bulk here.
 */
@Controller('v1/topics')
@Auth('admin')
export class TopicsController {
  constructor(private readonly topics: TopicsRepository) {}

  /** Adds and removes members in one transaction (removals after additions); creates the topic on first use. */
  @Put(':key/subscribers')
  @Returns(topicChangeSchema)
  async change(
    @TenantId() tenantId: string,
    @ValidParam('key', topicKeySchema) key: string,
    @ValidBody(changeSchema) { add = [], remove = [] }: z.infer<typeof changeSchema>,
  ) {
    const removing = new Set(remove);
    const both = add.filter((id) => removing.has(id));
    if (both.length) {
      throw Problem.unprocessable('topic-change-conflict', 'A subscriber cannot be added and removed at once', [
        { path: 'remove', message: `also in add: ${both.slice(0, 10).join(', ')}` },
      ]);
    }
    return { key, ...(await this.topics.changeMembers(tenantId, key, add, remove)) };
  }

  @Get(':key')
  @Returns(topicSchema)
  async get(@TenantId() tenantId: string, @Param('key') key: string) {
    const topic = await this.topics.find(tenantId, key);
    if (!topic) throw Problem.notFound(`Topic ${key}`);
    return topic;
  }

  /** Newest members first; `nextCursor` is present while there are more. */
  @Get(':key/subscribers')
  @Returns(topicMemberPageSchema)
  async members(
    @TenantId() tenantId: string,
    @Param('key') key: string,
    @ValidQuery(listQuery) input: z.infer<typeof listQuery>,
  ) {
    // A topic that does not exist is a 404 whatever the cursor says.
    const topic = await this.topics.lookup(tenantId, key);
    if (!topic) throw Problem.notFound(`Topic ${key}`);
    const after = input.cursor ? decodeCursor(input.cursor, (id) => id.length > 0) : undefined;
    const rows = await this.topics.members(tenantId, topic.id, after, input.limit);
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    return { items: page.map((m) => ({ subscriberId: m.id, addedAt: m.createdAt })), nextCursor };
  }

  /** Deletes the topic and its memberships (the subscribers stay); events already fanning out to it stop. */
  @Delete(':key')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('key') key: string): Promise<void> {
    if (!(await this.topics.remove(tenantId, key))) throw Problem.notFound(`Topic ${key}`);
  }
}
