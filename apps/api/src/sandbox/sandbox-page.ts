import type { SandboxRecord } from '@herald/sandbox';
import { actionsFor } from './sandbox-feedback';

const escape = (value: unknown): string =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const LABELS: Record<SandboxRecord['channel'], string> = {
  email: 'Email',
  sms: 'SMS',
  push: 'Push',
  webhook: 'Webhook',
};

/** The /sandbox page: everything the sandboxes received, newest first. Self-contained (no external assets). */
export function renderSandboxPage(records: SandboxRecord[], channels: string[], done?: string): string {
  const rows = records.map(renderRecord).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>Herald sandbox</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1b1b1f; }
  h1 { font-size: 1.5rem; } .muted { color: #5c5c66; }
  article { border: 1px solid #d7d7de; border-radius: 8px; padding: .75rem 1rem; margin: .75rem 0; }
  article header { display: flex; gap: .75rem; align-items: baseline; flex-wrap: wrap; }
  .channel { font-weight: 600; text-transform: uppercase; font-size: .8rem; letter-spacing: .04em; }
  .rejected { border-color: #c9372c; } .rejected .outcome { color: #c9372c; font-weight: 600; }
  iframe { width: 100%; min-height: 12rem; border: 1px solid #eee; background: #fff; }
  pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f8; padding: .5rem; border-radius: 4px; }
  form.feedback { display: inline; } form.feedback button { font: inherit; font-size: .85rem; margin-right: .25rem; }
  .done { background: #eef6f0; border-left: 4px solid #1f7a3d; padding: .5rem .75rem; }
</style>
</head>
<body>
<h1>Herald sandbox</h1>
<p class="muted">What Herald sent through its sandbox providers (${escape(channels.join(', ') || 'none running')}), newest first. Refreshes every 5 s.</p>
${done ? `<p class="done" role="status">${escape(done)}</p>` : ''}
<main aria-live="polite">
${rows || '<p id="empty">Nothing sent yet. Send an event with a rule for email, SMS, push or webhook.</p>'}
</main>
</body>
</html>`;
}

function renderRecord(r: SandboxRecord): string {
  const error = r.error ? ` — ${escape(r.error.code)} ${escape(r.error.message)}` : '';
  return `<article class="record ${r.outcome}" data-channel="${r.channel}">
  <header><span class="channel">${LABELS[r.channel]}</span><strong class="to">${escape(r.to)}</strong>
  <span class="outcome">${r.outcome}${error}</span><time class="muted" datetime="${r.at.toISOString()}">${r.at.toISOString()}</time></header>
  <p class="summary">${escape(r.summary)}</p>
  ${renderActions(r)}
  ${renderDetail(r)}
</article>`;
}

/** Buttons that play a provider's feedback for this message through Herald's real feedback routes. */
function renderActions(r: SandboxRecord): string {
  const buttons = actionsFor(r).map(
    ([action, label]) =>
      `<form class="feedback" method="post" action="/sandbox/records/${escape(r.id)}/feedback"><button name="action" value="${action}">${escape(label)}</button></form>`,
  );
  return buttons.length ? `<p class="actions">${buttons.join('')}</p>` : '';
}

function renderDetail(r: SandboxRecord): string {
  const detail = r.detail as Record<string, unknown>;
  if (r.channel === 'email' && typeof detail.html === 'string') {
    // The email as a mail client would show it, isolated from this page.
    return `<iframe title="Email to ${escape(r.to)}: ${escape(r.summary)}" sandbox srcdoc="${escape(detail.html)}"></iframe>`;
  }
  return `<pre>${escape(JSON.stringify(detail, null, 2))}</pre>`;
}
