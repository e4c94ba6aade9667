import { Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { eventTypeSchema, isJsonPointer } from '@herald/core';
import { generateWebhookSecret } from '@herald/channels';
import { SourcesRepository, type SourceRow } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidBody } from '../http/valid-input';
import { Problem } from '../http/problem';
import { Returns } from '../docs/api-output.decorator';
import { createdSourceSchema, sourceSchema, sourcesSchema } from './sources.contract';

const pointer = z
  .string()
  .max(1000)
  .refine(isJsonPointer, { error: 'expects an RFC 6901 JSON Pointer: "" (the whole body) or one starting with "/"' });

/** Where, in a source's incoming body, the recipient and the event data are (JSON Pointers). */
export const sourceMappingSchema = z.strictObject({
  subscriberId: pointer,
  email: pointer.optional(),
  phone: pointer.optional(),
  locale: pointer.optional(),
  timezone: pointer.optional(),
  /** Default "": the whole body is the event's data. */
  data: pointer.optional(),
});
export type SourceMapping = z.infer<typeof sourceMappingSchema>;

const createSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  eventType: eventTypeSchema,
  mapping: sourceMappingSchema,
});

/**
 * Inbound webhook sources: another system posts its own JSON to `/v1/hooks/:id`, signed with the
 * source's secret, and Herald maps it to an event. The secret is shown once, when the source is created.
 */
@Controller('v1/sources')
@Auth('admin')
export class SourcesController {
  constructor(
    private readonly sources: SourcesRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  @Post()
  @Returns(createdSourceSchema)
  async create(@TenantId() tenantId: string, @ValidBody(createSchema) input: z.infer<typeof createSchema>) {
    const source = await this.sources.create(tenantId, input, generateWebhookSecret());
    return { ...this.view(source), secret: source.secret };
  }

  @Get()
  @Returns(sourcesSchema)
  async list(@TenantId() tenantId: string) {
    return { items: (await this.sources.list(tenantId)).map((s) => this.view(s)) };
  }

  @Get(':id')
  @Returns(sourceSchema)
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.view(await this.find(tenantId, id));
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('id') id: string): Promise<void> {
    if (!(await this.sources.remove(tenantId, id))) throw Problem.notFound(`Source ${id}`);
  }

  private async find(tenantId: string, id: string): Promise<SourceRow> {
    const source = await this.sources.get(tenantId, id);
    if (!source) throw Problem.notFound(`Source ${id}`);
    return source;
  }

  /** Never the secret. `url` is where the other system posts. */
  private view(s: SourceRow) {
    return {
      id: s.id,
      name: s.name,
      eventType: s.eventType,
      mapping: s.mapping as SourceMapping,
      url: `${this.config.publicUrl}/v1/hooks/${s.id}`,
      createdAt: s.createdAt,
    };
  }
}
