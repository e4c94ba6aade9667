import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

// The bridge carries JSON-RPC messages between the local client (stdio) and Herald's /mcp (Streamable HTTP)
// as they are. It has no tools of its own: every tool is Herald's, behind the same key checks as its API.

export const USAGE = `Usage: herald-mcp [--url <herald base url>]

A stdio MCP server that forwards every message to <url>/mcp of a running Herald.
  --url   Herald's base URL (default: $HERALD_URL, else http://localhost:3000)
The API key is read from $HERALD_API_KEY only, never from the command line (which \`ps\` shows).
`;

export const DEFAULT_URL = 'http://localhost:3000';

export type Invocation =
  { kind: 'run'; endpoint: URL; key: string } | { kind: 'help' } | { kind: 'error'; message: string };

/** What the command line and the environment ask for. Messages never repeat an argument's value: it may be a key. */
export function parseInvocation(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Invocation {
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag] = arg.split('=', 1);
    if (flag === '--help' || flag === '-h') return { kind: 'help' };
    if (flag === '--url') {
      url = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!url) return { kind: 'error', message: '--url needs a value, e.g. --url http://localhost:3000' };
    } else if (/^--(api-?key|key|token)$/i.test(flag)) {
      return {
        kind: 'error',
        message: `${flag} is not accepted: the command line is visible in ps; set HERALD_API_KEY`,
      };
    } else if (flag.startsWith('-')) {
      return { kind: 'error', message: `unknown option ${flag} (see --help)` };
    } else {
      return { kind: 'error', message: 'unexpected argument: herald-mcp takes only --url (see --help)' };
    }
  }
  url ??= env.HERALD_URL || DEFAULT_URL;
  let endpoint: URL;
  try {
    endpoint = mcpEndpoint(url);
  } catch {
    return { kind: 'error', message: 'the Herald URL is not an http(s) URL (from --url or HERALD_URL)' };
  }
  const key = env.HERALD_API_KEY?.trim();
  if (!key) {
    return {
      kind: 'error',
      message: 'HERALD_API_KEY is not set: put a Herald API key in it (never on the command line)',
    };
  }
  return { kind: 'run', endpoint, key };
}

/** `<base>/mcp`, keeping a path prefix the base may have (Herald behind a proxy at /herald, say). */
export function mcpEndpoint(base: string): URL {
  const url = new URL(base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not an http(s) URL');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/mcp`;
  url.hash = '';
  return url;
}

/** The endpoint as it may be shown: without user info, query or fragment. */
export function shownUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export interface Bridge {
  /** Resolves once both sides are closed. */
  readonly closed: Promise<void>;
  /** The local side has no more input: let the answers to requests already sent arrive, then close both sides. */
  end(): Promise<void>;
  /** Close both sides now. */
  close(): Promise<void>;
}

export interface BridgeOptions {
  /** Where errors go (stderr in the bin): never the local transport's channel. */
  log: (line: string) => void;
  /** Text that must never be logged or sent back (the key); replaced by `***`. */
  secret?: string;
  /** How the remote is named in messages, e.g. `Herald at http://localhost:3000/mcp`. */
  remoteName?: string;
}

/**
 * Forwards messages both ways, unchanged: `local` (the client's side) to `remote` (Herald) and back. A request
 * Herald could not be asked (refused key, Herald down) is answered locally with a JSON-RPC error carrying the
 * reason, so the client gets an error rather than waiting for an answer that will not come. The protocol
 * version of the initialize answer is handed to `remote` (the MCP-Protocol-Version header on later requests).
 */
export function bridge(local: Transport, remote: Transport, options: BridgeOptions): Bridge {
  const { log, secret, remoteName = 'Herald' } = options;
  const redact = (text: string) => (secret ? text.split(secret).join('***') : text);
  const say = (line: string) => log(redact(line));
  const pending = new Set<Promise<void>>();
  const initializeIds = new Set<string | number>();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing = false;

  // Each side's close() calls its onclose at once, which lands here again: the flag is set before.
  const close = async () => {
    if (!closing) {
      closing = true;
      await Promise.allSettled([local.close(), remote.close()]);
      resolveClosed();
    }
    return closed;
  };

  local.onmessage = (message: JSONRPCMessage) => {
    if (isRequest(message) && message.method === 'initialize') initializeIds.add(message.id);
    const sent: Promise<void> = remote
      .send(message)
      .catch((error: unknown) => {
        // remote.onerror has logged it; a request still needs an answer.
        if (!isRequest(message)) return;
        const reason = redact(`${remoteName}: ${describe(error)}`);
        return local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: reason } });
      })
      .catch((error: unknown) => say(`herald-mcp: could not answer the client: ${describe(error)}`))
      .finally(() => pending.delete(sent));
    pending.add(sent);
  };

  remote.onmessage = (message: JSONRPCMessage) => {
    if ('result' in message && initializeIds.delete(message.id)) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') remote.setProtocolVersion?.(version);
    }
    local.send(message).catch((error: unknown) => say(`herald-mcp: could not write to the client: ${describe(error)}`));
  };

  local.onerror = (error) => say(`herald-mcp: from the client: ${describe(error)}`);
  // Once closing, the remote's errors are those of its own requests being aborted.
  remote.onerror = (error) => void (closing || say(`herald-mcp: ${remoteName}: ${describe(error)}`));
  local.onclose = () => void close();
  remote.onclose = () => void close();

  const started = remote.start().then(() => local.start());
  started.catch((error: unknown) => {
    say(`herald-mcp: could not start: ${describe(error)}`);
    void close();
  });

  return {
    closed,
    close,
    async end() {
      await started.catch(() => undefined);
      while (pending.size) await Promise.allSettled([...pending]);
      await close();
    },
  };
}

function isRequest(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number; method: string } {
  return 'method' in message && 'id' in message && message.id !== undefined;
}

/** One line: the error's message, its cause's (fetch's "fetch failed" says nothing alone) and a hint for 401/403. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 500);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const code = (error as { code?: unknown }).code;
  const hint = code === 401 || code === 403 ? ` (HTTP ${code}: check the key in HERALD_API_KEY)` : '';
  return `${error.message}${cause}${hint}`.replace(/\s+/g, ' ').slice(0, 500);
}
