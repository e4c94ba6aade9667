import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  ServiceUnavailableException,
} from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { Queue } from 'bullmq';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { HeraldMetrics, metricsScrapeAllowed } from '@herald/observability';
import { OutboxLagProbe, PostgresHealth } from '@herald/db';
import { QueueHealth, QueueRegistry, queueJobsCollector } from '@herald/queue';

/**
 * A worker process's own small HTTP server on WORKER_HEALTH_PORT (0: none): `/health/live`,
 * `/health/ready` (Postgres and the connection of each queue the worker's roles use; 503
 * problem+json naming the failing checks, as the api answers) and `/metrics` (the process's registry;
 * behind METRICS_TOKEN when it is set, as the api's is).
 */
@Injectable()
export class WorkerHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('worker-http');
  private server?: Server;
  private queues: Queue[] = [];

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly health: HealthCheckService,
    private readonly postgres: PostgresHealth,
    private readonly queueHealth: QueueHealth,
    private readonly metrics: HeraldMetrics,
    private readonly outboxLag: OutboxLagProbe,
    private readonly registry: QueueRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { workerHealthPort: port, host } = this.config;
    if (!port) return;
    this.queues = this.registry.all();
    this.metrics.onScrape(this.outboxLag.collector(this.metrics));
    this.metrics.onScrape(queueJobsCollector(() => this.queues, this.metrics));

    const server = createServer((request, response) => {
      this.answer(request, response).catch((err: Error) => {
        this.logger.error({ err }, `${request.method} ${request.url} failed`);
        if (!response.headersSent) send(response, 500, problem(500, 'internal', 'Internal error'));
      });
    });
    // A port taken or refused stops the worker at start, as a bad setting does.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`health and metrics on http://${host}:${port} (/health/live, /health/ready, /metrics)`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(response, 405, problem(405, 'method-not-allowed', 'Method not allowed'), { allow: 'GET, HEAD' });
    }
    if (path === '/health/live') return send(response, 200, { status: 'ok' });
    if (path === '/health/ready') return this.ready(response);
    if (path === '/metrics') {
      if (!metricsScrapeAllowed(this.config.metricsToken, request.headers.authorization)) {
        const detail = 'Send METRICS_TOKEN as "Authorization: Bearer <token>"';
        return send(response, 401, problem(401, 'unauthorized', 'Unauthorized', detail), {
          'www-authenticate': 'Bearer realm="metrics"',
        });
      }
      const text = await this.metrics.scrape();
      response.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
      return void response.end(text);
    }
    send(response, 404, problem(404, 'not-found', 'Not found', `${path} was not found`));
  }

  private async ready(response: ServerResponse): Promise<void> {
    try {
      const result = await this.health.check([
        this.postgres.check(),
        ...this.queues.map((queue) => this.queueHealth.check(queue)),
      ]);
      send(response, 200, { status: result.status, checks: result.details });
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as HealthCheckResult;
      const failing = Object.entries(result.error ?? {}).map(([key, check]) => `${key}: ${check?.message ?? 'down'}`);
      const detail = result.status === 'shutting_down' ? 'shutting down' : failing.join(', ');
      send(
        response,
        503,
        { ...problem(503, 'not-ready', 'Not ready', detail), checks: result.details },
        {
          'retry-after': '5',
        },
      );
    }
  }
}

/** The api's problem+json shape (apps/api/src/http/problem.ts). */
function problem(status: number, slug: string, title: string, detail?: string): Record<string, unknown> {
  return { type: `/problems/${slug}`, title, status, detail };
}

function send(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': status >= 400 ? 'application/problem+json' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(json);
}
