import { Liquid, filters, type FilterImplOptions, type LiquidOptions, type Template } from 'liquidjs';

// Liquid templates for every channel. Parsing happens when a rule is saved (so a broken template
// is a 422 there, never a failed delivery later) and parsed templates are cached by source text.

/**
 * What a template part renders to, and so how each `{{ }}` output is escaped for it (DECISIONS #12):
 * `text` as it is (subjects, SMS, push, in-app, webhook payloads); `html` HTML-escaped, so data can
 * never add markup to an email. `{{ x | raw }}` opts out. A new target (Slack mrkdwn, Telegram HTML,
 * Adaptive Card JSON) is a new entry in FORMATS, named for its parts in delivery-content.ts.
 */
export type OutputFormat = 'text' | 'html';

/** The output format of a template's top-level parts, by part name; parts not named are `text`. */
export type PartFormats = Readonly<Record<string, OutputFormat>>;

// Shared by every format's engine. Templates are tenants' own code running in shared processes (a worker
// sending, the api previewing): a `for` over a hundred million items or a string doubled in a loop must
// fail that one render, not stall every tenant. No real notification comes near these.
const COMMON: LiquidOptions = {
  strictFilters: true,
  cache: 1000,
  ownPropertyOnly: true,
  parseLimit: 1_000_000,
  renderLimit: 250,
  memoryLimit: 10_000_000,
};

/** A liquidjs filter function (its `this` gives the render's context and limits). */
type Handler = Extract<FilterImplOptions, (...args: never[]) => unknown>;
const builtin = (name: 'escape' | 'escape_once' | 'xml_escape' | 'newline_to_br') => filters[name] as Handler;

/** What makes each format: how outputs are escaped, and filters that behave differently for it. */
const FORMATS: Record<OutputFormat, { outputEscape?: 'escape'; filters?: Record<string, FilterImplOptions> }> = {
  text: {},
  html: {
    outputEscape: 'escape',
    filters: {
      // Their output is already HTML, so it counts as `raw` and is not escaped twice: templates written
      // before escaping was on (`{{ x | escape }}`) render as they did.
      escape: { handler: builtin('escape'), raw: true },
      escape_once: { handler: builtin('escape_once'), raw: true },
      xml_escape: { handler: builtin('xml_escape'), raw: true },
      // Its `<br />` is markup, so the text around it is escaped here instead (once: `x | escape | newline_to_br`).
      newline_to_br: {
        raw: true,
        handler(value) {
          return builtin('newline_to_br').call(this, builtin('escape_once').call(this, value));
        },
      },
    },
  },
};

/** A format's engine. Escaping is fixed when a template is parsed (liquidjs appends it to each output). */
function createEngine(format: OutputFormat): Liquid {
  const { outputEscape, filters: own = {} } = FORMATS[format];
  const engine = new Liquid({ ...COMMON, outputEscape });
  for (const [name, impl] of Object.entries(own)) engine.registerFilter(name, impl);
  return engine;
}

const engines: Record<OutputFormat, Liquid> = { text: createEngine('text'), html: createEngine('html') };
const parsed = new Map<string, Template[]>();
const MAX_CACHED = 5000;

export class TemplateError extends Error {
  constructor(
    readonly part: string,
    message: string,
  ) {
    super(message);
  }
}

function parse(part: string, source: string, format: OutputFormat = 'text'): Template[] {
  const key = `${format}:${source}`;
  const hit = parsed.get(key);
  if (hit) return hit;
  let templates: Template[];
  try {
    templates = engines[format].parse(source);
  } catch (err) {
    throw new TemplateError(part, (err as Error).message.split('\n')[0]);
  }
  if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value!);
  parsed.set(key, templates);
  return templates;
}

/** Every string part of a template, with its path ("title", "data.key"), checked for Liquid syntax. */
export function compileTemplate(template: Record<string, unknown>): void {
  for (const [part, source] of stringParts(template)) parse(part, source);
}

/**
 * The parts to render for a subscriber's locale: the rule's variant for the exact tag ("fr-CA"),
 * else for its language ("fr"), laid over the default parts; the defaults alone when none match.
 */
export function localizedTemplate(template: Record<string, unknown>, locale?: string | null): Record<string, unknown> {
  const { locales, ...defaults } = template as { locales?: Record<string, Record<string, unknown>> };
  if (!locales || !locale) return defaults;
  const byTag = new Map(Object.entries(locales).map(([tag, parts]) => [tag.toLowerCase(), parts]));
  const variant = byTag.get(locale.toLowerCase()) ?? byTag.get(locale.split('-')[0].toLowerCase());
  return variant ? { ...defaults, ...variant } : defaults;
}

export interface RenderContext {
  data: Record<string, unknown>;
  subscriber: Record<string, unknown>;
  event: Record<string, unknown>;
}

/**
 * Renders each string part (nested objects such as push `data` too, as text); other values pass
 * through. `formats` names the parts that are markup (see PART_FORMATS in delivery-content.ts).
 */
export async function renderTemplate<T extends Record<string, unknown>>(
  template: T,
  context: RenderContext,
  formats: PartFormats = {},
): Promise<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (typeof value === 'string') {
      const format = formats[key] ?? 'text';
      try {
        out[key] = await engines[format].render(
          parse(key, value, format),
          context as unknown as Record<string, unknown>,
        );
      } catch (err) {
        throw new TemplateError(key, (err as Error).message.split('\n')[0]);
      }
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = await renderTemplate(value as Record<string, unknown>, context);
    } else {
      out[key] = value;
    }
  }
  return out as T;
}

function* stringParts(template: Record<string, unknown>, prefix = ''): Generator<[string, string]> {
  for (const [key, value] of Object.entries(template)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') yield [path, value];
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      yield* stringParts(value as Record<string, unknown>, path);
    }
  }
}
