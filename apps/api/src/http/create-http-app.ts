import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';

/** Request bodies above this are refused with 413 (a full 1,000-event batch fits comfortably). */
export const BODY_LIMIT_BYTES = 5 * 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
// Providers post their callbacks in their own formats: Twilio as a form, Amazon SNS as text/plain JSON.
const PROVIDER_MEDIA_TYPES: [RegExp, RegExp][] = [
  [/^\/v1\/feedback\/twilio\//, /^application\/x-www-form-urlencoded\s*(;|$)/i],
  [/^\/v1\/feedback\/email\/ses(\?|$)/, /^text\/plain\s*(;|$)/i],
];

/** Builds the Nest application on Fastify; the caller decides where it listens and how it shuts down. */
export async function createHttpApp(root: DynamicModule): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: true,
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
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
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
