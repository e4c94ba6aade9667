import { TenantSettingsRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** TenantSettingsRepository against Postgres: the settings row a tenant's admin key reads and changes. */
describe('TenantSettingsRepository', () => {
  let db: RepositoryDb;
  let settings: TenantSettingsRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-tenant-settings');
    settings = new TenantSettingsRepository(db.prisma);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const row = async (id: string) =>
    (
      await db.pool.query(
        `SELECT rate_limits AS "rateLimits", quiet_hours AS "quietHours", default_preferences AS "defaultPreferences",
           sms_from AS "smsFrom"
         FROM tenants WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('get reads the tenant’s settings (defaults for a new tenant); throws for no such tenant', async () => {
    expect(await settings.get(tenant)).toEqual({
      rateLimits: {},
      smsFrom: null,
      quietHours: null,
      defaultPreferences: {},
    });
    await db.pool.query(
      `UPDATE tenants SET sms_from = '+15550001111', rate_limits = '{"email":{"perMinute":5}}' WHERE id = $1`,
      [other],
    );
    expect(await settings.get(other)).toEqual({
      rateLimits: { email: { perMinute: 5 } },
      smsFrom: '+15550001111',
      quietHours: null,
      defaultPreferences: {},
    });
    // The other tenant's values are not read for this one.
    expect((await settings.get(tenant)).smsFrom).toBeNull();
    await expect(settings.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'P2025' });
  });

  it('saveDefaults replaces rate limits and quiet hours (null clears them); another tenant’s row is untouched', async () => {
    const before = await row(other);
    const quietHours = { start: '22:00', end: '07:00', timezone: 'Europe/Paris' };
    await settings.saveDefaults(tenant, { rateLimits: { sms: { perHour: 10 } }, quietHours });
    expect(await row(tenant)).toMatchObject({ rateLimits: { sms: { perHour: 10 } }, quietHours });

    await settings.saveDefaults(tenant, { rateLimits: {}, quietHours: null });
    expect(await row(tenant)).toMatchObject({ rateLimits: {}, quietHours: null });
    // SQL NULL, not a JSON null.
    const sqlNull = await db.pool.query('SELECT quiet_hours IS NULL AS "isNull" FROM tenants WHERE id = $1', [tenant]);
    expect(sqlNull.rows[0].isNull).toBe(true);
    expect(await row(other)).toEqual(before);
  });

  it('setDefaultPreferences replaces the default preferences; another tenant’s stay', async () => {
    const before = await row(other);
    const prefs = { categories: { marketing: { email: false } } };
    await settings.setDefaultPreferences(tenant, prefs);
    expect((await row(tenant)).defaultPreferences).toEqual(prefs);
    expect((await settings.get(tenant)).defaultPreferences).toEqual(prefs);
    await settings.setDefaultPreferences(tenant, {});
    expect((await row(tenant)).defaultPreferences).toEqual({});
    expect(await row(other)).toEqual(before);
  });
});
