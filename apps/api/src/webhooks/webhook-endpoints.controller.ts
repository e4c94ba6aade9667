import { Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { z } from 'zod';
import { eventTypeSchema } from '@herald/core';
import { generateWebhookSecret, webhookUrlRefusal } from '@herald/channels';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { WebhookEndpointsRepository, type EndpointRow } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidBody } from '../http/valid-input';
import { Problem } from '../http/problem';
import { Returns } from '../docs/api-output.decorator';
import {
  createdWebhookEndpointSchema,
  webhookEndpointSchema,
  webhookEndpointsSchema,
} from './webhook-endpoints.contract';

const urlSchema = z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).max(2000);
const createSchema = z.strictObject({
  url: urlSchema,
  eventTypes: z.array(eventTypeSchema).max(100).optional(),
  description: z.string().max(500).optional(),
});
const patchSchema = z.strictObject({
  url: urlSchema.optional(),
  eventTypes: z.array(eventTypeSchema).max(100).optional(),
  description: z.string().max(500).nullable().optional(),
  active: z.boolean().optional(),
});

/** A tenant's webhook endpoints. The signing secret is shown once, when the endpoint is created. */
@Controller('v1/webhook-endpoints')
@Auth('admin')
export class WebhookEndpointsController {
  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  @Post()
  @Returns(createdWebhookEndpointSchema)
  async create(@TenantId() tenantId: string, @ValidBody(createSchema) input: z.infer<typeof createSchema>) {
    await this.refuseInternalUrl(input.url);
    const endpoint = await this.endpoints.create(
      tenantId,
      { url: input.url, eventTypes: input.eventTypes ?? [], description: input.description },
      generateWebhookSecret(),
    );
    return { ...view(endpoint), secret: endpoint.secret };
  }

  @Get()
  @Returns(webhookEndpointsSchema)
  async list(@TenantId() tenantId: string) {
    return { items: (await this.endpoints.list(tenantId)).map(view) };
  }

  @Get(':id')
  @Returns(webhookEndpointSchema)
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    return view(await this.find(tenantId, id));
  }

  /** `{ active: true }` re-enables an endpoint that was disabled (by a 410 or repeated failures). */
  @Patch(':id')
  @Returns(webhookEndpointSchema)
  async update(
    @TenantId() tenantId: string,
    @Param('id') id: string,
    @ValidBody(patchSchema) input: z.infer<typeof patchSchema>,
  ) {
    await this.find(tenantId, id);
    if (input.url) await this.refuseInternalUrl(input.url);
    const reenable = input.active === true ? { disabledReason: null, consecutiveFailures: 0 } : {};
    const disable = input.active === false ? { disabledReason: 'disabled by an operator' } : {};
    const endpoint = await this.endpoints.update(tenantId, id, { ...input, ...reenable, ...disable });
    if (!endpoint) throw Problem.notFound(`Webhook endpoint ${id}`);
    return view(endpoint);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('id') id: string): Promise<void> {
    if (!(await this.endpoints.remove(tenantId, id))) throw Problem.notFound(`Webhook endpoint ${id}`);
  }

  /** Loopback, private, link-local… URLs are refused when saved too, not only when delivered to (SSRF). */
  private async refuseInternalUrl(url: string): Promise<void> {
    if (this.config.providers.webhook.allowPrivateNetworks) return;
    const refusal = await webhookUrlRefusal(url);
    if (refusal) {
      throw Problem.unprocessable('webhook-url-refused', 'Webhook endpoints may not point at internal addresses', [
        { path: 'url', message: refusal },
      ]);
    }
  }

  private async find(tenantId: string, id: string): Promise<EndpointRow> {
    const endpoint = await this.endpoints.get(tenantId, id);
    if (!endpoint) throw Problem.notFound(`Webhook endpoint ${id}`);
    return endpoint;
  }
}

function view(e: EndpointRow) {
  return {
    id: e.id,
    url: e.url,
    eventTypes: e.eventTypes,
    description: e.description ?? undefined,
    active: e.active,
    disabledReason: e.disabledReason ?? undefined,
    consecutiveFailures: e.consecutiveFailures,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
