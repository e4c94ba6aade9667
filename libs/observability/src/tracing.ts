import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
// The SDK (provider, processors, exporters, resources, context manager) is loaded by startTracing, only when
// a process traces: with TRACING_EXPORTER=none, the default, the API's no-op spans need none of it.
import type { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type {
  BasicTracerProvider,
  InMemorySpanExporter,
  ReadableSpan,
  SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';

export type TracingSettings = HeraldConfig['tracing'];

/**
 * The process's tracer provider. Registered once per process however many Nest applications
 * start in it (the tests run several), and shut down (flushed) when the last of them closes.
 */
let active:
  | {
      key: string;
      provider: BasicTracerProvider;
      memory?: InMemorySpanExporter;
      contextManager: AsyncLocalStorageContextManager;
      users: number;
    }
  | undefined;

export interface TracingHandle {
  /** Flushes and, for the last user in the process, unregisters the provider. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Sets up the exporter TRACING_EXPORTER names. With `none` nothing is registered: every span
 * below is the API's no-op span and no traceparent is ever produced.
 */
export async function startTracing(settings: TracingSettings): Promise<TracingHandle> {
  if (settings.exporter === 'none') return { shutdown: async () => undefined };
  const key = JSON.stringify(settings);
  // The OTLP exporter takes ~0.3 s to load: only a process that uses it pays for that.
  const otlp = settings.exporter === 'otlp' ? await import('@opentelemetry/exporter-trace-otlp-http') : undefined;
  const [sdk, { resourceFromAttributes }, { ATTR_SERVICE_NAME }, { AsyncLocalStorageContextManager }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
      import('@opentelemetry/context-async-hooks'),
    ]);
  const { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, InMemorySpanExporter, SimpleSpanProcessor } =
    sdk;
  if (active && active.key !== key) {
    throw new Error(`tracing is already set up in this process with other settings (${active.key})`);
  }
  if (!active) {
    const memory = settings.exporter === 'memory' ? new InMemorySpanExporter() : undefined;
    const exporter: SpanExporter =
      memory ??
      (otlp
        ? new otlp.OTLPTraceExporter({ url: settings.otlpTracesUrl, timeoutMillis: 5_000 })
        : new ConsoleSpanExporter());
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
      spanProcessors: [
        settings.exporter === 'otlp' ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter),
      ],
    });
    const contextManager = new AsyncLocalStorageContextManager().enable();
    if (!trace.setGlobalTracerProvider(provider)) {
      contextManager.disable();
      throw new Error(
        'another OpenTelemetry tracer provider is already registered in this process; set TRACING_EXPORTER=none to use it',
      );
    }
    context.setGlobalContextManager(contextManager);
    propagation.setGlobalPropagator(propagator);
    active = { key, provider, memory, contextManager, users: 0 };
  }
  const mine = active;
  mine.users++;
  let done = false;
  return {
    async shutdown() {
      if (done) return;
      done = true;
      // A collector that cannot be reached costs the spans still buffered, never the shutdown.
      const warn = (err: Error) => new Logger('tracing').warn(`could not export the last spans: ${err.message}`);
      if (--mine.users > 0) return void (await mine.provider.forceFlush().catch(warn));
      if (active === mine) active = undefined;
      await mine.provider.shutdown().catch(warn);
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The spans finished so far, when TRACING_EXPORTER=memory (tests); empty otherwise. */
export function memorySpans(): ReadableSpan[] {
  return active?.memory?.getFinishedSpans() ?? [];
}

/** Herald's tracer: a no-op one unless startTracing registered a provider. */
export function tracer(): Tracer {
  return trace.getTracer('herald');
}

const propagator = new W3CTraceContextPropagator();

/** The span's W3C traceparent, to carry in a row or a job; undefined for a no-op span. */
export function traceParentOf(span: Span | undefined): string | undefined {
  if (!span) return undefined;
  const carrier: { traceparent?: string } = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/**
 * The context to start a span from a carried traceparent in. Never the ambient context: a job
 * runs in whatever async context BullMQ's connection happened to be opened in, which is not its own.
 */
export function contextOf(traceParent: string | null | undefined): Context {
  return traceParent
    ? propagator.extract(ROOT_CONTEXT, { traceparent: traceParent }, defaultTextMapGetter)
    : ROOT_CONTEXT;
}

export interface SpanOptions {
  /** default: the active context (a child of the current span) */
  parent?: Context;
  kind?: SpanKind;
  attributes?: Attributes;
  /** errors that end the work without it having failed (a job moved to the delayed set) */
  isError?: (err: unknown) => boolean;
}

/** Runs `fn` in a new active span, ended when `fn` settles; a throw marks the span as an error. */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const { parent = context.active(), kind, attributes, isError = () => true } = options;
  return tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      if (isError(err)) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}

/** trace_id and span_id of the active span, for log lines (pino mixin); {} outside a span. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

const TRACING = Symbol('TRACING');

@Injectable()
class TracingLifecycle implements OnApplicationShutdown {
  constructor(@Inject(TRACING) private readonly handle: TracingHandle) {}

  onApplicationShutdown(): Promise<void> {
    return this.handle.shutdown();
  }
}

/** Starts tracing with the application and flushes it when the application closes. */
@Global()
@Module({})
export class TracingModule {
  static forRoot(config: Pick<HeraldConfig, 'tracing'>): DynamicModule {
    return {
      module: TracingModule,
      providers: [{ provide: TRACING, useFactory: () => startTracing(config.tracing) }, TracingLifecycle],
    };
  }
}
