import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, segment, type FieldError, type Problem } from '../api';
import { ContentView } from '../content-view';
import { link, navigate } from '../router';
import type { Page, RulePreview as Preview, RuleView as Rule } from '@herald/client';
import {
  ActionResult,
  ConfirmButton,
  Loading,
  PageTitle,
  ProblemView,
  Time,
  problemOf,
  useAction,
  useLoad,
} from '../ui';

const PREVIEW_DELAY_MS = 400;
const NEW_RULE = {
  channels: [
    {
      channel: 'inapp',
      template: { title: 'Hello {{ subscriber.subscriberId }}', body: 'Something happened: {{ data | json }}' },
    },
  ],
};
const SAMPLE_SUBSCRIBER = { subscriberId: 'sample', email: 'sample@example.com', phone: '+15555550100', locale: 'en' };

/** The tenant's rules, and a form to start one for a new event type. */
export function Rules() {
  const rules = useLoad(() => api<Page<Rule>>('GET', '/v1/rules'), []);
  const create = (e: Event) => {
    e.preventDefault();
    const type = String(new FormData(e.currentTarget as HTMLFormElement).get('eventType') ?? '').trim();
    if (type) navigate(['rules', type]);
  };
  return (
    <>
      <PageTitle>Rules</PageTitle>
      <form class="filters" onSubmit={create}>
        <label>
          Event type
          <input name="eventType" required placeholder="order.shipped" />
        </label>
        <button type="submit" class="primary">
          New or edit
        </button>
      </form>
      <Loading state={rules}>
        {({ items }) => (
          <>
            <table class="list" aria-label="Rules by event type">
              <thead>
                <tr>
                  <th scope="col">Event type</th>
                  <th scope="col">Channels</th>
                  <th scope="col">Category</th>
                  <th scope="col">Critical</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.eventType}>
                    <td>
                      <a href={link(['rules', r.eventType])}>{r.eventType}</a>
                    </td>
                    <td>{r.channels.map((c) => c.channel).join(', ')}</td>
                    <td>{r.category ?? <span class="muted">none</span>}</td>
                    <td>{r.critical ? 'yes' : 'no'}</td>
                    <td>
                      <Time value={r.updatedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {items.length === 0 && <p class="muted">No rules yet: events of every type are stored unrouted.</p>}
          </>
        )}
      </Loading>
    </>
  );
}

/** The rule's JSON as PUT takes it (the stored fields left out). */
function editable(rule: Rule): string {
  const { category, critical, channels } = rule;
  return JSON.stringify({ ...(category && { category }), critical, channels }, null, 2);
}

/** Edits one rule as JSON, with a live preview the API renders from the text being edited. */
export function RuleEditor({ eventType }: { eventType: string }) {
  const loaded = useLoad(
    () =>
      api<Rule>('GET', `/v1/rules/${segment(eventType)}`).then(
        (rule) => ({ text: editable(rule), exists: true }),
        (err: unknown) => {
          if (problemOf(err).status === 404) return { text: JSON.stringify(NEW_RULE, null, 2), exists: false };
          throw err;
        },
      ),
    [eventType],
  );
  return (
    <>
      <PageTitle>{`Rule ${eventType}`}</PageTitle>
      <p>
        <a href={link(['rules'])}>← Rules</a>
      </p>
      <Loading state={loaded}>
        {({ text, exists }) => <Editor key={eventType} eventType={eventType} initial={text} exists={exists} />}
      </Loading>
    </>
  );
}

function Editor(props: { eventType: string; initial: string; exists: boolean }) {
  const [ruleText, setRuleText] = useState(props.initial);
  const [dataText, setDataText] = useState('{\n  "orderId": "42"\n}');
  const [subscriberText, setSubscriberText] = useState(JSON.stringify(SAMPLE_SUBSCRIBER, null, 2));
  const [preview, setPreview] = useState<{ result?: Preview; error?: Problem; pending: boolean }>({ pending: true });
  const [exists, setExists] = useState(props.exists);
  const save = useAction();
  const latest = useRef(0);
  const path = `/v1/rules/${segment(props.eventType)}`;

  useEffect(() => {
    const ticket = ++latest.current;
    setPreview((p) => ({ ...p, pending: true }));
    const timer = setTimeout(() => {
      const body = parseAll({ rule: ruleText, data: dataText, subscriber: subscriberText });
      const request =
        'problem' in body
          ? Promise.reject(new ApiError(body.problem))
          : api<Preview>('POST', `${path}/preview`, body.values);
      request.then(
        (result) => ticket === latest.current && setPreview({ result, pending: false }),
        (err: unknown) => ticket === latest.current && setPreview({ error: problemOf(err), pending: false }),
      );
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [ruleText, dataText, subscriberText, path]);

  const onSave = () =>
    save.run(async () => {
      const parsed = parseAll({ rule: ruleText });
      if ('problem' in parsed) throw new ApiError(parsed.problem);
      const saved = await api<Rule & { warnings?: FieldError[] }>('PUT', path, parsed.values.rule);
      setExists(true);
      const warnings = saved.warnings?.map((w) => `${w.path} ${w.message}`).join('; ');
      return `Saved at ${new Date(saved.updatedAt).toLocaleTimeString()}${warnings ? `. Warnings: ${warnings}` : '.'}`;
    });

  return (
    <div class="editor">
      <section aria-labelledby="edit-title">
        <h2 id="edit-title">{exists ? 'Edit' : 'New rule'}</h2>
        <label class="block">
          <span>
            Rule (JSON, as <code>PUT {path}</code> takes it)
          </span>
          <textarea
            name="rule"
            rows={18}
            spellcheck={false}
            value={ruleText}
            onInput={(e) => setRuleText(e.currentTarget.value)}
          />
        </label>
        <label class="block">
          <span>
            Sample data (the template's <code>data</code>)
          </span>
          <textarea
            name="data"
            rows={5}
            spellcheck={false}
            value={dataText}
            onInput={(e) => setDataText(e.currentTarget.value)}
          />
        </label>
        <label class="block">
          <span>
            Sample subscriber (the template's <code>subscriber</code>)
          </span>
          <textarea
            name="subscriber"
            rows={6}
            spellcheck={false}
            value={subscriberText}
            onInput={(e) => setSubscriberText(e.currentTarget.value)}
          />
        </label>
        <div class="actions">
          <button type="button" class="primary" onClick={onSave} disabled={save.busy}>
            Save rule
          </button>
          {exists && (
            <ConfirmButton
              label="Delete rule"
              danger
              question={`Delete the rule for ${props.eventType}?`}
              onConfirm={() =>
                save.run(async () => {
                  await api('DELETE', path);
                  navigate(['rules']);
                  return 'Deleted.';
                })
              }
            >
              <p>Events of this type are then stored unrouted: nothing is sent for them.</p>
            </ConfirmButton>
          )}
        </div>
        <ActionResult message={save.message} error={save.error} />
      </section>
      <section aria-labelledby="preview-title" aria-busy={preview.pending}>
        <h2 id="preview-title">Preview</h2>
        <p class="muted">Rendered by Herald from the text on the left, as you type. Nothing is sent or saved.</p>
        <div aria-live="polite" class="preview">
          {preview.error && <ProblemView problem={preview.error} />}
          {!preview.error &&
            preview.result?.channels.map((c) => (
              <article key={c.channel} class="card" aria-label={`${c.channel} preview`}>
                <h3>{c.channel}</h3>
                <ContentView rendered={c} />
              </article>
            ))}
        </div>
      </section>
    </div>
  );
}

/** Each text parsed as JSON, or a problem naming the first that is not. */
function parseAll(texts: Record<string, string>): { values: Record<string, unknown> } | { problem: Problem } {
  const values: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(texts)) {
    try {
      values[name] = JSON.parse(text);
    } catch (err) {
      return {
        problem: {
          type: 'console',
          title: `The ${name} is not valid JSON`,
          status: 0,
          errors: [{ path: name, message: (err as Error).message }],
        },
      };
    }
  }
  return { values };
}
