import { existsSync } from 'node:fs';
import { findOnPath } from './executables';
import type { Log } from './local-service';
import { errorMessage } from './probes';
import { runCommand } from './run-command';

/**
 * The redis-server to run. On a fresh Debian/Ubuntu machine where we are root, the Debian package is
 * installed, as the one-command start promises; anywhere else the message says what to do.
 */
export async function redisServerBinary(log: Log): Promise<string> {
  const found = findOnPath('redis-server');
  if (found) return found;
  const aptGet = findOnPath('apt-get');
  if (process.getuid?.() !== 0 || !aptGet) {
    throw new Error(
      'redis-server is not installed: install Redis (Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis) or set REDIS_URL to a running Redis',
    );
  }
  log('redis-server is not installed: installing the Debian package redis-server with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let installError: unknown;
  try {
    await runCommand(aptGet, ['update', '-qq'], { env, timeoutMs: 600_000 });
    await runCommand(aptGet, ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], {
      env,
      timeoutMs: 600_000,
    });
  } catch (error) {
    // The package's own service start may fail in a container without init; the binary is still there.
    installError = error;
  }
  const installed =
    findOnPath('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined);
  if (installed) return installed;
  throw new Error(
    `could not install redis-server with apt-get (${errorMessage(installError)}): install it yourself or set REDIS_URL to a running Redis`,
  );
}
