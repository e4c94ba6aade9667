import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put } from '@nestjs/common';
import { eventTypeSchema, newId, ruleInputSchema, type RuleInput } from '@herald/core';
import { smsSegments } from '@herald/channels';
import { PrismaService } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { parse } from '../http/parse';
import { Problem, type FieldError } from '../http/problem';
import { checkTemplates } from './rule-templates';

type RuleRow = Awaited<ReturnType<PrismaService['rule']['findFirstOrThrow']>>;

@Controller('v1/rules')
@Auth('admin')
export class RulesController {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Upsert. Templates are compiled here, so a broken one is a 422 now rather than a failed delivery later. */
  @Put(':eventType')
  @ApiInput({ body: ruleInputSchema })
  async put(@TenantId() tenantId: string, @Param('eventType') rawType: string, @Body() body: unknown) {
    const eventType = parse(eventTypeSchema, rawType, 'eventType');
    const rule = parse(ruleInputSchema, body);
    checkTemplates(rule.channels);
    const data = { category: rule.category ?? null, critical: rule.critical ?? false, channels: rule.channels };
    const saved = await this.prisma.rule.upsert({
      where: { tenantId_eventType: { tenantId, eventType } },
      create: { id: newId(), tenantId, eventType, ...data },
      update: { ...data, updatedAt: new Date() },
    });
    const warnings = templateWarnings(rule);
    return { ...view(saved), ...(warnings.length && { warnings }) };
  }

  @Get()
  async list(@TenantId() tenantId: string) {
    const rules = await this.prisma.rule.findMany({ where: { tenantId }, orderBy: { eventType: 'asc' } });
    return { items: rules.map(view) };
  }

  @Get(':eventType')
  async get(@TenantId() tenantId: string, @Param('eventType') eventType: string) {
    const rule = await this.prisma.rule.findUnique({ where: { tenantId_eventType: { tenantId, eventType } } });
    if (!rule) throw Problem.notFound(`Rule for ${eventType}`);
    return view(rule);
  }

  @Delete(':eventType')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('eventType') eventType: string): Promise<void> {
    const { count } = await this.prisma.rule.deleteMany({ where: { tenantId, eventType } });
    if (count === 0) throw Problem.notFound(`Rule for ${eventType}`);
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
    channels: rule.channels,
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}
