import { api, query, segment } from '../api';
import { navigate, type Route } from '../router';
import type { Page, Suppression } from '@herald/client';
import { ActionResult, ConfirmButton, Loading, MoreButton, Options, PageTitle, Time, useAction, usePages } from '../ui';

/** Addresses Herald will not send to; search by address, and lift one (confirmed). */
export function Suppressions({ route }: { route: Route }) {
  const channel = route.params.get('channel') ?? '';
  const address = route.params.get('address') ?? '';
  const list = usePages(
    (cursor?: string) =>
      api<Page<Suppression>>('GET', `/v1/suppressions${query({ channel, address, cursor, limit: 50 })}`),
    [channel, address],
  );
  const lift = useAction();

  const search = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    navigate(['suppressions'], {
      channel: String(form.get('channel') ?? '') || undefined,
      address: String(form.get('address') ?? '').trim() || undefined,
    });
  };
  return (
    <>
      <PageTitle view={route.params.toString()}>Suppressions</PageTitle>
      <form class="filters" role="search" onSubmit={search} key={`${channel}|${address}`}>
        <label>
          Channel
          <select name="channel">
            <Options options={[['', 'any'], 'email', 'sms']} current={channel} />
          </select>
        </label>
        <label>
          Address
          <input name="address" type="search" defaultValue={address} placeholder="bob@example.com or +15551234567" />
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <p class="muted">An address is matched as stored: pick its channel to match it however it was typed.</p>
      <ActionResult message={lift.message} error={lift.error} />
      <Loading state={list}>
        {(items) => (
          <>
            <table class="list" aria-label="Suppressed addresses, newest first">
              <thead>
                <tr>
                  <th scope="col">Address</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Reason</th>
                  <th scope="col">From</th>
                  <th scope="col">Since</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.id} data-suppression-id={s.id}>
                    <td>{s.address}</td>
                    <td>{s.channel}</td>
                    <td>
                      {s.reason.replace('_', ' ')}
                      {s.detail && <span class="muted"> — {s.detail}</span>}
                    </td>
                    <td>{s.source}</td>
                    <td>
                      <Time value={s.createdAt} />
                    </td>
                    <td>{s.expiresAt ? <Time value={s.expiresAt} /> : <span class="muted">never</span>}</td>
                    <td class="actions">
                      <ConfirmButton
                        label="Lift"
                        danger
                        describe={`Lift the suppression of ${s.address}`}
                        question={`Send to ${s.address} again?`}
                        confirmLabel="Lift suppression"
                        onConfirm={() =>
                          lift.run(async () => {
                            await api('DELETE', `/v1/suppressions/${segment(s.id)}`);
                            list.reload();
                            return `Lifted: Herald sends ${s.channel} to ${s.address} again.`;
                          })
                        }
                      >
                        <p>
                          It was suppressed for {s.reason.replace('_', ' ')} (from {s.source}). Sending to an address
                          that bounced or complained can hurt the sender's reputation.
                        </p>
                      </ConfirmButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {items.length === 0 && <p class="muted">No suppressed address matches.</p>}
            <MoreButton pages={list} />
          </>
        )}
      </Loading>
    </>
  );
}
