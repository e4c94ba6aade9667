import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../libs/dev-services/src/free-port';
import { eventually } from './http';

/** A three-node Redis Cluster of the test's own (no replicas), in a temporary folder. */
export class ThrowawayRedisCluster {
  private constructor(
    private readonly children: ChildProcess[],
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  static async start(): Promise<ThrowawayRedisCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-cluster-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const children = ports.map((port) =>
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '5000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      ),
    );
    const cluster = new ThrowawayRedisCluster(children, ports, dir);
    for (const port of ports) await eventually(() => ping(port), 10_000, `redis-server on ${port}`);
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    for (const port of ports) {
      await eventually(async () => ((await info(port)).includes('cluster_state:ok') ? true : undefined), 15_000);
    }
    return cluster;
  }

  /**
   * The URL of a node that does NOT own `hashTag`'s slot: a client that is not cluster-aware, given
   * this URL, gets MOVED for every key with that tag, so only a real cluster client can work.
   */
  async urlAvoiding(hashTag: string): Promise<string> {
    const slot = await withNode(this.ports[0], (r) => r.cluster('KEYSLOT', hashTag) as Promise<number>);
    const ranges = await withNode(this.ports[0], (r) => r.cluster('SLOTS'));
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
    return `redis://127.0.0.1:${this.ports.find((port) => port !== owner)}`;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(undefined);
            child.once('exit', resolve);
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function withNode<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

const ping = (port: number) => withNode(port, async (r) => ((await r.ping()) === 'PONG' ? true : undefined));
const info = (port: number) => withNode(port, (r) => r.cluster('INFO') as Promise<string>);
