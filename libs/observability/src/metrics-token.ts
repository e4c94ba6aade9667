import { secretsEqual } from '@herald/core';

/**
 * Whether a request may read /metrics (the api's, and a worker's own port): anyone while
 * METRICS_TOKEN is unset, otherwise only `Authorization: Bearer <METRICS_TOKEN>`, compared in
 * constant time. Metrics name no tenant, but they do tell an outsider how busy Herald is.
 */
export function metricsScrapeAllowed(token: string | undefined, authorization: string | undefined): boolean {
  if (token === undefined) return true;
  const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
  return presented !== undefined && secretsEqual(presented, token);
}
