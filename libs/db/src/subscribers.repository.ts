import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { newId } from '@herald/core';
import { Prisma } from './generated/prisma/client';
import { PG_POOL } from './pg-pool';
import { PrismaService } from './prisma.service';

export type SubscriberRow = Awaited<ReturnType<PrismaService['subscriber']['findFirstOrThrow']>>;
export type DeviceRow = Awaited<ReturnType<PrismaService['device']['findFirstOrThrow']>>;

/** A profile as PUT /v1/subscribers/:id sets it: absent fields keep what is stored, `null` clears one. */
export interface ProfileFields {
  email?: string | null;
  phone?: string | null;
  locale?: string | null;
  timezone?: string | null;
  data?: Record<string, unknown>;
  quietHours?: { start: string; end: string } | null;
}

/** What runs a statement: the pool, or the client of a transaction the caller holds. */
type Queryable = Pick<Pool, 'query'>;

const ENSURE = `
INSERT INTO subscribers (id, tenant_id, subscriber_id)
SELECT gen_random_uuid(), $1, s FROM unnest($2::text[]) AS s
ON CONFLICT (tenant_id, subscriber_id) DO NOTHING`;

/**
 * A tenant's subscribers and their push devices: every read and write of the api goes through here, each
 * scoped by the tenant id (the fan-out's inline upsert, which spans a batch of events, is FanoutRepository's).
 */
@Injectable()
export class SubscribersRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  get(tenantId: string, subscriberId: string): Promise<SubscriberRow | null> {
    return this.prisma.subscriber.findUnique({ where: { tenantId_subscriberId: { tenantId, subscriberId } } });
  }

  /** Newest first, after the cursor's (createdAt, id); one more than `limit`, so the caller knows there is more. */
  page(tenantId: string, after: { at: Date; id: string } | undefined, limit: number): Promise<SubscriberRow[]> {
    return this.prisma.subscriber.findMany({
      where: {
        tenantId,
        ...(after && { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }

  /** Creates or merges a profile; `created` tells which (ON CONFLICT DO NOTHING decides, also when two race). */
  async upsertProfile(tenantId: string, subscriberId: string, input: ProfileFields): Promise<{ created: boolean }> {
    const fields = {
      ...input,
      data: input.data as Prisma.InputJsonValue | undefined,
      quietHours: input.quietHours === null ? Prisma.DbNull : input.quietHours,
    };
    const { count } = await this.prisma.subscriber.createMany({
      data: [{ id: newId(), tenantId, subscriberId, ...fields }],
      skipDuplicates: true,
    });
    if (!count) {
      await this.prisma.subscriber.update({
        where: { tenantId_subscriberId: { tenantId, subscriberId } },
        data: { ...fields, updatedAt: new Date() },
      });
    }
    return { created: count > 0 };
  }

  /** Replaces the preferences, creating the subscriber when it is new. */
  async setPreferences(tenantId: string, subscriberId: string, preferences: Prisma.InputJsonValue): Promise<void> {
    await this.prisma.subscriber.upsert({
      where: { tenantId_subscriberId: { tenantId, subscriberId } },
      create: { id: newId(), tenantId, subscriberId, preferences },
      update: { preferences, updatedAt: new Date() },
    });
  }

  /**
   * Bare subscribers (no address yet) for ids not seen before, which a later profile PUT or an event's inline
   * recipient fills in. Pass sorted ids: two callers then lock their rows in the same order.
   */
  async ensure(tenantId: string, subscriberIds: string[], db: Queryable = this.pool): Promise<void> {
    if (subscriberIds.length) await db.query(ENSURE, [tenantId, subscriberIds]);
  }

  /** Deletes the subscriber and its push devices (its past deliveries and inbox stay); false when there was none. */
  remove(tenantId: string, subscriberId: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.subscriber.deleteMany({ where: { tenantId, subscriberId } });
      if (count) await tx.device.deleteMany({ where: { tenantId, subscriberId } });
      return count > 0;
    });
  }

  /** The subscribers' devices, oldest first, by subscriber id. */
  async devicesOf(tenantId: string, subscriberIds: string[]): Promise<Map<string, DeviceRow[]>> {
    const bySubscriber = new Map<string, DeviceRow[]>();
    if (!subscriberIds.length) return bySubscriber;
    const devices = await this.prisma.device.findMany({
      where: { tenantId, subscriberId: { in: subscriberIds } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    for (const d of devices) bySubscriber.set(d.subscriberId, [...(bySubscriber.get(d.subscriberId) ?? []), d]);
    return bySubscriber;
  }

  /** Registers a push token (again): re-activated and moved to this subscriber, who is created when new. */
  async registerDevice(tenantId: string, subscriberId: string, token: string, platform: string): Promise<DeviceRow> {
    await this.ensure(tenantId, [subscriberId]);
    return this.prisma.device.upsert({
      where: { tenantId_token: { tenantId, token } },
      create: { id: newId(), tenantId, subscriberId, token, platform },
      update: {
        subscriberId,
        platform,
        active: true,
        deactivatedReason: null,
        deactivatedAt: null,
        updatedAt: new Date(),
      },
    });
  }

  /** false when the subscriber has no such token. */
  async removeDevice(tenantId: string, subscriberId: string, token: string): Promise<boolean> {
    const { count } = await this.prisma.device.deleteMany({ where: { tenantId, subscriberId, token } });
    return count > 0;
  }
}
