// The README's typed-client example, runnable: `npm run example:client` while `npm start` runs.
// It puts a rule, sends an event, waits until every delivery is final, and prints what happened.
// @herald/client is not on the npm registry yet: in this repository it is libs/client (import it from
// '@herald/client' in an app that has it). Settings: HERALD_URL (default http://localhost:3000), and
// HERALD_ADMIN_KEY / HERALD_INGEST_KEY (default: the dev tenant's, from .herald/dev-tenant.json).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HeraldClient } from '../libs/client/src';

const FINAL = new Set(['sent', 'delivered', 'failed', 'dead', 'suppressed', 'skipped', 'rate_limited']);

function settings(): { baseUrl: string; adminKey: string; ingestKey: string } {
  const baseUrl = process.env.HERALD_URL ?? 'http://localhost:3000';
  if (process.env.HERALD_ADMIN_KEY && process.env.HERALD_INGEST_KEY) {
    return { baseUrl, adminKey: process.env.HERALD_ADMIN_KEY, ingestKey: process.env.HERALD_INGEST_KEY };
  }
  const file = path.join(process.env.HERALD_DATA_DIR ?? '.herald', 'dev-tenant.json');
  const { keys } = JSON.parse(readFileSync(file, 'utf8')) as { keys: { admin: string; ingest: string } };
  return { baseUrl, adminKey: keys.admin, ingestKey: keys.ingest };
}

async function main(): Promise<void> {
  const { baseUrl, adminKey, ingestKey } = settings();
  const admin = new HeraldClient({ baseUrl, apiKey: adminKey });
  const herald = new HeraldClient({ baseUrl, apiKey: ingestKey });

  await admin.putRule('order.shipped', {
    channels: [
      { channel: 'inapp', template: { title: 'Order {{ data.orderId }} shipped', body: 'On its way.' } },
      { channel: 'email', template: { subject: 'Order {{ data.orderId }} shipped', text: 'On its way.' } },
    ],
  });
  const { id } = await herald.sendEvent({
    type: 'order.shipped',
    to: { subscriberId: 'alice', email: 'alice@example.com' },
    data: { orderId: '42' },
  });
  console.log(`event ${id} accepted`);

  // Deliveries are made after the 202: poll until each one has reached a final status.
  for (let tries = 0; ; tries++) {
    const event = await herald.getEvent(id); // every delivery, with every attempt
    const final = event.deliveries.length > 0 && event.deliveries.every((d) => FINAL.has(d.status));
    if (final) {
      for (const d of event.deliveries) console.log(`${d.channel}: ${d.status} after ${d.attempts.length} attempt(s)`);
      return;
    }
    if (tries === 100)
      throw new Error(`event ${id}: deliveries not final after 20 s: ${JSON.stringify(event.deliveries)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
