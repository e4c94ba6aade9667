import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable } from '@herald/db';
import { Problem } from './problem';

const logger = new Logger('http');

/** Every error leaves as application/problem+json; 500s are logged with an id the caller also gets. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(error, request);
    if (reply.sent || reply.raw.headersSent) return;
    reply
      .status(problem.status)
      .headers(problem.headers)
      .type('application/problem+json')
      .send(problem.body(request.id));
  }
}

/**
 * The problem an error answers with: its own when it is one, 4xx for Fastify's refusals, 503 while the
 * database is away, else a 500 logged with an error id. Also for one failed item of a 207 batch.
 */
export function toProblem(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return new Problem(status, status === 404 ? 'not-found' : 'http-error', error.message, error.message);
  }
  const err = error as { statusCode?: number; code?: string; message?: string };
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Fastify's own refusals: malformed JSON, body too large, unsupported media type.
    const slug =
      err.statusCode === 413 ? 'payload-too-large' : err.statusCode === 415 ? 'unsupported-media-type' : 'bad-request';
    return new Problem(err.statusCode, slug, 'Request is not valid', err.message);
  }
  if (isDatabaseUnavailable(error)) {
    logger.warn(`database unavailable (${err.code ?? err.message}) for ${request.method} ${request.url}`);
    return new Problem(
      503,
      'unavailable',
      'Service unavailable',
      'The database is unreachable; try again shortly',
      undefined,
      {
        headers: { 'retry-after': '5' },
      },
    );
  }
  const errorId = randomUUID();
  logger.error({ err: error, errorId, requestId: request.id }, `unhandled error ${errorId}`);
  return new Problem(500, 'internal', 'Internal error', `Something went wrong on our side (error id ${errorId})`);
}
