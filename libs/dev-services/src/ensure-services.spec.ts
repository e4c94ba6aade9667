import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureServices } from './ensure-services';

describe('ensureServices with given URLs', () => {
  const dataDir = path.join(os.tmpdir(), `herald-services-spec-${process.pid}`);

  it('names each unreachable URL, without its password, and starts nothing', async () => {
    const failure = ensureServices({
      dataDir,
      redisUrl: 'redis://:s3cret@127.0.0.1:1',
      databaseUrl: 'postgresql://herald:s3cret@127.0.0.1:1/herald',
    });

    await expect(failure).rejects.toThrow(
      /^REDIS_URL redis:\/\/:\*\*\*@127\.0\.0\.1:1 does not answer .*ECONNREFUSED/m,
    );
    await expect(failure).rejects.toThrow(
      /^DATABASE_URL postgresql:\/\/herald:\*\*\*@127\.0\.0\.1:1\/herald does not answer/m,
    );
    await expect(failure).rejects.not.toThrow(/s3cret/);
    expect(existsSync(dataDir)).toBe(false);
  });
});
