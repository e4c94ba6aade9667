import { eventInputSchema, recipientsOf } from './event-input';

describe('event input', () => {
  it('accepts one recipient or a list', () => {
    expect(eventInputSchema.safeParse({ type: 'a', to: { subscriberId: 'u' } }).success).toBe(true);
    expect(eventInputSchema.safeParse({ type: 'a', to: [{ subscriberId: 'u' }] }).success).toBe(true);
  });

  it('names the field that is wrong', () => {
    const result = eventInputSchema.safeParse({
      type: 'a',
      to: [{ subscriberId: 'u', email: 'nope', timezone: 'Mars/Base' }],
      sendAt: 'tomorrow',
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['to.0.email', 'to.0.timezone', 'sendAt']));
  });

  it('says a time without its offset needs one', () => {
    const result = eventInputSchema.safeParse({ type: 'a', to: { subscriberId: 'u' }, sendAt: '2026-12-24T09:00:00' });
    expect(result.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['sendAt', expect.stringContaining('with its time-zone offset (Z or ±hh:mm)')],
    ]);
    expect(
      eventInputSchema.safeParse({ type: 'a', to: { subscriberId: 'u' }, sendAt: '2026-12-24T09:00:00+01:00' }).success,
    ).toBe(true);
  });

  it('refuses unknown properties rather than dropping them silently', () => {
    const result = eventInputSchema.safeParse({ type: 'a', to: { subscriberId: 'u' }, dta: {} });
    expect(result.success).toBe(false);
  });

  it('merges repeated subscribers into one recipient', () => {
    expect(
      recipientsOf({
        to: [{ subscriberId: 'u', email: 'a@x.io' }, { subscriberId: 'v' }, { subscriberId: 'u', locale: 'fr' }],
      }),
    ).toEqual([{ subscriberId: 'u', email: 'a@x.io', locale: 'fr' }, { subscriberId: 'v' }]);
  });

  it('accepts topics, alone or beside subscribers, and names a bad key', () => {
    expect(eventInputSchema.safeParse({ type: 'a', to: { topic: 'beta-users' } }).success).toBe(true);
    expect(eventInputSchema.safeParse({ type: 'a', to: [{ topic: 'beta' }, { subscriberId: 'u' }] }).success).toBe(
      true,
    );
    const bad = eventInputSchema.safeParse({ type: 'a', to: [{ subscriberId: 'u' }, { topic: 'no spaces' }] });
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toEqual(['to.1.topic']);
    expect(eventInputSchema.safeParse({ type: 'a', to: { topic: 'b', subscriberId: 'u' } }).success).toBe(false);
  });

  it('keeps each topic once, beside the subscribers', () => {
    expect(recipientsOf({ to: [{ topic: 'b' }, { subscriberId: 'u' }, { topic: 'b' }] })).toEqual([
      { topic: 'b' },
      { subscriberId: 'u' },
    ]);
  });

  it('refuses instants Postgres cannot store (one would fail every request grouped with it)', () => {
    const at = (occurredAt: string) => eventInputSchema.safeParse({ type: 'a', to: { subscriberId: 'u' }, occurredAt });
    expect(at('0000-01-01T00:00:00Z').success).toBe(false);
    expect(at('0001-01-01T00:30:00+01:00').success).toBe(false);
    expect(at('0001-01-01T00:00:00Z').success).toBe(true);
    expect(at('2026-12-01T09:30:00.123+02:00').success).toBe(true);
  });
});
