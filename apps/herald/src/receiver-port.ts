import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'webhook-receiver-port';

/**
 * The port npm start's sandbox webhook receiver had last time, kept in the data folder: an endpoint
 * registered with the printed URL would otherwise go dead at the next start, the receiver having
 * moved to a new random port.
 */
export function keptReceiverPort(dataDir: string): number | undefined {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return undefined;
  const port = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

export function keepReceiverPort(dataDir: string, port: number): void {
  writeFileSync(join(dataDir, FILE), `${port}\n`);
}
