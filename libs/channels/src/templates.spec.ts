import { TemplateError, compileTemplate, localizedTemplate, renderTemplate } from './templates';

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

  it('stops a template that would loop or allocate without end, naming the part', async () => {
    const endless = renderTemplate({ body: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' }, context);
    await expect(endless).rejects.toMatchObject({ part: 'body' });
    const doubling =
      '{% assign s = "xx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s.size }}';
    await expect(renderTemplate({ title: doubling }, context)).rejects.toBeInstanceOf(TemplateError);
  });
});

describe('localizedTemplate', () => {
  const template = {
    subject: 'Your order shipped',
    html: '<p>{{ data.n }}</p>',
    locales: { fr: { subject: 'Votre commande est partie' }, 'pt-BR': { subject: 'Seu pedido foi enviado' } },
  };

  it('lays the best-matching variant over the defaults: exact tag, then language, then none', () => {
    expect(localizedTemplate(template, 'pt-BR')).toEqual({
      subject: 'Seu pedido foi enviado',
      html: '<p>{{ data.n }}</p>',
    });
    expect(localizedTemplate(template, 'fr-CA')).toEqual({
      subject: 'Votre commande est partie',
      html: '<p>{{ data.n }}</p>',
    });
    expect(localizedTemplate(template, 'de')).toEqual({ subject: 'Your order shipped', html: '<p>{{ data.n }}</p>' });
    expect(localizedTemplate(template, null)).toEqual({ subject: 'Your order shipped', html: '<p>{{ data.n }}</p>' });
  });
});
