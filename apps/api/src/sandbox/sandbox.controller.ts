import { Controller, Get, Header, Inject } from '@nestjs/common';
import { SandboxHub } from '@herald/sandbox';
import { Problem } from '../http/problem';
import { renderSandboxPage } from './sandbox-page';

/**
 * What the in-process sandbox providers received (development only: it exists when some channel
 * runs without credentials in this process, e.g. `npm start`). It shows every tenant's messages
 * without a key, so with the sandboxes off (HERALD_SANDBOX, off in production) it is always 404.
 */
@Controller('sandbox')
export class SandboxController {
  constructor(@Inject(SandboxHub) private readonly sandboxes: SandboxHub) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'")
  page(): string {
    this.assertRunning();
    return renderSandboxPage(this.sandboxes.recorder.list({ limit: 200 }), this.sandboxes.channels);
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
