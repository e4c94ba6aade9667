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
  /** for a batch answer: how many of its items were accepted (summed over the 2xx answers into `items`) */
  itemsAccepted?: (body: string) => number;
}

export interface LoadResult {
  /** 2xx answers per second */
  rps: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  seconds: number;
  /** with itemsAccepted: the items the 2xx answers said were accepted */
  items?: number;
}

/**
 * The one load generator of every HTTP figure (baseline and Herald alike): autocannon in this
 * process, keep-alive connections, latency in ms over the 2xx answers.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  let items = 0;
  const needsRequestHooks = options.uniqueKeys || options.itemsAccepted;
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    body: options.body,
    headers: { 'content-type': 'application/json', ...options.headers },
    duration: options.seconds,
    connections: options.connections,
    overallRate: options.rate,
    excludeErrorStats: true,
    requests: needsRequestHooks
      ? [
          {
            // autocannon calls whichever of these hooks a request has, so absent ones must be left out
            ...(options.uniqueKeys && {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                headers: { ...request.headers, 'idempotency-key': randomUUID() },
              }),
            }),
            ...(options.itemsAccepted && {
              onResponse: (status: number, body: string) => {
                if (status >= 200 && status < 300) items += options.itemsAccepted!(body);
              },
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
    ...(options.itemsAccepted ? { items } : {}),
  };
}

/**
 * Warm-up, measured by nobody: the same request for `seconds`, so connections are open and V8 has
 * compiled the hot path before the timed run — given to every side alike (Herald and each baseline).
 */
export async function warmUp(options: LoadOptions, seconds: number): Promise<number> {
  const { ok } = await load({ ...options, seconds, rate: undefined });
  return ok;
}
