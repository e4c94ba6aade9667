import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig } from '@herald/config';
import { contextOf, inSpan, memorySpans, startTracing, traceLogFields, traceParentOf } from './tracing';

const valid = {
  HERALD_ROOT_KEY: 'r'.repeat(32),
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/herald',
};
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing', () => {
  it('with none, registers nothing: spans are no-ops and carry no traceparent', async () => {
    const tracing = await startTracing(loadConfig(valid).tracing);
    const seen = await inSpan('herald.test', {}, async (span) => ({
      traceParent: traceParentOf(span),
      fields: traceLogFields(),
      recording: span.isRecording(),
    }));
    expect(seen).toEqual({ traceParent: undefined, fields: {}, recording: false });
    expect(memorySpans()).toEqual([]);
    await tracing.shutdown();
  });

  it('with memory, continues a carried traceparent and puts the ids on log lines', async () => {
    const config = loadConfig({ ...valid, TRACING_EXPORTER: 'memory' });
    const first = await startTracing(config.tracing);
    const second = await startTracing(config.tracing); // a second app in the same process shares it
    try {
      const lines: string[] = [];
      const logger = pino({ mixin: traceLogFields }, { write: (line: string) => void lines.push(line) });
      const carried = await inSpan('herald.test', { parent: contextOf(PARENT) }, async (span) => {
        logger.info('inside');
        await inSpan('herald.child', {}, async () => undefined);
        return traceParentOf(span);
      });
      logger.info('outside');

      const [child, parent] = memorySpans();
      expect(parent.name).toBe('herald.test');
      expect(parent.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(parent.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(carried).toBe(`00-${parent.spanContext().traceId}-${parent.spanContext().spanId}-01`);
      expect(JSON.parse(lines[0])).toMatchObject({
        trace_id: parent.spanContext().traceId,
        span_id: parent.spanContext().spanId,
      });
      expect(JSON.parse(lines[1])).not.toHaveProperty('trace_id');

      await expect(
        inSpan('herald.fails', {}, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(memorySpans().at(-1)).toMatchObject({ name: 'herald.fails', status: { code: 2, message: 'boom' } });
      await expect(startTracing(loadConfig({ ...valid, TRACING_EXPORTER: 'console' }).tracing)).rejects.toThrow(
        'tracing is already set up in this process with other settings',
      );
    } finally {
      await first.shutdown();
      await inSpan('herald.after-first-close', {}, async () => undefined);
      expect(memorySpans().at(-1)?.name).toBe('herald.after-first-close');
      await second.shutdown();
    }
    // The last user unregistered it: a later start (another app) registers afresh.
    const again = await startTracing(config.tracing);
    expect(memorySpans()).toEqual([]);
    await again.shutdown();
  });

  it('with otlp, posts the spans to <endpoint>/v1/traces on shutdown', async () => {
    const posts: string[] = [];
    const collector = createServer((req, res) => {
      posts.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const config = loadConfig({
        ...valid,
        TRACING_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      });
      const tracing = await startTracing(config.tracing);
      const traceParent = await inSpan('herald.test', {}, async (span) => traceParentOf(span));
      expect(traceParent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(memorySpans()).toEqual([]);
      await tracing.shutdown();
      expect(posts).toEqual(['POST /v1/traces application/json']);
    } finally {
      collector.close();
    }
  });
});
