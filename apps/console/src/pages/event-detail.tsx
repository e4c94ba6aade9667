import { api, segment, type Problem } from '../api';
import { ContentView } from '../content-view';
import { link } from '../router';
import type { DeliveryDetail, EventDetail as Event, Preview } from '../types';
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

// Each delivery's story is one more request: a broadcast's first deliveries are enough to read.
const DETAILED_DELIVERIES = 50;
const SETTLED = new Set(['sent', 'delivered', 'failed', 'dead', 'suppressed', 'skipped', 'rate_limited']);

interface Loaded {
  event: Event;
  deliveries: DeliveryDetail[];
  /** What the event's rule renders to now, per recipient (subscriber id, '' for webhook endpoints). */
  content: Map<string, Preview | Problem>;
}

async function load(id: string): Promise<Loaded> {
  const event = await api<Event>('GET', `/v1/events/${segment(id)}`);
  const shown = event.deliveries.slice(0, DETAILED_DELIVERIES);
  const deliveries = await Promise.all(shown.map((d) => api<DeliveryDetail>('GET', `/v1/deliveries/${segment(d.id)}`)));
  const recipients = [...new Set(shown.map((d) => d.subscriberId ?? ''))].slice(0, 10);
  const content = new Map<string, Preview | Problem>();
  await Promise.all(
    recipients.map(async (subscriberId) => {
      const body = { eventId: id, ...(subscriberId && { subscriberId }) };
      const rendered = await api<Preview>('POST', `/v1/rules/${segment(event.type)}/preview`, body).catch(problemOf);
      content.set(subscriberId, rendered);
    }),
  );
  return { event, deliveries, content };
}

/** One event: its deliveries, each with a timeline from creation to now, and the content per channel. */
export function EventDetail({ id }: { id: string }) {
  const state = useLoad(() => load(id), [id]);
  const moving = state.data?.deliveries.some((d) => !SETTLED.has(d.status)) ?? false;
  useInterval(state.reload, 5000, moving || state.data?.event.status === 'accepted');
  return (
    <>
      <PageTitle>Event</PageTitle>
      <p>
        <a href={link(['activity'])}>← Activity</a>
      </p>
      <Loading state={state}>
        {({ event, deliveries, content }) => (
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
            {(event.deliveriesTruncated || event.deliveries.length > DETAILED_DELIVERIES) && (
              <p class="muted">
                The first {DETAILED_DELIVERIES} are shown below; the API lists them all at{' '}
                <code>/v1/deliveries?eventId={event.id}</code>.
              </p>
            )}
            {deliveries.map((d) => (
              <DeliveryCard
                key={d.id}
                delivery={d}
                content={content.get(d.subscriberId ?? '')}
                onChange={state.reload}
              />
            ))}
          </>
        )}
      </Loading>
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

/** A delivery's story in time order: created, each attempt, sent, provider feedback, and where it is now. */
function timeline(d: DeliveryDetail): Step[] {
  // Opted out or digested at fan-out (skipped without an attempt), or not handed to its queue yet: never queued.
  const queued = d.status !== 'pending' && !(d.status === 'skipped' && d.attempts.length === 0);
  const steps: Step[] = [{ at: d.createdAt, what: queued ? 'Created and queued' : 'Created' }];
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
  if (d.sentAt) steps.push({ at: d.sentAt, what: 'Sent', tone: 'ok' });
  for (const f of d.feedback) {
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

function DeliveryCard(props: { delivery: DeliveryDetail; content?: Preview | Problem; onChange: () => void }) {
  const d = props.delivery;
  const replay = useAction();
  const recipient = d.subscriberId ? `to ${d.subscriberId}` : `to webhook endpoint ${d.endpointId ?? ''}`;
  const rendered = props.content && 'channels' in props.content ? props.content : undefined;
  const channelContent = rendered?.channels.find((c) => c.channel === d.channel);
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
      <ol class="timeline" aria-label={`Timeline of the ${d.channel} delivery ${recipient}`}>
        {timeline(d).map((step, i) => (
          <li key={i} class={step.tone ? `tone-${step.tone}` : undefined}>
            <span class="when">{step.at ? <Time value={step.at} /> : 'now'}</span>
            <span class="what">{step.what}</span>
            {step.detail && <span class="detail">{step.detail}</span>}
          </li>
        ))}
      </ol>
      <details open>
        <summary>Content, as the event type's rule renders it now</summary>
        {channelContent && <ContentView rendered={channelContent} />}
        {props.content && !rendered && <ProblemView problem={props.content as Problem} />}
        {rendered && !channelContent && <p class="muted">The rule no longer has a {d.channel} channel.</p>}
      </details>
    </article>
  );
}
