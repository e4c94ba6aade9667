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
});
