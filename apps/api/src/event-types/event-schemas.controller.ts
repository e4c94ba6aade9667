import { Controller, Get, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { eventTypeSchema, schemaVersionSchema } from '@herald/core';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidBody, ValidParam } from '../http/valid-input';
import { EventSchemas } from './event-schemas.service';
import { Returns } from '../docs/api-output.decorator';
import { eventSchemaVersionsSchema, eventSchemaViewSchema, eventTypesSchema } from './event-schemas.contract';

/** The body of a PUT: the JSON Schema (draft-07) itself, describing the event's `data` object. */
const jsonSchemaBody = z.record(z.string(), z.unknown());
// Path versions are plain decimal numbers: "2", not "v2" or "2.0".
const versionParam = z
  .string()
  .regex(/^[1-9]\d{0,8}$/, { error: 'expects a version number such as 2' })
  .transform(Number)
  .pipe(schemaVersionSchema);

/**
 * Event contracts: the JSON Schema each event type's `data` must match, in versions. Senders read
 * them (ingest keys); only admins publish.
 */
@Controller('v1/event-types')
export class EventSchemasController {
  constructor(private readonly schemas: EventSchemas) {}

  @Get()
  @Auth('ingest')
  @Returns(eventTypesSchema)
  async types(@TenantId() tenantId: string) {
    return this.schemas.types(tenantId);
  }

  @Get(':type/schemas')
  @Auth('ingest')
  @Returns(eventSchemaVersionsSchema)
  async list(@TenantId() tenantId: string, @ValidParam('type', eventTypeSchema) type: string) {
    return this.schemas.list(tenantId, type);
  }

  @Get(':type/schemas/:version')
  @Auth('ingest')
  @Returns(eventSchemaViewSchema)
  async get(
    @TenantId() tenantId: string,
    @ValidParam('type', eventTypeSchema) type: string,
    @ValidParam('version', versionParam) version: number,
  ) {
    return this.schemas.get(tenantId, type, version);
  }

  /**
   * Publishes a version: 201 when new, 200 when this very schema is that version already; 409 when the
   * version exists with another schema, is older than the newest, or is not backward compatible with
   * it (`incompatibilities` lists why); 422 when the body is not a usable JSON Schema.
   */
  @Put(':type/schemas/:version')
  @Auth('admin')
  @Returns({ 200: eventSchemaViewSchema, 201: eventSchemaViewSchema })
  async publish(
    @TenantId() tenantId: string,
    @ValidParam('type', eventTypeSchema) type: string,
    @ValidParam('version', versionParam) version: number,
    @ValidBody(jsonSchemaBody) body: z.infer<typeof jsonSchemaBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, schema } = await this.schemas.publish(tenantId, type, version, body);
    reply.status(created ? 201 : 200);
    return schema;
  }
}
