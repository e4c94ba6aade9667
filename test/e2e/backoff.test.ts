import { Pool } from 'pg';
import { WebhookReceiver } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// Retries as the worker applies them, seen from outside: the attempt rows, the receiver's own request
// times, and every write to the delivery's row (a trigger of the test's own database logs them with
// clock_timestamp(), so the due time each retry was given survives the next retry's write).
const BASE_MS = 50;
const MAX_MS = 1500;
const ATTEMPTS = 7;
/** The wait before retry n (n = 1 after the first attempt): full jitter over [0, min(max, base·2ⁿ⁻¹)]. */
const ceiling = (n: number) => Math.min(MAX_MS, BASE_MS * 2 ** (n - 1));
// Timestamps are stored to the millisecond.
const ROUNDING_MS = 1;

const LOG_DELIVERY_WRITES = `
CREATE TABLE test_delivery_writes (
  delivery_id uuid NOT NULL, status text NOT NULL, attempts int NOT NULL, not_before timestamptz,
  at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION test_log_delivery_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO test_delivery_writes (delivery_id, status, attempts, not_before) VALUES (NEW.id, NEW.status, NEW.attempts, NEW.not_before);
  RETURN NEW;
END $$;
CREATE TRIGGER test_log_delivery_write AFTER INSERT OR UPDATE ON deliveries
  FOR EACH ROW EXECUTE FUNCTION test_log_delivery_write();`;

interface Write {
  status: string;
  attempts: number;
  notBefore: Date | null;
  at: Date;
}

/** Retry n of a delivery: the due time it was given, when that was written, when attempt n+1 was claimed. */
interface Retry {
  n: number;
  /** the write that handed the delivery back for retry n (queued, with its due time) */
  writtenAt: number;
  due: number;
  /** the claim of attempt n + 1 */
  claimedAt: number;
}

describe('retries as the worker spaces them: backoff with full jitter, and Retry-After', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let receiver: WebhookReceiver;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('backoff');
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 2 });
    await pool.query(LOG_DELIVERY_WRITES);
    receiver = await WebhookReceiver.start();
    herald = await startHerald({
      env: {
        ...isolated.env,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        RETRY_MAX_ATTEMPTS: String(ATTEMPTS),
        RETRY_BASE_DELAY_MS: String(BASE_MS),
        RETRY_MAX_DELAY_MS: String(MAX_MS),
        HOUSEKEEPING_INTERVAL_MS: '600000',
      },
    });
    tenant = await createTenant(herald.url);
    const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', {
      url: receiver.urlFor('/hooks/retried'),
      eventTypes: ['order.shipped'],
    });
    receiver.setSecret(endpoint.body.secret);
    const rule = { channels: [{ channel: 'webhook', template: {} }] };
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald?.close();
    await receiver?.stop();
    await pool?.end();
    await isolated?.drop();
  });

  beforeEach(() => receiver.reset());

  /** Sends one event and waits for its webhook delivery to be sent; returns the delivery's id. */
  async function deliver(orderId: string): Promise<string> {
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: 'ria' },
      data: { orderId },
    });
    expect(sent.status).toBe(202);
    return (await waitForDeliveries(tenant.ingest, sent.body.id, 'sent', 60_000)).deliveries[0].id;
  }

  /** Every retry of the delivery, from its attempt rows and the log of writes to its row. */
  async function retriesOf(deliveryId: string): Promise<Retry[]> {
    const { rows: writes } = await pool.query<Write>(
      `SELECT status, attempts, not_before AS "notBefore", at FROM test_delivery_writes
       WHERE delivery_id = $1 ORDER BY at`,
      [deliveryId],
    );
    const { rows: attempts } = await pool.query<{ attempt: number; outcome: string; at: Date }>(
      'SELECT attempt, outcome, at FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt',
      [deliveryId],
    );
    return attempts.slice(0, -1).map(({ attempt: n, outcome }) => {
      expect([n, outcome]).toEqual([n, 'retryable']);
      const handedBack = writes.find((w) => w.status === 'queued' && w.attempts === n && w.notBefore);
      const claimed = writes.find((w) => w.status === 'sending' && w.attempts === n + 1);
      if (!handedBack || !claimed) throw new Error(`retry ${n}: writes ${JSON.stringify(writes)}`);
      return {
        n,
        writtenAt: handedBack.at.getTime(),
        due: handedBack.notBefore!.getTime(),
        claimedAt: claimed.at.getTime(),
      };
    });
  }

  it('gives each retry a wait within [0, min(max, base·2ⁿ⁻¹)], jittered, and does not claim the delivery before it', async () => {
    receiver.failNext(ATTEMPTS - 1, 503);
    const deliveryId = await deliver('B-1');
    const retries = await retriesOf(deliveryId);
    expect(retries.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6]);
    // The wait each retry was given: its due time minus when it was written (the worker computed the
    // due time just before that write, so this is at most the wait it drew).
    const waits = retries.map((r) => r.due - r.writtenAt);
    // When the endpoint took attempt n: the wait counts from its answer, which came later.
    const took = receiver.requests().map((r) => r.at.getTime());
    const broken = retries.flatMap((r, i) => [
      ...(waits[i] > ceiling(r.n) + ROUNDING_MS ? [`retry ${r.n}: wait ${waits[i]} ms > ${ceiling(r.n)} ms`] : []),
      ...(r.due < took[r.n - 1] - ROUNDING_MS ? [`retry ${r.n}: due before the endpoint took attempt ${r.n}`] : []),
      // The delivery waits in the queue until it is due: attempt n + 1 is never claimed before.
      ...(r.claimedAt < r.due - ROUNDING_MS ? [`retry ${r.n}: claimed ${r.due - r.claimedAt} ms before due`] : []),
    ]);
    expect(broken).toEqual([]);
    // Full jitter: not every wait at its ceiling (each is ≥ 90 % of it with probability 0.1, all six 10⁻⁶),
    // and the ceilings grow: a wait after the third is past the base (all ≤ base: probability < 10⁻⁴).
    expect({ waits, jittered: waits.some((w, i) => w < 0.9 * ceiling(i + 1)) }).toEqual({ waits, jittered: true });
    expect({ waits, grown: waits.slice(3).some((w) => w > BASE_MS) }).toEqual({ waits, grown: true });
    // Seven requests reached the endpoint, the last one taken.
    expect(receiver.requests().map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 503, 200]);
  });

  it("waits at least a provider's Retry-After before the next attempt, instead of its own backoff", async () => {
    receiver.failNext(1, 503, { 'retry-after': '1' });
    const deliveryId = await deliver('B-2');
    const [retry, ...more] = await retriesOf(deliveryId);
    expect(more).toEqual([]);
    const [first, second] = receiver.requests();
    expect([first.status, second.status]).toEqual([503, 200]);
    // Due no sooner than a second after the endpoint answered (the backoff alone would be ≤ 50 ms). Retry-After
    // counts from the answer, which came after the receiver took the request; the attempt row's time is its
    // write's transaction start, which the outcome batching may put a few ms after the answer, so it is no bound.
    expect(retry.due - first.at.getTime()).toBeGreaterThanOrEqual(1000 - ROUNDING_MS);
    expect(retry.due - retry.writtenAt).toBeLessThanOrEqual(MAX_MS + ROUNDING_MS);
    // …and neither claimed nor sent to the endpoint before then.
    expect(retry.claimedAt).toBeGreaterThanOrEqual(retry.due - ROUNDING_MS);
    expect(second.at.getTime() - first.at.getTime()).toBeGreaterThanOrEqual(1000);
  });
});
