export { ensureServices, type EnsureServicesOptions, type Services } from './ensure-services';
export type { PostgresBinariesChoice } from './postgres-binaries';
