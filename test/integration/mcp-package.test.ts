import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Stream } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

// @herald/mcp as a package: built, packed by `npm pack`, installed from the tarball into a fresh project, and
// its bin driven over stdio by the SDK's client, the way Claude Desktop or Cursor run it.
// Herald is stood in for by a plain HTTP server hosting an SDK McpServer at /mcp (stateless, JSON answers)
// that wants `Authorization: Bearer <KEY>`.

const MCP = path.join(__dirname, '..', '..', 'libs', 'mcp');
const KEY = `hk_mcp_test_${randomUUID()}`;
const WRONG_KEY = `hk_wrong_${randomUUID()}`;
const TIMEOUT = { timeout: 20_000 };

const run = (command: string, args: string[], cwd: string) => {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`.slice(0, 3000),
    );
  }
  return result.stdout;
};

interface Seen {
  method: string;
  authorization?: string;
  protocolVersion?: string;
  rpc?: string;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

/** Herald's /mcp as far as the bridge can tell: an SDK server per request, behind a bearer key check. */
async function startStandIn(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    seen.push({
      method: req.method!,
      authorization: req.headers.authorization,
      protocolVersion: req.headers['mcp-protocol-version'] as string | undefined,
      rpc: (body as { method?: string } | undefined)?.method,
    });
    if (req.url !== '/mcp') return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(401, { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer' });
      return void res.end(JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401 }));
    }
    // Stateless: no standalone SSE stream, no session to delete.
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const server = new McpServer({ name: 'herald-stand-in', version: '0.0.0' });
    server.registerTool(
      'echo',
      { description: 'Answers with its text', inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const http: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => {
      http.closeAllConnections();
      return new Promise((resolve) => http.close(() => resolve()));
    },
  };
}

/** Everything a stream carries, as text so far. */
function collect(stream: Stream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return () => text;
}

describe('@herald/mcp, packed and installed in a fresh project', () => {
  let herald: Awaited<ReturnType<typeof startStandIn>>;
  let dir: string;
  let bin: string;
  const baseEnv = { PATH: process.env.PATH!, HOME: process.env.HOME ?? os.homedir() };

  beforeAll(async () => {
    herald = await startStandIn();
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
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => void herald.seen.splice(0));
  // A test that failed or timed out must not leave its bin running: jest would wait for it forever.
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill();
  });

  const stdioTransport = (key: string) =>
    new StdioClientTransport({
      command: 'node',
      args: [bin, '--url', herald.url],
      env: { ...baseEnv, HERALD_API_KEY: key },
      stderr: 'pipe',
    });

  it('lists and calls the server tools, sending the key from HERALD_API_KEY as a bearer token', async () => {
    const transport = stdioTransport(KEY);
    const stderr = collect(transport.stderr);
    const client = new Client({ name: 'mcp-package-test', version: '0.0.0' });
    try {
      await client.connect(transport, TIMEOUT);
      const { tools } = await client.listTools(undefined, TIMEOUT);
      expect(tools.map((tool) => tool.name)).toEqual(['echo']);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } }, undefined, TIMEOUT);
      expect(result.content).toEqual([{ type: 'text', text: 'hello' }]);
    } finally {
      await client.close();
    }
    const posts = herald.seen.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.rpc)).toEqual([
      'initialize',
      'notifications/initialized',
      'tools/list',
      'tools/call',
    ]);
    expect(posts.every((request) => request.authorization === `Bearer ${KEY}`)).toBe(true);
    // After initialize, every request names the negotiated protocol version, as the transport spec asks.
    const versions = posts.slice(1).map((request) => request.protocolVersion);
    expect(versions.every((version) => SUPPORTED_PROTOCOL_VERSIONS.includes(version!))).toBe(true);
    expect(stderr()).toBe('');
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
    expect(herald.seen[0]).toMatchObject({ method: 'POST', rpc: 'initialize', authorization: `Bearer ${WRONG_KEY}` });
    expect(stderr()).toMatch(/401.*HERALD_API_KEY/);
  });

  it('without HERALD_API_KEY, exits 1 with one line naming it', () => {
    const result = spawnSync('node', [bin, '--url', herald.url], { env: baseEnv, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('HERALD_API_KEY')]);
    expect(herald.seen).toEqual([]);
  });

  it.each([
    ['accepted', KEY],
    ['refused', WRONG_KEY],
  ])('never prints the key (%s) on stdout or stderr, and stops when its input ends', async (_case, key) => {
    // The raw streams, without the SDK's client in between: stdout must carry JSON-RPC lines and nothing else.
    const child = spawn('node', [bin, '--url', herald.url], {
      env: { ...baseEnv, HERALD_API_KEY: key },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const ask = async (message: object) => {
      child.stdin.write(`${JSON.stringify(message)}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error(`herald-mcp closed its stdout; stderr: ${stderr()}`);
      return JSON.parse(value as string);
    };
    const initialize = {
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS[0],
      capabilities: {},
      clientInfo: { name: 'raw', version: '0.0.0' },
    };
    const first = await ask({ jsonrpc: '2.0', id: 1, method: 'initialize', params: initialize });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const second = await ask({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hello' } },
    });
    if (key === KEY) {
      expect(first).toMatchObject({ id: 1, result: { serverInfo: { name: 'herald-stand-in' } } });
      expect(second).toMatchObject({ id: 2, result: { content: [{ type: 'text', text: 'hello' }] } });
    } else {
      expect(first).toMatchObject({ id: 1, error: { message: expect.stringMatching(/401/) } });
      expect(second).toMatchObject({ id: 2, error: { message: expect.stringMatching(/401/) } });
    }
    child.stdin.end();
    expect(await exited).toBe(0);
    for (const line of stdout().trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(stdout()).not.toContain(key);
    expect(stderr()).not.toContain(key);
  });
});
