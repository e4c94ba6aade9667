import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Problem } from '../http/problem';
import { ConsoleFiles, type ConsoleFile } from './console-files';

// The console loads only its own files and calls only this origin's API: nothing from elsewhere.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // rendered email previews are HTML documents in sandboxed srcdoc frames, often with inline styles
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "frame-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The operator console (apps/console, a single-page app) at /console. Public like /docs: the page
 * holds no data, and asks for an admin key that it sends to the API itself. The app routes in the
 * location's hash (/console#/events/…), so /console and /console/ are its page, and any other path
 * is a built file or a 404.
 */
@Controller('console')
export class ConsoleController {
  constructor(private readonly files: ConsoleFiles) {}

  @Get()
  async page(@Res() reply: FastifyReply): Promise<void> {
    const page = await this.files.read('index.html');
    if (!page) {
      throw new Problem(
        404,
        'console-not-built',
        'Console not built',
        'The console has not been built on this server: run `npm run build`',
      );
    }
    await send(reply, page);
  }

  @Get('*')
  async file(@Param('*') path: string, @Res() reply: FastifyReply): Promise<void> {
    if (!path) return this.page(reply);
    const file = await this.files.read(path);
    if (!file) throw Problem.notFound(`Console file ${path}`);
    return send(reply, file);
  }
}

async function send(reply: FastifyReply, file: ConsoleFile): Promise<void> {
  await reply
    .header('content-type', file.contentType)
    .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .send(file.body);
}
