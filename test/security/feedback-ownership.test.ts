import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateWebhookSecret, signWebhook } from '@herald/channels';
import { SendgridSigner, SnsSigner } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Answer } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const DUPLICATE = 'ignored: duplicate of a message already applied';
const NOT_THE_RECIPIENT = "ignored: the address is not the delivery's recipient";

/**
 * Email feedback acts only when it comes from where Herald's mail goes out (SES: the SNS topics in
 * SES_SNS_TOPIC_ARNS), only once per provider message, and only on the address the delivery was sent
 * to: anyone can sign SNS messages on a topic of their own, and every Message-ID carries a delivery id.
 */
describe('email feedback: from our topics, once, about the delivery’s own recipient', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let certDir: string;
  let n = 0;
  const sns = SnsSigner.create('eu-west-1');
  const sendgrid = new SendgridSigner();
  const genericSecret = generateWebhookSecret();
  const foreignTopic = 'arn:aws:sns:eu-west-1:999999999999:herald-ses-feedback';
  const anyone = () => client(herald.url);

  beforeAll(async () => {
    certDir = await mkdtemp(path.join(os.tmpdir(), 'herald-sns-'));
    await writeFile(path.join(certDir, 'sns.pem'), sns.certificatePem);
    isolated = await isolatedEnv('feedback-ownership');
    herald = await startHerald({
      env: {
        ...isolated.env,
        SNS_TRUSTED_CERT_URL: sns.certUrl,
        SNS_TRUSTED_CERT_FILE: path.join(certDir, 'sns.pem'),
        SES_SNS_TOPIC_ARNS: `arn:aws:sns:us-east-1:123456789012:other, ${sns.topicArn}`,
        SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey,
        FEEDBACK_WEBHOOK_SECRET: genericSecret,
      },
      roles: ['relay', 'fanout', 'email'],
    });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/mail', {
      channels: [{ channel: 'email', template: { subject: 'Hello', text: 'Hi' } }],
    });
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    await rm(certDir, { recursive: true, force: true });
  });

  /** An email Herald really sent to `email`, with the headers SES echoes back about it. */
  async function deliverEmail(email: string) {
    const event = await tenant.ingest('POST', '/v1/events', { type: 'mail', to: { subscriberId: `s${++n}`, email } });
    const sent = (await waitForDeliveries(tenant.ingest, event.body.id, 'sent', 60_000)).deliveries[0];
    return { ...sent, headers: [{ name: 'X-Herald-Delivery-Id', value: sent.id }] } as {
      id: string;
      providerMessageId: string;
      headers: { name: string; value: string }[];
    };
  }

  const postSes = (message: object) =>
    anyone()('POST', '/v1/feedback/email/ses', JSON.stringify(message), { 'content-type': 'text/plain' });
  const postSendgrid = (events: object[]) => {
    const body = JSON.stringify(events);
    return anyone()('POST', '/v1/feedback/email/sendgrid', body, sendgrid.sign(body).headers);
  };
  const postGeneric = (payload: object, id = `msg_${++n}`) => {
    const body = JSON.stringify(payload);
    const headers = signWebhook({ id, timestamp: Math.floor(Date.now() / 1000), payload: body, secret: genericSecret });
    return anyone()('POST', '/v1/feedback/email', body, { ...headers });
  };

  async function suppressionsOf(address: string) {
    const answer = await tenant.admin('GET', `/v1/suppressions?channel=email&address=${encodeURIComponent(address)}`);
    return answer.body.items as { id: string; reason: string; address: string }[];
  }
  const deliveryOf = async (id: string) => (await tenant.ingest('GET', `/v1/deliveries/${id}`)).body;

  function expectProblem(answer: Answer, status: number) {
    expect([answer.status, answer.headers.get('content-type')?.split(';')[0]]).toEqual([
      status,
      'application/problem+json',
    ]);
  }

  it('refuses validly signed SNS messages from a topic not in SES_SNS_TOPIC_ARNS, and records nothing', async () => {
    const sent = await deliverEmail('alice@example.com');
    const foreign = {
      bounce: sns.sesBounce(['alice@example.com'], { headers: sent.headers, topicArn: foreignTopic }),
      complaint: sns.sesComplaint(['alice@example.com'], { headers: sent.headers, topicArn: foreignTopic }),
      confirmation: sns.sign({
        Type: 'SubscriptionConfirmation',
        MessageId: `c-${++n}`,
        Token: 'token',
        TopicArn: foreignTopic,
        Message: 'You have chosen to subscribe',
        SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=token',
        Timestamp: new Date().toISOString(),
      }),
    };
    for (const [what, message] of Object.entries(foreign)) {
      const answer = await postSes(message);
      expectProblem(answer, 403);
      expect([what, answer.body.detail]).toEqual([what, expect.stringContaining('SES_SNS_TOPIC_ARNS')]);
    }
    expect(await suppressionsOf('alice@example.com')).toEqual([]);
    expect(await deliveryOf(sent.id)).toMatchObject({ status: 'sent', feedback: [] });

    // The same bounce from the allowed topic acts, so the refusals above were the topic's.
    const ours = await postSes(sns.sesBounce(['alice@example.com'], { headers: sent.headers }));
    expect(ours.body).toEqual({ received: 1, outcomes: ['suppressed; delivery failed'] });
  });

  it('refuses every SES message while SES_SNS_TOPIC_ARNS is unset (404 feedback-not-configured)', async () => {
    const unconfigured = await startHerald({
      env: { ...isolated.env, SNS_TRUSTED_CERT_URL: sns.certUrl, SNS_TRUSTED_CERT_FILE: path.join(certDir, 'sns.pem') },
      roles: [],
    });
    try {
      const sent = await deliverEmail('unset@example.com');
      const answer = await client(unconfigured.url)(
        'POST',
        '/v1/feedback/email/ses',
        JSON.stringify(sns.sesBounce(['unset@example.com'], { headers: sent.headers })),
        { 'content-type': 'text/plain' },
      );
      expectProblem(answer, 404);
      expect(answer.body).toMatchObject({
        type: '/problems/feedback-not-configured',
        detail: expect.stringContaining('SES_SNS_TOPIC_ARNS'),
      });
      expect(await suppressionsOf('unset@example.com')).toEqual([]);
    } finally {
      await unconfigured.close();
    }
  });

  it('applies an SNS MessageId once: a retry (even concurrent copies) answers 200 "duplicate" and changes nothing', async () => {
    const sent = await deliverEmail('bob@example.com');
    const bounce = sns.sesBounce(['bob@example.com'], { headers: sent.headers });
    expect((await postSes(bounce)).body.outcomes).toEqual(['suppressed; delivery failed']);
    // The tenant lifts the suppression; SNS retrying the old bounce must not put it back.
    const [suppression] = await suppressionsOf('bob@example.com');
    expect((await tenant.admin('DELETE', `/v1/suppressions/${suppression!.id}`)).status).toBe(204);
    const retry = await postSes(bounce);
    expect([retry.status, retry.body]).toEqual([200, { received: 1, outcomes: [DUPLICATE] }]);
    expect(await suppressionsOf('bob@example.com')).toEqual([]);
    expect((await deliveryOf(sent.id)).feedback).toHaveLength(1);

    // Copies arriving together: one acts, the others are duplicates, one row is kept.
    const other = await deliverEmail('bob2@example.com');
    const complaint = sns.sesComplaint(['bob2@example.com'], { headers: other.headers });
    const answers = await Promise.all(Array.from({ length: 6 }, () => postSes(complaint)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(answers.flatMap((a) => a.body.outcomes).sort()).toEqual([...Array(5).fill(DUPLICATE), 'suppressed'].sort());
    expect((await deliveryOf(other.id)).feedback).toHaveLength(1);

    // A subscription confirmation too, and SendGrid events by their sg_event_id.
    const confirmation = sns.sign({
      Type: 'SubscriptionConfirmation',
      MessageId: `c-${++n}`,
      Token: 'token',
      TopicArn: sns.topicArn,
      Message: 'You have chosen to subscribe',
      SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=token',
      Timestamp: new Date().toISOString(),
    });
    expect((await postSes(confirmation)).body.outcomes).toEqual(['subscription pending: open SubscribeURL to confirm']);
    expect((await postSes(confirmation)).body.outcomes).toEqual([DUPLICATE]);
    const carol = await deliverEmail('carol@example.com');
    const events = [
      { email: 'carol@example.com', event: 'spamreport', sg_event_id: `ev-${++n}`, herald_delivery_id: carol.id },
    ];
    expect((await postSendgrid(events)).body.outcomes).toEqual(['suppressed']);
    const [carolSuppression] = await suppressionsOf('carol@example.com');
    expect((await tenant.admin('DELETE', `/v1/suppressions/${carolSuppression!.id}`)).status).toBe(204);
    expect((await postSendgrid(events)).body.outcomes).toEqual([DUPLICATE]);
    expect(await suppressionsOf('carol@example.com')).toEqual([]);
  });

  it("acts only on the delivery's own recipient: another address named beside its id changes nothing", async () => {
    const victim = 'victim@example.com';
    const sent = await deliverEmail('Dave@Example.com');

    // SES, SendGrid and the generic form, each naming the victim with Dave's delivery id.
    const attempts: [string, Answer][] = [
      ['ses bounce', await postSes(sns.sesBounce([victim], { headers: sent.headers }))],
      ['ses complaint', await postSes(sns.sesComplaint([victim], { headers: sent.headers }))],
      ['ses delivery', await postSes(sns.sesDelivery([victim], { headers: sent.headers }))],
      [
        'sendgrid bounce',
        await postSendgrid([{ email: victim, event: 'bounce', type: 'bounce', herald_delivery_id: sent.id }]),
      ],
      ['generic complaint', await postGeneric({ type: 'complaint', email: victim, messageId: sent.providerMessageId })],
    ];
    for (const [what, answer] of attempts) {
      expect([what, answer.status, answer.body.outcomes]).toEqual([what, 200, [NOT_THE_RECIPIENT]]);
    }
    expect(await suppressionsOf(victim)).toEqual([]);
    const untouched = await deliveryOf(sent.id);
    expect(untouched.status).toBe('sent');
    // Kept for the record, with the reason it was ignored, and no suppression.
    expect(untouched.feedback).toHaveLength(attempts.length);
    for (const row of untouched.feedback) {
      expect(row).toMatchObject({ address: victim, outcome: NOT_THE_RECIPIENT });
      expect(row.suppression).toBeUndefined();
    }

    // One notification naming both: only Dave's part acts. The address SES reports may differ in case.
    const both = await postSes(sns.sesBounce([victim, 'dave@example.com'], { headers: sent.headers }));
    expect(both.body.outcomes).toEqual([NOT_THE_RECIPIENT, 'suppressed; delivery failed']);
    expect(await suppressionsOf(victim)).toEqual([]);
    expect(await suppressionsOf('Dave@example.com')).toEqual([
      expect.objectContaining({ address: 'Dave@example.com', reason: 'hard_bounce' }),
    ]);
    expect(await deliveryOf(sent.id)).toMatchObject({ status: 'failed' });

    // SendGrid and the generic form still act on their delivery's own recipient.
    const erin = await deliverEmail('erin@example.com');
    const sg = await postSendgrid([
      { email: 'erin@example.com', event: 'bounce', type: 'bounce', herald_delivery_id: erin.id },
    ]);
    expect(sg.body.outcomes).toEqual(['suppressed; delivery failed']);
    const frank = await deliverEmail('frank@example.com');
    const generic = await postGeneric({
      type: 'complaint',
      email: 'frank@example.com',
      messageId: frank.providerMessageId,
    });
    expect(generic.body.outcomes).toEqual(['suppressed']);
    expect([
      (await suppressionsOf('erin@example.com')).length,
      (await suppressionsOf('frank@example.com')).length,
    ]).toEqual([1, 1]);
  });
});
