import { WorkerHost } from '@nestjs/bullmq';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import type { Worker } from 'bullmq';
import type { WorkerRole } from '@herald/config';
import { QueueName } from '@herald/queue';
import { ROLES } from './roles';

/** Queues no role consumes on purpose: dead deliveries are parked there for an operator. */
const PARKING_QUEUES: readonly QueueName[] = [QueueName.DeadLetter];
const ERROR_QUIET_MS = 30_000;

/** The BullMQ workers @nestjs/bullmq started in this application, one per @Processor class. */
export function bullWorkers(app: INestApplicationContext): Worker[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const hosts = new Set(discovery.getProviders().map((wrapper) => wrapper.instance as unknown));
  return [...hosts].flatMap((host) => (host instanceof WorkerHost ? [host.worker] : []));
}

/**
 * The boot check of a worker process, on what Nest actually built rather than on the role table:
 * every queue one of `roles` consumes has exactly one worker in this process, and no other queue
 * has one. The catalogue itself must also be whole: each queue (but the parking ones) is consumed
 * by exactly one role, so no queue can fill up with jobs nothing will ever take.
 */
export function checkWorkers(roles: readonly WorkerRole[], workers: readonly Pick<Worker, 'name'>[]): void {
  const problems: string[] = [];
  for (const queue of Object.values(QueueName)) {
    const consumers = Object.entries(ROLES).filter(([, spec]) => spec.consumes === queue);
    if (PARKING_QUEUES.includes(queue) ? consumers.length > 0 : consumers.length !== 1) {
      problems.push(`queue ${queue} is consumed by ${consumers.map(([role]) => role).join(', ') || 'no role'}`);
    }
  }
  const expected: string[] = roles.flatMap((role) => ROLES[role].consumes ?? []);
  for (const queue of new Set([...expected, ...workers.map((w) => w.name)])) {
    const running = workers.filter((w) => w.name === queue).length;
    const wanted = expected.includes(queue) ? 1 : 0;
    if (running !== wanted) problems.push(`queue ${queue} has ${running} processor(s) here, expected ${wanted}`);
  }
  if (problems.length)
    throw new Error(`Worker processors do not match roles ${roles.join(',')}: ${problems.join('; ')}`);
}

/**
 * Worker errors (Redis going away, a lock that could not be renewed) are logged, once per queue
 * per 30 s: an EventEmitter 'error' without a listener would crash the process.
 */
export function logWorkerErrors(workers: readonly Worker[], logger = new Logger('worker')): void {
  const lastLogged = new Map<string, number>();
  for (const worker of workers) {
    worker.on('error', (err: Error) => {
      const now = Date.now();
      if ((lastLogged.get(worker.name) ?? 0) > now - ERROR_QUIET_MS) return;
      lastLogged.set(worker.name, now);
      logger.warn(`queue ${worker.name}: ${err.message}`);
    });
  }
}

/** Jobs this process finished, by queue: what its "stopped" line reports. */
export class JobTally {
  private readonly counts = new Map<string, { completed: number; failed: number }>();

  constructor(workers: readonly Worker[]) {
    for (const worker of workers) {
      const count = { completed: 0, failed: 0 };
      this.counts.set(worker.name, count);
      worker.on('completed', () => count.completed++);
      worker.on('failed', () => count.failed++);
    }
  }

  /** e.g. `{ "deliver.inapp": { completed: 57, failed: 0 } }` */
  byQueue(): Record<string, { completed: number; failed: number }> {
    return Object.fromEntries([...this.counts].map(([queue, count]) => [queue, { ...count }]));
  }
}

export interface DrainResult {
  /** every job running when the drain began finished within the grace period */
  drained: boolean;
  /** queues whose worker still had jobs running when the grace period ran out */
  unfinished: string[];
}

/**
 * Stops the workers taking jobs, gives the running ones `graceMs` to finish, then closes them.
 *
 * Within the grace period this is BullMQ's own graceful close: `pause()` interrupts the blocking
 * fetch, so no new job is taken, and resolves once the running jobs have completed (or failed, or
 * moved to the delayed set) — none stays `active`.
 *
 * After it the workers are closed with `force`: their connections go without waiting, the process
 * exits 0 all the same, and the jobs still running stay `active` in Redis under a lock nobody
 * renews. They are recovered by BullMQ's stall detection, which runs in every live worker of the
 * queue: once the lock has expired (lockDuration, 30 s) a check (every stalledInterval, 30 s)
 * moves the job back to `wait` (a job stalling a second time is failed instead, and the
 * housekeeping sweep re-adds it after STUCK_AFTER_SECONDS). The delivery itself is guarded by its
 * lease in Postgres: the redelivered job sees a live lease and waits (delayed) until it has run
 * out (DELIVERY_LEASE_SECONDS), then takes the delivery over — unless the interrupted run
 * recorded it `sent` before the exit, in which case the job is skipped. An email, SMS or push
 * the provider took but Herald did not record may go out twice (the at-least-once channels).
 *
 * `close()` cannot be turned into a forced close once it is waiting (BullMQ returns the pending
 * close), hence pause first, close second.
 */
export async function drainWorkers(workers: readonly Worker[], graceMs: number): Promise<DrainResult> {
  const paused = Promise.all(workers.map((worker) => worker.pause().catch(() => undefined)));
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    paused.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]).finally(() => clearTimeout(timer));
  const unfinished = drained ? [] : workers.filter((worker) => worker.isRunning()).map((worker) => worker.name);
  await Promise.all(workers.map((worker) => worker.close(!drained)));
  return { drained: drained || unfinished.length === 0, unfinished };
}

/**
 * The BullMQ workers of a started application, from the boot check to the drained stop: the one sequence the
 * worker process and `npm start` share, so the all-in-one process checks and counts its workers too.
 */
export class RunningWorkers {
  private constructor(
    readonly workers: Worker[],
    private readonly tally: JobTally,
  ) {}

  /** Finds the application's workers and logs their errors; refuses (closing them) when they do not match `roles`. */
  static async of(app: INestApplicationContext, roles: readonly WorkerRole[], logger: Logger): Promise<RunningWorkers> {
    const workers = bullWorkers(app);
    logWorkerErrors(workers, logger);
    try {
      checkWorkers(roles, workers);
    } catch (err) {
      await Promise.all(workers.map((worker) => worker.close(true)));
      throw err;
    }
    return new RunningWorkers(workers, new JobTally(workers));
  }

  drain(graceMs: number): Promise<DrainResult> {
    return drainWorkers(this.workers, graceMs);
  }

  /** Jobs finished by queue, for the "stopped" line. */
  jobs(): Record<string, { completed: number; failed: number }> {
    return this.tally.byQueue();
  }
}
