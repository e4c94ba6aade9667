import 'reflect-metadata';
import 'dotenv/config';
import type { AddressInfo } from 'node:net';
import { Logger, Module } from '@nestjs/common';
import { ConfigError, ConfigModule, TracingModule, loadConfig, loggingModule } from '@herald/config';
import { DbModule } from '@herald/db';
import { SandboxModule } from '@herald/sandbox';
import { ApiModule } from './api.module';
import { closeHttpApp } from './http/close-http-app';
import { createHttpApp } from './http/create-http-app';

/** The api alone: for deployments that run workers as separate processes. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  @Module({
    imports: [
      ConfigModule.forRoot(config),
      loggingModule(config),
      TracingModule.forRoot(config),
      DbModule,
      SandboxModule,
      ApiModule,
    ],
  })
  class ApiRoot {}
  const app = await createHttpApp({ module: ApiRoot });
  const logger = new Logger('api');
  await app.listen(config.port, config.host);
  const { address, port } = app.getHttpServer().address() as AddressInfo;
  logger.log({ msg: `api listening on ${address}:${port}`, port });

  stopOnSignals(logger, config.shutdownGraceMs, async (signal) => {
    logger.log(`${signal}: closing live streams, finishing requests in flight (up to ${config.shutdownGraceMs} ms)`);
    const { forced } = await closeHttpApp(app, config.shutdownGraceMs);
    if (forced) logger.warn(`grace period of ${config.shutdownGraceMs} ms ran out: open connections were cut`);
    logger.log('api stopped');
  });
}

/**
 * SIGTERM/SIGINT stop the api once (a second signal, which `npm run` and a terminal's Ctrl-C often
 * deliver together, does not cut the close short): exit 0 when `stop` completes, 1 when it throws
 * or the app is not closed well after the grace period. The worker has the same function
 * (apps/worker/src/worker-process.ts); the two apps do not import each other.
 */
function stopOnSignals(logger: Logger, graceMs: number, stop: (signal: string) => Promise<void>): void {
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

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
