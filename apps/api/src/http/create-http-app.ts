import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { CORRELATION_HEADER, correlationOf } from '@herald/observability';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Problem } from './problem';
import { unstorableTextProblem } from './unstorable-text';

/** Request bodies above this are refused with 413 (a full 1,000-event batch fits comfortably). */
export const BODY_LIMIT_BYTES = 5 * 1024 * 1024;
/**
 * Bodies nested deeper than this are refused with 400. Nothing Herald takes needs it, and a deep
 * value would overflow the stack of recursive code further on (JSON.stringify, signature checks).
 */
export const MAX_BODY_DEPTH = 64;
/** Longest path segment routed (encoded); ids are then checked by each route's own schema. */
const MAX_PARAM_LENGTH = 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
// Providers post their callbacks in their own formats: Twilio as a form, Amazon SNS as text/plain JSON;
// the /sandbox page's feedback buttons are HTML forms.
const PROVIDER_MEDIA_TYPES: [RegExp, RegExp][] = [
  [/^\/v1\/feedback\/twilio\//, /^application\/x-www-form-urlencoded\s*(;|$)/i],
  [/^\/v1\/feedback\/email\/ses(\?|$)/, /^text\/plain\s*(;|$)/i],
  [/^\/sandbox\/records\/[^/]+\/feedback(\?|$)/, /^application\/x-www-form-urlencoded\s*(;|$)/i],
];

/** Builds the Nest application on Fastify; the caller decides where it listens and how it shuts down. */
export async function createHttpApp(root: DynamicModule): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    trustProxy: true,
    // What Fastify refuses before a route runs (a malformed or overlong path, a request that is not
    // HTTP) is answered as problem+json too, like everything else.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const problem = new Problem(
        status,
        status === 414 ? 'uri-too-long' : 'bad-request',
        'Request is not valid',
        error.message,
      );
      void reply.status(status).type('application/problem+json').send(problem.body(request.id));
    },
    clientErrorHandler: answerClientError,
    // A caller's X-Request-Id is kept when it is sane, so logs line up across systems.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  // rawBody: signatures (SendGrid, Standard Webhooks) are over the exact bytes received.
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, { bufferLogs: true, rawBody: true });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request, body, done) => {
    (request as { rawBody?: Buffer }).rawBody = body as Buffer;
    done(null, (body as Buffer).toString('utf8'));
  });
  // Other JSON media types (CloudEvents' application/cloudevents+json and -batch+json) parse as JSON.
  fastify.addContentTypeParser(
    /^application\/[\w.-]+\+json\s*(;|$)/i,
    { parseAs: 'string' },
    fastify.getDefaultJsonParser('error', 'error'),
  );
  fastify.addHook('preValidation', async (request) => {
    if (nestsDeeperThan(request.body, MAX_BODY_DEPTH)) {
      throw Problem.badRequest(`The body nests deeper than ${MAX_BODY_DEPTH} levels`, [
        { path: 'body', message: `nests deeper than ${MAX_BODY_DEPTH} levels` },
      ]);
    }
    const unstorable = unstorableTextProblem(request);
    if (unstorable) throw unstorable;
  });
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header(CORRELATION_HEADER, correlationOf(request.raw).id);
  });
  // The API speaks JSON (and +json media types): anything else is refused before parsing.
  fastify.addHook('onRequest', async (request) => {
    const type = request.headers['content-type'];
    const providerType = PROVIDER_MEDIA_TYPES.some(([path, media]) => path.test(request.url) && media.test(type ?? ''));
    if (type !== undefined && !JSON_MEDIA_TYPE.test(type) && !providerType) {
      throw Object.assign(new Error(`Content-Type ${type.split(';')[0]} is not supported; send application/json`), {
        statusCode: 415,
      });
    }
  });
  return app;
}

/** Iterative, so that measuring a hostile body cannot overflow the stack itself. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Fastify's own answer to a request node:http could not parse, as problem+json. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(new Problem(status, 'bad-request', 'Request is not valid', STATUS_CODES[status]).body());
  // end(), as node's own clientError handler does: destroy() right after write() can drop the answer.
  if (!socket.writable) return void socket.destroy(error);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Content-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`,
  );
}
