import { Liquid, type Template } from 'liquidjs';

/**
 * Liquid templates for every channel. Parsing happens when a rule is saved (so a broken template
 * is a 422 there, never a failed delivery later) and parsed templates are cached by source text.
 */
const engine = new Liquid({
  strictFilters: true,
  cache: 1000,
  ownPropertyOnly: true,
  // Templates are tenants' own code running in shared processes (a worker sending, the api previewing): a
  // `for` over a hundred million items or a string doubled in a loop must fail that one render, not stall
  // every tenant. No real notification comes near these.
  parseLimit: 1_000_000,
  renderLimit: 250,
  memoryLimit: 10_000_000,
});
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

function parse(part: string, source: string): Template[] {
  const hit = parsed.get(source);
  if (hit) return hit;
  let templates: Template[];
  try {
    templates = engine.parse(source);
  } catch (err) {
    throw new TemplateError(part, (err as Error).message.split('\n')[0]);
  }
  if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value!);
  parsed.set(source, templates);
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

/** Renders each string part (nested objects such as push `data` too); other values pass through. */
export async function renderTemplate<T extends Record<string, unknown>>(
  template: T,
  context: RenderContext,
): Promise<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (typeof value === 'string') {
      try {
        out[key] = await engine.render(parse(key, value), context as unknown as Record<string, unknown>);
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
