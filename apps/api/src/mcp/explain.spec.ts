import { explainDelivery, explainEvent, type DeliveryStory } from './explain';

const delivery = (over: Partial<DeliveryStory>): DeliveryStory => ({
  id: 'd1',
  channel: 'email',
  status: 'sent',
  attempts: [],
  ...over,
});
const ok = { at: '2026-12-07T10:00:00.000Z', outcome: 'ok', provider: 'smtp' };
const boom = (at: string) => ({ at, outcome: 'retryable', provider: 'twilio', code: '20500', message: 'down' });

describe('explainDelivery', () => {
  it('says when and through what a delivery went, and a receipt when there is one', () => {
    expect(explainDelivery(delivery({ attempts: [ok], providerMessageId: '<m1>' }))).toBe(
      'sent at 2026-12-07T10:00:00.000Z through smtp (provider message id <m1>); the provider took it (no delivery receipt yet, or the channel has none).',
    );
    expect(explainDelivery(delivery({ status: 'delivered', attempts: [ok] }))).toBe(
      'delivered: the provider confirmed it (sent at 2026-12-07T10:00:00.000Z through smtp).',
    );
  });

  it('names the hold-back and the time it ends, in UTC whatever form the row had', () => {
    const lastDeferral = {
      at: '2026-12-07T10:00:00+00:00',
      status: 'deferred',
      reason: 'quiet hours 22:00–07:00 (Europe/Paris): deferred until 2026-12-08T06:00:00.000Z',
      until: '2026-12-08T06:00:00+00:00',
    };
    expect(explainDelivery(delivery({ status: 'deferred', lastDeferral }))).toBe(
      `held back: ${lastDeferral.reason}; it goes out at 2026-12-08T06:00:00.000Z.`,
    );
    // sent in the end: the earlier hold-back is still told
    expect(explainDelivery(delivery({ attempts: [ok], lastDeferral }))).toContain(
      'It had been held back first (quiet hours',
    );
  });

  it('counts the tries of a dead or retried delivery and quotes the last error', () => {
    const attempts = [boom('2026-12-07T10:00:00.000Z'), boom('2026-12-07T10:00:05.000Z')];
    expect(explainDelivery(delivery({ status: 'dead', channel: 'sms', attempts }))).toBe(
      'dead: its retry budget ran out after 2 attempts; the last error was "20500: down" from twilio at 2026-12-07T10:00:05.000Z. It is in the dead-letter list and can be replayed (replay_dead_letter).',
    );
    expect(explainDelivery(delivery({ status: 'queued', attempts: attempts.slice(0, 1) }))).toBe(
      'on its way (queued) after 1 failed attempt (last: "20500: down" from twilio); Herald retries it with backoff.',
    );
    expect(explainDelivery(delivery({ status: 'pending' }))).toBe('on its way (pending).');
  });

  it('gives the reason of what was never sent', () => {
    expect(explainDelivery(delivery({ status: 'skipped', lastError: 'the subscriber opted out of email' }))).toBe(
      'not sent: the subscriber opted out of email.',
    );
    expect(
      explainDelivery(
        delivery({ status: 'failed', lastError: '550 no such user', attempts: [boom('2026-12-07T10:00:00Z')] }),
      ),
    ).toBe(
      'failed permanently after 1 attempt: 550 no such user (last attempt at 2026-12-07T10:00:00.000Z). It will not be retried.',
    );
    expect(
      explainDelivery(
        delivery({
          status: 'rate_limited',
          lastDeferral: {
            at: '2026-12-07T10:00:00Z',
            status: 'rate_limited',
            reason: 'rate limit: 1 per 60 s',
            until: null,
          },
        }),
      ),
    ).toBe('dropped by a rate limit: rate limit: 1 per 60 s (at 2026-12-07T10:00:00.000Z).');
  });
});

describe('explainEvent', () => {
  const event = { id: 'e1', type: 'order.shipped', createdAt: '2026-12-07T09:59:59.000Z' };
  it('explains an event that made no delivery', () => {
    expect(explainEvent({ ...event, status: 'unrouted' }, [], 'alice')).toBe(
      'Event e1 (order.shipped), received 2026-12-07T09:59:59.000Z: not delivered: no rule exists for its type.',
    );
    expect(explainEvent({ ...event, status: 'accepted', sendAt: '2026-12-09T08:00:00Z' }, [], 'alice')).toContain(
      'scheduled for 2026-12-09T08:00:00.000Z',
    );
    expect(explainEvent({ ...event, status: 'routed' }, [], 'alice')).toContain('no delivery to alice');
  });
});
