import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TenantsRepository } from '@herald/db';
import type { ApiKeysService } from '../../api/src';

export interface DevTenant {
  id: string;
  name: string;
  keys: { admin: string; ingest: string };
}

/**
 * The newcomer's tenant: created on the first start and kept in <dataDir>/dev-tenant.json so its
 * keys stay the same across restarts. Development only; real tenants come from POST /v1/tenants.
 */
export async function ensureDevTenant(
  dataDir: string,
  tenants: TenantsRepository,
  keys: ApiKeysService,
): Promise<DevTenant> {
  const file = join(dataDir, 'dev-tenant.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as DevTenant;
    if (await tenants.exists(saved.id)) return saved;
  }
  const tenant = await tenants.create('dev');
  const admin = await keys.create(tenant.id, 'admin');
  const ingest = await keys.create(tenant.id, 'ingest');
  const created: DevTenant = { id: tenant.id, name: tenant.name, keys: { admin: admin.key, ingest: ingest.key } };
  writeFileSync(file, JSON.stringify(created, null, 2), { mode: 0o600 });
  return created;
}
