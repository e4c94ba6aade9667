import {
  CLAIMABLE_STATUSES,
  DELIVERY_STATUSES,
  canTransition,
  isTerminal,
  nextStatuses,
  statusesThatMayBecome,
} from './delivery-status';

describe('delivery state machine', () => {
  it('follows the happy path pending → queued → sending → sent → delivered', () => {
    expect(canTransition('pending', 'queued')).toBe(true);
    expect(canTransition('queued', 'sending')).toBe(true);
    expect(canTransition('sending', 'sent')).toBe(true);
    expect(canTransition('sent', 'delivered')).toBe(true);
  });

  it('never leaves a final state', () => {
    for (const end of ['delivered', 'failed', 'suppressed', 'skipped', 'rate_limited'] as const) {
      for (const to of DELIVERY_STATUSES) expect(canTransition(end, to)).toBe(false);
    }
  });

  it('cannot send twice: sent is not claimable', () => {
    expect(canTransition('sent', 'sending')).toBe(false);
    expect(CLAIMABLE_STATUSES).toEqual(['pending', 'queued', 'deferred']);
  });

  it('leaves dead only through a replay (queued) or a purge (failed)', () => {
    expect(DELIVERY_STATUSES.filter((to) => canTransition('dead', to))).toEqual(['queued', 'failed']);
  });

  it('lets a claimant find the subscriber over their rate limit', () => {
    expect(canTransition('sending', 'deferred')).toBe(true);
    expect(canTransition('sending', 'rate_limited')).toBe(true);
    expect(canTransition('deferred', 'sending')).toBe(true);
  });

  it('treats sent and dead as terminal for "is anything still in flight?" checks', () => {
    expect(DELIVERY_STATUSES.filter(isTerminal)).toEqual([
      'sent',
      'delivered',
      'failed',
      'dead',
      'suppressed',
      'skipped',
      'rate_limited',
    ]);
  });

  it('names the statuses a status may be reached from, as the table says', () => {
    expect(statusesThatMayBecome('queued')).toEqual(['pending', 'deferred', 'sending', 'sent', 'dead']);
    expect(statusesThatMayBecome('delivered')).toEqual(['sent']);
    expect(statusesThatMayBecome('pending')).toEqual([]);
    for (const to of DELIVERY_STATUSES) {
      for (const from of DELIVERY_STATUSES) {
        expect(statusesThatMayBecome(to).includes(from)).toBe(canTransition(from, to));
      }
    }
  });

  it('narrows them to what a statement acts on', () => {
    expect(statusesThatMayBecome('queued', ['dead'])).toEqual(['dead']);
    expect(statusesThatMayBecome('failed', ['sent', 'delivered'])).toEqual(['sent']);
    expect(statusesThatMayBecome('sent', ['dead'])).toEqual([]);
  });

  it('names what a status may become; a claim (sending) may end in every status the delivery path writes', () => {
    expect(nextStatuses('dead')).toEqual(['queued', 'failed']);
    for (const end of ['sent', 'failed', 'dead', 'skipped', 'suppressed', 'queued', 'deferred', 'rate_limited']) {
      expect(nextStatuses('sending')).toContain(end);
    }
  });
});
