import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now (the caller still retries if it loses a race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free TCP port'))));
    });
  });
}
