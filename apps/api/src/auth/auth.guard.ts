import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { secretsEqual, verifyInboxToken } from '@herald/core';
import { Problem } from '../http/problem';
import { ApiKeysService } from './api-keys.service';
import { ACCESS } from './auth.decorator';
import type { Access, Principal } from './principal';

const unauthorized = (detail: string) =>
  new Problem(401, 'unauthorized', 'Unauthorized', detail, undefined, { headers: { 'www-authenticate': 'Bearer' } });
const forbidden = (detail: string) => new Problem(403, 'forbidden', 'Forbidden', detail);

/** Global guard: routes without @Auth are public (health); the rest need the right kind of key. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!access) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const credential = this.credential(request, access);
    if (!credential) throw unauthorized('Send a key as "Authorization: Bearer <key>"');
    const principal = credential.inQuery
      ? await this.inboxToken(credential.value)
      : await this.identify(credential.value);
    if (!principal) throw unauthorized('The key or token is not valid');
    if (!allows(access, principal)) throw forbidden(`This route needs ${describe(access)}`);
    request.principal = principal;
    return true;
  }

  private credential(request: FastifyRequest, access: Access): { value: string; inQuery: boolean } | undefined {
    const header = request.headers.authorization;
    if (header) {
      const value = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
      return value ? { value, inQuery: false } : undefined;
    }
    // Browsers' EventSource cannot set headers: the inbox stream also takes ?token=.
    const query = request.query as Record<string, unknown> | undefined;
    return access === 'inbox' && typeof query?.token === 'string' ? { value: query.token, inQuery: true } : undefined;
  }

  private async identify(credential: string): Promise<Principal | null> {
    if (secretsEqual(credential, this.config.rootKey)) return { kind: 'root' };
    if (credential.startsWith('hk_')) return this.keys.authenticate(credential);
    return this.inboxToken(credential);
  }

  /**
   * ?token= takes inbox tokens only: a short-lived, one-subscriber token may sit in a URL (and in
   * proxy logs and browser history); a tenant key or the root key may not. A token is refused once
   * the key that issued it, or its tenant, is revoked.
   */
  private async inboxToken(credential: string): Promise<Principal | null> {
    const claims = verifyInboxToken(credential, this.config.tokenSecret, Math.floor(Date.now() / 1000));
    if (!claims || !(await this.keys.tokenIssuerLive(claims.tenantId, claims.keyId))) return null;
    return {
      kind: 'inbox',
      tenantId: claims.tenantId,
      subscriberId: claims.subscriberId,
      keyId: claims.keyId,
      expiresAt: claims.exp,
    };
  }
}

function allows(access: Access, principal: Principal): boolean {
  switch (access) {
    case 'root':
      return principal.kind === 'root';
    case 'admin':
      return principal.kind === 'key' && principal.scope === 'admin';
    case 'ingest':
      return principal.kind === 'key';
    case 'inbox':
      return principal.kind === 'inbox' || (principal.kind === 'key' && principal.scope === 'admin');
  }
}

function describe(access: Access): string {
  return {
    root: 'the root key',
    admin: 'an admin key',
    ingest: 'an ingest or admin key',
    inbox: 'an inbox token or an admin key',
  }[access];
}
