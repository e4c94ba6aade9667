import { createHash, randomUUID } from 'node:crypto';

/** A UUID (version 8, RFC 9562) derived from its parts: the same parts always give the same id. */
export function deterministicUuid(...parts: string[]): string {
  const hash = createHash('sha256').update(parts.join('\u0000')).digest();
  hash[6] = (hash[6] & 0x0f) | 0x80;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** One delivery per event × recipient × channel, whoever computes it and however often. */
export function deliveryId(eventId: string, recipient: string, channel: string): string {
  return deterministicUuid('delivery', eventId, recipient, channel);
}

export const newId = randomUUID;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
