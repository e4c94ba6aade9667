import 'reflect-metadata';
import 'dotenv/config';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { ConfigError, ConfigModule, WORKER_ROLES, loadConfig, type HeraldConfig } from '@herald/config';
import { TracingModule, loggingModule, stopOnSignals } from '@herald/observability';
import { DbModule } from '@herald/db';
import { SandboxModule } from '@herald/sandbox';
import { RunningWorkers } from './worker-process';
import { WorkerModule } from './worker.module';

/** `--roles relay,fanout` (or WORKER_ROLES); the flag wins over the environment. */
function rolesFlag(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--roles' || a.startsWith('--roles='));
  if (i < 0) return undefined;
  const value = argv[i].includes('=') ? argv[i].slice('--roles='.length) : argv[i + 1];
  if (!value?.trim() || value.startsWith('--')) {
    throw new ConfigError(
      `Configuration error: --roles needs a value: a comma-separated list of ${WORKER_ROLES.join(', ')} (or set WORKER_ROLES)`,
    );
  }
  return value;
}

function workerConfig(argv: string[]): HeraldConfig {
  const roles = rolesFlag(argv);
  try {
    return loadConfig({ ...process.env, ...(roles !== undefined ? { WORKER_ROLES: roles } : {}) });
  } catch (err) {
    if (err instanceof ConfigError && roles !== undefined && err.message.includes('WORKER_ROLES')) {
      throw new ConfigError(`${err.message} (given as --roles)`);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = workerConfig(process.argv.slice(2));
  @Module({
    imports: [
      ConfigModule.forRoot(config),
      loggingModule(config),
      TracingModule.forRoot(config),
      DbModule,
      SandboxModule,
      WorkerModule.forRoles(config.workerRoles),
    ],
  })
  class WorkerRoot {}
  const app = await NestFactory.createApplicationContext(WorkerRoot, { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  const logger = new Logger('worker');
  const workers = await RunningWorkers.of(app, config.workerRoles, logger);

  stopOnSignals(logger, config.shutdownGraceMs, async (signal) => {
    logger.log(`${signal}: taking no new jobs; running ones get up to ${config.shutdownGraceMs} ms to finish`);
    const { drained, unfinished } = await workers.drain(config.shutdownGraceMs);
    if (!drained) {
      logger.warn(
        `grace period of ${config.shutdownGraceMs} ms ran out with jobs running on ${unfinished.join(', ')}: ` +
          `closed without waiting; they stay active until BullMQ's stall detection returns them to their queue`,
      );
    }
    await app.close();
    logger.log({ msg: 'worker stopped', drained, jobs: workers.jobs() });
  });
  logger.log(`worker running roles: ${config.workerRoles.join(', ')}`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
