import { TEST_ROOT_KEY } from './herald';
import { client, eventually, type Client } from './http';

export interface TestTenant {
  id: string;
  admin: Client;
  ingest: Client;
  keys: { admin: string; ingest: string };
}

let counter = 0;

/** A fresh tenant through the public API, with clients for its admin and ingest keys. */
export async function createTenant(baseUrl: string): Promise<TestTenant> {
  const root = client(baseUrl, TEST_ROOT_KEY);
  const created = await root('POST', '/v1/tenants', { name: `tenant-${process.pid}-${++counter}` });
  if (created.status !== 201) throw new Error(`tenant creation failed: ${JSON.stringify(created.body)}`);
  const { id, keys } = created.body;
  return { id, keys, admin: client(baseUrl, keys.admin), ingest: client(baseUrl, keys.ingest) };
}

/** The standard in-app rule used across the tests. */
export const inappRule = {
  channels: [
    {
      channel: 'inapp',
      template: {
        title: 'Order {{ data.orderId }} shipped',
        body: 'Hi {{ subscriber.subscriberId }}, it is on its way',
        url: '/orders/{{ data.orderId }}',
      },
    },
  ],
};

/** Waits until every delivery of the event has reached `status`. */
export async function waitForDeliveries(api: Client, eventId: string, status = 'sent', timeoutMs = 30_000) {
  return eventually(
    async () => {
      const event = await api('GET', `/v1/events/${eventId}`);
      const deliveries = event.body.deliveries ?? [];
      return deliveries.length > 0 && deliveries.every((d: { status: string }) => d.status === status)
        ? event.body
        : undefined;
    },
    timeoutMs,
    `deliveries of ${eventId} to be ${status}`,
  );
}
