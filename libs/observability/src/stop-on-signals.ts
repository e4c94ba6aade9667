import type { Logger } from '@nestjs/common';

/**
 * SIGTERM/SIGINT stop the process once (a second signal, which `npm run` and a terminal's Ctrl-C
 * often deliver together, does not cut the stop short): exit 0 when `stop` completes, 1 when it
 * throws or the process has not stopped well after the grace period. Every entry point uses it.
 */
export function stopOnSignals(logger: Logger, graceMs: number, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return logger.log(`${signal}: already stopping`);
      stopping = true;
      const limitMs = graceMs + 15_000;
      setTimeout(() => {
        logger.error(`still not stopped ${limitMs} ms after ${signal}; exiting`);
        process.exit(1);
      }, limitMs).unref();
      stop(signal).then(
        () => process.exit(0),
        (err: Error) => {
          logger.error(`stopping failed: ${err.stack ?? err.message}`);
          process.exit(1);
        },
      );
    });
  }
}
