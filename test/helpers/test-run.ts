import type { Services } from '../../libs/dev-services/src';

/** What test/global-setup.ts hands to test/global-teardown.ts (jest runs both in one process). */
export interface TestRun {
  services: Services;
  adminUrl: string;
  database: string;
  queuePrefix: string;
}

const key = Symbol.for('herald.testRun');
type WithTestRun = typeof globalThis & { [key]?: TestRun };

export function rememberTestRun(run: TestRun): void {
  (globalThis as WithTestRun)[key] = run;
}

export function takeTestRun(): TestRun | undefined {
  const run = (globalThis as WithTestRun)[key];
  delete (globalThis as WithTestRun)[key];
  return run;
}
