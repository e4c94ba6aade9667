import { api, query, segment } from '../api';
import { link, navigate } from '../router';
import type { InboxItem, Page, Preferences, Subscriber } from '@herald/client';
import { Json, Loading, MoreButton, PageTitle, Time, useLoad, usePages } from '../ui';

/** Subscribers newest first, and a search by subscriber id that opens the profile. */
export function Subscribers() {
  const list = usePages(
    (cursor?: string) => api<Page<Subscriber>>('GET', `/v1/subscribers${query({ cursor, limit: 50 })}`),
    [],
  );
  const search = (e: Event) => {
    e.preventDefault();
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('subscriberId') ?? '').trim();
    if (id) navigate(['subscribers', id]);
  };
  return (
    <>
      <PageTitle>Subscribers</PageTitle>
      <form class="filters" role="search" onSubmit={search}>
        <label>
          Subscriber id
          <input name="subscriberId" type="search" required placeholder="alice" />
        </label>
        <button type="submit" class="primary">
          Open
        </button>
      </form>
      <Loading state={list}>
        {(items) => (
          <>
            <table class="list" aria-label="Subscribers, newest first">
              <thead>
                <tr>
                  <th scope="col">Subscriber</th>
                  <th scope="col">Email</th>
                  <th scope="col">Phone</th>
                  <th scope="col">Devices</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.subscriberId}>
                    <td>
                      <a href={link(['subscribers', s.subscriberId])}>{s.subscriberId}</a>
                    </td>
                    <td>{s.email}</td>
                    <td>{s.phone}</td>
                    <td>
                      {s.devices.filter((d) => d.active).length} active
                      {s.devices.some((d) => !d.active) && `, ${s.devices.filter((d) => !d.active).length} off`}
                    </td>
                    <td>
                      <Time value={s.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {items.length === 0 && <p class="muted">No subscribers yet.</p>}
            <MoreButton pages={list} />
          </>
        )}
      </Loading>
    </>
  );
}

/** One subscriber: profile, devices (and why one is off), preferences, and the newest inbox messages. */
export function SubscriberProfile({ id }: { id: string }) {
  const state = useLoad(async () => {
    const [subscriber, preferences, inbox] = await Promise.all([
      api<Subscriber>('GET', `/v1/subscribers/${segment(id)}`),
      api<Preferences>('GET', `/v1/subscribers/${segment(id)}/preferences`),
      api<Page<InboxItem>>('GET', `/v1/inbox${query({ subscriberId: id, limit: 10 })}`),
    ]);
    return { subscriber, preferences, inbox: inbox.items };
  }, [id]);
  return (
    <>
      <PageTitle>{`Subscriber ${id}`}</PageTitle>
      <p>
        <a href={link(['subscribers'])}>← Subscribers</a> ·{' '}
        <a href={link(['activity'], { subscriberId: id })}>Events for {id}</a>
      </p>
      <Loading state={state}>
        {({ subscriber: s, preferences, inbox }) => (
          <div class="columns">
            <section aria-labelledby="profile-title">
              <h2 id="profile-title">Profile</h2>
              <dl class="facts">
                <dt>Email</dt>
                <dd>{s.email ?? <span class="muted">none</span>}</dd>
                <dt>Phone</dt>
                <dd>{s.phone ?? <span class="muted">none</span>}</dd>
                <dt>Locale</dt>
                <dd>{s.locale ?? <span class="muted">default</span>}</dd>
                <dt>Time zone</dt>
                <dd>{s.timezone ?? <span class="muted">UTC</span>}</dd>
                <dt>Quiet hours</dt>
                <dd>
                  {s.quietHours ? (
                    `${s.quietHours.start}–${s.quietHours.end}`
                  ) : (
                    <span class="muted">tenant default</span>
                  )}
                </dd>
                <dt>Since</dt>
                <dd>
                  <Time value={s.createdAt} />
                </dd>
              </dl>
              {Object.keys(s.data).length > 0 && <Json value={s.data} label="Subscriber data" />}
              <h2>Preferences</h2>
              <Prefs preferences={preferences} />
            </section>
            <section aria-labelledby="devices-title">
              <h2 id="devices-title">Devices</h2>
              {s.devices.length === 0 && <p class="muted">No push devices.</p>}
              <ul class="plain">
                {s.devices.map((d) => (
                  <li key={d.token} data-active={d.active}>
                    <code title={d.token}>{d.token.length > 24 ? `${d.token.slice(0, 24)}…` : d.token}</code>{' '}
                    {d.platform}{' '}
                    {d.active ? (
                      <span class="status status-sent">active</span>
                    ) : (
                      <>
                        <span class="status status-failed">off</span>{' '}
                        <span class="muted">{d.deactivatedReason ?? 'deactivated'}</span>
                      </>
                    )}
                  </li>
                ))}
              </ul>
              <h2>Inbox (newest 10)</h2>
              {inbox.length === 0 && <p class="muted">The inbox is empty.</p>}
              <ul class="inbox">
                {inbox.map((m) => (
                  <li key={m.id} class={m.readAt ? 'read' : 'unread'}>
                    <strong>{m.title}</strong>
                    <span class="muted">
                      {' '}
                      · <Time value={m.createdAt} /> · {m.readAt ? 'read' : 'unread'}
                    </span>
                    <p>{m.body}</p>
                  </li>
                ))}
              </ul>
            </section>
          </div>
        )}
      </Loading>
    </>
  );
}

function Prefs({ preferences }: { preferences: Preferences }) {
  const channels = Object.entries(preferences.channels ?? {});
  const categories = Object.entries(preferences.categories ?? {});
  if (!channels.length && !categories.length) return <p class="muted">No opt-outs: every channel is on.</p>;
  return (
    <ul class="plain">
      {channels.map(([channel, on]) => (
        <li key={channel}>
          {channel}: {on ? 'on' : 'off'}
        </li>
      ))}
      {categories.map(([category, byChannel]) => (
        <li key={category}>
          {category}:{' '}
          {Object.entries(byChannel)
            .map(([channel, on]) => `${channel} ${on ? 'on' : 'off'}`)
            .join(', ')}
        </li>
      ))}
    </ul>
  );
}
