#!/usr/bin/env node
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { bridge, parseInvocation, shownUrl, USAGE } from './bridge';

// herald-mcp: stdin/stdout speak MCP to the local client; stdout carries nothing else. Errors go to stderr.

const log = (line: string) => void process.stderr.write(`${line}\n`);
const invocation = parseInvocation(process.argv.slice(2), process.env);

if (invocation.kind === 'help') {
  process.stdout.write(USAGE);
} else if (invocation.kind === 'error') {
  log(`herald-mcp: ${invocation.message}`);
  process.exitCode = 1;
} else {
  const { endpoint, key } = invocation;
  const local = new StdioServerTransport();
  const remote = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  const running = bridge(local, remote, { log, secret: key, remoteName: `Herald at ${shownUrl(endpoint)}` });
  // The stdio transport does not watch for the end of its input: the client closing stdin means it is done.
  process.stdin.once('end', () => void running.end());
  // The client went away while an answer was being written (EPIPE): nobody is left to answer.
  process.stdout.on('error', () => void running.close());
  void running.closed.then(() => {
    // Normally nothing is left and the process ends by itself; a connection that lingers must not keep it up.
    setTimeout(() => process.exit(), 1000).unref();
  });
}
