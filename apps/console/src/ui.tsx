import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Problem } from './api';
import type { Page } from '@herald/client';

const CONSOLE = 'Herald console';

/**
 * A page's heading, also the document title (the sign-in page's heading is the console's name: said once); focused when the page opens so screen readers announce it,
 * and again when `view` changes (new filters: the link or button that led there may be gone).
 */
export function PageTitle({ children, view }: { children: string; view?: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = children === CONSOLE ? CONSOLE : `${children} · ${CONSOLE}`;
    heading.current?.focus();
  }, [children, view]);
  return (
    <h1 tabIndex={-1} ref={heading}>
      {children}
    </h1>
  );
}

export interface Loaded<T> {
  data?: T;
  error?: Problem;
  loading: boolean;
  /** Loads again, keeping what is shown until the answer arrives (no flicker when polling). */
  reload: () => void;
}

/** Data from the API for a page; loaded again when `deps` change. Answers that arrive late are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Problem; loading: boolean }>({ loading: true });
  const latest = useRef(0);
  const run = useCallback(() => {
    const ticket = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => ticket === latest.current && setState({ data, loading: false }),
      (err: unknown) => ticket === latest.current && setState((s) => ({ ...s, error: problemOf(err), loading: false })),
    );
  }, deps); // `deps` says when `load` changes
  // Something else to show (a page, a filter): what was shown goes, rather than passing for its answer.
  useEffect(() => {
    setState({ loading: true });
    run();
  }, [run]);
  return { ...state, reload: run };
}

export interface Pages<T> extends Loaded<T[]> {
  nextCursor?: string;
  /** Appends the next page. */
  more: () => void;
  /** More than the first page is shown (a reload would drop the rest). */
  extended: boolean;
}

/** A keyset-paged listing: the first page when `deps` change (and on reload), more pages on demand. */
export function usePages<T>(fetchPage: (cursor?: string) => Promise<Page<T>>, deps: unknown[]): Pages<T> {
  const [extra, setExtra] = useState<{ items: T[]; nextCursor?: string; error?: Problem } | undefined>();
  const first = useLoad(() => {
    setExtra(undefined);
    return fetchPage();
  }, deps);
  const nextCursor = extra ? extra.nextCursor : first.data?.nextCursor;
  const more = () => {
    if (!nextCursor) return;
    fetchPage(nextCursor).then(
      (page) => setExtra((e) => ({ items: [...(e?.items ?? []), ...page.items], nextCursor: page.nextCursor })),
      (err: unknown) => setExtra((e) => ({ items: e?.items ?? [], nextCursor, error: problemOf(err) })),
    );
  };
  return {
    data: first.data && [...first.data.items, ...(extra?.items ?? [])],
    error: first.error ?? extra?.error,
    loading: first.loading,
    reload: first.reload,
    nextCursor,
    more,
    extended: (extra?.items.length ?? 0) > 0,
  };
}

/**
 * Calls `tick` every `ms` while `enabled` and the tab is in view (live views). A hidden tab asks for
 * nothing; shown again after a skipped tick, it catches up at once rather than at the next one.
 */
export function useInterval(tick: () => void, ms: number, enabled = true): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!enabled) return;
    let missed = false;
    const timer = setInterval(() => {
      if (document.visibilityState === 'hidden') missed = true;
      else saved.current();
    }, ms);
    const shown = () => {
      if (!missed || document.visibilityState === 'hidden') return;
      missed = false;
      saved.current();
    };
    document.addEventListener('visibilitychange', shown);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', shown);
    };
  }, [ms, enabled]);
}

/** An operator action's outcome: a message when it worked, the problem when it did not. */
export function useAction() {
  const [result, setResult] = useState<{ message?: string; error?: Problem; busy: boolean }>({ busy: false });
  const run = async (action: () => Promise<string>) => {
    setResult({ busy: true });
    try {
      setResult({ message: await action(), busy: false });
    } catch (err) {
      setResult({ error: problemOf(err), busy: false });
    }
  };
  return { ...result, run };
}

export function ActionResult({ message, error }: { message?: string; error?: Problem }) {
  const box = useRef<HTMLDivElement>(null);
  // An action often removes the button that ran it (a replayed or lifted row leaves the list): focus
  // comes here, to what happened, rather than falling back to the top of the page.
  useEffect(() => {
    if (message || error) box.current?.focus();
  }, [message, error]);
  return (
    <div ref={box} tabIndex={-1} class="action-result">
      {error ? (
        <ProblemView problem={error} />
      ) : (
        <p role="status" class="notice" hidden={!message}>
          {message}
        </p>
      )}
    </div>
  );
}

export function problemOf(err: unknown): Problem {
  if (err instanceof ApiError) return err.problem;
  return { type: 'console', title: 'Something went wrong in the console', status: 0, detail: String(err) };
}

/** An API problem as the operator reads it: what, why, and which fields. */
export function ProblemView({ problem }: { problem: Problem }) {
  return (
    <div role="alert" class="problem">
      <strong>{problem.title}</strong>
      {problem.status > 0 && <span class="muted"> ({problem.status})</span>}
      {problem.detail && <p>{problem.detail}</p>}
      {problem.errors && (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
      {problem.requestId && <p class="muted">Request id {problem.requestId}</p>}
    </div>
  );
}

/** Loading, the problem, or the content. */
export function Loading<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.data !== undefined) {
    return (
      <>
        {state.error && <ProblemView problem={state.error} />}
        {children(state.data)}
      </>
    );
  }
  if (state.error) return <ProblemView problem={state.error} />;
  return <p aria-busy="true">Loading…</p>;
}

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value.replace('_', ' ')}</span>;
}

export function Time({ value }: { value?: string }) {
  if (!value) return <span class="muted">—</span>;
  return (
    <time dateTime={value} title={value}>
      {new Date(value).toLocaleString()}
    </time>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * A button whose action needs a second thought: it opens a modal dialog (Escape or Cancel leaves it,
 * focus starts on Cancel) and runs `onConfirm` only when confirmed.
 */
export function ConfirmButton(props: {
  label: string;
  /** the dialog's question, e.g. "Replay this delivery?" */
  question: string;
  confirmLabel?: string;
  danger?: boolean;
  disabled?: boolean;
  /** what the button is for, for screen readers, when the label alone is ambiguous in a list */
  describe?: string;
  children?: ComponentChildren;
  onConfirm: () => void | Promise<void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useRef(`confirm-${Math.random().toString(36).slice(2)}`).current;
  const confirm = () => {
    dialog.current?.close();
    void props.onConfirm();
  };
  return (
    <>
      <button
        type="button"
        class={props.danger ? 'danger' : undefined}
        disabled={props.disabled}
        aria-label={props.describe}
        onClick={() => dialog.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={`${id}-title`} class="confirm">
        <h2 id={`${id}-title`}>{props.question}</h2>
        {props.children}
        <div class="actions">
          <button type="button" autoFocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={confirm}>
            {props.confirmLabel ?? props.label}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A "more" button for keyset-paged lists. */
export function MoreButton({ pages }: { pages: Pages<unknown> }) {
  if (!pages.nextCursor) return null;
  return (
    <p>
      <button type="button" onClick={pages.more}>
        Load more
      </button>
    </p>
  );
}

/** A select's options, the current one selected (a `<select>` has no `defaultValue` in the DOM, unlike React). */
export function Options({
  options,
  current,
}: {
  options: (string | [value: string, label: string])[];
  current: string;
}) {
  return (
    <>
      {options.map((option) => {
        const [value, label] = typeof option === 'string' ? [option, option] : option;
        return (
          <option key={value} value={value} selected={value === current}>
            {label}
          </option>
        );
      })}
    </>
  );
}
