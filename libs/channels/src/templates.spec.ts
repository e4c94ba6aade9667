import { TemplateError, compileTemplate, renderTemplate } from './templates';

const context = {
  data: { order: { id: 42 }, items: ['a', 'b'] },
  subscriber: { subscriberId: 'alice' },
  event: { type: 'x' },
};

describe('templates', () => {
  it('renders every string part with data, subscriber and event', async () => {
    const out = await renderTemplate(
      {
        title: 'Order {{ data.order.id }}',
        body: 'Hi {{ subscriber.subscriberId }}: {{ data.items | join: ", " }}',
        data: { t: '{{ event.type }}' },
      },
      context,
    );
    expect(out).toEqual({ title: 'Order 42', body: 'Hi alice: a, b', data: { t: 'x' } });
  });

  it('refuses a broken template and names the part', () => {
    expect(() => compileTemplate({ title: 'ok', body: '{% if data.x %}never closed' })).toThrow(TemplateError);
    try {
      compileTemplate({ title: 'ok', data: { k: '{{ data.x | nosuchfilter }}' } });
      throw new Error('expected a TemplateError');
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).part).toBe('data.k');
    }
  });

  it('renders a missing variable as empty rather than failing the delivery', async () => {
    expect(await renderTemplate({ body: 'x{{ data.nothing.here }}y' }, context)).toEqual({ body: 'xy' });
  });
});
