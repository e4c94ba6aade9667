import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import http from 'node:http';

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

/**
 * An open-loop load at a steady `rate`: request i is due at start + i / rate, whatever became of the ones
 * before (as wrk2 does), over keep-alive connections (at most `connections`), and its latency is measured
 * from when it was due, so a stall of the server shows in every request it delays. autocannon's own
 * `overallRate` is not that: each connection sends its whole second's quota at once when the second
 * starts, then waits — bursts at the top of every second that measure their own queueing.
 */
export async function paced(options: LoadOptions & { rate: number }): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const headers = { 'content-type': 'application/json', ...options.headers };
  const latencies: number[] = [];
  let failed = 0;
  const send = (due: number) =>
    new Promise<void>((resolve) => {
      const request = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: options.uniqueKeys ? { ...headers, 'idempotency-key': randomUUID() } : headers,
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            if (response.statusCode! >= 200 && response.statusCode! < 300) latencies.push(performance.now() - due);
            else failed++;
            resolve();
          });
        },
      );
      request.on('error', () => {
        failed++;
        resolve();
      });
      request.end(options.body);
    });
  const start = performance.now();
  const total = Math.floor(options.seconds * options.rate);
  const pending: Promise<void>[] = [];
  for (let sent = 0; sent < total;) {
    const now = performance.now();
    // every request whose time has come goes now; the timer's granularity (~1 ms) is all the jitter
    for (; sent < total && start + (sent * 1000) / options.rate <= now; sent++) {
      pending.push(send(start + (sent * 1000) / options.rate));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  agent.destroy();
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return { rps: latencies.length / seconds, ok: latencies.length, failed, p50: at(0.5), p99: at(0.99), seconds };
}
