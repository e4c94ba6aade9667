import type { DynamicModule } from '@nestjs/common';
import { ConfigModule, type HeraldConfig, type WorkerRole } from '@herald/config';
import { TracingModule, loggingModule } from '@herald/observability';
import { DbModule } from '@herald/db';
import { SandboxModule } from '@herald/sandbox';
import { ApiModule } from '../../api/src';
import { WorkerModule } from '../../worker/src';

/**
 * The all-in-one composition: the api and any worker roles in one process (a newcomer's first
 * run, and the end-to-end tests). It is the only place where the two apps meet.
 */
export class HeraldModule {
  static forRoot(
    config: HeraldConfig,
    parts: { api: boolean; roles: readonly WorkerRole[]; prettyLogs?: boolean },
  ): DynamicModule {
    return {
      module: HeraldModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, parts.prettyLogs),
        TracingModule.forRoot(config),
        DbModule,
        SandboxModule,
        ...(parts.api ? [ApiModule] : []),
        // With the api in the process, it serves /health and /metrics: no worker port of its own.
        ...(parts.roles.length ? [WorkerModule.forRoles(parts.roles, { httpPort: !parts.api })] : []),
      ],
    };
  }
}
