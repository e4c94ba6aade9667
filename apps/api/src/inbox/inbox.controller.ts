import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Auth, CurrentPrincipal } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import type { Principal } from '../auth/principal';
import { parse } from '../http/parse';
import { InboxStreamService } from './inbox-stream.service';
import { InboxService, type InboxOwner } from './inbox.service';

const listQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  status: z.enum(['unread', 'read', 'all']).default('all'),
});
const ownerQuery = z.object({ subscriberId: z.string().min(1).max(255) });
const HEARTBEAT_MS = 15_000;

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
    @Inject(InboxService) private readonly inbox: InboxService,
    @Inject(InboxStreamService) private readonly live: InboxStreamService,
  ) {}

  @Get()
  @ApiInput({ query: listQuery })
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.inbox.list(ownerOf(principal, query), parse(listQuery, query, 'query'));
  }

  @Get('unread-count')
  unreadCount(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.inbox.unreadCount(ownerOf(principal, query));
  }

  @Post('read-all')
  @HttpCode(200)
  readAll(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.inbox.markAllRead(ownerOf(principal, query));
  }

  @Post(':id/read')
  @HttpCode(200)
  read(@CurrentPrincipal() principal: Principal, @Query() query: unknown, @Param('id') id: string) {
    return this.inbox.markRead(ownerOf(principal, query), id);
  }

  @Post(':id/archive')
  @HttpCode(200)
  archive(@CurrentPrincipal() principal: Principal, @Query() query: unknown, @Param('id') id: string) {
    return this.inbox.archive(ownerOf(principal, query), id);
  }

  /** Server-Sent Events: `event: message` with the item for each new message, until the client leaves. */
  @Get('stream')
  async stream(
    @CurrentPrincipal() principal: Principal,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const owner = ownerOf(principal, query);
    const raw = reply.raw;
    const stop = await this.live.listen(owner.tenantId, owner.subscriberId, (json) => {
      const id = (JSON.parse(json) as { id: string }).id;
      raw.write(`id: ${id}\nevent: message\ndata: ${json}\n\n`);
    });
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    raw.write('retry: 3000\n: connected\n\n');
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const cleanup = () => {
      clearInterval(heartbeat);
      stop();
      forget();
    };
    const forget = this.live.onShutdown(() => {
      raw.end('event: shutdown\ndata: {}\n\n');
      cleanup();
    });
    request.raw.on('close', cleanup);
  }
}
