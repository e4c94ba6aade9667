import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Stream } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SUPPORTED_PROTOCOL_VERSIONS, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, inappRule, type TestTenant } from '../helpers/tenant';

// @herald/mcp as a package: built, packed by `npm pack`, installed from the tarball into a fresh project, and
// its bin driven over stdio (by the SDK's client, the way Claude Desktop or Cursor run it, and on raw pipes)
// against a running Herald's /mcp with a tenant's keys.

const MCP = path.join(__dirname, '..', '..', 'libs', 'mcp');
const WRONG_KEY = `hk_ingest_wrong_${randomUUID()}`;
const TIMEOUT = { timeout: 20_000 };

// Build, pack and install only: Herald has nothing to answer meanwhile. The bin itself runs asynchronously.
const run = (command: string, args: string[], cwd: string) => {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`.slice(0, 3000),
    );
  }
  return result.stdout;
};

/** `promise`, or a failure naming `what` after `ms`: no wait here is open-ended. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Everything a stream carries, as text so far. */
function collect(stream: Stream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return () => text;
}

const textOf = (result: unknown) =>
  ((result as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

interface Seen {
  method: string;
  rpc?: string;
  authorization?: string;
  protocolVersion?: string;
}

/**
 * A pass-through to Herald that notes the headers the bin sends. Herald takes a request without
 * MCP-Protocol-Version as one of the default version, so only this can tell whether the bin names the
 * negotiated one.
 */
async function recordingProxy(target: string): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method!,
        rpc: body.length ? (JSON.parse(body.toString('utf8')) as { method?: string }).method : undefined,
        authorization: req.headers.authorization,
        protocolVersion: req.headers['mcp-protocol-version'] as string | undefined,
      });
      const upstream = request(new URL(req.url!, target), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (error) => res.destroy(error));
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => {
      proxy.closeAllConnections();
      return new Promise((resolve) => proxy.close(() => resolve()));
    },
  };
}

describe('@herald/mcp, packed and installed in a fresh project, against Herald', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let dir: string;
  let bin: string;
  const baseEnv = { PATH: process.env.PATH!, HOME: process.env.HOME ?? os.homedir() };

  beforeAll(async () => {
    isolated = await isolatedEnv('mcp-package');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-mcp-package-'));
    run('npx', ['tsc', '-p', 'tsconfig.json'], MCP);
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], MCP);
    const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))!;
    const app = path.join(dir, 'app');
    await mkdir(app);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    // Its dependencies come from the registry (or npm's cache): what a user's install does.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball)], app);
    bin = path.join(app, 'node_modules', '@herald', 'mcp', 'dist', 'bin.js');
  }, 240_000);
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  // A test that failed or timed out must not leave its bin running: jest would wait for it forever.
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill();
  });

  const stdioTransport = (key: string, url = herald.url) =>
    new StdioClientTransport({
      command: 'node',
      args: [bin, '--url', url],
      env: { ...baseEnv, HERALD_API_KEY: key },
      stderr: 'pipe',
    });

  /** The bin on raw pipes; `closed` is its exit code once its output is all read. */
  const spawnBin = (env: Record<string, string>) => {
    const child = spawn('node', [bin, '--url', herald.url], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { child, closed, stdout: collect(child.stdout), stderr: collect(child.stderr) };
  };

  it("offers an ingest key's tools, sends an event and explains its delivery", async () => {
    const transport = stdioTransport(tenant.keys.ingest);
    const stderr = collect(transport.stderr);
    const client = new Client({ name: 'mcp-package-test', version: '0.0.0' });
    try {
      await client.connect(transport, TIMEOUT);
      const names = (await client.listTools(undefined, TIMEOUT)).tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['send_event', 'explain_notifications']));
      expect(names).not.toContain('list_rules');

      const sent = await client.callTool(
        {
          name: 'send_event',
          arguments: { type: 'order.shipped', to: { subscriberId: 'mcp-pkg' }, data: { orderId: '7' } },
        },
        undefined,
        TIMEOUT,
      );
      expect(sent.isError).toBeFalsy();
      const accepted = JSON.parse(textOf(sent)) as { id: string; status: string };
      expect(accepted).toEqual({ id: expect.any(String), status: 'accepted' });
      const { id } = accepted;

      let last = '';
      const explained = await eventually(
        async () => {
          const answer = await client.callTool(
            { name: 'explain_notifications', arguments: { subscriberId: 'mcp-pkg', type: 'order.shipped' } },
            undefined,
            TIMEOUT,
          );
          last = textOf(answer);
          return /inapp: sent at/.test(last) ? last : undefined;
        },
        30_000,
        () => `the in-app delivery explained as sent; last answer: ${last}`,
      );
      expect(explained).toContain(`Event ${id} (order.shipped)`);
    } finally {
      await client.close();
    }
    expect(stderr()).toBe('');
  });

  it('sends the key as a bearer token, and the negotiated protocol version after initialize', async () => {
    const proxy = await recordingProxy(herald.url);
    const client = new Client({ name: 'mcp-package-test', version: '0.0.0' });
    try {
      await client.connect(stdioTransport(tenant.keys.ingest, proxy.url), TIMEOUT);
      await client.listTools(undefined, TIMEOUT);
    } finally {
      await client.close();
      await proxy.close();
    }
    const posts = proxy.seen.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.rpc)).toEqual(['initialize', 'notifications/initialized', 'tools/list']);
    expect(proxy.seen.every((request) => request.authorization === `Bearer ${tenant.keys.ingest}`)).toBe(true);
    // After initialize, every request names the negotiated version (the stream GET, refused with 405, as well).
    const later = proxy.seen.filter((request) => request.rpc !== 'initialize');
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const { protocolVersion } of later) expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(protocolVersion);
  });

  it('turns a refused key into an error for the client, not a wait for an answer that never comes', async () => {
    const transport = stdioTransport(WRONG_KEY);
    const stderr = collect(transport.stderr);
    const client = new Client({ name: 'mcp-package-test', version: '0.0.0' });
    try {
      const connecting = client.connect(transport, TIMEOUT);
      await expect(connecting).rejects.toThrow(/401/);
      await expect(connecting).rejects.not.toThrow(/timed out/i);
    } finally {
      await client.close();
    }
    expect(stderr()).toMatch(/401.*HERALD_API_KEY/);
  });

  it('without HERALD_API_KEY, exits 1 with one line naming it', async () => {
    const bare = spawnBin(baseEnv);
    bare.child.stdin.end();
    expect(await within(bare.closed, 30_000, 'herald-mcp to exit')).toBe(1);
    expect(bare.stdout()).toBe('');
    expect(bare.stderr().trim().split('\n')).toEqual([expect.stringContaining('HERALD_API_KEY')]);
  });

  it.each([
    ['accepted', true],
    ['refused', false],
  ])('never prints the key (%s) on stdout or stderr, and stops when its input ends', async (_case, right) => {
    // The raw streams, without the SDK's client in between: stdout must carry JSON-RPC lines and nothing else.
    const key = right ? tenant.keys.ingest : WRONG_KEY;
    const { child, closed, stdout, stderr } = spawnBin({ ...baseEnv, HERALD_API_KEY: key });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const ask = async (message: { id: number; method: string; params?: object }) => {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
      const { value, done } = await within(lines.next(), 20_000, `the answer to ${message.method}`);
      if (done) throw new Error(`herald-mcp closed its stdout; stderr: ${stderr()}`);
      return JSON.parse(value as string);
    };
    const initialize = {
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS[0],
      capabilities: {},
      clientInfo: { name: 'raw', version: '0.0.0' },
    };
    const first = await ask({ id: 1, method: 'initialize', params: initialize });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const second = await ask({ id: 2, method: 'tools/list' });
    if (right) {
      expect(first).toMatchObject({ id: 1, result: { serverInfo: { name: 'herald' } } });
      expect(second).toMatchObject({ id: 2, result: { tools: expect.any(Array) } });
      expect(second.result.tools.map((tool: { name: string }) => tool.name)).toContain('send_event');
    } else {
      expect(first).toMatchObject({ id: 1, error: { message: expect.stringMatching(/401/) } });
      expect(second).toMatchObject({ id: 2, error: { message: expect.stringMatching(/401/) } });
    }
    child.stdin.end();
    expect(await within(closed, 20_000, 'herald-mcp to exit after its input ended')).toBe(0);
    for (const line of stdout().trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(stdout()).not.toContain(key);
    expect(stderr()).not.toContain(key);
  });
});
