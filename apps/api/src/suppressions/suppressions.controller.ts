import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import { isUuid, normalizeAddress } from '@herald/core';
import { PrismaService, suppress, PG_POOL, type Prisma } from '@herald/db';
import type { Pool } from 'pg';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { parse } from '../http/parse';
import { Problem } from '../http/problem';

const channel = z.enum(['email', 'sms']);
const listQuery = z.object({
  channel: channel.optional(),
  address: z.string().min(1).max(320).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const createBody = z.strictObject({
  channel,
  address: z.string().min(1).max(320),
  reason: z.enum(['hard_bounce', 'complaint', 'opt_out', 'invalid_address', 'manual']).default('manual'),
  detail: z.string().max(500).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

type SuppressionRow = Awaited<ReturnType<PrismaService['suppression']['findFirstOrThrow']>>;

/** The tenant's suppression list: addresses Herald will not send to (email and SMS). */
@Controller('v1/suppressions')
@Auth('admin')
export class SuppressionsController {
  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  @Get()
  @ApiInput({ query: listQuery })
  async list(@TenantId() tenantId: string, @Query() query: unknown) {
    const input = parse(listQuery, query, 'query');
    const after = input.cursor ? decodeCursor(input.cursor) : undefined;
    const where: Prisma.SuppressionWhereInput = {
      tenantId,
      ...(input.channel && { channel: input.channel }),
      // An address is searched as it is stored: normalized for its channel (or as typed, if it is not one).
      ...(input.address && {
        address: input.channel ? (normalizeAddress(input.channel, input.address) ?? input.address) : input.address,
      }),
      ...(after && { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
    };
    const rows = await this.prisma.suppression.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: input.limit + 1,
    });
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    return {
      items: page.map(view),
      nextCursor,
    };
  }

  @Post()
  @HttpCode(201)
  @ApiInput({ body: createBody })
  async create(@TenantId() tenantId: string, @Body() body: unknown) {
    const input = parse(createBody, body);
    const id = await suppress(this.pool, {
      tenantId,
      channel: input.channel,
      address: input.address,
      reason: input.reason,
      source: 'admin',
      detail: input.detail,
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : undefined,
    });
    if (!id) {
      throw Problem.badRequest('The body has an invalid field', [
        {
          path: 'address',
          message: `expects ${input.channel === 'email' ? 'an email address' : 'an E.164 phone number'}`,
        },
      ]);
    }
    return view(await this.prisma.suppression.findUniqueOrThrow({ where: { id } }));
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('id') id: string): Promise<void> {
    const { count } = isUuid(id) ? await this.prisma.suppression.deleteMany({ where: { id, tenantId } }) : { count: 0 };
    if (!count) throw Problem.notFound(`Suppression ${id}`);
  }
}

function view(s: SuppressionRow) {
  return {
    id: s.id,
    channel: s.channel,
    address: s.address,
    reason: s.reason,
    source: s.source,
    detail: s.detail ?? undefined,
    deliveryId: s.deliveryId ?? undefined,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt ?? undefined,
  };
}
