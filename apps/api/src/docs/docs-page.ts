import { CALLERS, type OpenApiDocument, type Operation } from './openapi-document';

const escape = (value: unknown): string =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** The /docs page: every operation of the document, grouped. Self-contained (no scripts, fonts or CDNs). */
export function renderDocsPage(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
  const groups = document.tags.map(({ name }) => {
    const items = operations.filter((o) => o.operation.tags.includes(name));
    return `<section id="${escape(name)}">
<h2>${escape(name)}</h2>
${items.map((o) => renderOperation(o.method, o.path, o.operation)).join('\n')}
</section>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(document.info.title)}</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1b1b1f; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d7d7de; }
  .muted { color: #5c5c66; } nav { display: flex; flex-wrap: wrap; gap: .2rem .8rem; }
  article { border: 1px solid #d7d7de; border-radius: 8px; padding: .5rem 1rem; margin: .6rem 0; }
  article header { display: flex; gap: .75rem; align-items: baseline; flex-wrap: wrap; }
  .method { font: 600 .8rem ui-monospace, monospace; text-transform: uppercase; min-width: 4rem; }
  .path { font-family: ui-monospace, monospace; font-weight: 600; }
  .get { color: #1d6f42; } .post { color: #1f5fbf; } .put, .patch { color: #8a5a00; } .delete { color: #c9372c; }
  table { border-collapse: collapse; font-size: .9rem; } td, th { text-align: left; padding: .15rem .6rem .15rem 0; }
  details summary { cursor: pointer; }
  pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f8; padding: .5rem; border-radius: 4px; font-size: .85rem; }
</style>
</head>
<body>
<h1>${escape(document.info.title)}</h1>
<p class="muted">${markdownCode(document.info.description)} The machine-readable document: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI ${escape(document.openapi)}).</p>
<nav>${document.tags.map(({ name }) => `<a href="#${escape(name)}">${escape(name)}</a>`).join('')}</nav>
<main>
${groups.join('\n')}
</main>
</body>
</html>`;
}

/** Escapes text, showing its `code spans` as <code>. */
const markdownCode = (text: string): string => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');

function renderOperation(method: string, path: string, operation: Operation): string {
  const access = operation['x-herald-access'];
  const parameters = operation.parameters ?? [];
  const body = operation.requestBody?.content['application/json']?.schema;
  const statuses = Object.keys(operation.responses).join(', ');
  return `<article data-operation="${escape(operation.operationId)}">
  <header><span class="method ${method}">${method}</span><span class="path">${escape(path)}</span>
  <span class="access">key: <strong>${escape(access)}</strong> <span class="muted">— ${escape(CALLERS[access])}</span></span></header>
  <p class="muted">Answers ${escape(statuses)}.</p>
  ${parameters.length ? renderParameters(operation) : ''}
  ${body ? `<details><summary>Body${operation.requestBody?.required ? '' : ' (optional)'}: JSON schema</summary><pre>${escape(JSON.stringify(body, null, 2))}</pre></details>` : ''}
</article>`;
}

function renderParameters(operation: Operation): string {
  const rows = (operation.parameters ?? []).map(
    (p) =>
      `<tr><td><code>${escape(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'required' : 'optional'}</td>` +
      `<td><code>${escape(summarize(p.schema))}</code></td></tr>`,
  );
  return `<table><tr><th>Parameter</th><th>In</th><th></th><th>Schema</th></tr>${rows.join('')}</table>`;
}

/** A one-line schema summary: `integer, default 50, 1–100`. */
function summarize(schema: Record<string, unknown>): string {
  const parts = [
    schema.enum
      ? (schema.enum as unknown[]).join(' | ')
      : schema.format
        ? `${schema.type} (${schema.format})`
        : schema.type,
    schema.default !== undefined && `default ${JSON.stringify(schema.default)}`,
    (schema.minimum !== undefined || schema.maximum !== undefined) && `${schema.minimum ?? ''}–${schema.maximum ?? ''}`,
    schema.maxLength !== undefined && `≤ ${schema.maxLength} chars`,
  ];
  return parts.filter(Boolean).join(', ');
}
