import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import type { HeraldConfig } from './load-config';
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

export function loggingModule(config: Pick<HeraldConfig, 'logLevel'>, pretty = false): DynamicModule {
  return LoggerModule.forRoot({
    // nestjs-pino's default route pattern ('{/*splat}') matches nothing under Nest 12's Fastify
    // adapter, which left the api without a single request line; '*' matches every route.
    forRoutes: [{ path: '*', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.logLevel,
      // Lines written inside a span (a request's ingest, a job) carry its trace_id and span_id.
      mixin: traceLogFields,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      transport: pretty ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } } : undefined,
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
    },
  });
}
