import { Controller, Get, Param, Res, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { Problem } from '../http/problem';
import { docsAsset, renderDocsPage } from './docs-assets';
import { buildOpenApiDocument, discoverRoutes, type OpenApiDocument } from './openapi-document';

// Swagger UI loads only its own files from /docs/assets and calls only this origin's API ("Try it out").
// No inline script or style (React sets styles through the DOM, which CSP allows); data: images are
// the icons in Swagger UI's stylesheet.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The API's own description, generated from the code: routes and their access from Nest's decorator
 * metadata, request shapes from the zod schemas named by @ApiInput. Built once, when the app starts.
 * /docs shows it in Swagger UI, where a caller can authorize with a key and try each operation.
 * Public (no @Auth).
 */
@Controller('docs')
export class DocsController implements OnApplicationBootstrap {
  private document?: OpenApiDocument;
  private page = '';

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onApplicationBootstrap(): void {
    this.document = buildOpenApiDocument(discoverRoutes(this.discovery, this.scanner));
    this.page = renderDocsPage(this.document.info.title);
  }

  @Get()
  async html(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, 'text/html; charset=utf-8', 'no-cache', this.page);
  }

  /** `/docs/` is the page too (browsers and habits add the slash); any other path under /docs is a 404. */
  @Get('*')
  async withSlash(@Param('*') rest: string, @Res() reply: FastifyReply): Promise<void> {
    if (rest) throw Problem.notFound(`Page /docs/${rest}`);
    await this.html(reply);
  }

  /** Swagger UI's files: versioned URLs, so cached for a year. */
  @Get('assets/:version/:name')
  async asset(
    @Param('version') version: string,
    @Param('name') name: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const asset = docsAsset(version, name);
    if (!asset) throw Problem.notFound(`Page /docs/assets/${version}/${name}`);
    await send(reply, asset.contentType, 'public, max-age=31536000, immutable', asset.body);
  }

  @Get('openapi.json')
  openapi(): OpenApiDocument | undefined {
    return this.document;
  }
}

async function send(reply: FastifyReply, contentType: string, cache: string, body: string | Buffer): Promise<void> {
  await reply
    .header('content-type', contentType)
    .header('cache-control', cache)
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .send(body);
}
