import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isolatedEnv, type IsolatedEnv } from '../helpers/herald';
import { client, eventually, type Client } from '../helpers/http';
import { ensureBuilt, killStarted, startDevHerald, type RunningProcess } from '../helpers/processes';
import { waitForDeliveries } from '../helpers/tenant';

// The /sandbox page's feedback buttons under npm start (development): each plays a provider's answer
// through Herald's real, signed feedback routes, and its effect shows through the API.

interface Record_ {
  id: string;
  channel: string;
  to: string;
}

describe("/sandbox's feedback buttons, with npm start", () => {
  let isolated: IsolatedEnv;
  let dataDir: string;
  let herald: RunningProcess;
  let base: string;
  let admin: Client;

  beforeAll(async () => {
    await ensureBuilt();
    isolated = await isolatedEnv('sandbox-feedback');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-sandbox-feedback-'));
    ({ herald, base } = await startDevHerald(isolated.env, dataDir));
    admin = client(base, JSON.parse(await readFile(path.join(dataDir, 'dev-tenant.json'), 'utf8')).keys.admin);
    const rule = {
      channels: [
        { channel: 'email', template: { subject: 'Hi', text: 'Hello' } },
        { channel: 'sms', template: { body: 'Hello' } },
        { channel: 'push', template: { title: 'Hi', body: 'Hello' } },
      ],
    };
    expect((await admin('PUT', '/v1/rules/fb.all', rule)).status).toBe(200);
  }, 240_000);
  afterAll(async () => {
    await killStarted();
    await isolated?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const to = {
    subscriberId: 'nell',
    email: 'nell@example.com',
    phone: '+15005550006',
    pushTokens: [{ token: 'nell-phone', platform: 'android' }],
  };
  async function send() {
    const event = await admin('POST', '/v1/events', { type: 'fb.all', to });
    return (await waitForDeliveries(admin, event.body.id, 'sent', 30_000)).deliveries as {
      id: string;
      channel: string;
      status: string;
      attempts: { outcome: string; code?: string }[];
    }[];
  }
  async function press(record: Record_, action: string, headers: Record<string, string> = {}) {
    const answer = await fetch(`${base}/sandbox/records/${record.id}/feedback`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ action }),
    });
    const location = answer.headers.get('location') ?? '';
    const page = location ? await (await fetch(new URL(location, base))).text() : await answer.text();
    return { status: answer.status, page };
  }

  it('prints the email feedback secret npm start made up, and shows a button per feedback on each message', async () => {
    expect(
      herald.logs.some((l) =>
        /^\[herald\] email feedback secret \(FEEDBACK_WEBHOOK_SECRET\): whsec_/.test(String(l.msg)),
      ),
    ).toBe(true);
    await send();
    const page = await (await fetch(`${base}/sandbox`)).text();
    for (const label of ['delivered receipt', 'reply STOP', 'bounce', 'complaint', 'uninstall app']) {
      expect([label, page.includes(`>${label}</button>`)]).toEqual([label, true]);
    }
  });

  it('delivered receipt, reply STOP, bounce and uninstall app each act through the real feedback routes', async () => {
    const deliveries = await send();
    const records = ((await (await fetch(`${base}/sandbox/records`)).json()) as { items: Record_[] }).items;
    const newest = (channel: string) => records.find((r) => r.channel === channel)!;

    const sms = deliveries.find((d) => d.channel === 'sms')!;
    const receipt = await press(newest('sms'), 'delivered');
    expect(receipt.status).toBe(303);
    expect(receipt.page).toContain(
      'Twilio status callback &quot;delivered&quot; for +15005550006: Herald answered 204',
    );
    await eventually(async () =>
      (await admin('GET', `/v1/deliveries/${sms.id}`)).body.status === 'delivered' ? true : undefined,
    );

    expect((await press(newest('sms'), 'stop')).page).toContain('+15005550006 texted STOP: Herald answered 200');
    const stopped = (await admin('GET', '/v1/suppressions?channel=sms&address=%2B15005550006')).body.items;
    expect(stopped).toEqual([expect.objectContaining({ reason: 'opt_out' })]);

    expect((await press(newest('email'), 'bounce')).page).toContain('bounce for nell@example.com: Herald answered 200');
    const bounced = (await admin('GET', '/v1/suppressions?channel=email&address=nell%40example.com')).body.items;
    expect(bounced).toEqual([expect.objectContaining({ reason: 'hard_bounce' })]);

    expect((await press(newest('push'), 'uninstall')).page).toContain('the next push to it is answered UNREGISTERED');
    const after = await admin('POST', '/v1/events', { type: 'fb.all', to });
    const push = await eventually(async () => {
      const event = (await admin('GET', `/v1/events/${after.body.id}`)).body;
      return event.deliveries.find(
        (d: { channel: string; status: string }) => d.channel === 'push' && d.status === 'failed',
      );
    });
    expect(push.attempts).toEqual([
      expect.objectContaining({ outcome: 'bad_address', code: 'messaging/registration-token-not-registered' }),
    ]);
  });

  it('refuses a press from another site, and an action the message has not', async () => {
    const records = ((await (await fetch(`${base}/sandbox/records`)).json()) as { items: Record_[] }).items;
    const sms = records.find((r) => r.channel === 'sms')!;
    expect((await press(sms, 'stop', { origin: 'https://evil.example' })).status).toBe(403);
    expect((await press(sms, 'bounce')).status).toBe(400);
  });
});
