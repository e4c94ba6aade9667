import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isUuid } from '@herald/core';
import { Auth, CurrentPrincipal } from '../auth/auth.decorator';
import type { Principal } from '../auth/principal';
import { parse } from '../http/parse';
import { ValidHeader, ValidQuery } from '../http/valid-input';
import { InboxStreamService, type StreamEnd } from './inbox-stream.service';
import { InboxService, type InboxOwner } from './inbox.service';
import { Returns } from '../docs/api-output.decorator';
import { inboxItemSchema, inboxPageSchema, readAllSchema, unreadCountSchema } from './inbox.contract';

const listQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  status: z.enum(['unread', 'read', 'all']).default('all'),
});
const ownerQuery = z.object({ subscriberId: z.string().min(1).max(255) });
const messageId = z.string().refine(isUuid, 'expects a message id (the `id:` of an SSE message)');
const streamQuery = z.object({
  after: messageId
    .optional()
    .describe('replay what came after this message (for clients that cannot set Last-Event-ID)'),
});
const HEARTBEAT_MS = 15_000;
/**
 * At most this many messages are replayed on a reconnect; past that, the stream sends `event: reset`
 * instead and the client reloads its list, which pages through any number.
 */
const MAX_REPLAY = 200;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Inbox token: that subscriber's inbox. Admin key: any subscriber of the tenant, named by ?subscriberId=. */
function ownerOf(principal: Principal, query: unknown): InboxOwner {
  if (principal.kind === 'inbox') return { tenantId: principal.tenantId, subscriberId: principal.subscriberId };
  if (principal.kind !== 'key') throw new Error('inbox route without an inbox principal');
  return { tenantId: principal.tenantId, subscriberId: parse(ownerQuery, query, 'query').subscriberId };
}

@Controller('v1/inbox')
@Auth('inbox')
export class InboxController {
  constructor(
    private readonly inbox: InboxService,
    private readonly live: InboxStreamService,
  ) {}

  @Get()
  @Returns(inboxPageSchema)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: unknown,
    @ValidQuery(listQuery) input: z.infer<typeof listQuery>,
  ) {
    return this.inbox.list(ownerOf(principal, query), input);
  }

  @Get('unread-count')
  @Returns(unreadCountSchema)
  unreadCount(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.inbox.unreadCount(ownerOf(principal, query));
  }

  @Post('read-all')
  @HttpCode(200)
  @Returns(readAllSchema)
  readAll(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.inbox.markAllRead(ownerOf(principal, query));
  }

  @Post(':id/read')
  @HttpCode(200)
  @Returns(inboxItemSchema)
  read(@CurrentPrincipal() principal: Principal, @Query() query: unknown, @Param('id') id: string) {
    return this.inbox.markRead(ownerOf(principal, query), id);
  }

  @Post(':id/archive')
  @HttpCode(200)
  @Returns(inboxItemSchema)
  archive(@CurrentPrincipal() principal: Principal, @Query() query: unknown, @Param('id') id: string) {
    return this.inbox.archive(ownerOf(principal, query), id);
  }

  /**
   * Server-Sent Events: `event: message` (its `id:` is the message id) for each new message. With
   * `Last-Event-ID` (or `?after=`) the messages the inbox got after that one come first, then the live
   * ones, none twice. The server ends a stream with `event: expired` when its token expires (reconnect
   * with a fresh token and the last id), `event: revoked` when its key or tenant is revoked, and
   * `event: shutdown` when this api stops.
   */
  @Get('stream')
  async stream(
    @CurrentPrincipal() principal: Principal,
    @Query() query: unknown,
    @ValidQuery(streamQuery) { after: afterQuery }: z.infer<typeof streamQuery>,
    @ValidHeader('Last-Event-ID', messageId.optional()) lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const owner = ownerOf(principal, query);
    // The message a reconnecting client saw last. The header wins over `?after=`: a browser's EventSource sends
    // the header on each reconnect, while its URL keeps the `after` of the first connect.
    const after = lastEventId ?? afterQuery;
    // Live first, held back until the replay is out: a message written while the replay is read is then
    // in the replay, in the held messages or in both (and sent once), never in neither. Its announcement
    // may also come after the replay is out (published just after the commit the replay saw): the ids
    // replayed (at most MAX_REPLAY) are remembered for the stream's life, so it is not sent again.
    const held: string[] = [];
    const replayed = new Set<string>();
    let holding = true;
    const stop = await this.live.listen(owner.tenantId, owner.subscriberId, (json) => {
      if (holding) return void held.push(json);
      if (!replayed.has(idOf(json))) send(idOf(json), json);
    });
    let replay: Awaited<ReturnType<InboxService['after']>> | undefined;
    try {
      replay = after === undefined ? undefined : await this.inbox.after(owner, after, MAX_REPLAY);
    } catch (err) {
      stop();
      throw err;
    }

    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    raw.write('retry: 3000\n: connected\n\n');
    const send = (id: string, json: string) => raw.write(`id: ${id}\nevent: message\ndata: ${json}\n\n`);
    // The client cannot be brought up to date from the stream: it reloads its list (GET /v1/inbox).
    if (replay === null) raw.write(sseEvent('reset', { reason: 'unknown_id' }));
    if (replay?.overflow) raw.write(sseEvent('reset', { reason: 'too_many', limit: MAX_REPLAY }));
    for (const item of replay?.items ?? []) {
      send(item.id, JSON.stringify(item));
      replayed.add(item.id);
    }
    for (const json of held) if (!replayed.has(idOf(json))) send(idOf(json), json);
    holding = false;

    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
    // setTimeout holds at most ~24.8 days: a token living longer (a large INBOX_TOKEN_TTL_SECONDS) sees its
    // stream end early as `expired`, and the client reconnects as it would at the real expiry.
    const expiry =
      principal.kind === 'inbox'
        ? setTimeout(() => end('expired'), Math.min(principal.expiresAt * 1000 - Date.now(), MAX_TIMEOUT_MS))
        : undefined;
    let ended = false;
    const end = (reason?: StreamEnd) => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(expiry);
      stop();
      forget();
      if (reason) raw.end(sseEvent(reason, {}));
    };
    const keyId = principal.kind === 'key' || principal.kind === 'inbox' ? principal.keyId : undefined;
    const forget = this.live.track({ tenantId: owner.tenantId, keyId, end });
    raw.on('close', () => end());
    // The client may have gone while the replay was read: its 'close' came before anyone listened.
    if (raw.destroyed) end();
  }
}

/** The message id an announcement carries (the worker publishes the inbox item as JSON). */
function idOf(json: string): string {
  return (JSON.parse(json) as { id: string }).id;
}

function sseEvent(name: string, data: object): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
