export * from './db.module';
export * from './errors';
export * from './pg-pool';
export * from './prisma.service';
export * from './transaction';
// A value too: Prisma.DbNull sets a nullable JSON column to SQL NULL.
export { Prisma } from './generated/prisma/client';
export * from './migrate';
export * from './feedback-events';
export * from './suppressions';
export * from './db-probes';
export * from './retention';
export * from './group-commit';
export * from './deliveries.repository';
export * from './delivery-context.repository';
export * from './fanout.repository';
export * from './outbox.repository';
export * from './subscribers.repository';
