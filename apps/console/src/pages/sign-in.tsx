import { useState } from 'preact/hooks';
import { adminKey, api, type Problem } from '../api';
import { PageTitle, ProblemView, problemOf } from '../ui';

/** Asks for an admin key and checks it against the API before keeping it for this tab. */
export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: () => void }) {
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const key = String(new FormData(e.currentTarget as HTMLFormElement).get('key') ?? '').trim();
    setBusy(true);
    adminKey.set(key);
    try {
      // Any admin-only read tells an admin key from an ingest key (403) or a wrong one (401).
      await api('GET', '/v1/settings');
      onSignedIn();
    } catch (err) {
      adminKey.clear();
      setProblem(problemOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <PageTitle>Herald console</PageTitle>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={submit}>
        <label class="block">
          Admin key
          <input
            name="key"
            type="password"
            required
            autoComplete="off"
            spellcheck={false}
            placeholder="hk_admin_…"
            aria-describedby="key-help"
          />
        </label>
        <p id="key-help" class="muted">
          An admin key of your tenant. It is kept in this tab only (session storage) and sent only to this Herald.
        </p>
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      {problem && <ProblemView problem={problem} />}
    </main>
  );
}
