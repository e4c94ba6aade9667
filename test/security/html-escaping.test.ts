import { SandboxHub } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

/** What an attacker puts in event data, hoping it reaches an inbox as a working link. */
const LINK = '<a href="https://evil.example/login">Reset</a>';
const ESCAPED = '&lt;a href=&#34;https://evil.example/login&#34;&gt;Reset&lt;/a&gt;';

const rules = {
  // No text part: the text part is derived from the html one.
  'account.reset': {
    channels: [
      {
        channel: 'email',
        template: {
          subject: 'Reset for {{ data.name }}',
          html: '<p>Hello {{ data.name }}</p><p>{{ data.footer | raw }}</p>',
        },
      },
    ],
  },
  'account.notice': {
    channels: [
      {
        channel: 'email',
        template: { subject: 'Notice', html: '<p>Hello {{ data.name }}</p>', text: 'Hello {{ data.name }}' },
      },
    ],
  },
  'comment.digest': {
    channels: [
      {
        channel: 'email',
        digest: { windowSeconds: 1 },
        template: {
          subject: '{{ count }} comments',
          html: '<ul>{% for e in events %}<li>{{ e.name }}</li>{% endfor %}</ul>',
        },
      },
    ],
  },
};

/**
 * Event data is the sender's, and may come from anyone (a sign-up form's name field): in the html
 * part of an email it is escaped, unless the template says `| raw`; subjects and text parts are not
 * HTML and stay as written. The rule preview shows exactly what is sent (issue 17, defect 7).
 */
describe('email html escapes what templates output', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let sandboxes: SandboxHub;

  beforeAll(async () => {
    isolated = await isolatedEnv('html-escaping');
    herald = await startHerald({ env: isolated.env, roles: ['relay', 'fanout', 'email', 'housekeeping'] });
    tenant = await createTenant(herald.url);
    sandboxes = herald.app.get(SandboxHub);
    for (const [type, rule] of Object.entries(rules)) {
      expect((await tenant.admin('PUT', `/v1/rules/${type}`, rule)).status).toBe(200);
    }
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  /** The message the SMTP sandbox received for `to`, as parsed from the wire. */
  const received = (to: string) =>
    eventually(
      async () => sandboxes.recorder.list({ channel: 'email', to }).find((r) => r.outcome === 'accepted')?.detail,
      30_000,
      `an email to ${to}`,
    ) as Promise<{ subject: string; html: string; text: string }>;

  async function send(type: string, to: string, data: Record<string, unknown>): Promise<void> {
    const answer = await tenant.ingest('POST', '/v1/events', { type, to: { subscriberId: to, email: to }, data });
    expect(answer.status).toBe(202);
    await waitForDeliveries(tenant.ingest, answer.body.id, 'sent');
  }

  const preview = async (type: string, data: unknown) => {
    const answer = await tenant.admin('POST', `/v1/rules/${type}/preview`, { data });
    expect(answer.status).toBe(200);
    return answer.body.channels[0].content as { subject: string; html: string; text?: string };
  };

  it('sends data in the html part escaped, `| raw` as written, the subject and derived text as written', async () => {
    const data = { name: LINK, footer: '<b>ACME</b>' };
    await send('account.reset', 'ann@example.com', data);
    const email = await received('ann@example.com');
    expect(email.html).toBe(`<p>Hello ${ESCAPED}</p><p><b>ACME</b></p>`);
    expect(email.html).not.toContain('href="https://evil.example');
    expect(email.subject).toBe(`Reset for ${LINK}`);
    // html-to-text reads the escaped html back into the characters the sender wrote, with no entities left.
    expect(email.text).toContain(`Hello ${LINK}`);
    expect(email.text).not.toContain('&lt;');

    const shown = await preview('account.reset', data);
    expect(shown).toEqual({ subject: email.subject, html: email.html });
  });

  it('leaves an explicit text part as written', async () => {
    await send('account.notice', 'ben@example.com', { name: LINK });
    const email = await received('ben@example.com');
    expect(email.html).toBe(`<p>Hello ${ESCAPED}</p>`);
    expect(email.text.trim()).toBe(`Hello ${LINK}`);
    expect(await preview('account.notice', { name: LINK })).toEqual({
      subject: 'Notice',
      html: email.html,
      text: `Hello ${LINK}`,
    });
  });

  it("escapes a digest's items in its html", async () => {
    const to = 'cat@example.com';
    const events = [{ name: LINK }, { name: 'Tom & Jerry' }].map((data) => ({
      type: 'comment.digest',
      to: { subscriberId: to, email: to },
      data,
    }));
    expect((await tenant.ingest('POST', '/v1/events/batch', { events })).status).toBe(207);
    const email = await received(to);
    expect(email.subject).toBe('2 comments');
    // Events of one batch share their time, so the digest may list them in either order.
    const items = /^<ul>(.*)<\/ul>$/.exec(email.html)![1].split(/(?=<li>)/);
    expect(items.sort()).toEqual([`<li>${ESCAPED}</li>`, '<li>Tom &amp; Jerry</li>']);
    expect((await preview('comment.digest', { name: LINK })).html).toBe(`<ul><li>${ESCAPED}</li></ul>`);
  });
});
