import { applicableRateLimit, tenantRateLimitsSchema } from './rate-limit-policy';

const base = { channel: 'sms' as const, subscriberId: 'alice', eventType: 'order.shipped', critical: false };
const tenantSms = { limit: 10, windowSeconds: 3600, policy: 'drop' as const };
const ruleSms = { limit: 2, windowSeconds: 60, policy: 'defer' as const };

describe('which rate limit applies', () => {
  it("prefers the rule's own limit, counted for that rule only", () => {
    expect(applicableRateLimit({ ...base, ruleLimit: ruleSms, tenantLimits: { sms: tenantSms } })).toEqual({
      ...ruleSms,
      scope: 'rule:order.shipped',
    });
  });

  it("falls back to the tenant's default for the channel, counted across rules", () => {
    expect(applicableRateLimit({ ...base, tenantLimits: { sms: tenantSms } })).toEqual({
      ...tenantSms,
      scope: 'channel',
    });
    expect(applicableRateLimit({ ...base, tenantLimits: { email: tenantSms } })).toBeNull();
    expect(applicableRateLimit({ ...base, tenantLimits: { sms: null } })).toBeNull();
  });

  it('lets critical rules and subscriber-less (webhook) deliveries bypass limits', () => {
    expect(applicableRateLimit({ ...base, critical: true, ruleLimit: ruleSms, tenantLimits: {} })).toBeNull();
    expect(applicableRateLimit({ ...base, subscriberId: null, tenantLimits: { sms: tenantSms } })).toBeNull();
  });

  it('validates tenant defaults by channel', () => {
    expect(tenantRateLimitsSchema.safeParse({ sms: tenantSms, email: null }).success).toBe(true);
    expect(tenantRateLimitsSchema.safeParse({ fax: tenantSms }).success).toBe(false);
    expect(tenantRateLimitsSchema.safeParse({ sms: { ...tenantSms, policy: 'queue' } }).success).toBe(false);
  });
});
