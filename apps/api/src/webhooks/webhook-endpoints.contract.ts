import { z } from 'zod';

/** What the webhook endpoint routes answer (docs/api.md). */

const endpointShape = {
  id: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string().optional(),
  active: z.boolean(),
  disabledReason: z.string().optional(),
  consecutiveFailures: z.number().int(),
  createdAt: z.date(),
  updatedAt: z.date(),
};

export const webhookEndpointSchema = z.object(endpointShape).meta({ id: 'WebhookEndpoint' });

/** `201` to `POST /v1/webhook-endpoints`: the only answer that shows the signing secret. */
export const createdWebhookEndpointSchema = z
  .object({ ...endpointShape, secret: z.string().describe('`whsec_…`: give it to verifyWebhook()') })
  .meta({ id: 'CreatedWebhookEndpoint' });

export const webhookEndpointsSchema = z.object({ items: z.array(webhookEndpointSchema) });
