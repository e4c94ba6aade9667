import type { Pool } from 'pg';
import { sampleEvent } from './baselines';
import { createTenant, type Api } from './herald';
import { load, paced, warmUp, type LoadResult } from './load';

export interface IngestFigures {
  single: LoadResult;
  /** events found in Postgres after the single-event run (≥ its 202s: a 202 means durable) */
  stored: number;
  /** 100-event batches: events accepted per second, counted item by item in the 207s and as rows */
  batch: LoadResult & { eventsPerSecond: number; eventsPerRequest: number; rows: number };
  /** half the full load's rate, offered steadily (paced: an even arrival every 1/rate s) */
  halfLoad: LoadResult;
  /** the same rate through autocannon's overallRate (each second's quota sent at once): kept to show why it misleads */
  halfLoadBursty: LoadResult;
  /** the api process's peak RSS over these runs */
  apiPeakMb: number;
}

export interface IngestSize {
  seconds: number;
  connections: number;
  warmupSeconds: number;
}

/**
 * Ingest on its own (no rule: nothing to deliver): keyed single events at full load and at half of it,
 * and 100-event batches. Everything is warmed up first, as the baselines are.
 */
export async function measureIngest(api: Api, pool: Pool, size: IngestSize, label: string): Promise<IngestFigures> {
  const tenant = await createTenant(api.url, `bench-ingest-${label}-${Date.now()}`);
  const headers = { authorization: `Bearer ${tenant.ingestKey}` };
  const common = { headers, connections: size.connections, seconds: size.seconds };
  const single = { ...common, url: `${api.url}/v1/events`, body: JSON.stringify(sampleEvent()), uniqueKeys: true };
  const count = async () =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [tenant.id])).rows[0]
      .n;

  api.proc.rss.peakMb = 0;
  await warmUp(single, size.warmupSeconds);
  const before = await count();
  const full = await load(single);
  const stored = (await count()) - before;
  if (stored < full.ok) throw new Error(`ingest answered 202 ${full.ok} times but stored ${stored} events`);

  const batchEvents = Array.from({ length: 100 }, () => sampleEvent());
  const beforeBatch = await count();
  const batch = await load({
    ...common,
    url: `${api.url}/v1/events/batch`,
    body: JSON.stringify({ events: batchEvents }),
    itemsAccepted: (body) =>
      (JSON.parse(body) as { results: { status: number }[] }).results.filter((r) => r.status === 202).length,
  });
  const rows = (await count()) - beforeBatch;
  const halfRate = Math.max(1, Math.round(full.rps / 2));
  const halfLoad = await paced({ ...single, rate: halfRate });
  const halfLoadBursty = await load({ ...single, rate: halfRate });
  return {
    single: full,
    stored,
    batch: {
      ...batch,
      eventsPerSecond: (batch.items ?? 0) / batch.seconds,
      eventsPerRequest: batchEvents.length,
      rows,
    },
    halfLoad,
    halfLoadBursty,
    apiPeakMb: api.proc.rss.peakMb,
  };
}
