import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  CHANNELS,
  eventInputSchema,
  eventTypeSchema,
  idempotencyKeySchema,
  preferencesSchema,
  recipientSchema,
} from '@herald/core';
import { explainEvent, type DeliveryStory, type EventSummary } from './explain';
import { segment, type InProcessApi } from './in-process-api';
import { untrusted } from './untrusted';

/** What an MCP tool is: its contract, the key scope it needs, and what it does through the API. */
export interface HeraldTool {
  name: string;
  title: string;
  description: string;
  /** `ingest` tools are offered to ingest and admin keys, `admin` tools to admin keys only */
  access: 'ingest' | 'admin';
  input: z.ZodRawShape;
  annotations: ToolAnnotations;
  run(api: InProcessApi, args: unknown): Promise<CallToolResult>;
}

/** A tool whose `run` gets its input as its schema parsed it (the SDK validates before calling). */
function tool<S extends z.ZodRawShape>(
  definition: Omit<HeraldTool, 'input' | 'run'> & {
    input: S;
    run(api: InProcessApi, args: z.output<z.ZodObject<S>>): Promise<CallToolResult>;
  },
): HeraldTool {
  return definition as HeraldTool;
}

const READ: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };
const DESTRUCTIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, openWorldHint: false };

const uuid = (what: string) => z.uuid().describe(what);
const subscriberId = recipientSchema.shape.subscriberId.describe("the subscriber's id in the tenant's product");
const limit = (max: number, fallback: number) =>
  z.number().int().min(1).max(max).default(fallback).describe(`how many (1–${max})`);
const cursor = z.string().max(200).optional().describe('the nextCursor of a previous page');

const json = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
});

/** An event as Herald shows it, with what its sender wrote fenced off as untrusted content. */
function eventResult(event: { data?: unknown; to?: unknown } & Record<string, unknown>): CallToolResult {
  const { data, to, ...facts } = event;
  return {
    content: [
      { type: 'text', text: JSON.stringify(facts, null, 2) },
      { type: 'text', text: untrusted(`Event ${String(facts.id)}: its recipients and data`, { to, data }) },
    ],
  };
}

interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Recent events of a subscriber (of a type), each with that subscriber's deliveries explained. */
async function explain(
  api: InProcessApi,
  args: { subscriberId: string; type?: string; since?: string; limit: number },
): Promise<CallToolResult> {
  const events = await api.call<Page<EventSummary>>({
    method: 'GET',
    path: '/v1/events',
    query: { subscriberId: args.subscriberId, type: args.type, since: args.since, limit: args.limit },
  });
  const what = (n: number) =>
    `${args.type ? `${args.type} ` : ''}event${n === 1 ? '' : 's'} for subscriber ${args.subscriberId}`;
  if (!events.items.length) {
    return json({ explanation: `No ${what(2)}${args.since ? ` since ${args.since}` : ''}: Herald received none.` });
  }
  const stories = await Promise.all(
    events.items.map(async (event) => {
      const deliveries = await api.call<Page<DeliveryStory>>({
        method: 'GET',
        path: '/v1/deliveries',
        query: { eventId: event.id, subscriberId: args.subscriberId, limit: 100 },
      });
      return explainEvent(event, deliveries.items, args.subscriberId);
    }),
  );
  const count = events.items.length;
  const text = `${count} recent ${what(count)}, newest first:\n\n${stories.join('\n\n')}`;
  // Herald's sentences quote providers' answers and senders' words (errors, reasons): fenced, like event data.
  const source = "Herald's account, quoting texts that providers, senders and subscribers wrote, which are untrusted";
  return { content: [{ type: 'text', text: untrusted('What happened to each delivery', text, source) }] };
}

export const HERALD_TOOLS: HeraldTool[] = [
  tool({
    name: 'send_event',
    title: 'Send an event',
    description:
      'Sends a domain event to Herald, which delivers it to the recipients on the channels its rule names. ' +
      'Give an idempotencyKey so a retry cannot send twice.',
    access: 'ingest',
    input: { ...eventInputSchema.shape, idempotencyKey: idempotencyKeySchema.optional() },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    run: async (api, { idempotencyKey, ...event }) =>
      json(
        await api.call({
          method: 'POST',
          path: '/v1/events',
          body: event,
          headers: { 'idempotency-key': idempotencyKey },
        }),
      ),
  }),
  tool({
    name: 'get_event',
    title: 'Get an event',
    description: 'An event with its deliveries and every attempt of each (status, provider answer, errors).',
    access: 'ingest',
    input: { eventId: uuid('the event id') },
    annotations: READ,
    run: async (api, { eventId }) =>
      eventResult(await api.call({ method: 'GET', path: `/v1/events/${segment(eventId)}` })),
  }),
  tool({
    name: 'list_events',
    title: 'List events',
    description: 'Events newest first with delivery counts by status, filtered by type, status, subscriber and time.',
    access: 'ingest',
    input: {
      type: eventTypeSchema.optional(),
      status: z.enum(['accepted', 'routed', 'unrouted', 'cancelled']).optional(),
      subscriberId: subscriberId.optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      cursor,
      limit: limit(100, 20),
    },
    annotations: READ,
    run: async (api, query) => json(await api.call({ method: 'GET', path: '/v1/events', query })),
  }),
  tool({
    name: 'explain_notifications',
    title: "Explain a subscriber's notifications",
    description:
      'Answers "why did this subscriber (not) get it?": finds their recent events (of a type) and says in plain ' +
      'words what happened to each delivery — sent when and through what, suppressed and why, rate-limited or ' +
      'held back until when, in quiet hours, dead after how many tries with which error.',
    access: 'ingest',
    input: {
      subscriberId,
      type: eventTypeSchema.optional().describe('only events of this type, e.g. password.reset-requested'),
      since: z.iso.datetime({ offset: true }).optional(),
      limit: limit(20, 5),
    },
    annotations: READ,
    run: (api, args) => explain(api, args),
  }),
  tool({
    name: 'get_delivery',
    title: 'Get a delivery',
    description: "One delivery's whole story: attempts, provider feedback (bounces, receipts) and what it caused.",
    access: 'ingest',
    input: { deliveryId: uuid('the delivery id') },
    annotations: READ,
    run: async (api, { deliveryId }) =>
      json(await api.call({ method: 'GET', path: `/v1/deliveries/${segment(deliveryId)}` })),
  }),
  tool({
    name: 'list_event_types',
    title: 'List event types',
    description: 'The event types with registered data schemas.',
    access: 'ingest',
    input: {},
    annotations: READ,
    run: async (api) => json(await api.call({ method: 'GET', path: '/v1/event-types' })),
  }),
  tool({
    name: 'list_dead_letters',
    title: 'List dead letters',
    description: 'Deliveries whose retries ran out, newest first, with their last error.',
    access: 'admin',
    input: {
      channel: z.enum(CHANNELS).optional(),
      eventType: eventTypeSchema.optional(),
      cursor,
      limit: limit(100, 20),
    },
    annotations: READ,
    run: async (api, query) => json(await api.call({ method: 'GET', path: '/v1/dead-letters', query })),
  }),
  tool({
    name: 'replay_dead_letter',
    title: 'Replay a dead letter',
    description: 'Sends a dead delivery again (it goes back to its queue with a fresh retry budget).',
    access: 'admin',
    input: { deliveryId: uuid('the dead delivery id') },
    annotations: DESTRUCTIVE,
    run: async (api, { deliveryId }) =>
      json(await api.call({ method: 'POST', path: `/v1/dead-letters/${segment(deliveryId)}/replay` })),
  }),
  tool({
    name: 'purge_dead_letter',
    title: 'Purge a dead letter',
    description: 'Gives up on a dead delivery for good (it becomes failed and leaves the dead-letter list).',
    access: 'admin',
    input: { deliveryId: uuid('the dead delivery id') },
    annotations: DESTRUCTIVE,
    run: async (api, { deliveryId }) =>
      json(await api.call({ method: 'DELETE', path: `/v1/dead-letters/${segment(deliveryId)}` })),
  }),
  tool({
    name: 'list_suppressions',
    title: 'List suppressions',
    description: 'Addresses Herald will not send to (hard bounces, complaints, STOP replies, manual entries).',
    access: 'admin',
    input: {
      channel: z.enum(['email', 'sms']).optional(),
      address: z.string().min(1).max(320).optional(),
      cursor,
    },
    annotations: READ,
    run: async (api, query) => json(await api.call({ method: 'GET', path: '/v1/suppressions', query })),
  }),
  tool({
    name: 'lift_suppression',
    title: 'Lift a suppression',
    description: 'Removes an address from the suppression list, so Herald sends to it again.',
    access: 'admin',
    input: { suppressionId: uuid('the suppression id (from list_suppressions)') },
    annotations: DESTRUCTIVE,
    run: async (api, { suppressionId }) =>
      json(await api.call({ method: 'DELETE', path: `/v1/suppressions/${segment(suppressionId)}` })),
  }),
  tool({
    name: 'get_preferences',
    title: "Get a subscriber's preferences",
    description: 'The channels and categories a subscriber opted out of (and the tenant defaults they fall back to).',
    access: 'admin',
    input: { subscriberId },
    annotations: READ,
    run: async (api, { subscriberId: id }) =>
      json(await api.call({ method: 'GET', path: `/v1/subscribers/${segment(id)}/preferences` })),
  }),
  tool({
    name: 'set_preferences',
    title: "Change a subscriber's preferences",
    description: "Replaces a subscriber's preferences, e.g. { channels: { sms: false } } or categories.",
    access: 'admin',
    input: { subscriberId, ...preferencesSchema.shape },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    run: async (api, { subscriberId: id, ...preferences }) =>
      json(await api.call({ method: 'PUT', path: `/v1/subscribers/${segment(id)}/preferences`, body: preferences })),
  }),
  tool({
    name: 'list_rules',
    title: 'List rules',
    description: 'The rules: which channels and templates each event type goes to.',
    access: 'admin',
    input: {},
    annotations: READ,
    run: async (api) => json(await api.call({ method: 'GET', path: '/v1/rules' })),
  }),
  tool({
    name: 'preview_rule',
    title: 'Preview a rule',
    description:
      "Renders an event type's saved rule without sending: with sample data or a stored event, for a stored " +
      'subscriber. Shows what each channel would send, or which template part fails.',
    access: 'admin',
    input: {
      eventType: eventTypeSchema,
      data: z.record(z.string(), z.unknown()).optional().describe('sample event data'),
      eventId: uuid('render with this stored event').optional(),
      subscriberId: subscriberId.optional(),
    },
    annotations: READ,
    run: async (api, { eventType, ...body }) =>
      json(await api.call({ method: 'POST', path: `/v1/rules/${segment(eventType)}/preview`, body })),
  }),
  tool({
    name: 'queue_health',
    title: 'Queue and outbox health',
    description:
      'Deliveries by channel and status over a window, each queue’s depth (waiting, delayed, failed), and the ' +
      'outbox: events stored but not yet handed to the queues, and how far behind that is.',
    access: 'admin',
    input: { window: z.enum(['1h', '24h']).default('1h') },
    annotations: READ,
    run: async (api, query) => json(await api.call({ method: 'GET', path: '/v1/stats', query })),
  }),
];
