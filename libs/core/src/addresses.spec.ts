import { normalizeAddress } from './addresses';

describe('address normalization', () => {
  it.each([
    ['Alice@Example.COM', 'Alice@example.com'],
    ['  bob@mail.example.org ', 'bob@mail.example.org'],
    ['odd@name@Example.com', 'odd@name@example.com'],
  ])('email %j → %j', (input, expected) => {
    expect(normalizeAddress('email', input)).toBe(expected);
  });

  it.each(['', 'no-at-sign', '@example.com', 'alice@', 'al ice@example.com'])('refuses email %j', (input) => {
    expect(normalizeAddress('email', input)).toBeNull();
  });

  it.each([
    ['+1 (415) 555-2671', '+14155552671'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+15005550006', '+15005550006'],
  ])('phone %j → %j', (input, expected) => {
    expect(normalizeAddress('sms', input)).toBe(expected);
  });

  it.each(['555-2671', '+1 23', 'call me'])('refuses phone %j (E.164 needs the country code)', (input) => {
    expect(normalizeAddress('sms', input)).toBeNull();
  });
});
