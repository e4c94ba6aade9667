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

describe('output escaping per format', () => {
  const link = '<a href="https://evil.example/login">Reset</a>';
  const ctx = { data: { name: link, lines: 'one & two\n<b>three</b>' }, subscriber: {}, event: {} };

  it('escapes the outputs of an html part only; `| raw` opts out', async () => {
    const template = {
      subject: 'Hi {{ data.name }}',
      html: '<p>Hi {{ data.name }}</p><div>{{ data.name | raw }}</div>',
      text: 'Hi {{ data.name }}',
    };
    const out = await renderTemplate(template, ctx, { html: 'html' });
    expect(out.html).toBe(
      '<p>Hi &lt;a href=&#34;https://evil.example/login&#34;&gt;Reset&lt;/a&gt;</p>' + `<div>${link}</div>`,
    );
    expect(out.subject).toBe(`Hi ${link}`);
    expect(out.text).toBe(`Hi ${link}`);
    // The same source as a text part, after the html one was parsed: each format keeps its own parse.
    expect(await renderTemplate({ html: template.html }, ctx)).toEqual({ html: `<p>Hi ${link}</p><div>${link}</div>` });
  });

  it('does not escape twice what a template already escapes, and keeps newline_to_br markup', async () => {
    const out = await renderTemplate(
      {
        html: '{{ data.name | escape }}|{{ data.name | escape_once }}|{{ data.lines | newline_to_br }}|{{ data.lines | escape | newline_to_br }}',
      },
      ctx,
      { html: 'html' },
    );
    const escaped = '&lt;a href=&#34;https://evil.example/login&#34;&gt;Reset&lt;/a&gt;';
    const lines = 'one &amp; two<br />\n&lt;b&gt;three&lt;/b&gt;';
    expect(out.html).toBe(`${escaped}|${escaped}|${lines}|${lines}`);
  });

  it("escapes a digest's items in an html part", async () => {
    const out = await renderTemplate(
      { html: '<ul>{% for e in events %}<li>{{ e.name }}</li>{% endfor %}</ul> ({{ count }})' },
      { ...ctx, events: [{ name: '<script>x</script>' }, { name: 'Tom & Jerry' }], count: 2 } as never,
      { html: 'html' },
    );
    expect(out.html).toBe('<ul><li>&lt;script&gt;x&lt;/script&gt;</li><li>Tom &amp; Jerry</li></ul> (2)');
  });

  it('keeps the render limits on the html engine', async () => {
    const endless = renderTemplate({ html: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' }, ctx, { html: 'html' });
    await expect(endless).rejects.toMatchObject({ part: 'html' });
    const doubling =
      '{% assign s = "xx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s.size }}';
    await expect(renderTemplate({ html: doubling }, ctx, { html: 'html' })).rejects.toBeInstanceOf(TemplateError);
  });
});
