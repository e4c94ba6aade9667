// Fields that hold a credential in Herald's answers (keys, signing secrets, inbox tokens).
const SECRET_FIELD = /^(key|keys|secret|token|authToken|password)$/i;

/**
 * A copy of a JSON value with every credential field replaced, for storing in the audit log.
 * A value that serializes itself (a `Date`, Prisma's `Decimal`) is taken as `JSON.stringify` would
 * take it: walked as a plain object, a `Date` has no own fields and used to be stored as `{}`.
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!value || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redactSecrets(toJSON.call(value));
  return Object.fromEntries(
    Object.entries(value).map(([field, inner]) => [
      field,
      SECRET_FIELD.test(field) ? '[Redacted]' : redactSecrets(inner),
    ]),
  );
}
