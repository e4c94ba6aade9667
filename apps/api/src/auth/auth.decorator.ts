import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Access, Principal } from './principal';

export const ACCESS = 'herald:access';

/** Declares who may call a route; the AuthGuard refuses everyone else (401 or 403). */
export const Auth = (access: Access) => SetMetadata(ACCESS, access);

/** The caller's tenant id (routes guarded for tenant keys or inbox tokens). */
export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal as Principal;
  if (principal.kind === 'root') throw new Error('TenantId used on a root-only route');
  return principal.tenantId;
});

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<FastifyRequest>().principal!,
);
