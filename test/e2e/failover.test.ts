import { SmtpSandbox } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, type TestTenant } from '../helpers/tenant';

// Email with two SMTP servers: SMTP_URL (the primary, named `smtp` in attempt rows) and one in
// SMTP_FALLBACK_URLS (`smtp-fallback-1`). The primary is stopped, so it refuses connections.
const CIRCUIT_FAILURES = 3;

interface Attempt {
  outcome: string;
  provider: string;
  code?: string;
}

describe('provider failover: email through the second SMTP server when the first is down', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let primary: SmtpSandbox;
  let secondary: SmtpSandbox;

  beforeAll(async () => {
    primary = await SmtpSandbox.start();
    secondary = await SmtpSandbox.start();
    isolated = await isolatedEnv('failover');
    herald = await startHerald({
      env: {
        ...isolated.env,
        SMTP_URL: primary.url,
        SMTP_FALLBACK_URLS: secondary.url,
        PROVIDER_CIRCUIT_FAILURES: String(CIRCUIT_FAILURES),
        PROVIDER_CIRCUIT_WINDOW_SECONDS: '600',
        // long enough that the circuit cannot close again while the test looks at it
        PROVIDER_CIRCUIT_COOLDOWN_SECONDS: '3600',
      },
    });
    tenant = await createTenant(herald.url);
    const rule = {
      channels: [{ channel: 'email', template: { subject: 'Order {{ data.orderId }}', html: '<p>Hi</p>' } }],
    };
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    await secondary?.stop();
  });

  /** Sends one email event and returns its delivery once it is sent, as GET /v1/deliveries/:id shows it. */
  async function deliver(orderId: string) {
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: `s-${orderId}`, email: `${orderId}@example.com` },
      data: { orderId },
    });
    expect(sent.status).toBe(202);
    const event = await eventually(
      async () => {
        const answer = await tenant.ingest('GET', `/v1/events/${sent.body.id}`);
        return answer.body.deliveries?.[0]?.status === 'sent' ? answer.body : undefined;
      },
      60_000,
      `the email of ${orderId} to be sent`,
    );
    const delivery = await tenant.ingest('GET', `/v1/deliveries/${event.deliveries[0].id}`);
    expect(delivery.status).toBe(200);
    return delivery.body as { status: string; attempts: Attempt[] };
  }

  const answered = (attempts: Attempt[]) => attempts.map((a) => `${a.provider}: ${a.outcome}`);

  it('delivers through the secondary, and the attempts say which server answered what', async () => {
    // the primary up, to show the chain's order: it takes the message
    const first = await deliver('A-0');
    expect(answered(first.attempts)).toEqual(['smtp: ok']);
    expect(primary.messages().map((m) => m.to)).toContain('A-0@example.com');

    await primary.stop();
    const delivery = await deliver('A-1');
    expect(answered(delivery.attempts)).toEqual(['smtp: retryable', 'smtp-fallback-1: ok']);
    expect(delivery.attempts[0].code).toBe('ECONNREFUSED');
    expect(secondary.messages().map((m) => m.to)).toContain('A-1@example.com');
  });

  it('opens the primary circuit after consecutive failures: later deliveries go straight to the secondary', async () => {
    // The first test's failure was one; each of these is another, until the circuit opens.
    for (let i = 2; i <= CIRCUIT_FAILURES; i++) {
      expect(answered((await deliver(`A-${i}`)).attempts)).toEqual(['smtp: retryable', 'smtp-fallback-1: ok']);
    }
    const after = await deliver('B-1');
    expect(answered(after.attempts)).toEqual(['smtp-fallback-1: ok']);
    expect(secondary.messages().map((m) => m.to)).toContain('B-1@example.com');
  });
});
