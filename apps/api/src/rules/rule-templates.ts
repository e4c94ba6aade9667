import { TemplateError, compileTemplate } from '@herald/channels';
import { Problem, type FieldError } from '../http/problem';

/** A rule whose templates do not parse or render: 422, naming each broken part by its body path. */
export function invalidRule(errors: FieldError[]): Problem {
  return Problem.unprocessable('invalid-rule', 'The rule cannot be used as written', errors);
}

/**
 * Parses every channel's template, so a broken one is a 422 now (on save, or in a preview) rather
 * than a failed delivery later. `pathOf(i)` is where the i-th template sits in the request body.
 */
export function checkTemplates(
  channels: { template: Record<string, unknown> }[],
  pathOf: (i: number) => string = (i) => `channels[${i}].template`,
): void {
  const errors: FieldError[] = [];
  channels.forEach((entry, i) => {
    try {
      compileTemplate(entry.template);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      errors.push({ path: `${pathOf(i)}.${err.part}`, message: `Liquid: ${err.message}` });
    }
  });
  if (errors.length) throw invalidRule(errors);
}
