export * from './config.module';
export * from './load-config';
export { PRODUCTION_ROOT_KEY_LENGTH } from './config.schema';
export * from './worker-roles';
