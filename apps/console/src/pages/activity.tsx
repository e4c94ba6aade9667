import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { link, navigate, type Route } from '../router';
import type { DeliveryListItem, EventSummary, Page } from '../types';
import { Loading, MoreButton, Options, PageTitle, Status, Time, useInterval, usePages } from '../ui';

const EVENT_STATUSES = ['accepted', 'routed', 'unrouted', 'cancelled'];
const SINCE: Record<string, number> = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };
const SINCE_OPTIONS: [string, string][] = [
  ['', 'any time'],
  ['15m', '15 minutes ago'],
  ['1h', 'an hour ago'],
  ['24h', 'a day ago'],
  ['7d', 'a week ago'],
];

/**
 * Events newest first, with their deliveries by status; live (polled) unless turned off. With a
 * subscriber the list is that subscriber's deliveries instead (the events listing has no recipient filter).
 */
export function Activity({ route }: { route: Route }) {
  const filters = {
    type: route.params.get('type') ?? '',
    status: route.params.get('status') ?? '',
    since: route.params.get('since') ?? '',
    subscriber: route.params.get('subscriber') ?? '',
  };
  const [live, setLive] = useState(true);
  return (
    <>
      <PageTitle>Activity</PageTitle>
      <Filters filters={filters} />
      <label class="inline">
        <input type="checkbox" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} /> Live updates (every
        5 s)
      </label>
      {filters.subscriber ? (
        <SubscriberDeliveries subscriberId={filters.subscriber} live={live} />
      ) : (
        <Events filters={filters} live={live} />
      )}
    </>
  );
}

function Filters({ filters }: { filters: Record<string, string> }) {
  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const value = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    navigate(['activity'], {
      type: value('type'),
      status: value('status'),
      since: value('since'),
      subscriber: value('subscriber'),
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
        Since
        <select name="since">
          <Options options={SINCE_OPTIONS} current={filters.since} />
        </select>
      </label>
      <label>
        Subscriber
        <input name="subscriber" defaultValue={filters.subscriber} placeholder="subscriber id" />
      </label>
      <button type="submit" class="primary">
        Apply
      </button>
      <a href={link(['activity'])}>Clear</a>
    </form>
  );
}

function Events({ filters, live }: { filters: Record<string, string>; live: boolean }) {
  const since = SINCE[filters.since];
  const events = usePages(
    (cursor?: string) =>
      api<Page<EventSummary>>(
        'GET',
        `/v1/events${query({
          type: filters.type,
          status: filters.status,
          since: since ? new Date(Date.now() - since).toISOString() : undefined,
          cursor,
          limit: 50,
        })}`,
      ),
    [filters.type, filters.status, filters.since],
  );
  useInterval(events.reload, 5000, live);
  return (
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
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p class="muted">No events match.</p>}
          <MoreButton pages={events} />
        </>
      )}
    </Loading>
  );
}

function SubscriberDeliveries({ subscriberId, live }: { subscriberId: string; live: boolean }) {
  const deliveries = usePages(
    (cursor?: string) =>
      api<Page<DeliveryListItem>>('GET', `/v1/deliveries${query({ subscriberId, cursor, limit: 50 })}`),
    [subscriberId],
  );
  useInterval(deliveries.reload, 5000, live);
  return (
    <Loading state={deliveries}>
      {(items) => (
        <>
          <p class="muted">
            Deliveries to <a href={link(['subscribers', subscriberId])}>{subscriberId}</a>, newest first (the other
            filters apply to events only).
          </p>
          <table class="list" aria-label={`Deliveries to ${subscriberId}`}>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Time value={d.createdAt} />
                  </td>
                  <td>
                    <a href={link(['events', d.eventId])}>{d.eventId.slice(0, 8)}…</a>
                  </td>
                  <td>{d.channel}</td>
                  <td>
                    <Status value={d.status} />
                  </td>
                  <td>{d.attempts.length}</td>
                  <td class="error-text">{d.lastError}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p class="muted">No deliveries to this subscriber.</p>}
          <MoreButton pages={deliveries} />
        </>
      )}
    </Loading>
  );
}
