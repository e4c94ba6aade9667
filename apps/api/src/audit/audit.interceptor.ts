import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { from, mergeMap, type Observable } from 'rxjs';
import { AuditLogRepository } from '@herald/db';
import { ACCESS } from '../auth/auth.decorator';
import type { Access } from '../auth/principal';
import { redactSecrets } from './redact-secrets';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const AUDITED: readonly (Access | undefined)[] = ['admin', 'root'];

/**
 * An audit row for every change made with an admin or root key: who, what, and the resource
 * before and after. Rather than each controller loading and logging its own state, the state is
 * read the way a client would — a GET of the same path, with the caller's own key — before and
 * after the change, so every admin route is covered as written and tenant isolation is kept.
 * A route without a GET at its path (a create, an action) records its answer as `after`.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly http: HttpAdapterHost,
    private readonly auditLog: AuditLogRepository,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!CHANGES.has(request.method) || !AUDITED.includes(access) || !request.principal) return next.handle();

    const before = request.method === 'POST' ? null : await this.read(request);
    return next.handle().pipe(
      mergeMap((answer) =>
        from(
          (async () => {
            const after =
              request.method === 'DELETE'
                ? null
                : request.method === 'POST'
                  ? (answer ?? null)
                  : await this.read(request);
            await this.record(request, before, after);
            return answer;
          })(),
        ),
      ),
    );
  }

  /** The resource at the request's path as its GET shows it to this caller, or null when there is none. */
  private async read(request: FastifyRequest): Promise<unknown> {
    const fastify = this.http.httpAdapter.getInstance<FastifyInstance>();
    const response = await fastify.inject({
      method: 'GET',
      url: request.url,
      headers: { authorization: request.headers.authorization ?? '' },
    });
    return response.statusCode === 200 ? response.json() : null;
  }

  private async record(request: FastifyRequest, before: unknown, after: unknown): Promise<void> {
    const principal = request.principal!;
    const tenantId = principal.kind === 'root' ? ((after as { id?: string } | null)?.id ?? null) : principal.tenantId;
    await this.auditLog.record({
      tenantId,
      actor: principal.kind === 'key' ? `key:${principal.keyId}` : principal.kind,
      action: `${request.method} ${request.routeOptions.url ?? request.url}`,
      target: request.url.split('?')[0]!,
      before: before === null ? null : JSON.stringify(redactSecrets(before)),
      after: after === null ? null : JSON.stringify(redactSecrets(after)),
    });
  }
}
