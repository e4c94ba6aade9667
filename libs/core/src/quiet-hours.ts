import { z } from 'zod';

const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, { error: 'expects a 24-hour time, HH:MM or HH:MM:SS' });

/**
 * A daily window, in the subscriber's time zone, when non-critical deliveries wait. `start` after
 * `end` spans midnight (22:00 → 07:00); seconds are allowed so a window can be as exact as needed.
 */
export const quietHoursSchema = z
  .strictObject({ start: clockTime, end: clockTime })
  .refine((q) => secondsOfDay(q.start) !== secondsOfDay(q.end), {
    error: 'expects start and end to differ',
    path: ['end'],
  });
export type QuietHours = z.infer<typeof quietHoursSchema>;

const DAY = 86_400;

function secondsOfDay(time: string): number {
  const [h, m, s = 0] = time.split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

/** The wall-clock second of the day at `at` in `timeZone` (an IANA name). */
function localSecondOfDay(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return part('hour') * 3600 + part('minute') * 60 + part('second');
}

/**
 * When the quiet window `at` falls in ends, or null when `at` is outside it. Computed from the
 * wall clock in `timeZone` (UTC when the subscriber has none); a DST change inside the window
 * moves its end by that hour, which is accepted.
 */
export function quietHoursEnd(quiet: QuietHours, timeZone: string | null | undefined, at: Date): Date | null {
  const start = secondsOfDay(quiet.start);
  const end = secondsOfDay(quiet.end);
  const now = localSecondOfDay(at, timeZone || 'UTC');
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return null;
  const untilEnd = (end - now + DAY) % DAY;
  // Whole local seconds: the window ends at the start of its `end` second.
  return new Date(Math.floor(at.getTime() / 1000) * 1000 + untilEnd * 1000);
}
