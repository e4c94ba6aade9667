import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { SuppressionsRepository, type SuppressionRow } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';
import { Returns } from '../docs/api-output.decorator';
import { suppressionPageSchema, suppressionSchema } from './suppressions.contract';
import { ValidBody, ValidQuery } from '../http/valid-input';

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

/** The tenant's suppression list: addresses Herald will not send to (email and SMS). */
@Controller('v1/suppressions')
@Auth('admin')
export class SuppressionsController {
  constructor(private readonly suppressions: SuppressionsRepository) {}

  @Get()
  @Returns(suppressionPageSchema)
  async list(@TenantId() tenantId: string, @ValidQuery(listQuery) input: z.infer<typeof listQuery>) {
    const after = input.cursor ? decodeCursor(input.cursor) : undefined;
    const { channel, address } = input;
    const rows = await this.suppressions.page(tenantId, { channel, address }, after, input.limit);
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    return {
      items: page.map(view),
      nextCursor,
    };
  }

  @Post()
  @HttpCode(201)
  @Returns(suppressionSchema)
  async create(@TenantId() tenantId: string, @ValidBody(createBody) input: z.infer<typeof createBody>) {
    const added = await this.suppressions.add(tenantId, {
      channel: input.channel,
      address: input.address,
      reason: input.reason,
      source: 'admin',
      detail: input.detail,
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : undefined,
    });
    if (!added) {
      throw Problem.badRequest('The body has an invalid field', [
        {
          path: 'address',
          message: `expects ${input.channel === 'email' ? 'an email address' : 'an E.164 phone number'}`,
        },
      ]);
    }
    return view(added);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('id') id: string): Promise<void> {
    if (!(await this.suppressions.remove(tenantId, id))) throw Problem.notFound(`Suppression ${id}`);
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
