const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/;

/** True when an error means "Postgres cannot be reached right now", as opposed to a bad query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const err = error as { code?: string; message?: string; cause?: unknown } | undefined;
  if (!err) return false;
  if (err.code && UNAVAILABLE_CODES.has(err.code)) return true;
  if (err.message && UNAVAILABLE_MESSAGES.test(err.message)) return true;
  return err.cause !== undefined && err.cause !== error && isDatabaseUnavailable(err.cause);
}
