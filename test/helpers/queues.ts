import { Queue } from 'bullmq';
import type { HeraldConfig } from '@herald/config';
import type { Channel } from '@herald/core';
import { deliveryQueue, queueOptions } from '@herald/queue';
import { eventually } from './http';

/**
 * Once `count` jobs wait in the delayed set of the channel's queue, makes them all due now: as far as
 * the queue knows, the clock has jumped past every wait (quiet hours, a digest window, a rate-limit
 * window). It is what an operator's "promote" on /admin/queues does. The worker checks its reasons
 * again when a job runs, so a wait that has not really ended is taken up again.
 */
export async function promoteDelayed(config: HeraldConfig, channel: Channel, count: number): Promise<void> {
  const queue = new Queue(deliveryQueue(channel), queueOptions(config));
  try {
    // A delivery is recorded deferred just before its job moves to the delayed set: wait for the move.
    let seen = 0;
    const delayed = await eventually(
      async () => {
        const jobs = await queue.getDelayed();
        seen = jobs.length;
        return jobs.length === count ? jobs : undefined;
      },
      15_000,
      () => `${count} delayed job(s) on ${deliveryQueue(channel)} (saw ${seen})`,
    );
    await Promise.all(delayed.map((job) => job.promote()));
  } finally {
    await queue.close();
  }
}
