import { quietHoursEnd, quietHoursSchema } from './quiet-hours';

describe('quietHoursEnd', () => {
  const overnight = { start: '22:00', end: '07:00' };

  it('is null outside the window', () => {
    expect(quietHoursEnd(overnight, 'UTC', new Date('2026-12-01T12:00:00Z'))).toBeNull();
    expect(quietHoursEnd(overnight, 'UTC', new Date('2026-12-01T07:00:00Z'))).toBeNull();
  });

  it('ends the window the next morning when it spans midnight', () => {
    expect(quietHoursEnd(overnight, 'UTC', new Date('2026-12-01T23:30:00Z'))).toEqual(new Date('2026-12-02T07:00:00Z'));
    expect(quietHoursEnd(overnight, 'UTC', new Date('2026-12-02T06:59:59Z'))).toEqual(new Date('2026-12-02T07:00:00Z'));
  });

  it('reads the wall clock in the subscriber time zone', () => {
    // 04:00 UTC is 23:00 in New York (UTC-5 in December): quiet until 07:00 there, 12:00 UTC.
    expect(quietHoursEnd(overnight, 'America/New_York', new Date('2026-12-01T04:00:00Z'))).toEqual(
      new Date('2026-12-01T12:00:00Z'),
    );
    expect(quietHoursEnd(overnight, 'Asia/Kolkata', new Date('2026-12-01T04:00:00Z'))).toBeNull();
  });

  it('handles same-day windows and seconds', () => {
    const lunch = { start: '12:00:00', end: '12:00:30' };
    expect(quietHoursEnd(lunch, null, new Date('2026-12-01T12:00:10.500Z'))).toEqual(new Date('2026-12-01T12:00:30Z'));
    expect(quietHoursEnd(lunch, null, new Date('2026-12-01T12:00:30Z'))).toBeNull();
  });

  it('rejects malformed and empty windows', () => {
    expect(quietHoursSchema.safeParse({ start: '24:00', end: '07:00' }).success).toBe(false);
    expect(quietHoursSchema.safeParse({ start: '07:00', end: '07:00:00' }).success).toBe(false);
    expect(quietHoursSchema.safeParse({ start: '22:00', end: '07:00:05' }).success).toBe(true);
  });
});
