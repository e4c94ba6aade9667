// Fields that hold a credential in Herald's answers (keys, signing secrets, inbox tokens).
const SECRET_FIELD = /^(key|keys|secret|token|authToken|password)$/i;

/** A copy of a JSON value with every credential field replaced, for storing in the audit log. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([field, inner]) => [
      field,
      SECRET_FIELD.test(field) ? '[Redacted]' : redactSecrets(inner),
    ]),
  );
}
