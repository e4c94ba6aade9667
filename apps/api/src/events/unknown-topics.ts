import { isTopicRef, type EventInput } from '@herald/core';
import type { EventsRepository } from '@herald/db';
import type { FieldError } from '../http/problem';

/**
 * Per event, a warning for each topic it names that does not exist: the event is still accepted (the
 * topic may be created before it fans out, and a send must not fail on it), but its sender learns that
 * nobody would get it through that topic instead of finding out from an empty delivery list.
 * One query for the whole call, and none when no event names a topic.
 */
export async function unknownTopicWarnings(
  repository: EventsRepository,
  events: { tenantId: string; input: EventInput }[],
): Promise<(FieldError[] | undefined)[]> {
  const named = events.map(({ input }) => topicsOf(input));
  const asked = events.flatMap(({ tenantId }, i) => named[i]!.map(({ topic }) => ({ tenantId, topic })));
  if (!asked.length) return events.map(() => undefined);
  const rows = await repository.existingTopics(asked.map(({ tenantId, topic }) => ({ tenantId, key: topic })));
  const existing = new Set(rows.map((r) => `${r.tenantId}\u0000${r.key}`));
  return events.map(({ tenantId }, i) => {
    const unknown = named[i]!.filter(({ topic }) => !existing.has(`${tenantId}\u0000${topic}`));
    return unknown.length
      ? unknown.map(({ topic, path }) => ({
          path,
          message: `no topic "${topic}" exists: nobody receives this event through it (PUT /v1/topics/${topic}/subscribers creates it)`,
        }))
      : undefined;
  });
}

/** The topics an event names, with where each is in its `to` (`to.topic`, or `to.2.topic` in a list). */
function topicsOf(input: EventInput): { topic: string; path: string }[] {
  const to = input.to;
  if (!Array.isArray(to)) return isTopicRef(to) ? [{ topic: to.topic, path: 'to.topic' }] : [];
  return to.flatMap((entry, i) => (isTopicRef(entry) ? [{ topic: entry.topic, path: `to.${i}.topic` }] : []));
}
