import type { DigestsRepository } from '@herald/db';

export interface DigestRender {
  /** the data of each gathered event, oldest first */
  events: Record<string, unknown>[];
  count: number;
}

/**
 * Closes a digest (it takes no more events) and reads what it gathered, for its one message. Run
 * when its delivery is about to be sent, so events that arrive while it waits (past its window, or
 * held by quiet hours) still join; safe to run again for a retry of the same delivery.
 */
export async function flushDigest(digests: DigestsRepository, digestId: string): Promise<DigestRender> {
  // Closing first takes the digest's row lock: a fan-out still joining an event commits before the read.
  await digests.close(digestId);
  const events = await digests.gathered(digestId);
  return { events, count: events.length };
}
