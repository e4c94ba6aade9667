import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  seconds: number;
  connections: number;
  /** fixed offered load (requests/s over all connections); unset: as fast as the server answers */
  rate?: number;
  /** a fresh Idempotency-Key on every request */
  uniqueKeys?: boolean;
}

export interface LoadResult {
  /** 2xx answers per second */
  rps: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  seconds: number;
}

/**
 * The one load generator of every HTTP figure (baseline and Herald alike): autocannon in this
 * process, keep-alive connections, latency in ms over the 2xx answers.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    body: options.body,
    headers: { 'content-type': 'application/json', ...options.headers },
    duration: options.seconds,
    connections: options.connections,
    overallRate: options.rate,
    excludeErrorStats: true,
    requests: options.uniqueKeys
      ? [
          {
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, 'idempotency-key': randomUUID() },
            }),
          },
        ]
      : undefined,
  });
  const ok = result['2xx'];
  return {
    rps: ok / result.duration,
    ok,
    failed: result.non2xx + result.errors,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds: result.duration,
  };
}
