import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The /docs page is Swagger UI (the swagger-ui-dist package), served by Herald itself: no CDN, so it
 * works offline and on machines that reach nothing but their own API.
 */
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_UI_VERSION = (
  JSON.parse(readFileSync(join(SWAGGER_UI_DIR, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * Swagger UI's start, a file of its own so the page's CSP needs no inline script. The document has no
 * `servers`, so "Try it out" calls the origin the page came from; the key given to Authorize is kept
 * in the browser's localStorage across reloads (persistAuthorization).
 */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/docs/openapi.json',
    dom_id: '#swagger-ui',
    layout: 'BaseLayout',
    deepLinking: true,
    tryItOutEnabled: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    filter: true,
    validatorUrl: null,
  });
});
`;

export interface DocsAsset {
  body: Buffer;
  contentType: string;
}

/** What /docs/assets/<version>/ serves: these files and nothing else (no path is ever joined from a request). */
const FILES: Record<string, { from: string; contentType: string } | { text: string; contentType: string }> = {
  'swagger-ui-bundle.js': { from: 'swagger-ui-bundle.js', contentType: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { from: 'swagger-ui.css', contentType: 'text/css; charset=utf-8' },
  'favicon-32x32.png': { from: 'favicon-32x32.png', contentType: 'image/png' },
  'herald-docs.js': { text: INIT_SCRIPT, contentType: 'text/javascript; charset=utf-8' },
};

/**
 * The assets' URLs carry a version (Swagger UI's and a hash of Herald's own script), so they can be
 * cached for a year: a new version is a new URL, and the page itself is never cached.
 */
export const ASSETS_VERSION = createHash('sha256')
  .update(`${SWAGGER_UI_VERSION}\n${INIT_SCRIPT}`)
  .digest('hex')
  .slice(0, 12);
const ASSETS = `/docs/assets/${ASSETS_VERSION}`;

const loaded = new Map<string, DocsAsset>();

/** The asset `name` of this version; undefined for any other version or name. Read once, then kept in memory. */
export function docsAsset(version: string, name: string): DocsAsset | undefined {
  if (version !== ASSETS_VERSION || !Object.hasOwn(FILES, name)) return undefined;
  let asset = loaded.get(name);
  if (!asset) {
    const file = FILES[name]!;
    const body = 'text' in file ? Buffer.from(file.text) : readFileSync(join(SWAGGER_UI_DIR, file.from));
    asset = { body, contentType: file.contentType };
    loaded.set(name, asset);
  }
  return asset;
}

const escape = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The /docs page: Swagger UI's container, its files, and a link to the document for those without scripts. */
export function renderDocsPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"><noscript>This reference needs JavaScript. The document it shows: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI).</noscript></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/herald-docs.js"></script>
</body>
</html>
`;
}
