export * from './correlation';
export * from './logging';
export * from './metrics';
export * from './metrics-token';
export * from './tracing';
export * from './stop-on-signals';
