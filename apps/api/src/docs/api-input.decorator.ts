import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export const API_INPUT = 'herald:api-input';

/** The zod schemas a handler checks its input with (the ones it passes to `parse()`). */
export interface ApiInputSchemas {
  /** The JSON body. A schema that accepts `undefined` (`.optional()`) marks the body itself optional. */
  body?: z.ZodType;
  /** The query string: each property is a query parameter. */
  query?: z.ZodObject;
  /** Request headers, keyed by header name: each property is a header parameter. */
  headers?: z.ZodObject;
  /** Further media types the body may come in (e.g. CloudEvents), each with a one-line description. */
  otherBodies?: Record<string, string>;
}

/**
 * Declares a handler's input for the OpenAPI document (/docs). It only stores metadata: the handler
 * still validates with `parse()`, and naming the same schema constant here keeps the two in step.
 */
export const ApiInput = (schemas: ApiInputSchemas) => SetMetadata(API_INPUT, schemas);
