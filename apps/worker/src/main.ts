import 'reflect-metadata';
import 'dotenv/config';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigError, ConfigModule, loadConfig, loggingModule } from '@herald/config';
import { DbModule } from '@herald/db';
import { SandboxModule } from '@herald/sandbox';
import { WorkerModule } from './worker.module';

/** `--roles relay,fanout` (or WORKER_ROLES); the flag wins over the environment. */
function rolesFlag(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--roles' || a.startsWith('--roles='));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice('--roles='.length) : argv[i + 1];
}

async function main(): Promise<void> {
  const roles = rolesFlag(process.argv.slice(2));
  const config = loadConfig({ ...process.env, ...(roles !== undefined ? { WORKER_ROLES: roles } : {}) });
  @Module({
    imports: [
      ConfigModule.forRoot(config),
      loggingModule(config),
      DbModule,
      SandboxModule,
      WorkerModule.forRoles(config.workerRoles),
    ],
  })
  class WorkerRoot {}
  const app = await NestFactory.createApplicationContext(WorkerRoot, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log(`worker running roles: ${config.workerRoles.join(', ')}`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
