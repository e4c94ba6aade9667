import { isOptedOut, preferenceDecision, preferencesSchema, type Preferences } from './preferences';

const ask = (
  subscriber: Preferences,
  tenantDefaults: Preferences,
  extra: { category?: string; critical?: boolean } = {},
) => isOptedOut({ subscriber, tenantDefaults, channel: 'email', critical: false, ...extra });

describe('preferences: who is opted out', () => {
  it('opts everyone in when nothing is set', () => {
    expect(ask({}, {})).toBe(false);
    expect(ask({}, {}, { category: 'marketing' })).toBe(false);
  });

  it("honours a subscriber's channel opt-out, for any category, and only for that channel", () => {
    const subscriber = { channels: { email: false } };
    expect(ask(subscriber, {})).toBe(true);
    expect(ask(subscriber, {}, { category: 'marketing' })).toBe(true);
    expect(isOptedOut({ subscriber, tenantDefaults: {}, channel: 'sms', critical: false })).toBe(false);
  });

  it('applies a category setting only to rules of that category', () => {
    const subscriber = { categories: { marketing: { email: false } } };
    expect(ask(subscriber, {}, { category: 'marketing' })).toBe(true);
    expect(ask(subscriber, {}, { category: 'billing' })).toBe(false);
    expect(ask(subscriber, {})).toBe(false);
  });

  it("lets the subscriber's category setting win over their channel setting, both ways", () => {
    expect(
      ask({ channels: { email: false }, categories: { security: { email: true } } }, {}, { category: 'security' }),
    ).toBe(false);
    expect(
      ask({ channels: { email: true }, categories: { marketing: { email: false } } }, {}, { category: 'marketing' }),
    ).toBe(true);
  });

  it('lets anything the subscriber set win over tenant defaults', () => {
    const tenant = { channels: { email: false }, categories: { marketing: { email: false } } };
    expect(ask({}, tenant)).toBe(true);
    expect(ask({}, tenant, { category: 'marketing' })).toBe(true);
    expect(ask({ channels: { email: true } }, tenant, { category: 'marketing' })).toBe(false);
    expect(ask({ categories: { marketing: { email: true } } }, tenant, { category: 'marketing' })).toBe(false);
  });

  it("lets the tenant's category default win over its channel default", () => {
    expect(
      ask({}, { channels: { email: false }, categories: { receipts: { email: true } } }, { category: 'receipts' }),
    ).toBe(false);
    expect(
      ask({}, { channels: { email: true }, categories: { marketing: { email: false } } }, { category: 'marketing' }),
    ).toBe(true);
  });

  it('never opts out of a critical rule', () => {
    const everythingOff = { channels: { email: false }, categories: { security: { email: false } } };
    expect(ask(everythingOff, everythingOff, { category: 'security', critical: true })).toBe(false);
  });

  it('says which setting decided', () => {
    expect(
      preferenceDecision({
        subscriber: { channels: { sms: false } },
        tenantDefaults: { categories: { marketing: { sms: true } } },
        channel: 'sms',
        category: 'marketing',
        critical: false,
      }),
    ).toEqual({ optedOut: true, by: { owner: 'subscriber', level: 'channel' } });
    expect(preferenceDecision({ subscriber: {}, tenantDefaults: {}, channel: 'sms', critical: false }).by).toBeNull();
  });

  it('ignores inherited names and non-boolean values in stored preferences', () => {
    expect(ask({}, {}, { category: 'toString' })).toBe(false);
    expect(ask({ channels: { email: 'no' } } as unknown as Preferences, {})).toBe(false);
  });
});

describe('preferencesSchema', () => {
  it('accepts channels and categories of channel booleans', () => {
    const prefs = { channels: { sms: false, push: true }, categories: { marketing: { email: false, inapp: true } } };
    expect(preferencesSchema.parse(prefs)).toEqual(prefs);
    expect(preferencesSchema.parse({})).toEqual({});
  });

  it.each([
    [{ channels: { fax: false } }, 'channels'],
    [{ channels: { sms: 'no' } }, 'channels.sms'],
    [{ categories: { marketing: { email: 0 } } }, 'categories.marketing.email'],
    [{ categories: { '': { email: false } } }, 'categories.'],
    [{ categories: { ['x'.repeat(101)]: { email: false } } }, `categories.${'x'.repeat(101)}`],
    [{ other: true }, ''],
  ])('refuses %j (at %s)', (input, path) => {
    const result = preferencesSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].path.join('.')).toBe(path);
  });

  it('refuses more than 100 categories', () => {
    const categories = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`c${i}`, { email: false }]));
    expect(preferencesSchema.safeParse({ categories }).success).toBe(false);
    delete categories.c100;
    expect(preferencesSchema.safeParse({ categories }).success).toBe(true);
  });
});
