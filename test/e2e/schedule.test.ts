import type { Pool } from 'pg';
import { deliveryId } from '@herald/core';
import { PG_POOL } from '@herald/db';
import { QueueClients, QueueName, ensureDeliveryJob } from '@herald/queue';
import { FanoutUseCase } from '../../apps/worker/src/fanout/fanout.usecase';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

describe('scheduled events and their cancellation, through HTTP with the workers running', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('schedule');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    other = await createTenant(herald.url);
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  const fanoutJobState = (eventId: string) =>
    herald.app.get(QueueClients, { strict: false }).get(QueueName.Fanout).getJobState(eventId);
  const inFuture = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
  const send = async (to: string, sendAt?: string) => {
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: to },
      data: { orderId: to },
      ...(sendAt && { sendAt }),
    });
    expect(sent.status).toBe(202);
    return sent.body.id as string;
  };

  it('cancels a scheduled event: its delayed fan-out job is removed and nothing is ever sent for it', async () => {
    const sendAt = inFuture(4);
    const cancelled = await send('ann', sendAt);
    // A second event at the same time is the control: once it is sent, the cancelled one's time has passed too.
    const control = await send('ben', sendAt);
    await eventually(
      async () => ((await fanoutJobState(cancelled)) === 'delayed' ? true : undefined),
      30_000,
      'the relay to schedule the fan-out job',
    );

    const first = await tenant.ingest('DELETE', `/v1/events/${cancelled}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: cancelled, status: 'cancelled', deliveries: [] });
    expect(new Date(first.body.sendAt).toISOString()).toBe(sendAt);
    expect(await fanoutJobState(cancelled)).toBe('unknown');

    // Idempotent: the same answer again, with the admin key this time.
    const again = await tenant.admin('DELETE', `/v1/events/${cancelled}`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: cancelled, status: 'cancelled', deliveries: [] });

    await waitForDeliveries(tenant.ingest, control, 'sent', 60_000);
    const after = await tenant.ingest('GET', `/v1/events/${cancelled}`);
    expect(after.body).toMatchObject({ status: 'cancelled', deliveries: [] });
    const listed = await tenant.ingest('GET', '/v1/events?status=cancelled');
    expect(listed.body.items.map((e: { id: string }) => e.id)).toEqual([cancelled]);
  }, 90_000);

  it('a fan-out job that outlived the cancellation (Redis was away) skips the event', async () => {
    const id = await send('cal', inFuture(3600));
    expect((await tenant.ingest('DELETE', `/v1/events/${id}`)).status).toBe(200);
    const fanout = herald.app.get(FanoutUseCase, { strict: false });
    await expect(fanout.run({ tenantId: tenant.id, eventIds: [id] })).resolves.toEqual({
      deliveries: 0,
      events: { [id]: 'skipped: event cancelled' },
    });
    expect((await tenant.ingest('GET', `/v1/events/${id}`)).body).toMatchObject({
      status: 'cancelled',
      deliveries: [],
    });
  });

  it('a delivery left by a fan-out that raced the cancel is skipped before anything is sent', async () => {
    const id = await send('gil', inFuture(3600));
    expect((await tenant.ingest('DELETE', `/v1/events/${id}`)).status).toBe(200);
    // What a fan-out that read the event just before the cancel committed leaves behind.
    const delivery = { id: deliveryId(id, 'gil', 'inapp'), tenantId: tenant.id, channel: 'inapp' as const };
    await herald.app
      .get<Pool>(PG_POOL)
      .query(
        `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status) VALUES ($1, $2, $3, 'gil', 'inapp', 'queued')`,
        [delivery.id, tenant.id, id],
      );
    await ensureDeliveryJob(herald.app.get(QueueClients, { strict: false }).deliveries, delivery);

    const event = await waitForDeliveries(tenant.ingest, id, 'skipped', 30_000);
    expect(event).toMatchObject({ status: 'cancelled', deliveries: [{ lastError: 'event cancelled', attempts: [] }] });
    const token = (await tenant.admin('POST', '/v1/subscribers/gil/inbox-token')).body.token;
    expect((await client(herald.url, token)('GET', '/v1/inbox')).body.items).toEqual([]);
  });

  it('answers 409 problem+json once the event is routed, every time', async () => {
    const id = await send('dee');
    await waitForDeliveries(tenant.ingest, id, 'sent', 60_000);
    for (let i = 0; i < 2; i++) {
      const late = await tenant.ingest('DELETE', `/v1/events/${id}`);
      expect(late.status).toBe(409);
      expect(late.headers.get('content-type')).toContain('application/problem+json');
      expect(late.body).toMatchObject({ type: '/problems/event-not-cancellable', status: 409 });
      expect(late.body.detail).toContain('routed');
    }
    expect((await tenant.ingest('GET', `/v1/events/${id}`)).body.status).toBe('routed');
  }, 90_000);

  it('lists the cancel route and the quiet hours and digest fields in /docs', async () => {
    const doc = (await (await fetch(`${herald.url}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(doc.paths['/v1/events/{id}'].delete['x-herald-access']).toBe('ingest');
    const input = (path: string, method: string) => JSON.stringify(doc.paths[path][method].requestBody);
    expect(input('/v1/rules/{eventType}', 'put')).toMatch(/"digest".*"windowSeconds"/);
    expect(input('/v1/subscribers/{subscriberId}', 'put')).toContain('"quietHours"');
    expect(input('/v1/settings', 'patch')).toContain('"quietHours"');
  });

  it('is tenant-scoped: another tenant, or an unknown id, gets a 404', async () => {
    const id = await send('eve', inFuture(3600));
    expect((await other.ingest('DELETE', `/v1/events/${id}`)).status).toBe(404);
    expect((await tenant.ingest('DELETE', '/v1/events/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await tenant.ingest('DELETE', '/v1/events/not-a-uuid')).status).toBe(404);
    expect((await tenant.ingest('GET', `/v1/events/${id}`)).body.status).toBe('accepted');
  });
});
