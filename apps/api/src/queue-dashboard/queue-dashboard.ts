import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { secretsEqual } from '@herald/core';
import { QueueClients, QueueName } from '@herald/queue';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board over every Herald queue, at /admin/queues, read-only, for the operator only: the root key
 * as a Bearer token, or as the password of HTTP Basic auth so a browser can open it (any user name).
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  constructor(
    private readonly http: HttpAdapterHost,
    private readonly queues: QueueClients,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  onModuleInit(): void {
    const board = new FastifyAdapter();
    board.setBasePath(QUEUE_DASHBOARD_PATH);
    createBullBoard({
      // Read-only: a job retried, promoted or removed here would bypass Herald's own records (a delivery's
      // status, lease and retry budget live in Postgres), so operators act through the API (dead-letter
      // replay, cancel) and this board only shows.
      queues: Object.values(QueueName).map((name) => new BullMQAdapter(this.queues.get(name), { readOnlyMode: true })),
      serverAdapter: board,
      options: { uiConfig: { boardTitle: 'Herald queues' } },
    });
    const fastify = this.http.httpAdapter.getInstance<FastifyInstance>();
    // Not awaited: awaiting would boot Fastify's plugin tree before Nest has set its own error
    // handler and parsers, and Nest's routes would then answer parse errors outside problem+json.
    void fastify.register(async (scope) => {
      scope.addHook('onRequest', (request, reply) => this.rootOnly(request, reply));
      await scope.register(board.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
    });
  }

  private async rootOnly(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.presentsRootKey(request.headers.authorization ?? '')) return;
    await reply
      .code(401)
      .header('www-authenticate', 'Basic realm="Herald queues", charset="UTF-8"')
      .type('application/problem+json')
      .send({
        type: '/problems/unauthorized',
        title: 'Unauthorized',
        status: 401,
        detail: 'The queue dashboard needs the root key (Bearer, or as the Basic auth password)',
      });
  }

  private presentsRootKey(header: string): boolean {
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (bearer) return secretsEqual(bearer.trim(), this.config.rootKey);
    const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
    if (!basic) return false;
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    return secretsEqual(decoded.slice(decoded.indexOf(':') + 1), this.config.rootKey);
  }
}
