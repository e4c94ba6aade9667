import { lookup as dnsLookup } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { PassThrough } from 'node:stream';
import type { AddressInfo, LookupFunction } from 'node:net';
import {
  GuardedHttpAgent,
  GuardedHttpsAgent,
  SsrfBlockedError,
  ssrfRefusal,
  webhookUrlRefusal,
  type ResolveAll,
} from './ssrf-guard';

describe('ssrfRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private network'],
    ['172.16.0.1', 'private network'],
    ['172.31.255.255', 'private network'],
    ['192.168.1.1', 'private network'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local network'],
    ['fd12:3456:789a::1', 'unique-local network'],
    ['0.0.0.0', 'unspecified address'],
    ['::', 'unspecified address'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved or broadcast'],
    ['240.0.0.1', 'reserved or broadcast'],
    ['192.0.2.10', 'documentation range'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local (cloud metadata)'],
    ['::ffff:10.1.2.3', 'private network'],
    ['::ffff:8.8.8.8', 'IPv4-mapped address'],
    ['64:ff9b::7f00:1', 'NAT64 (embeds an IPv4 address)'],
    ['2002:7f00:1::1', '6to4 (embeds an IPv4 address)'],
    ['2001:0:4136:e378::1', 'IETF protocol assignments (Teredo)'],
    ['::127.0.0.1', 'not a global unicast address'],
    ['fec0::1', 'not a global unicast address'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(ssrfRefusal(address)).toBe(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1'])(
    'allows the public address %s',
    (address) => expect(ssrfRefusal(address)).toBeUndefined(),
  );

  it.each(['2606:4700:4700::1111', '2a00:1450:4001::200e'])('allows the public address %s', (address) => {
    expect(ssrfRefusal(address)).toBeUndefined();
  });

  it('refuses what is not an IP address', () => {
    expect(ssrfRefusal('example.com')).toBe('not an IP address');
  });
});

/**
 * The agents' own decisions, with the base agent's connect replaced: nothing here can open a socket,
 * so refused addresses are named freely and "refused" provably means "never connected".
 */
describe.each([
  ['http', GuardedHttpAgent, http.Agent],
  ['https', GuardedHttpsAgent, https.Agent],
] as const)('Guarded %s agent', (_name, Guarded, Base) => {
  let connect: jest.SpyInstance;

  beforeEach(() => {
    connect = jest.spyOn(Base.prototype, 'createConnection').mockImplementation(() => new PassThrough());
  });
  afterEach(() => connect.mockRestore());

  function createConnection(host: string, lookup?: LookupFunction) {
    const callback = jest.fn();
    new Guarded().createConnection({ host, port: 80, lookup }, callback);
    return callback;
  }

  it.each(['10.0.0.1', '169.254.169.254', '::1', '::ffff:7f00:1', '127.0.0.1'])(
    'refuses the IP literal %s without connecting',
    (host) => {
      const callback = createConnection(host);
      expect(connect).not.toHaveBeenCalled();
      expect(callback).toHaveBeenCalledWith(expect.any(SsrfBlockedError), undefined);
      expect(callback.mock.calls[0][0]).toMatchObject({
        code: 'ssrf_blocked',
        address: host,
        reason: ssrfRefusal(host),
      });
    },
  );

  it('connects to a public IP literal', () => {
    createConnection('93.184.216.34');
    expect(connect).toHaveBeenCalledWith(expect.objectContaining({ host: '93.184.216.34' }), expect.any(Function));
  });

  /** Runs the lookup the agent handed to net.connect, against a resolver that answers `answer`. */
  function resolveThroughGuard(answer: string | { address: string; family: number }[], all: boolean) {
    const resolver: LookupFunction = (_hostname, _options, callback) =>
      typeof answer === 'string' ? callback(null, answer, answer.includes(':') ? 6 : 4) : callback(null, answer);
    createConnection('hooks.example.test', resolver);
    const guarded: LookupFunction = connect.mock.lastCall[0].lookup;
    return new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      guarded('hooks.example.test', { all }, (err, address) => resolve({ err, address })),
    );
  }

  it('refuses a host name that resolves to a private address', async () => {
    const { err } = await resolveThroughGuard('127.0.0.1', false);
    expect(err).toBeInstanceOf(SsrfBlockedError);
    expect(err).toMatchObject({ host: 'hooks.example.test', address: '127.0.0.1', reason: 'loopback' });
  });

  it('refuses a host name when any of its addresses is private', async () => {
    const answer = [
      { address: '93.184.216.34', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ];
    const { err } = await resolveThroughGuard(answer, true);
    expect(err).toMatchObject({ code: 'ssrf_blocked', address: '169.254.169.254' });
  });

  it('passes public answers through unchanged', async () => {
    const answer = [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ];
    expect(await resolveThroughGuard(answer, true)).toEqual({ err: null, address: answer });
    expect(await resolveThroughGuard('93.184.216.34', false)).toEqual({ err: null, address: '93.184.216.34' });
  });
});

describe('GuardedHttpAgent on real sockets', () => {
  let server: http.Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('reached'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  function get(url: string, agent: http.Agent, lookup?: LookupFunction): Promise<unknown> {
    return new Promise((resolve) => {
      http
        .get(url, { agent, lookup }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on('error', resolve);
    });
  }

  it('checks every connection, not once per host: each request resolves again and is refused again', async () => {
    const agent = new GuardedHttpAgent({ keepAlive: true });
    let lookups = 0;
    const counting: LookupFunction = (hostname, options, callback) => {
      lookups++;
      dnsLookup(hostname, options, callback);
    };
    for (let i = 0; i < 2; i++) {
      const outcome = await get(`http://localhost:${port}/`, agent, counting);
      expect(outcome).toBeInstanceOf(SsrfBlockedError);
    }
    expect(await get(`http://127.0.0.1:${port}/`, agent)).toMatchObject({ code: 'ssrf_blocked', reason: 'loopback' });
    expect(lookups).toBe(2);
    expect(connections).toBe(0);
    agent.destroy();
  });

  it('the same request through a plain agent does reach the server (so the refusals above are the guard)', async () => {
    const agent = new http.Agent();
    expect(await get(`http://localhost:${port}/`, agent)).toBe(200);
    expect(connections).toBe(1);
    agent.destroy();
  });
});

describe('webhookUrlRefusal (when an endpoint is saved)', () => {
  /** A resolver that knows a few names, as a test's own DNS. */
  const names: Record<string, string[]> = {
    'public.example.test': ['93.184.216.34'],
    'internal.example.test': ['10.1.2.3'],
    'metadata.example.test': ['169.254.169.254'],
    'mixed.example.test': ['93.184.216.34', 'fd00::1'],
    'mapped.example.test': ['::ffff:127.0.0.1'],
  };
  const resolve: ResolveAll = async (hostname) => {
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address }));
  };

  it.each([
    ['http://127.0.0.1/', '127.0.0.1: loopback'],
    ['http://2130706433/', '127.0.0.1: loopback'],
    ['http://0x7f000001/', '127.0.0.1: loopback'],
    ['http://0177.0.0.1/', '127.0.0.1: loopback'],
    ['http://017700000001/', '127.0.0.1: loopback'],
    ['http://127.1/', '127.0.0.1: loopback'],
    ['http://0/', '0.0.0.0: unspecified address'],
    ['http://10.0.0.1/', '10.0.0.1: private network'],
    ['http://192.168.1.1:8080/x', '192.168.1.1: private network'],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254: link-local (cloud metadata)'],
    ['http://[::1]/', '::1: loopback'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1: loopback'],
    ['http://[::ffff:7f00:1]/', '::ffff:7f00:1: loopback'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe: link-local (cloud metadata)'],
    ['http://[fd12::1]/', 'fd12::1: unique-local network'],
    ['http://[fe80::1]/', 'fe80::1: link-local'],
    ['https://internal.example.test/hook', 'internal.example.test resolves to 10.1.2.3: private network'],
    [
      'https://metadata.example.test/',
      'metadata.example.test resolves to 169.254.169.254: link-local (cloud metadata)',
    ],
    ['https://mixed.example.test/', 'mixed.example.test resolves to fd00::1: unique-local network'],
    ['https://mapped.example.test/', 'mapped.example.test resolves to ::ffff:127.0.0.1: loopback'],
  ])('refuses %s', async (url, reason) => {
    expect(await webhookUrlRefusal(url, resolve)).toBe(reason);
  });

  it('refuses localhost through the system resolver', async () => {
    expect(await webhookUrlRefusal('http://localhost:8080/hook')).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1): loopback$/,
    );
  });

  it.each(['https://public.example.test/hook', 'http://93.184.216.34/', 'https://[2606:4700:4700::1111]/'])(
    'accepts %s',
    async (url) => expect(await webhookUrlRefusal(url, resolve)).toBeUndefined(),
  );

  it('accepts a name that does not resolve: every delivery to it is still checked when it connects', async () => {
    expect(await webhookUrlRefusal('https://not-yet.example.test/', resolve)).toBeUndefined();
  });
});
