import { isUuid } from '@herald/core';
import { Problem } from './problem';

/** A keyset position in a listing ordered by (time, id), opaque to clients. */
export interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor(position: Cursor): string {
  return Buffer.from(`${position.at.toISOString()}|${position.id}`).toString('base64url');
}

/** `isId` checks the id part: a row's uuid unless the listing is keyed by something else (a subscriber id). */
export function decodeCursor(cursor: string, isId: (id: string) => boolean = isUuid): Cursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const at = text.slice(0, text.indexOf('|'));
  const id = text.slice(text.indexOf('|') + 1);
  const time = new Date(at);
  if (!text.includes('|') || !id || !isId(id) || Number.isNaN(time.getTime())) {
    throw Problem.badRequest('The cursor is not valid', [
      { path: 'cursor', message: 'expects a nextCursor from a previous page' },
    ]);
  }
  return { at: time, id };
}

/**
 * One page of a keyset listing fetched with `take: limit + 1`: the rows to show, and the cursor to
 * the next page when the extra row says there is one.
 */
export function pageOf<T extends { id: string }>(
  rows: T[],
  limit: number,
  at: (row: T) => Date,
): { page: T[]; nextCursor?: string } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last ? encodeCursor({ at: at(last), id: last.id }) : undefined };
}
