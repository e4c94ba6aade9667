import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Addresses a tenant's webhook URL may never make Herald connect to, first match names the reason.
 * BlockList matches IPv4 rules against IPv4-mapped IPv6 forms too (::ffff:127.0.0.1, ::ffff:7f00:1).
 */
const REFUSED: readonly (readonly [network: string, prefix: number, reason: string])[] = [
  ['0.0.0.0', 8, 'unspecified address'],
  ['10.0.0.0', 8, 'private network'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private network'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation range'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private network'],
  ['198.18.0.0', 15, 'benchmarking range'],
  ['198.51.100.0', 24, 'documentation range'],
  ['203.0.113.0', 24, 'documentation range'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
  ['::', 128, 'unspecified address'],
  ['::1', 128, 'loopback'],
  ['::ffff:0:0', 96, 'IPv4-mapped address'],
  ['64:ff9b::', 96, 'NAT64 (embeds an IPv4 address)'],
  ['fc00::', 7, 'unique-local network'],
  ['fe80::', 10, 'link-local'],
  ['ff00::', 8, 'multicast'],
  // Inside 2000::/3 but tunnels to or stands in for other addresses.
  ['2001::', 23, 'IETF protocol assignments (Teredo)'],
  ['2001:db8::', 32, 'documentation range'],
  ['2002::', 16, '6to4 (embeds an IPv4 address)'],
  ['3fff::', 20, 'documentation range'],
];

const rules = REFUSED.map(([network, prefix, reason]) => {
  const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { family, list, reason };
});

// Everything else outside global unicast (2000::/3) is refused too: nothing there is a public server.
const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

/** Why Herald must not connect to this IP address, or undefined when it may. */
export function ssrfRefusal(address: string): string | undefined {
  const version = isIP(address);
  if (version === 0) return 'not an IP address';
  const family = version === 6 ? 'ipv6' : 'ipv4';
  // BlockList also matches IPv4 addresses against IPv6 rules (as ::ffff:a.b.c.d), which would make
  // the IPv4-mapped rule refuse every IPv4 address; IPv6 rules are for IPv6 addresses only.
  const rule = rules.find((r) => (family === 'ipv6' || r.family === 'ipv4') && r.list.check(address, family));
  if (rule) return rule.reason;
  if (family === 'ipv6' && !globalUnicast.check(address, 'ipv6')) return 'not a global unicast address';
  return undefined;
}

/** Every address a host name resolves to (dns.lookup with `all`); tests pass their own. */
export type ResolveAll = (hostname: string) => Promise<readonly { address: string }[]>;

const resolveAll: ResolveAll = (hostname) => dnsPromises.lookup(hostname, { all: true, verbatim: true });
const REGISTRATION_LOOKUP_MS = 3000;

/**
 * Why a webhook URL must not be registered, or undefined when it may. This is the early, friendly
 * refusal; the connect-time guard below is the one that holds (DNS answers change). The WHATWG URL
 * parser has already turned decimal, hex and octal IPv4 forms into dotted quads (http://2130706433/
 * and http://0177.0.0.1/ are http://127.0.0.1/) and compressed IPv6 ([::ffff:127.0.0.1] is
 * [::ffff:7f00:1]). A host name is refused when any address it resolves to is; one that does not
 * resolve (yet), or not within 3 s, is accepted, and every delivery to it is still checked.
 */
export async function webhookUrlRefusal(url: string, resolve: ResolveAll = resolveAll): Promise<string | undefined> {
  let hostname: string;
  try {
    hostname = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return 'not a URL';
  }
  if (isIP(hostname)) {
    const reason = ssrfRefusal(hostname);
    return reason && `${hostname}: ${reason}`;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), REGISTRATION_LOOKUP_MS)));
  const answer = await Promise.race([resolve(hostname).catch(() => undefined), timeout]).finally(() =>
    clearTimeout(timer),
  );
  for (const { address } of answer ?? []) {
    const reason = ssrfRefusal(address);
    if (reason) return `${hostname} resolves to ${address}: ${reason}`;
  }
  return undefined;
}

export class SsrfBlockedError extends Error {
  readonly code = 'ssrf_blocked';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`refused to connect to ${host === address ? address : `${host} (${address})`}: ${reason}`);
    this.name = 'SsrfBlockedError';
  }
}

type ConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * Runs when the agent opens a socket, so every connection is checked against the address it
 * really goes to: an IP literal before connecting, a host name on each address DNS gives for it
 * (so a name that resolves, or later re-resolves, to 127.0.0.1 is refused). Nothing is sent to a
 * refused address: net.connect never sees it.
 */
function guardConnection(
  options: http.ClientRequestArgs,
  callback: ConnectionCallback | undefined,
  connect: (options: http.ClientRequestArgs, callback?: ConnectionCallback) => Duplex | null | undefined,
): Duplex | null | undefined {
  const host = options.host;
  if (host && isIP(host)) {
    const reason = ssrfRefusal(host);
    if (reason) {
      const error = new SsrfBlockedError(host, host, reason);
      if (!callback) throw error;
      // http.Agent hands an error given here to the request; there is no stream to go with it.
      callback(error, undefined as never);
      return undefined;
    }
  }
  return connect({ ...options, lookup: guardedLookup(options.lookup ?? dnsLookup) }, callback);
}

function guardedLookup(resolve: LookupFunction): LookupFunction {
  return (hostname, options, callback) =>
    resolve(hostname, options, (err, answer, family) => {
      if (err) return callback(err, answer, family);
      // With Happy Eyeballs net asks for every address; one refused address refuses the name.
      const addresses = typeof answer === 'string' ? [answer] : answer.map((a: LookupAddress) => a.address);
      for (const address of addresses) {
        const reason = ssrfRefusal(address);
        if (reason) return callback(new SsrfBlockedError(hostname, address, reason), answer, family);
      }
      callback(null, answer, family);
    });
}

/** An http.Agent whose every connection passes the SSRF check. */
export class GuardedHttpAgent extends http.Agent {
  override createConnection(options: http.ClientRequestArgs, callback?: ConnectionCallback) {
    return guardConnection(options, callback, (o, cb) => super.createConnection(o, cb));
  }
}

/** An https.Agent whose every connection passes the SSRF check. */
export class GuardedHttpsAgent extends https.Agent {
  override createConnection(options: http.ClientRequestArgs, callback?: ConnectionCallback) {
    return guardConnection(options, callback, (o, cb) => super.createConnection(o, cb));
  }
}
