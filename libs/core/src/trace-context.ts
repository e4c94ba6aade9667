/** W3C Trace Context `traceparent`: version-traceid-parentid-flags; later versions may append fields. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;

/**
 * The trace id of a valid traceparent, else undefined: version ff, all-zero ids, and fields after
 * the flags in version 00 are invalid by the spec (which asks receivers to ignore such a header).
 */
export function traceIdOf(traceParent: string): string | undefined {
  const match = TRACEPARENT.exec(traceParent.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, rest] = match;
  if (version === 'ff' || (version === '00' && rest) || /^0+$/.test(traceId!) || /^0+$/.test(parentId!)) {
    return undefined;
  }
  return traceId;
}
