import { api, query, segment } from '../api';
import { link, navigate, type Route } from '../router';
import { CHANNELS, type DeadLetter, type Page } from '@herald/client';
import { ActionResult, ConfirmButton, Loading, MoreButton, Options, PageTitle, Time, useAction, usePages } from '../ui';

/** Deliveries whose retries ran out: why, and replay (one or all matching) or purge, each confirmed. */
export function DeadLetters({ route }: { route: Route }) {
  const channel = route.params.get('channel') ?? '';
  const eventType = route.params.get('eventType') ?? '';
  const letters = usePages(
    (cursor?: string) =>
      api<Page<DeadLetter>>('GET', `/v1/dead-letters${query({ channel, eventType, cursor, limit: 50 })}`),
    [channel, eventType],
  );
  const action = useAction();
  const run = (work: () => Promise<string>) =>
    action.run(async () => {
      const message = await work();
      letters.reload();
      return message;
    });
  const filter = [channel && `channel ${channel}`, eventType && `event type ${eventType}`].filter(Boolean).join(', ');

  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    navigate(['dead-letters'], {
      channel: String(form.get('channel') ?? '') || undefined,
      eventType: String(form.get('eventType') ?? '').trim() || undefined,
    });
  };
  return (
    <>
      <PageTitle view={route.params.toString()}>Dead letters</PageTitle>
      <form class="filters" onSubmit={apply} aria-label="Filter the dead letters" key={`${channel}|${eventType}`}>
        <label>
          Channel
          <select name="channel">
            <Options options={[['', 'any'], ...CHANNELS]} current={channel} />
          </select>
        </label>
        <label>
          Event type
          <input name="eventType" defaultValue={eventType} />
        </label>
        <button type="submit" class="primary">
          Apply
        </button>
        <ConfirmButton
          label="Replay all matching"
          question={`Replay every dead letter${filter ? ` with ${filter}` : ''}?`}
          disabled={!letters.data?.length}
          onConfirm={() =>
            run(async () => {
              const body = { ...(channel && { channel }), ...(eventType && { eventType }) };
              const { replayed } = await api<{ replayed: number }>('POST', '/v1/dead-letters/replay', body);
              return `Replayed ${replayed} dead letter${replayed === 1 ? '' : 's'}.`;
            })
          }
        >
          <p>Each is queued again with a fresh retry budget; deliveries that die after now are not included.</p>
        </ConfirmButton>
      </form>
      <ActionResult message={action.message} error={action.error} />
      <Loading state={letters}>
        {(items) => (
          <>
            <table class="list" aria-label="Dead letters, most recent first">
              <thead>
                <tr>
                  <th scope="col">Died</th>
                  <th scope="col">Event</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Recipient</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={d.deliveryId} data-delivery-id={d.deliveryId}>
                    <td>
                      <Time value={d.deadAt} />
                    </td>
                    <td>
                      <a href={link(['events', d.eventId])}>{d.eventType}</a>
                    </td>
                    <td>{d.channel}</td>
                    <td>{d.subscriberId ?? `endpoint ${d.endpointId ?? ''}`}</td>
                    <td>{d.attempts}</td>
                    <td class="error-text">
                      {d.lastError}
                      {d.lastAttempt?.code && <span class="muted"> (code {d.lastAttempt.code})</span>}
                    </td>
                    <td class="actions">
                      <ConfirmButton
                        label="Replay"
                        describe={`Replay the ${d.channel} delivery of ${d.eventType}`}
                        question="Replay this dead letter?"
                        onConfirm={() =>
                          run(async () => {
                            await api('POST', `/v1/dead-letters/${segment(d.deliveryId)}/replay`);
                            return `Replayed the ${d.channel} delivery of ${d.eventType}.`;
                          })
                        }
                      >
                        <p>
                          The {d.channel} delivery of {d.eventType} is queued again with a fresh retry budget.
                        </p>
                      </ConfirmButton>
                      <ConfirmButton
                        label="Purge"
                        danger
                        describe={`Purge the ${d.channel} delivery of ${d.eventType}`}
                        question="Purge this dead letter?"
                        onConfirm={() =>
                          run(async () => {
                            await api('DELETE', `/v1/dead-letters/${segment(d.deliveryId)}`);
                            return `Purged the ${d.channel} delivery of ${d.eventType}: it is failed for good.`;
                          })
                        }
                      >
                        <p>The delivery ends failed and is never sent. This cannot be undone.</p>
                      </ConfirmButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {items.length === 0 && <p class="muted">No dead letters{filter ? ` with ${filter}` : ''}.</p>}
            <MoreButton pages={letters} />
          </>
        )}
      </Loading>
    </>
  );
}
