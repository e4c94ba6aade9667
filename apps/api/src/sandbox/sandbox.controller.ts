import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { SandboxHub } from '@herald/sandbox';
import { parse } from '../http/parse';
import { Problem } from '../http/problem';
import { FEEDBACK_ACTION_NAMES, actionsFor, playFeedback } from './sandbox-feedback';
import { renderSandboxPage } from './sandbox-page';

const feedbackForm = z.object({ action: z.enum(FEEDBACK_ACTION_NAMES) });
const pageQuery = z.object({ done: z.string().max(500).optional() });

/**
 * What the in-process sandbox providers received (development only: it exists when some channel
 * runs without credentials in this process, e.g. `npm start`). It shows every tenant's messages
 * without a key, so with the sandboxes off (HERALD_SANDBOX, off in production) it is always 404.
 */
@Controller('sandbox')
export class SandboxController {
  constructor(
    private readonly sandboxes: SandboxHub,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; form-action 'self'",
  )
  page(@Query() query: unknown): string {
    this.assertRunning();
    const { done } = parse(pageQuery, query, 'query');
    return renderSandboxPage(this.sandboxes.recorder.list({ limit: 200 }), this.sandboxes.channels, done);
  }

  /**
   * A feedback button of the page (a form post): plays the provider's answer for one message through
   * Herald's real, signed feedback routes, then shows the page again saying what happened.
   */
  @Post('records/:id/feedback')
  @HttpCode(303)
  async feedback(
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('origin') origin: string | undefined,
    @Headers('host') host: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    this.assertRunning();
    // A form on another site must not press these buttons (a STOP or a bounce is real state in Herald).
    if (origin && (!URL.canParse(origin) || new URL(origin).host !== host)) {
      throw new Problem(403, 'cross-origin', 'Forbidden', 'Sandbox feedback is played from the /sandbox page only');
    }
    const { action } = parse(feedbackForm, body);
    const record = this.sandboxes.recorder.list().find((r) => r.id === id);
    if (!record) throw Problem.notFound(`Sandbox record ${id}`);
    const offered = actionsFor(record).map(([name]) => name);
    if (!offered.includes(action)) {
      throw Problem.badRequest('This message has no such feedback', [
        { path: 'action', message: `expects one of: ${offered.join(', ') || 'none'}` },
      ]);
    }
    const done = await playFeedback(this.sandboxes, this.config, record, action).catch(
      (err: Error) => `could not play ${action}: ${err.message}`,
    );
    await reply
      .code(303)
      .header('location', `/sandbox?done=${encodeURIComponent(done.slice(0, 500))}`)
      .send();
  }

  @Get('records')
  records() {
    this.assertRunning();
    return { items: this.sandboxes.recorder.list({ limit: 500 }) };
  }

  private assertRunning(): void {
    if (!this.sandboxes.enabled || this.sandboxes.channels.length === 0)
      throw Problem.notFound('No sandbox runs in this process; the sandbox page');
  }
}
