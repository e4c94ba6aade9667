import { useEffect, useRef, useState } from 'preact/hooks';
import { api, segment, type Problem } from '../api';
import { ContentView } from '../content-view';
import { link } from '../router';
import type {
  DeliveryDetail,
  DeliveryView as Delivery,
  EventView as Event,
  RulePreview as Preview,
} from '@herald/client';
import { EventMetadataView, Recipients } from './event-metadata';
import {
  ActionResult,
  ConfirmButton,
  Json,
  Loading,
  PageTitle,
  ProblemView,
  Status,
  Time,
  problemOf,
  useAction,
  useInterval,
  useLoad,
} from '../ui';

const SETTLED = new Set(['sent', 'delivered', 'failed', 'dead', 'suppressed', 'skipped', 'rate_limited']);
// An event lists up to 1,000 deliveries (a broadcast): they are shown a page at a time, and their
// timelines are open at first only when there are few of them.
const PAGE = 50;
const OPEN_AT_FIRST = 3;

/** What the event's rule renders to now for a recipient (a subscriber id, null for a webhook endpoint). */
type Render = (subscriberId: string | null) => Promise<Preview>;

/**
 * One event: its deliveries, each with a timeline from creation to now, and the content per channel on
 * request. While a delivery moves, only the event is asked for again: it carries every delivery with
 * its attempts, last error and last hold-back.
 */
export function EventDetail({ id }: { id: string }) {
  const state = useLoad(() => api<Event>('GET', `/v1/events/${segment(id)}`), [id]);
  const moving = state.data?.deliveries.some((d) => !SETTLED.has(d.status)) ?? false;
  useInterval(state.reload, 5000, moving || state.data?.status === 'accepted');
  return (
    <>
      <PageTitle>Event</PageTitle>
      <p>
        <a href={link(['activity'])}>← Activity</a>
      </p>
      <Loading state={state}>
        {(event) => (
          <>
            <div class="columns">
              <section aria-labelledby="summary-title">
                <h2 id="summary-title">Summary</h2>
                <dl class="facts">
                  <dt>Type</dt>
                  <dd data-testid="event-type">{event.type}</dd>
                  <dt>Id</dt>
                  <dd>
                    <code>{event.id}</code>
                  </dd>
                  <dt>Status</dt>
                  <dd>
                    <Status value={event.status} />
                  </dd>
                  {event.sendAt && (
                    <>
                      <dt>Scheduled for</dt>
                      <dd>
                        <Time value={event.sendAt} />
                      </dd>
                    </>
                  )}
                  <dt>Recipients</dt>
                  <dd>
                    <Recipients to={event.to} />
                  </dd>
                </dl>
                <details>
                  <summary>Data</summary>
                  <Json value={event.data} label="Event data" />
                </details>
              </section>
              <EventMetadataView metadata={event.metadata} />
            </div>
            <h2>Deliveries</h2>
            {event.deliveries.length === 0 ? (
              <p class="muted">
                No deliveries{event.status === 'unrouted' ? ': no rule matched this event type' : ' yet'}.
              </p>
            ) : (
              <DeliveryCounts event={event} />
            )}
            <Deliveries key={event.id} event={event} onChange={state.reload} />
          </>
        )}
      </Loading>
    </>
  );
}

/** The event's deliveries, a page at a time; what the rule renders to is asked for once per recipient. */
function Deliveries({ event, onChange }: { event: Event; onChange: () => void }) {
  const [shown, setShown] = useState(PAGE);
  const rendered = useRef(new Map<string, Promise<Preview>>()).current;
  const render: Render = (subscriberId) => {
    const key = subscriberId ?? '';
    let preview = rendered.get(key);
    if (!preview) {
      const body = { eventId: event.id, ...(subscriberId && { subscriberId }) };
      preview = api<Preview>('POST', `/v1/rules/${segment(event.type)}/preview`, body);
      // A failure is shown, not kept: asking again may work.
      preview.catch(() => rendered.delete(key));
      rendered.set(key, preview);
    }
    return preview;
  };
  const openAtFirst = event.deliveries.length <= OPEN_AT_FIRST;
  const rest = event.deliveries.length - shown;
  return (
    <>
      {event.deliveriesTruncated && (
        <p class="muted">
          The first {event.deliveries.length} are listed below; the API lists them all at{' '}
          <code>/v1/deliveries?eventId={event.id}</code>.
        </p>
      )}
      {event.deliveries.slice(0, shown).map((d) => (
        <DeliveryCard key={d.id} delivery={d} openAtFirst={openAtFirst} render={render} onChange={onChange} />
      ))}
      {rest > 0 && (
        <p>
          <button type="button" onClick={() => setShown(shown + PAGE)}>
            Show {Math.min(rest, PAGE)} more of {rest}
          </button>
        </p>
      )}
    </>
  );
}

/** How many deliveries are in each status: all of them, even past the first 1,000 the event lists. */
function DeliveryCounts({ event }: { event: Event }) {
  const counts = event.deliveryCounts ?? countBy(event.deliveries.map((d) => d.status));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return (
    <p data-testid="delivery-counts">
      {total} deliver{total === 1 ? 'y' : 'ies'}:{' '}
      {Object.entries(counts).map(([status, count]) => (
        <span key={status} class="count">
          <Status value={status} /> {count}
        </span>
      ))}
    </p>
  );
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

interface Step {
  at?: string;
  what: string;
  detail?: string;
  tone?: 'ok' | 'warn' | 'bad';
}

const ATTEMPT_TONES: Record<string, Step['tone']> = { ok: 'ok', retryable: 'warn' };
const STATUS_TONES: Record<string, Step['tone']> = {
  sent: 'ok',
  delivered: 'ok',
  deferred: 'warn',
  queued: 'warn',
  failed: 'bad',
  dead: 'bad',
  suppressed: 'bad',
};

/**
 * A delivery's story in time order: created, each attempt, sent, provider feedback, and where it is now.
 * The event's listing of the delivery is the freshest word on its attempts and status; its detail adds
 * when it was created and sent, and the feedback.
 */
function timeline(d: Delivery, detail: DeliveryDetail): Step[] {
  // Opted out or digested at fan-out (skipped without an attempt), or not handed to its queue yet: never queued.
  const queued = d.status !== 'pending' && !(d.status === 'skipped' && d.attempts.length === 0);
  const steps: Step[] = [{ at: detail.createdAt, what: queued ? 'Created and queued' : 'Created' }];
  d.attempts.forEach((a, i) =>
    steps.push({
      at: a.at,
      what: `Attempt ${i + 1}: ${a.outcome.replace('_', ' ')}`,
      detail: [a.provider, a.code && `code ${a.code}`, a.message].filter(Boolean).join(' · '),
      tone: ATTEMPT_TONES[a.outcome] ?? 'bad',
    }),
  );
  if (d.lastDeferral) {
    const { at, status, reason, until } = d.lastDeferral;
    const held = status === 'rate_limited' ? 'Held by a rate limit' : 'Deferred';
    steps.push({
      at,
      what: until ? `${held} until ${new Date(until).toLocaleString()}` : held,
      detail: reason,
      tone: 'warn',
    });
  }
  if (detail.sentAt) steps.push({ at: detail.sentAt, what: 'Sent', tone: 'ok' });
  for (const f of detail.feedback) {
    const suppressed = f.suppression && `${f.suppression.address} suppressed (${f.suppression.reason})`;
    steps.push({
      at: f.at,
      what: `Feedback from ${f.source}: ${f.kind}`,
      detail: [f.outcome, suppressed].filter(Boolean).join(' · '),
      tone: f.suppression ? 'bad' : undefined,
    });
  }
  steps.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
  steps.push({ what: `Now ${d.status.replace('_', ' ')}`, detail: d.lastError, tone: STATUS_TONES[d.status] });
  return steps;
}

/**
 * The delivery's detail (creation, sending, feedback) while its timeline is open: asked for when it is
 * opened, and again only when the delivery's status has moved since.
 */
function useDetail(d: Delivery, open: boolean): { detail?: DeliveryDetail; problem?: Problem } {
  const [state, setState] = useState<{ detail?: DeliveryDetail; problem?: Problem }>({});
  const current = state.detail?.status === d.status;
  useEffect(() => {
    if (!open || current) return;
    let wanted = true;
    api<DeliveryDetail>('GET', `/v1/deliveries/${segment(d.id)}`).then(
      (detail) => wanted && setState({ detail }),
      (err: unknown) => wanted && setState((s) => ({ ...s, problem: problemOf(err) })),
    );
    return () => {
      wanted = false;
    };
  }, [open, d.id, d.status]); // not `current`: the answer it brings must not ask again
  return state;
}

function DeliveryCard(props: { delivery: Delivery; openAtFirst: boolean; render: Render; onChange: () => void }) {
  const d = props.delivery;
  const [open, setOpen] = useState(props.openAtFirst);
  const { detail, problem } = useDetail(d, open);
  const replay = useAction();
  const recipient = d.subscriberId ? `to ${d.subscriberId}` : `to webhook endpoint ${d.endpointId ?? ''}`;
  return (
    <article class="card delivery" data-delivery-id={d.id} aria-labelledby={`delivery-${d.id}`}>
      <header>
        <h3 id={`delivery-${d.id}`}>
          {d.channel} {recipient}
        </h3>
        <Status value={d.status} />
        {d.status === 'dead' && (
          <ConfirmButton
            label="Replay"
            question="Replay this delivery?"
            onConfirm={() =>
              replay.run(async () => {
                await api('POST', `/v1/dead-letters/${segment(d.id)}/replay`);
                props.onChange();
                return 'Replayed: the delivery is queued with a fresh retry budget.';
              })
            }
          >
            <p>
              It is queued again with a fresh retry budget; its {d.attempts.length} attempts so far stay in its history.
            </p>
          </ConfirmButton>
        )}
      </header>
      <ActionResult message={replay.message} error={replay.error} />
      <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
        <summary>
          Timeline ({d.attempts.length} attempt{d.attempts.length === 1 ? '' : 's'})
        </summary>
        {problem && <ProblemView problem={problem} />}
        {detail ? (
          <ol class="timeline" aria-label={`Timeline of the ${d.channel} delivery ${recipient}`}>
            {timeline(d, detail).map((step, i) => (
              <li key={i} class={step.tone ? `tone-${step.tone}` : undefined}>
                <span class="when">{step.at ? <Time value={step.at} /> : 'now'}</span>
                <span class="what">{step.what}</span>
                {step.detail && <span class="detail">{step.detail}</span>}
              </li>
            ))}
          </ol>
        ) : (
          !problem && open && <p aria-busy="true">Loading…</p>
        )}
      </details>
      <Content delivery={d} recipient={recipient} render={props.render} />
    </article>
  );
}

/** The delivery's content, rendered once on request from the event type's rule as it is now. */
function Content({ delivery: d, recipient, render }: { delivery: Delivery; recipient: string; render: Render }) {
  const [state, setState] = useState<{ preview?: Preview; problem?: Problem; busy: boolean }>({ busy: false });
  const show = () => {
    setState({ busy: true });
    render(d.subscriberId).then(
      (preview) => setState({ preview, busy: false }),
      (err: unknown) => setState({ problem: problemOf(err), busy: false }),
    );
  };
  const channelContent = state.preview?.channels.find((c) => c.channel === d.channel);
  return (
    <section class="delivery-content" aria-label={`Content of the ${d.channel} delivery ${recipient}`}>
      {!state.preview && (
        <button type="button" onClick={show} disabled={state.busy} aria-describedby={`content-note-${d.id}`}>
          Show content
        </button>
      )}
      <p class="muted" id={`content-note-${d.id}`}>
        The content is the event type's current rule rendered against this event's data, not a stored copy of what was
        sent.
      </p>
      {state.problem && <ProblemView problem={state.problem} />}
      {channelContent && <ContentView rendered={channelContent} />}
      {state.preview && !channelContent && <p class="muted">The rule no longer has a {d.channel} channel.</p>}
    </section>
  );
}
