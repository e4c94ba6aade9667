import 'reflect-metadata';
import 'dotenv/config';
import type { AddressInfo } from 'node:net';
import { Logger, Module } from '@nestjs/common';
import { ConfigError, ConfigModule, loadConfig } from '@herald/config';
import { TracingModule, loggingModule, stopOnSignals } from '@herald/observability';
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

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
