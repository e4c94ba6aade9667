import { FaultInjector } from './faults';
import { WebhookReceiver } from './webhook';

describe('FaultInjector', () => {
  it('fails the share it is told to, by kind, and heals on clear()', () => {
    const faults = new FaultInjector();
    expect(faults.next()).toBeUndefined();
    faults.set({ errorRate: 1, timeoutRate: 0 });
    expect(faults.next()).toEqual({ kind: 'error' });
    faults.set({ errorRate: 0, timeoutRate: 1, timeoutMs: 50 });
    expect(faults.next()).toEqual({ kind: 'timeout', ms: 50 });
    faults.clear();
    expect(faults.next()).toBeUndefined();
    expect(faults.injected).toEqual({ error: 1, timeout: 1 });
  });

  it('refuses rates that are not shares', () => {
    const faults = new FaultInjector();
    expect(() => faults.set({ errorRate: 1.5 })).toThrow(RangeError);
    expect(() => faults.set({ errorRate: 0.6, timeoutRate: 0.6 })).toThrow(RangeError);
  });

  it('a faulty webhook receiver answers 503 or nothing, and records neither as accepted', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      receiver.faults.set({ errorRate: 1 });
      expect((await fetch(receiver.urlFor('/x'), { method: 'POST', body: '{}' })).status).toBe(503);
      receiver.faults.set({ errorRate: 0, timeoutRate: 1, timeoutMs: 100 });
      await expect(fetch(receiver.urlFor('/x'), { method: 'POST', body: '{}' })).rejects.toThrow();
      receiver.faults.clear();
      expect((await fetch(receiver.urlFor('/x'), { method: 'POST', body: '{}' })).status).toBe(200);
      expect(receiver.recorder.list().map((r) => r.outcome)).toEqual(['accepted', 'rejected', 'rejected']);
      expect(receiver.requests()).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });
});
