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
  // Prisma's own: can't reach the server, timed out, server closed the connection, no pool slot in time
  'P1001',
  'P1002',
  'P1017',
  'P2024',
]);
// Prisma's driver adapters describe a lost server by kind (DriverAdapterError.cause, or meta.driverAdapterError).
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Can't reach database server/;

interface ErrorShape {
  code?: string;
  kind?: string;
  message?: string;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
}

/** True when an error means "Postgres cannot be reached right now", as opposed to a bad query. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  const err = error as ErrorShape | undefined;
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err.code && UNAVAILABLE_CODES.has(err.code)) return true;
  if (err.kind && UNAVAILABLE_KINDS.has(err.kind)) return true;
  if (err.message && UNAVAILABLE_MESSAGES.test(err.message)) return true;
  return [err.cause, err.meta?.driverAdapterError].some(
    (inner) => inner !== undefined && inner !== error && isDatabaseUnavailable(inner, depth + 1),
  );
}

/**
 * Runs `work`, again and again while Postgres is unreachable, for up to `budgetMs` (backing off
 * from 200 ms to 2 s): for writes that must not be lost to a short outage, such as recording what
 * a provider already answered. Any other error, or the budget running out, is thrown.
 */
export async function whileDatabaseUnavailable<T>(work: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 200; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await work();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + wait > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
