import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import type PinoPretty from 'pino-pretty';
import { symbols, type LogFn, type Logger } from 'pino';
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { correlationOf } from './correlation';
import { traceLogFields } from './tracing';

/** Anything that can carry a secret is removed before a line is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.key',
  '*.rootKey',
  '*.authToken',
  '*.smtpUrl',
  '*.privateKey',
];

/** Query-string credentials (the inbox stream's ?token=) never reach a log line. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|key|secret)=)[^&]*/gi, '$1[Redacted]');
}

/**
 * Nest's own start-up lines: one per module, controller and route (~260 for Herald). They say nothing an
 * operator acts on, and buried `npm start`'s banner; written at debug level instead of info.
 */
const NEST_BOOTSTRAP = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

export function demoteNestBootstrap(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number): void {
  const first = args[0] as { context?: unknown } | undefined;
  if (level === this.levels.values.info && typeof first?.context === 'string' && NEST_BOOTSTRAP.has(first.context)) {
    if (this.isLevelEnabled('debug')) this.debug(...args);
    return;
  }
  method.apply(this, args);
}

export function loggingModule(config: Pick<HeraldConfig, 'logLevel'>, pretty = false): DynamicModule {
  const options: PinoHttpOptions = {
    level: config.logLevel,
    // Lines written inside a span (a request's ingest, a job) carry its trace_id and span_id.
    mixin: traceLogFields,
    hooks: { logMethod: demoteNestBootstrap },
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: {
      // A request's line carries its correlation id, as the events it stores and their deliveries do. In
      // the serializer, not customProps: serializers run only for lines actually written, while customProps
      // makes a child logger for every request, which cost ~30 % of ingest throughput (A/B: 840 vs 1,190 events/s).
      req: (req: IncomingMessage & { id: unknown }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url ?? ''),
        correlationId: correlationOf(req).id,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
  };
  return LoggerModule.forRoot({
    // nestjs-pino's default route pattern ('{/*splat}') matches nothing under Nest 12's Fastify
    // adapter, which left the api without a single request line; '*' matches every route.
    forRoutes: [{ path: '*', method: RequestMethod.ALL }],
    // On a terminal (npm start in development), lines are pretty-printed in this thread, synchronously, so
    // what was logged is on the screen before the banner printed after it; JSON (one line each) otherwise.
    pinoHttp: pretty ? [options, prettyStream()] : options,
  });
}

/**
 * pino-pretty is loaded only for a terminal: a deployed process (JSON lines) does not carry its ~10 MB
 * (docs/benchmarks.md, idle RSS).
 */
function prettyStream(): ReturnType<typeof PinoPretty> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous, first-use load (see above)
  const pinoPretty = (require('pino-pretty') as { default: typeof PinoPretty }).default;
  return pinoPretty({ singleLine: true, ignore: 'pid,hostname', sync: true });
}

/**
 * Writes out what the logger still holds before the caller writes to the terminal itself (npm start's
 * banner). pino's `flush(cb)` calls back once the write in progress is done, not the lines queued behind
 * it; the stream's own flushSync (sonic-boom's) writes them all. (The pretty stream is synchronous.)
 */
export function flushLogs(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, { flushSync?: () => void }>)[symbols.streamSym];
  stream?.flushSync?.();
}
