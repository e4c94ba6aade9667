// The worker app's public entry points: what another app (npm start's all-in-one process) may use.
export { WorkerModule } from './worker.module';
export { RunningWorkers, type DrainResult } from './worker-process';
