import { renderChannelTemplate, renderContext, webhookBody } from './delivery-content';
import { TemplateError } from './templates';

const event = {
  id: 'e1',
  type: 'order.shipped',
  createdAt: new Date('2026-12-01T09:30:00Z'),
  data: { orderId: '42' },
};

describe('renderContext', () => {
  it("gives templates the event's data, the event and the subscriber, with unset columns left out", () => {
    const subscriber = { subscriberId: 'ann', email: 'ann@example.com', phone: null, locale: 'fr', data: null };
    expect(renderContext(event, subscriber)).toEqual({
      data: { orderId: '42' },
      event: { id: 'e1', type: 'order.shipped', createdAt: event.createdAt },
      subscriber: { subscriberId: 'ann', email: 'ann@example.com', locale: 'fr', data: {} },
    });
  });

  it('has an empty subscriber for a webhook endpoint', () => {
    expect(renderContext(event, null).subscriber).toEqual({});
  });
});

describe('webhookBody', () => {
  it('is the event envelope without a payload template', () => {
    expect(webhookBody(event, undefined)).toEqual({
      id: 'e1',
      type: 'order.shipped',
      timestamp: '2026-12-01T09:30:00.000Z',
      data: { orderId: '42' },
    });
  });

  it('is the rendered payload, which must be JSON', () => {
    expect(webhookBody(event, '{"order": "42"}')).toEqual({ order: '42' });
    expect(() => webhookBody(event, '{"order": 42')).toThrow(TemplateError);
    expect(() => webhookBody(event, 'not json')).toThrow(expect.objectContaining({ part: 'payload' }));
  });
});

describe('renderChannelTemplate', () => {
  const context = { data: { name: '<i>x</i>' }, subscriber: {}, event: {} };

  it("escapes an email's html part and nothing else, on any channel", async () => {
    const email = await renderChannelTemplate(
      'email',
      { subject: '{{ data.name }}', html: '<p>{{ data.name }}</p>', text: '{{ data.name }}' },
      context,
    );
    expect(email).toEqual({ subject: '<i>x</i>', html: '<p>&lt;i&gt;x&lt;/i&gt;</p>', text: '<i>x</i>' });
    const inapp = await renderChannelTemplate('inapp', { title: '{{ data.name }}', body: '{{ data.name }}' }, context);
    expect(inapp).toEqual({ title: '<i>x</i>', body: '<i>x</i>' });
    const push = await renderChannelTemplate(
      'push',
      { title: 't', body: 'b', data: { html: '{{ data.name }}' } },
      context,
    );
    expect(push.data).toEqual({ html: '<i>x</i>' });
  });
});
