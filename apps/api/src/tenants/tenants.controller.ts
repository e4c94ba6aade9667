import { Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { z } from 'zod';
import { isUuid } from '@herald/core';
import { ApiKeysRepository, TenantsRepository } from '@herald/db';
import { ApiKeysService } from '../auth/api-keys.service';
import { Auth, TenantId } from '../auth/auth.decorator';
import { Problem } from '../http/problem';
import { ValidBody } from '../http/valid-input';
import { SmsSenders } from './sms-senders.service';
import { Returns } from '../docs/api-output.decorator';
import { apiKeysSchema, createdApiKeySchema, createdTenantSchema, smsSenderSchema } from './tenants.contract';

const tenantInput = z.strictObject({ name: z.string().trim().min(1).max(200) });
const keyInput = z.strictObject({ scope: z.enum(['admin', 'ingest']) });
const smsSenderInput = z.strictObject({
  from: z.string().regex(/^\+[1-9]\d{6,14}$/, { error: 'expects an E.164 phone number, e.g. +14155552671' }),
});

@Controller('v1')
export class TenantsController {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly storedKeys: ApiKeysRepository,
    private readonly keys: ApiKeysService,
    private readonly smsSenders: SmsSenders,
  ) {}

  /** The only thing the root key can do. The keys are shown here once and stored hashed. */
  @Post('tenants')
  @Auth('root')
  @Returns(createdTenantSchema)
  async createTenant(@ValidBody(tenantInput) { name }: z.infer<typeof tenantInput>) {
    const tenant = await this.tenants.create(name);
    const admin = await this.keys.create(tenant.id, 'admin');
    const ingest = await this.keys.create(tenant.id, 'ingest');
    return { id: tenant.id, name: tenant.name, keys: { admin: admin.key, ingest: ingest.key } };
  }

  /** The tenant's own SMS sender number (`smsFrom`), or null when it sends from the shared one. */
  @Get('tenants/:id/sms-sender')
  @Auth('root')
  @Returns(smsSenderSchema)
  async getSmsSender(@Param('id') id: string) {
    return this.smsSenders.get(id);
  }

  /**
   * Gives the tenant a sender number of its own: its SMS go out from it, and a STOP texted to it opts
   * out of this tenant only. A number has one owner (409 while another tenant holds it), and Herald's
   * shared senders (TWILIO_FROM, the fallbacks' and the sandbox's) cannot be assigned (409).
   */
  @Put('tenants/:id/sms-sender')
  @Auth('root')
  @Returns(smsSenderSchema)
  async assignSmsSender(@Param('id') id: string, @ValidBody(smsSenderInput) { from }: z.infer<typeof smsSenderInput>) {
    return this.smsSenders.assign(id, from);
  }

  /** Takes the tenant's number back: it sends from the shared sender again. */
  @Delete('tenants/:id/sms-sender')
  @Auth('root')
  @HttpCode(204)
  async releaseSmsSender(@Param('id') id: string): Promise<void> {
    await this.smsSenders.release(id);
  }

  /**
   * Revokes (suspends) a tenant: from now on its keys and inbox tokens are refused (401), on every api
   * replica within seconds, and its live inbox streams end. Nothing of its data is deleted.
   */
  @Delete('tenants/:id')
  @Auth('root')
  @HttpCode(204)
  async revokeTenant(@Param('id') id: string): Promise<void> {
    if (!isUuid(id) || !(await this.keys.revokeTenant(id))) throw Problem.notFound(`Tenant ${id}`);
  }

  @Post('keys')
  @Auth('admin')
  @Returns(createdApiKeySchema)
  async createKey(@TenantId() tenantId: string, @ValidBody(keyInput) { scope }: z.infer<typeof keyInput>) {
    const { id, key, prefix } = await this.keys.create(tenantId, scope);
    return { id, key, prefix, scope };
  }

  /** The tenant's keys: prefix, scope and when last used — never the key itself (only its hash is kept). */
  @Get('keys')
  @Auth('admin')
  @Returns(apiKeysSchema)
  async listKeys(@TenantId() tenantId: string) {
    const keys = await this.storedKeys.list(tenantId);
    return {
      items: keys.map((k) => ({
        id: k.id,
        prefix: k.prefix,
        scope: k.scope,
        createdAt: k.createdAt,
        lastUsedAt: k.lastUsedAt ?? undefined,
        revokedAt: k.revokedAt ?? undefined,
      })),
    };
  }

  @Delete('keys/:id')
  @Auth('admin')
  @HttpCode(204)
  async revokeKey(@TenantId() tenantId: string, @Param('id') id: string): Promise<void> {
    if (!isUuid(id) || !(await this.keys.revoke(tenantId, id))) throw Problem.notFound(`Key ${id}`);
  }
}
