import { metricsScrapeAllowed } from './metrics-token';

describe('metricsScrapeAllowed', () => {
  const token = 'metrics-token-0123456789';

  it('lets anyone scrape while METRICS_TOKEN is unset', () => {
    expect(metricsScrapeAllowed(undefined, undefined)).toBe(true);
    expect(metricsScrapeAllowed(undefined, 'Bearer anything')).toBe(true);
  });

  it('wants exactly `Bearer <METRICS_TOKEN>` once it is set', () => {
    expect(metricsScrapeAllowed(token, `Bearer ${token}`)).toBe(true);
    expect(metricsScrapeAllowed(token, `bearer  ${token} `)).toBe(true);
    for (const header of [
      undefined,
      '',
      token,
      `Basic ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token.slice(1)}`,
      'Bearer ',
    ]) {
      expect([header, metricsScrapeAllowed(token, header)]).toEqual([header, false]);
    }
  });
});
