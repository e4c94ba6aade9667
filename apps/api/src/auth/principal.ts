import type { KeyScope } from '@herald/core';

/** Who is calling, as established by the AuthGuard. */
export type Principal =
  | { kind: 'root' }
  | { kind: 'key'; tenantId: string; keyId: string; scope: KeyScope }
  | {
      kind: 'inbox';
      tenantId: string;
      subscriberId: string;
      /** the admin key that issued the token; none in tokens issued before keys were named */
      keyId?: string;
      /** when the token expires, seconds since the epoch */
      expiresAt: number;
    };

/** What a route accepts: `ingest` routes also take admin keys; `inbox` routes also take admin keys. */
export type Access = 'root' | 'admin' | 'ingest' | 'inbox';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}
