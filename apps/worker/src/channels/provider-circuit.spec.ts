import { ProviderCircuits } from './provider-circuit';

describe('provider circuits', () => {
  let now = 0;
  const circuits = () => new ProviderCircuits({ failures: 3, windowMs: 10_000, cooldownMs: 5_000 }, () => now);
  beforeEach(() => (now = 1_000_000));

  it('opens after N failures in a row within the window, for the cool-down', () => {
    const c = circuits();
    expect(c.record('smtp', false)).toBe(false);
    expect(c.record('smtp', false)).toBe(false);
    expect(c.isOpen('smtp')).toBe(false);
    expect(c.record('smtp', false)).toBe(true);
    expect(c.isOpen('smtp')).toBe(true);
    expect(c.isOpen('smtp-fallback-1')).toBe(false);
    now += 5_001;
    expect(c.isOpen('smtp')).toBe(false);
  });

  it('starts counting again after a success or when the window has passed', () => {
    const c = circuits();
    c.record('smtp', false);
    c.record('smtp', false);
    c.record('smtp', true);
    c.record('smtp', false);
    c.record('smtp', false);
    expect(c.isOpen('smtp')).toBe(false);
    now += 10_001;
    c.record('smtp', false);
    expect(c.isOpen('smtp')).toBe(false);
  });

  it('half-open: after the cool-down one failure opens it again, one success closes it', () => {
    const c = circuits();
    for (let i = 0; i < 3; i++) c.record('smtp', false);
    now += 5_001;
    expect(c.record('smtp', false)).toBe(true);
    expect(c.isOpen('smtp')).toBe(true);
    now += 5_001;
    c.record('smtp', true);
    c.record('smtp', false);
    expect(c.isOpen('smtp')).toBe(false);
  });

  it('is off with failures = 0', () => {
    const c = new ProviderCircuits({ failures: 0, windowMs: 1, cooldownMs: 1 }, () => now);
    for (let i = 0; i < 10; i++) c.record('smtp', false);
    expect(c.isOpen('smtp')).toBe(false);
  });
});
