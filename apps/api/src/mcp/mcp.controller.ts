import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Auth, CurrentPrincipal } from '../auth/auth.decorator';
import type { Principal } from '../auth/principal';
import { Problem } from '../http/problem';
import { InProcessApi } from './in-process-api';
import { buildMcpServer } from './mcp-server';

/**
 * The Model Context Protocol over Streamable HTTP, stateless: every POST carries its own JSON-RPC
 * messages and gets JSON back, so any api replica answers any request and no session outlives it. A
 * tenant key (ingest or admin) authenticates as on every route; the root key has no tools here.
 */
@Controller('mcp')
@Auth('ingest')
export class McpController {
  constructor(private readonly http: HttpAdapterHost) {}

  @Post()
  async handle(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (principal.kind !== 'key') throw new Problem(403, 'forbidden', 'Forbidden', 'MCP needs a tenant key');
    const api = new InProcessApi(this.http.httpAdapter.getInstance<FastifyInstance>(), request);
    const server = buildMcpServer(principal.scope, api);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      const answer = await transport.handleRequest(webRequest(request), { parsedBody: request.body });
      const body = Buffer.from(await answer.arrayBuffer());
      answer.headers.forEach((value, name) => void reply.header(name, value));
      if (answer.status >= 400) {
        return void (await reply
          .status(answer.status)
          .type('application/problem+json')
          .send(asProblem(answer.status, body)));
      }
      await reply.status(answer.status).send(body);
    } finally {
      await server.close();
    }
  }

  /** No sessions and no server-initiated stream (stateless): GET and DELETE are refused as the spec allows. */
  @Get()
  @Delete()
  refuse(): never {
    throw new Problem(405, 'method-not-allowed', 'Method not allowed', 'MCP here is POST only (stateless)', undefined, {
      headers: { allow: 'POST' },
    });
  }
}

/** The Fetch API request the SDK's transport reads: method, URL and headers (the body is already parsed). */
function webRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'content-length') continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return new Request(`http://${request.hostname}${request.url}`, { method: request.method, headers });
}

/**
 * A refusal of the transport (not JSON-RPC, no Accept header, a batch it cannot take) is a JSON-RPC error
 * object; Herald answers every 4xx as problem+json. This is both at once: the JSON-RPC members stay as the
 * MCP client expects them, and the problem members say the same for everyone else.
 */
function asProblem(status: number, body: Buffer): Buffer {
  let rpc: { jsonrpc?: string; error?: { code: number; message: string }; id?: unknown } = {};
  try {
    rpc = JSON.parse(body.toString('utf8')) as typeof rpc;
  } catch {
    // not JSON: the problem alone
  }
  const problem = new Problem(
    status,
    'mcp-refused',
    'MCP request refused',
    rpc.error?.message ?? 'Not a valid MCP request',
  );
  return Buffer.from(JSON.stringify({ ...problem.body(), jsonrpc: '2.0', error: rpc.error, id: rpc.id ?? null }));
}
