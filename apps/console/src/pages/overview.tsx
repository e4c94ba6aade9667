import { useState } from 'preact/hooks';
import { api } from '../api';
import { CHANNELS, type Stats } from '@herald/client';
import { Loading, PageTitle, useInterval, useLoad } from '../ui';

// The order statuses are stacked in, from good to bad; any other status follows.
const STATUS_ORDER = ['sent', 'delivered', 'pending', 'queued', 'sending', 'deferred', 'skipped', 'rate_limited'];
const STATUS_LAST = ['suppressed', 'failed', 'dead'];

function statusRank(status: string): number {
  const early = STATUS_ORDER.indexOf(status);
  if (early >= 0) return early;
  const late = STATUS_LAST.indexOf(status);
  return late >= 0 ? 100 + late : 50;
}

/** Deliveries per channel × status over the last hour or day, queue depths, and the outbox lag. */
export function Overview() {
  const [span, setSpan] = useState<'1h' | '24h'>('1h');
  const stats = useLoad(() => api<Stats>('GET', `/v1/stats?window=${span}`), [span]);
  // Each refresh counts the window's deliveries in the database: every 30 s, and only while the tab is in view.
  useInterval(stats.reload, 30_000);
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Window
          <select value={span} onChange={(e) => setSpan(e.currentTarget.value as '1h' | '24h')}>
            <option value="1h">Last hour</option>
            <option value="24h">Last 24 hours</option>
          </select>
        </label>
        <span class="muted">Refreshes every 30 s while this tab is in view.</span>
      </form>
      <Loading state={stats}>
        {(data) => (
          <>
            <DeliveriesChart stats={data} />
            <div class="columns">
              <Outbox stats={data} />
              <Queues stats={data} />
            </div>
          </>
        )}
      </Loading>
    </>
  );
}

function DeliveriesChart({ stats }: { stats: Stats }) {
  const statuses = [...new Set(stats.deliveries.map((d) => d.status))].sort((a, b) => statusRank(a) - statusRank(b));
  const rows = CHANNELS.map((channel) => {
    const counts = new Map(stats.deliveries.filter((d) => d.channel === channel).map((d) => [d.status, d.count]));
    return { channel, counts, total: [...counts.values()].reduce((a, b) => a + b, 0) };
  });
  const max = Math.max(1, ...rows.map((r) => r.total));
  const caption = `Deliveries created in the last ${stats.window === '1h' ? 'hour' : '24 hours'}, by channel and status`;
  return (
    <section aria-labelledby="chart-title">
      <h2 id="chart-title">{caption}</h2>
      {stats.deliveries.length === 0 && <p class="muted">No deliveries in this window.</p>}
      {/* The bars are a picture of the table below, which holds the same numbers for screen readers. */}
      <div class="chart" aria-hidden="true">
        {rows.map((row) => (
          <div class="chart-row" key={row.channel}>
            <span class="chart-label">{row.channel}</span>
            <div class="chart-track">
              <div class="chart-bar" style={{ width: `${(row.total / max) * 100}%` }}>
                {statuses.map((status) =>
                  row.counts.get(status) ? (
                    <span
                      key={status}
                      class={`segment status-${status}`}
                      style={{ flexGrow: row.counts.get(status) }}
                      title={`${row.channel} ${status}: ${row.counts.get(status)}`}
                    />
                  ) : null,
                )}
              </div>
            </div>
            <span class="chart-total">{row.total}</span>
          </div>
        ))}
      </div>
      {statuses.length > 0 && (
        <ul class="legend" aria-hidden="true">
          {statuses.map((status) => (
            <li key={status}>
              <span class={`swatch status-${status}`} /> {status.replace('_', ' ')}
            </li>
          ))}
        </ul>
      )}
      <table class="numbers">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Channel</th>
            {statuses.map((s) => (
              <th scope="col" key={s}>
                {s.replace('_', ' ')}
              </th>
            ))}
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.channel}>
              <th scope="row">{row.channel}</th>
              {statuses.map((s) => (
                <td key={s} data-channel={row.channel} data-status={s}>
                  {row.counts.get(s) ?? 0}
                </td>
              ))}
              <td data-channel={row.channel} data-status="total">
                {row.total}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Outbox({ stats }: { stats: Stats }) {
  return (
    <section aria-labelledby="outbox-title">
      <h2 id="outbox-title">Outbox</h2>
      <dl class="facts">
        <dt>Events waiting for the fan-out</dt>
        <dd data-testid="outbox-pending">{stats.outbox.pending}</dd>
        <dt>Lag (oldest waiting)</dt>
        <dd data-testid="outbox-lag">{stats.outbox.lagSeconds} s</dd>
      </dl>
    </section>
  );
}

function Queues({ stats }: { stats: Stats }) {
  const states = ['waiting', 'prioritized', 'delayed', 'active', 'failed'];
  return (
    <section aria-labelledby="queues-title">
      <h2 id="queues-title">Queue depths</h2>
      <p class="muted">Shared by every tenant of this Herald.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            {states.map((s) => (
              <th scope="col" key={s}>
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {stats.queues.map((q) => (
            <tr key={q.name}>
              <th scope="row">{q.name}</th>
              {q.available ? (
                states.map((s) => <td key={s}>{q.jobs?.[s] ?? 0}</td>)
              ) : (
                <td colSpan={states.length} class="muted">
                  Redis did not answer
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
