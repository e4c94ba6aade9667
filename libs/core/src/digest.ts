import { z } from 'zod';

/**
 * A rule channel's digest: the subscriber's events of the type within `windowSeconds` of the first
 * one become one notification. `key` is a dot path into the event's data (e.g. `project.id`): events
 * with different values there are digested apart.
 */
export const digestSchema = z.strictObject({
  windowSeconds: z
    .number()
    .int()
    .min(1)
    .max(86_400 * 7),
  key: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { error: 'expects a dot path into the event data, e.g. project.id' })
    .max(200)
    .optional(),
});
export type DigestConfig = z.infer<typeof digestSchema>;

/** What an event is digested under: its type, plus the value at `key` in its data when the digest has one. */
export function digestKeyOf(config: DigestConfig, eventType: string, data: Record<string, unknown>): string {
  if (!config.key) return eventType;
  let value: unknown = data;
  for (const step of config.key.split('.')) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[step] : undefined;
  }
  return `${eventType}|${config.key}=${JSON.stringify(value ?? null)}`;
}
