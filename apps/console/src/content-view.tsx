import type { RulePreview as Preview } from '@herald/client';
import { Json } from './ui';

type Rendered = Preview['channels'][number];

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** What one channel's templates rendered to, laid out as the recipient would meet it. */
export function ContentView({ rendered }: { rendered: Rendered }) {
  const { channel, content } = rendered;
  switch (channel) {
    case 'email':
      return (
        <div class="content" data-channel="email">
          <p>
            <span class="label">Subject</span> <strong class="subject">{text(content.subject)}</strong>
          </p>
          {content.html !== undefined && (
            // Sandboxed without scripts: the email is shown, never run, and cannot reach the console.
            <iframe
              sandbox=""
              title={`Email: ${text(content.subject)}`}
              srcdoc={text(content.html)}
              class="email-html"
            />
          )}
          {content.text !== undefined && <pre class="text">{text(content.text)}</pre>}
        </div>
      );
    case 'sms':
      return (
        <div class="content" data-channel="sms">
          <pre class="text">{text(content.body)}</pre>
          <p class="muted">
            {rendered.segments} SMS segment{rendered.segments === 1 ? '' : 's'}
          </p>
        </div>
      );
    case 'push':
    case 'inapp':
      return (
        <div class="content" data-channel={channel}>
          <p>
            <strong class="title">{text(content.title)}</strong>
          </p>
          <p class="body">{text(content.body)}</p>
          {content.url !== undefined && <p class="muted">Link: {text(content.url)}</p>}
          {content.data !== undefined && <Json value={content.data} label="Push data" />}
        </div>
      );
    case 'webhook':
      return (
        <div class="content" data-channel="webhook">
          <Json value={content.payload} label="Webhook payload" />
        </div>
      );
  }
}
