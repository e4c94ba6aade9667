import type { Worker } from 'bullmq';
import { WORKER_ROLES } from '@herald/config';
import { QueueName } from '@herald/queue';
import { ROLES } from './roles';
import { checkWorkers, drainWorkers } from './worker-process';

const named = (...names: string[]) => names.map((name) => ({ name }));

describe('checkWorkers', () => {
  it('accepts one worker per queue the roles consume, and none for the roles without a queue', () => {
    expect(() => checkWorkers(['relay', 'email', 'inapp'], named('deliver.email', 'deliver.inapp'))).not.toThrow();
    expect(() => checkWorkers(['relay', 'housekeeping'], [])).not.toThrow();
    const all = WORKER_ROLES.flatMap((role) => ROLES[role].consumes ?? []);
    expect(() => checkWorkers(WORKER_ROLES, named(...all))).not.toThrow();
  });

  it('refuses a missing worker, a second worker for a queue, and a worker for a queue no role here consumes', () => {
    expect(() => checkWorkers(['email', 'sms'], named('deliver.email'))).toThrow(
      'queue deliver.sms has 0 processor(s) here, expected 1',
    );
    expect(() => checkWorkers(['email'], named('deliver.email', 'deliver.email'))).toThrow(
      'queue deliver.email has 2 processor(s) here, expected 1',
    );
    expect(() => checkWorkers(['email'], named('deliver.email', 'fanout'))).toThrow(
      'queue fanout has 1 processor(s) here, expected 0',
    );
  });

  it('the catalogue is whole: every queue but the dead-letter parking one is consumed by exactly one role', () => {
    const consumed = Object.values(ROLES).flatMap((spec) => spec.consumes ?? []);
    expect([...consumed].sort()).toEqual(
      Object.values(QueueName)
        .filter((q) => q !== QueueName.DeadLetter)
        .sort(),
    );
  });
});

/** A stand-in for a BullMQ worker whose running jobs finish when `finish()` is called. */
function fakeWorker(name: string) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let running = true;
  const calls: string[] = [];
  const worker = {
    name,
    pause: jest.fn(async () => {
      calls.push('pause');
      await finished;
      running = false;
    }),
    close: jest.fn(async (force?: boolean) => {
      calls.push(force ? 'close(force)' : 'close');
    }),
    isRunning: () => running,
  };
  return { worker: worker as unknown as Worker, finish, calls };
}

describe('drainWorkers', () => {
  it('waits for the running jobs, then closes gracefully', async () => {
    const a = fakeWorker('deliver.inapp');
    const b = fakeWorker('fanout');
    setTimeout(a.finish, 20);
    setTimeout(b.finish, 40);
    await expect(drainWorkers([a.worker, b.worker], 5000)).resolves.toEqual({ drained: true, unfinished: [] });
    expect(a.calls).toEqual(['pause', 'close']);
    expect(b.calls).toEqual(['pause', 'close']);
  });

  it('after the grace period closes with force, naming the queues whose jobs were still running', async () => {
    const quick = fakeWorker('deliver.inapp');
    const stuck = fakeWorker('deliver.email');
    quick.finish();
    const startedAt = Date.now();
    const result = await drainWorkers([quick.worker, stuck.worker], 100);
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(result).toEqual({ drained: false, unfinished: ['deliver.email'] });
    expect(stuck.calls).toEqual(['pause', 'close(force)']);
    expect(quick.calls).toEqual(['pause', 'close(force)']);
  });
});
