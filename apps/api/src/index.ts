// The api app's public entry points: what another app (npm start's all-in-one process) may use.
export { ApiModule } from './api.module';
export { ApiKeysService } from './auth/api-keys.service';
export { closeHttpApp } from './http/close-http-app';
export { createHttpApp } from './http/create-http-app';
