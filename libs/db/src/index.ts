export * from './db.module';
export * from './errors';
export * from './pg-pool';
export * from './prisma.service';
export * from './transaction';
export type { Prisma } from './generated/prisma/client';
export * from './migrate';
export * from './feedback-events';
export * from './suppressions';
