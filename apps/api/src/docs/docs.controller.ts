import { Controller, Get, Header, Inject, Param, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { Problem } from '../http/problem';
import { renderDocsPage } from './docs-page';
import { buildOpenApiDocument, discoverRoutes, type OpenApiDocument } from './openapi-document';

/**
 * The API's own description, generated from the code: routes and their access from Nest's decorator
 * metadata, request shapes from the zod schemas named by @ApiInput. Built once, when the app starts.
 * Public (no @Auth).
 */
@Controller('docs')
export class DocsController implements OnApplicationBootstrap {
  private document?: OpenApiDocument;
  private page = '';

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
  ) {}

  onApplicationBootstrap(): void {
    this.document = buildOpenApiDocument(discoverRoutes(this.discovery, this.scanner));
    this.page = renderDocsPage(this.document);
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
  html(): string {
    return this.page;
  }

  /** `/docs/` is the page too (browsers and habits add the slash); any other path under /docs is a 404. */
  @Get('*')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
  withSlash(@Param('*') rest: string): string {
    if (rest) throw Problem.notFound(`Page /docs/${rest}`);
    return this.page;
  }

  @Get('openapi.json')
  openapi(): OpenApiDocument | undefined {
    return this.document;
  }
}
