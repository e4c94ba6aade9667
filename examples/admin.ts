// The README's admin flow with the typed client, runnable: `npm run example:admin` while `npm start` runs.
// Keys (create, list, revoke), a subscriber and its preferences, a webhook endpoint subscribed to an event
// type (the sandbox's receiver, so /sandbox shows what it got), an event it receives, and the audit log.
// Settings as in examples/client.ts: HERALD_URL, HERALD_ADMIN_KEY / HERALD_INGEST_KEY or .herald/dev-tenant.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HeraldClient } from '../libs/client/src';

const FINAL = new Set(['sent', 'delivered', 'failed', 'dead', 'suppressed', 'skipped', 'rate_limited']);

function settings(): { baseUrl: string; adminKey: string; ingestKey: string; dataDir: string } {
  const baseUrl = process.env.HERALD_URL ?? 'http://localhost:3000';
  const dataDir = process.env.HERALD_DATA_DIR ?? '.herald';
  if (process.env.HERALD_ADMIN_KEY && process.env.HERALD_INGEST_KEY) {
    return { baseUrl, dataDir, adminKey: process.env.HERALD_ADMIN_KEY, ingestKey: process.env.HERALD_INGEST_KEY };
  }
  const { keys } = JSON.parse(readFileSync(path.join(dataDir, 'dev-tenant.json'), 'utf8')) as {
    keys: { admin: string; ingest: string };
  };
  return { baseUrl, dataDir, adminKey: keys.admin, ingestKey: keys.ingest };
}

async function main(): Promise<void> {
  const { baseUrl, adminKey, ingestKey, dataDir } = settings();
  const admin = new HeraldClient({ baseUrl, apiKey: adminKey });
  const herald = new HeraldClient({ baseUrl, apiKey: ingestKey });

  // (`as unknown as`: the OpenAPI document describes no response bodies yet, so the typed `api` calls type
  // `data` as undefined; the convenience methods, like createWebhookEndpoint below, are typed.)
  // Keys: one more ingest key, listed without its secret, then revoked.
  const key = (await admin.api.POST('/v1/keys', { body: { scope: 'ingest' } })).data as unknown as { id: string };
  const keys = (await admin.api.GET('/v1/keys')).data as unknown as { items: { id: string; scope: string }[] };
  console.log(`keys: ${keys.items.length} (${keys.items.map((k) => k.scope).join(', ')})`);
  await admin.api.DELETE('/v1/keys/{id}', { params: { path: { id: key.id } } });
  console.log(`revoked key ${key.id}`);

  // A subscriber, and what they opted out of.
  await admin.api.PUT('/v1/subscribers/{subscriberId}', {
    params: { path: { subscriberId: 'bob' } },
    body: { email: 'bob@example.com', locale: 'fr' },
  });
  await admin.api.PUT('/v1/subscribers/{subscriberId}/preferences', {
    params: { path: { subscriberId: 'bob' } },
    body: { categories: { marketing: { sms: false } } },
  });
  console.log('subscriber bob: email, locale fr, no marketing SMS');

  // A webhook endpoint subscribed to account.updated: it gets those events, with or without a rule.
  const port = readFileSync(path.join(dataDir, 'webhook-receiver-port'), 'utf8').trim();
  const endpoint = await admin.createWebhookEndpoint({
    url: `http://127.0.0.1:${port}/hooks/accounts`,
    eventTypes: ['account.updated'],
  });
  console.log(`webhook endpoint ${endpoint.id} (secret shown once: ${endpoint.secret.slice(0, 10)}…)`);
  const { id } = await herald.sendEvent({
    type: 'account.updated',
    to: { subscriberId: 'bob' },
    data: { plan: 'pro' },
  });
  for (let tries = 0; ; tries++) {
    const event = await herald.getEvent(id);
    if (event.deliveries.length > 0 && event.deliveries.every((d) => FINAL.has(d.status))) {
      for (const d of event.deliveries) console.log(`${d.channel}: ${d.status} after ${d.attempts.length} attempt(s)`);
      break;
    }
    if (tries === 100) throw new Error(`event ${id}: deliveries not final after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  // Who changed what: the newest entries of the audit log.
  const log = (await admin.api.GET('/v1/audit-log', { params: { query: { limit: 3 } } })).data as unknown as {
    items: { action: string }[];
  };
  console.log(`audit log: ${log.items.map((e) => e.action).join('; ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
