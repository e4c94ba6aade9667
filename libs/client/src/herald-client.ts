import createClient, { type Client } from 'openapi-fetch';
import { heraldFetch, type HeraldFetchOptions } from './herald-fetch';
import type { paths } from './openapi';
import type {
  BatchEventInput,
  BatchResult,
  CloudEvent,
  CreatedWebhookEndpoint,
  EventAccepted,
  EventInput,
  EventView,
  RuleInput,
  RuleView,
  WebhookEndpointInput,
} from './api-types';

export type HeraldClientOptions = HeraldFetchOptions;

/**
 * Herald's HTTP API for Node/TS apps. The methods below cover the common calls; `api` reaches every
 * endpoint, typed from the OpenAPI document. Both go through the same fetch (see heraldFetch): the key,
 * idempotency keys for sends, retries with backoff, and a HeraldProblemError for every non-2xx answer.
 */
export class HeraldClient {
  /**
   * Every endpoint, typed by path: `api.GET('/v1/subscribers/{subscriberId}', { params: { path: { subscriberId } } })`.
   * It resolves only with 2xx answers (errors throw), so `data` is the body, typed from the document.
   */
  readonly api: Client<paths>;

  constructor(options: HeraldClientOptions) {
    this.api = createClient<paths>({ baseUrl: options.baseUrl, fetch: heraldFetch(options) });
  }

  /** `POST /v1/events`. Without `idempotencyKey` a random one is used (the same on every retry). */
  async sendEvent(event: EventInput, options: { idempotencyKey?: string } = {}): Promise<EventAccepted> {
    const { data, response } = await this.api.POST('/v1/events', {
      body: event,
      params: { header: options.idempotencyKey === undefined ? {} : { 'Idempotency-Key': options.idempotencyKey } },
    });
    return accepted(data, response);
  }

  /**
   * `POST /v1/events` with a CloudEvent 1.0 (structured mode): Herald maps it to an event and keys it by its
   * `id` and `source`, so sending the same CloudEvent again is answered with the first answer (`replayed`).
   */
  async sendCloudEvent(event: CloudEvent): Promise<EventAccepted> {
    const { data, response } = await this.api.POST('/v1/events', {
      body: event,
      headers: { 'content-type': 'application/cloudevents+json' },
    });
    return accepted(data, response);
  }

  /**
   * `POST /v1/events/batch`: up to 1,000 events, each accepted or refused on its own (results in input order).
   * Events without an `idempotencyKey` get a random one, so a retried batch never sends one twice.
   */
  async sendBatch(events: BatchEventInput[]): Promise<BatchResult[]> {
    const { data } = await this.api.POST('/v1/events/batch', { body: { events } });
    return answered(data).results;
  }

  /** `GET /v1/events/{id}`: the event, its deliveries and every attempt. */
  async getEvent(id: string): Promise<EventView> {
    return answered((await this.api.GET('/v1/events/{id}', { params: { path: { id } } })).data);
  }

  /** `DELETE /v1/events/{id}`: cancels an event whose fan-out has not run (a 409 problem once it has). */
  async cancelEvent(id: string): Promise<EventView> {
    return answered((await this.api.DELETE('/v1/events/{id}', { params: { path: { id } } })).data);
  }

  /** `PUT /v1/rules/{eventType}`: what events of this type become (templates are checked: a broken one is a 422). */
  async putRule(eventType: string, rule: RuleInput): Promise<RuleView> {
    const { data } = await this.api.PUT('/v1/rules/{eventType}', { params: { path: { eventType } }, body: rule });
    return answered(data);
  }

  async getRule(eventType: string): Promise<RuleView> {
    return answered((await this.api.GET('/v1/rules/{eventType}', { params: { path: { eventType } } })).data);
  }

  async deleteRule(eventType: string): Promise<void> {
    await this.api.DELETE('/v1/rules/{eventType}', { params: { path: { eventType } } });
  }

  /** `POST /v1/webhook-endpoints`: the answer is the only time the signing secret is shown. */
  async createWebhookEndpoint(endpoint: WebhookEndpointInput): Promise<CreatedWebhookEndpoint> {
    return answered((await this.api.POST('/v1/webhook-endpoints', { body: endpoint })).data);
  }
}

/** `202` to one event (the document's 207 is for a CloudEvents batch, which these methods do not send). */
function accepted(data: Omit<EventAccepted, 'replayed'> | object | undefined, response: Response): EventAccepted {
  return {
    ...(data as Omit<EventAccepted, 'replayed'>),
    replayed: response.headers.get('idempotent-replayed') === 'true',
  };
}

/** A 2xx answer's body: openapi-fetch types `data` as possibly undefined, but heraldFetch throws on every error. */
function answered<T>(data: T | undefined): T {
  return data as T;
}
