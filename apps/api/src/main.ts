import 'reflect-metadata';
import 'dotenv/config';
import { Module } from '@nestjs/common';
import { ConfigError, ConfigModule, loadConfig, loggingModule } from '@herald/config';
import { DbModule } from '@herald/db';
import { SandboxModule } from '@herald/sandbox';
import { ApiModule } from './api.module';
import { createHttpApp } from './http/create-http-app';

/** The api alone: for deployments that run workers as separate processes. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  @Module({ imports: [ConfigModule.forRoot(config), loggingModule(config), DbModule, SandboxModule, ApiModule] })
  class ApiRoot {}
  const app = await createHttpApp({ module: ApiRoot });
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
