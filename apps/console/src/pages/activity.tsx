import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { link, navigate, type Route } from '../router';
import type { EventSummary, Page } from '@herald/client';
import { Loading, MoreButton, Options, PageTitle, Status, Time, useInterval, usePages } from '../ui';

const EVENT_STATUSES = ['accepted', 'routed', 'unrouted', 'cancelled'];
/** Ranges relative to now, worked out again on every refresh so a live view keeps moving. */
const RECENT: Record<string, number> = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };
const CUSTOM = 'custom';
const RANGE_OPTIONS: [string, string][] = [
  ['', 'any time'],
  ['15m', 'in the last 15 minutes'],
  ['1h', 'in the last hour'],
  ['24h', 'in the last 24 hours'],
  ['7d', 'in the last 7 days'],
  [CUSTOM, 'between…'],
];

/**
 * What the list shows, as the location holds it: the API's own filter names. `since` is one of
 * RECENT's ranges or a time; `until` a time.
 */
interface Filters {
  type: string;
  status: string;
  subscriberId: string;
  correlationId: string;
  since: string;
  until: string;
}

function filtersOf(route: Route): Filters {
  const param = (name: string) => route.params.get(name) ?? '';
  return {
    type: param('type'),
    status: param('status'),
    subscriberId: param('subscriberId'),
    correlationId: param('correlationId'),
    since: param('since'),
    until: param('until'),
  };
}

/** Events newest first, with their deliveries by status, filtered by the API; live (polled) unless turned off. */
export function Activity({ route }: { route: Route }) {
  const filters = filtersOf(route);
  const [live, setLive] = useState(true);
  return (
    <>
      <PageTitle view={route.params.toString()}>Activity</PageTitle>
      <FilterForm filters={filters} />
      <Events filters={filters} live={live} onLive={setLive} />
    </>
  );
}

/** `2026-12-01T09:30` in the browser's time zone, as a datetime-local input shows a time. */
function localInput(iso: string): string {
  const time = new Date(iso);
  if (!iso || Number.isNaN(time.getTime())) return '';
  return new Date(time.getTime() - time.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function FilterForm({ filters }: { filters: Filters }) {
  const [range, setRange] = useState(
    RECENT[filters.since] ? filters.since : filters.since || filters.until ? CUSTOM : '',
  );
  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const value = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    // A datetime-local value has no offset: it is the operator's local time.
    const time = (name: string) => {
      const local = value(name);
      return local && new Date(local).toISOString();
    };
    navigate(['activity'], {
      type: value('type'),
      status: value('status'),
      subscriberId: value('subscriberId'),
      correlationId: value('correlationId'),
      since: range === CUSTOM ? time('since') : range || undefined,
      until: range === CUSTOM ? time('until') : undefined,
    });
  };
  return (
    <form class="filters" onSubmit={apply} aria-label="Filter the activity" key={JSON.stringify(filters)}>
      <label>
        Event type
        <input name="type" defaultValue={filters.type} placeholder="order.shipped" />
      </label>
      <label>
        Status
        <select name="status">
          <Options options={[['', 'any'], ...EVENT_STATUSES]} current={filters.status} />
        </select>
      </label>
      <label>
        Subscriber
        <input name="subscriberId" defaultValue={filters.subscriberId} placeholder="subscriber id" />
      </label>
      <label>
        Correlation id
        <input name="correlationId" defaultValue={filters.correlationId} spellcheck={false} />
      </label>
      <label>
        Received
        <select name="range" onChange={(e) => setRange(e.currentTarget.value)}>
          <Options options={RANGE_OPTIONS} current={range} />
        </select>
      </label>
      {range === CUSTOM && (
        <>
          <label>
            From
            <input name="since" type="datetime-local" defaultValue={localInput(filters.since)} />
          </label>
          <label>
            To
            <input name="until" type="datetime-local" defaultValue={localInput(filters.until)} />
          </label>
        </>
      )}
      <button type="submit" class="primary">
        Apply
      </button>
      <a href={link(['activity'])}>Clear</a>
    </form>
  );
}

function Events(props: { filters: Filters; live: boolean; onLive: (live: boolean) => void }) {
  const { filters } = props;
  const events = usePages((cursor?: string) => {
    const recent = RECENT[filters.since];
    return api<Page<EventSummary>>(
      'GET',
      `/v1/events${query({
        type: filters.type,
        status: filters.status,
        subscriberId: filters.subscriberId,
        correlationId: filters.correlationId,
        since: recent ? new Date(Date.now() - recent).toISOString() : filters.since,
        until: filters.until,
        cursor,
        limit: 50,
      })}`,
    );
  }, Object.values(filters));
  // A refresh brings back the first page only: it waits while older pages are open below it.
  const paused = events.extended;
  useInterval(events.reload, 5000, props.live && !paused);
  const filtered = Object.values(filters).some(Boolean);
  return (
    <>
      <div class="live">
        <label class="inline">
          <input type="checkbox" checked={props.live} onChange={(e) => props.onLive(e.currentTarget.checked)} /> Live
          updates (every 5 s)
        </label>
        {props.live && paused && <span class="muted">Paused while older events are shown.</span>}
      </div>
      <Loading state={events}>
        {(items) => (
          <>
            <table class="list" aria-label="Events, newest first">
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Type</th>
                  <th scope="col">Recipients</th>
                  <th scope="col">Status</th>
                  <th scope="col">Deliveries</th>
                  <th scope="col">Correlation id</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id} data-event-id={e.id}>
                    <td>
                      <Time value={e.createdAt} />
                    </td>
                    <td>
                      <a href={link(['events', e.id])}>{e.type}</a>
                    </td>
                    <td>{e.recipients}</td>
                    <td>
                      <Status value={e.status} />
                      {e.sendAt && (
                        <span class="muted">
                          {' '}
                          for <Time value={e.sendAt} />
                        </span>
                      )}
                    </td>
                    <td>
                      {Object.entries(e.deliveries).map(([status, count]) => (
                        <span key={status} class="count">
                          <Status value={status} /> {count}
                        </span>
                      ))}
                    </td>
                    <td>{e.correlationId && <CorrelationLink id={e.correlationId} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {items.length === 0 && (
              <p class="muted">{filtered ? 'No events match these filters.' : 'No events yet.'}</p>
            )}
            <MoreButton pages={events} />
          </>
        )}
      </Loading>
    </>
  );
}

/** A correlation id that lists every event carrying it when followed. */
export function CorrelationLink({ id }: { id: string }) {
  return (
    <a
      class="correlation"
      href={link(['activity'], { correlationId: id })}
      title={`Every event with correlation id ${id}`}
      aria-label={`Events with correlation id ${id}`}
    >
      <code>{id}</code>
    </a>
  );
}
