import path from 'node:path';
import { Client } from 'pg';
import { migrate } from '../libs/db/src/migrate';
import { ensureServices } from '../libs/dev-services/src';

export interface BenchServices {
  redisUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Redis and Postgres of the bench's own, on free ports, with their data in .herald/bench (never
 * the machine's shared servers: their load is not ours to measure), and a fresh migrated database.
 */
export async function startServices(log: (line: string) => void): Promise<BenchServices> {
  const services = await ensureServices({
    dataDir: path.join(__dirname, '..', '.herald', 'bench'),
    database: 'postgres',
    log,
  });
  const admin = new URL(services.databaseUrl);
  const name = `herald_bench_${Date.now()}`;
  const adminClient = async (work: (client: Client) => Promise<unknown>) => {
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  };
  try {
    await adminClient((c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(services.databaseUrl);
    url.pathname = `/${name}`;
    await migrate(url.toString());
    return {
      redisUrl: services.redisUrl,
      databaseUrl: url.toString(),
      async stop() {
        await adminClient((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
        await services.stop();
      },
    };
  } catch (error) {
    await services.stop();
    throw error;
  }
}
