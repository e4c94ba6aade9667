import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { Pool } from 'pg';
import { PG_POOL, createPool } from './pg-pool';
import { PrismaService } from './prisma.service';

@Global()
@Module({
  providers: [
    { provide: PG_POOL, inject: [HERALD_CONFIG], useFactory: (config: HeraldConfig) => createPool(config) },
    PrismaService,
  ],
  exports: [PG_POOL, PrismaService],
})
export class DbModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
