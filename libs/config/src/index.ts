export * from './config.module';
export * from './load-config';
export * from './worker-roles';
export * from './correlation';
export * from './logging';
export * from './metrics';
export * from './tracing';
export * from './stop-on-signals';
