export * from './channels';
export * from './delivery-status';
export * from './event-input';
export * from './idempotency';
export * from './ids';
export * from './rule-input';
export * from './secrets';
