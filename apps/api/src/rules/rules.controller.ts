import { Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { eventTypeSchema, ruleInputSchema, type RuleInput } from '@herald/core';
import { smsSegments } from '@herald/channels';
import { RulesRepository, type RuleRow } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidBody, ValidParam } from '../http/valid-input';
import { Problem, type FieldError } from '../http/problem';
import { checkTemplates } from './rule-templates';
import { Returns } from '../docs/api-output.decorator';
import { ruleViewSchema, rulesSchema } from './rules.contract';

@Controller('v1/rules')
@Auth('admin')
export class RulesController {
  constructor(private readonly rules: RulesRepository) {}

  /** Upsert. Templates are compiled here, so a broken one is a 422 now rather than a failed delivery later. */
  @Put(':eventType')
  @Returns(ruleViewSchema)
  async put(
    @TenantId() tenantId: string,
    @ValidParam('eventType', eventTypeSchema) eventType: string,
    @ValidBody(ruleInputSchema) rule: RuleInput,
  ) {
    checkTemplates(rule.channels);
    const data = { category: rule.category ?? null, critical: rule.critical ?? false, channels: rule.channels };
    const saved = await this.rules.save(tenantId, eventType, data);
    const warnings = templateWarnings(rule);
    return { ...view(saved), ...(warnings.length && { warnings }) };
  }

  @Get()
  @Returns(rulesSchema)
  async list(@TenantId() tenantId: string) {
    return { items: (await this.rules.list(tenantId)).map(view) };
  }

  @Get(':eventType')
  @Returns(ruleViewSchema)
  async get(@TenantId() tenantId: string, @Param('eventType') eventType: string) {
    const rule = await this.rules.get(tenantId, eventType);
    if (!rule) throw Problem.notFound(`Rule for ${eventType}`);
    return view(rule);
  }

  @Delete(':eventType')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('eventType') eventType: string): Promise<void> {
    if (!(await this.rules.remove(tenantId, eventType))) throw Problem.notFound(`Rule for ${eventType}`);
  }
}

// Past 10 segments a carrier may refuse or mangle a concatenated SMS, and each segment is billed.
const SMS_SEGMENT_WARNING = 10;

/** What is allowed but probably unintended: SMS bodies that run past 10 segments, as written. */
function templateWarnings(rule: RuleInput): FieldError[] {
  const warnings: FieldError[] = [];
  rule.channels.forEach((entry, i) => {
    if (entry.channel !== 'sms') return;
    const bodies: [string, string | undefined][] = [
      [`channels[${i}].template.body`, entry.template.body],
      ...Object.entries(entry.template.locales ?? {}).map(([tag, parts]): [string, string | undefined] => [
        `channels[${i}].template.locales.${tag}.body`,
        parts.body,
      ]),
    ];
    for (const [path, body] of bodies) {
      const segments = body === undefined ? 0 : smsSegments(body);
      if (segments > SMS_SEGMENT_WARNING) {
        warnings.push({
          path,
          message: `takes ${segments} SMS segments as written (more than ${SMS_SEGMENT_WARNING})`,
        });
      }
    }
  });
  return warnings;
}

function view(rule: RuleRow) {
  return {
    eventType: rule.eventType,
    category: rule.category ?? undefined,
    critical: rule.critical,
    channels: rule.channels as RuleInput['channels'], // stored as PUT took it
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}
