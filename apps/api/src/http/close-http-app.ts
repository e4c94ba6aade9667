import type { NestFastifyApplication } from '@nestjs/platform-fastify';

const IDLE_SWEEP_MS = 100;

/**
 * Closes the api within `graceMs`. Nest's order does the polite part: live inbox streams end first
 * (an `event: shutdown`, then the end of the response: InboxStreamService.beforeApplicationShutdown),
 * then Fastify stops accepting connections, closes the idle keep-alive ones, answers 503 to
 * requests arriving on busy ones and waits for the requests in flight; then the pools and Redis
 * clients close.
 *
 * Two additions: a keep-alive connection whose request finishes after the server stopped
 * listening is closed as soon as it is idle (Node closes idle connections only once, when the
 * close begins, and would otherwise wait for the client to hang up); and whatever is still open
 * when the grace period ends is destroyed, so a stuck client cannot hold the process up.
 */
export async function closeHttpApp(app: NestFastifyApplication, graceMs: number): Promise<{ forced: boolean }> {
  const server = app.getHttpServer();
  let forced = false;
  const sweep = setInterval(() => {
    if (!server.listening) server.closeIdleConnections();
  }, IDLE_SWEEP_MS);
  const deadline = setTimeout(() => {
    forced = true;
    server.closeAllConnections();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
  return { forced };
}
