import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { CHANNELS, eventTypeSchema, isUuid } from '@herald/core';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidBody, ValidQuery } from '../http/valid-input';
import { Problem } from '../http/problem';
import { DeadLettersService } from './dead-letters.service';
import { Returns } from '../docs/api-output.decorator';
import { deadLetterPageSchema, replayedOneSchema, replayedSchema } from './dead-letters.contract';

const filterShape = { channel: z.enum(CHANNELS).optional(), eventType: eventTypeSchema.optional() };
const listQuery = z.object({
  ...filterShape,
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const replayBody = z.strictObject({ ...filterShape, before: z.iso.datetime({ offset: true }).optional() });

/** Deliveries whose attempts ran out (status `dead`): inspect, replay, purge. */
@Controller('v1/dead-letters')
@Auth('admin')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @Returns(deadLetterPageSchema)
  list(@TenantId() tenantId: string, @ValidQuery(listQuery) input: z.infer<typeof listQuery>) {
    return this.deadLetters.list(tenantId, input);
  }

  @Post('replay')
  @HttpCode(202)
  @Returns(replayedSchema)
  replayMatching(
    @TenantId() tenantId: string,
    @ValidBody(replayBody.optional()) body: z.infer<typeof replayBody> | undefined,
  ) {
    const input = body ?? {};
    return this.deadLetters.replayMatching(tenantId, {
      ...input,
      before: input.before ? new Date(input.before) : undefined,
    });
  }

  @Post(':deliveryId/replay')
  @HttpCode(202)
  @Returns(replayedOneSchema)
  replayOne(@TenantId() tenantId: string, @Param('deliveryId') deliveryId: string) {
    return this.deadLetters.replayOne(tenantId, known(deliveryId));
  }

  @Delete(':deliveryId')
  @HttpCode(204)
  async purge(@TenantId() tenantId: string, @Param('deliveryId') deliveryId: string): Promise<void> {
    await this.deadLetters.purge(tenantId, known(deliveryId));
  }
}

/** Delivery ids are UUIDs: anything else cannot name one. */
function known(deliveryId: string): string {
  if (!isUuid(deliveryId)) throw Problem.notFound(`Delivery ${deliveryId}`);
  return deliveryId;
}
