import twilio from 'twilio';
import { SmtpSandbox, TwilioSandbox } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

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

describe("provider failover: the primary's circuit opens, the secondary takes over, and it closes after the cool-down", () => {
  // Long enough that the deliveries right after the circuit opens run inside it on a loaded machine;
  // what the test asserts about time is only the primary's silence, a lower bound.
  const COOLDOWN_S = 6;
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let primary: SmtpSandbox;
  let secondary: SmtpSandbox;

  beforeAll(async () => {
    primary = await SmtpSandbox.start();
    secondary = await SmtpSandbox.start();
    isolated = await isolatedEnv('failover-circuit');
    herald = await startHerald({
      env: {
        ...isolated.env,
        SMTP_URL: primary.url,
        SMTP_FALLBACK_URLS: secondary.url,
        PROVIDER_CIRCUIT_FAILURES: '2',
        PROVIDER_CIRCUIT_WINDOW_SECONDS: '600',
        PROVIDER_CIRCUIT_COOLDOWN_SECONDS: String(COOLDOWN_S),
      },
    });
    tenant = await createTenant(herald.url);
    const rule = { channels: [{ channel: 'email', template: { subject: 'Order {{ data.orderId }}', text: 'Hi' } }] };
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    await primary?.stop();
    await secondary?.stop();
  });

  /** Sends one email event and returns its delivery's attempts once it is sent ("provider: outcome"). */
  async function deliver(orderId: string): Promise<string[]> {
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: `c-${orderId}`, email: `${orderId}@example.com` },
      data: { orderId },
    });
    expect(sent.status).toBe(202);
    const event = await waitForDeliveries(tenant.ingest, sent.body.id, 'sent', 60_000);
    return (event.deliveries[0].attempts as Attempt[]).map((a) => `${a.provider}: ${a.outcome}`);
  }

  it('goes straight to the secondary while the circuit is open, and back to the primary after the cool-down', async () => {
    // Two retryable answers in a row open the primary's circuit; each delivery still went out, by the secondary.
    primary.failNext(2, 451, '4.3.0 try again later');
    expect(await deliver('C-1')).toEqual(['smtp: retryable', 'smtp-fallback-1: ok']);
    expect(await deliver('C-2')).toEqual(['smtp: retryable', 'smtp-fallback-1: ok']);
    const refusals = primary.messages().filter((m) => m.outcome === 'rejected');
    expect(refusals).toHaveLength(2);
    const openedAfter = new Date(refusals[0].at).getTime(); // newest first: the refusal that opened it

    // One delivery after another until the primary is tried again: the ones before went to the secondary alone.
    const whileOpen: string[][] = [];
    let trial: string[] | undefined;
    const giveUpAt = Date.now() + COOLDOWN_S * 1000 + 60_000;
    for (let i = 0; !trial; i++) {
      if (Date.now() > giveUpAt) throw new Error(`the primary was not tried again after ${i} deliveries`);
      const attempts = await deliver(`D-${i}`);
      if (attempts[0].startsWith('smtp:')) trial = attempts;
      else whileOpen.push(attempts);
    }
    expect(whileOpen.length).toBeGreaterThan(0);
    expect(new Set(whileOpen.map((a) => a.join()))).toEqual(new Set(['smtp-fallback-1: ok']));
    // The trial after the cool-down succeeded (the primary is healthy again): the circuit is closed.
    expect(trial).toEqual(['smtp: ok']);
    const taken = primary.messages().filter((m) => m.outcome === 'accepted');
    expect(taken).toHaveLength(1);
    expect(new Date(taken[0].at).getTime() - openedAfter).toBeGreaterThanOrEqual(COOLDOWN_S * 1000);
    expect(await deliver('E-1')).toEqual(['smtp: ok']);
    expect(await deliver('E-2')).toEqual(['smtp: ok']);
  }, 120_000);
});

describe('provider failover: SMS through a second Twilio-API account', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let primary: TwilioSandbox;
  let secondary: TwilioSandbox;

  beforeAll(async () => {
    primary = await TwilioSandbox.start();
    secondary = await TwilioSandbox.start({ accountSid: `AC${'2'.repeat(32)}`, authToken: 'second/token' });
    const fallback = new URL(secondary.url);
    fallback.username = secondary.accountSid;
    fallback.password = encodeURIComponent(secondary.authToken);
    fallback.searchParams.set('from', '+15005550006');
    isolated = await isolatedEnv('failover-sms');
    herald = await startHerald({
      env: {
        ...isolated.env,
        TWILIO_ACCOUNT_SID: primary.accountSid,
        TWILIO_AUTH_TOKEN: primary.authToken,
        TWILIO_FROM: '+15005550006',
        TWILIO_API_BASE_URL: primary.url,
        TWILIO_FALLBACK_URLS: fallback.toString(),
      },
    });
    tenant = await createTenant(herald.url);
    const rule = { channels: [{ channel: 'sms', template: { body: 'Order {{ data.orderId }} shipped' } }] };
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    await primary?.stop();
    await secondary?.stop();
  });

  it('sends through the second account when the first answers 503, and says so in the attempts', async () => {
    primary.failNext(1, { status: 503, code: 20503, message: 'Service unavailable' });
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: 'sms-1', phone: '+14155552671' },
      data: { orderId: 'S-1' },
    });
    const event = await eventually(
      async () => {
        const answer = await tenant.ingest('GET', `/v1/events/${sent.body.id}`);
        return answer.body.deliveries?.[0]?.status === 'sent' ? answer.body : undefined;
      },
      60_000,
      'the SMS to be sent',
    );
    const attempts = event.deliveries[0].attempts as Attempt[];
    expect(attempts.map((a) => `${a.provider}: ${a.outcome}`)).toEqual(['twilio: retryable', 'twilio-fallback-1: ok']);
    expect(primary.messages()).toEqual([]);
    expect(secondary.messages()).toEqual([expect.objectContaining({ to: '+14155552671', body: 'Order S-1 shipped' })]);

    // The second account signs the status callbacks of what it sent with its own token.
    const receipt = {
      MessageSid: event.deliveries[0].providerMessageId,
      MessageStatus: 'delivered',
      To: '+14155552671',
    };
    const callback = (token: string) =>
      fetch(`${herald.url}/v1/feedback/twilio/status`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(
            token,
            `${herald.config.publicUrl}/v1/feedback/twilio/status`,
            receipt,
          ),
        },
        body: new URLSearchParams(receipt).toString(),
      });
    expect((await callback('not-a-token-of-ours')).status).toBe(401);
    expect((await callback(secondary.authToken)).status).toBe(204);
    const delivery = await tenant.ingest('GET', `/v1/deliveries/${event.deliveries[0].id}`);
    expect(delivery.body.status).toBe('delivered');
  });
});
