export * from './delivery-jobs';
export * from './jobs';
export * from './queue-names';
export * from './queue-options';
export * from './queue.module';
export * from './redis';
export * from './subscriber-rate-limiter';
export * from './queue-clients';
