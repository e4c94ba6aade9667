-- Audit rows written before this release stored each date of a POST's answer as {} (redactSecrets
-- walked a Date as a plain object; issue 25 #1). The date itself was never stored, so it cannot be
-- recovered here: such a field ("at", or a name ending in "At", holding {}) becomes null (unknown)
-- instead of an object where a timestamp belongs.
CREATE FUNCTION "herald_audit_dates_repaired"(j jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF jsonb_typeof(j) = 'object' THEN
    RETURN (
      SELECT coalesce(
        jsonb_object_agg(
          field,
          CASE WHEN field ~ '(^at|At)$' AND inner_value = '{}'::jsonb THEN 'null'::jsonb
               ELSE "herald_audit_dates_repaired"(inner_value) END
        ),
        '{}'::jsonb
      )
      FROM jsonb_each(j) AS e(field, inner_value)
    );
  ELSIF jsonb_typeof(j) = 'array' THEN
    RETURN (
      SELECT coalesce(jsonb_agg("herald_audit_dates_repaired"(element) ORDER BY position), '[]'::jsonb)
      FROM jsonb_array_elements(j) WITH ORDINALITY AS a(element, position)
    );
  END IF;
  RETURN j;
END $$;

UPDATE "audit_log"
SET "before" = "herald_audit_dates_repaired"("before"),
    "after" = "herald_audit_dates_repaired"("after")
WHERE "before"::text ILIKE '%at": {}%' OR "after"::text ILIKE '%at": {}%';

DROP FUNCTION "herald_audit_dates_repaired"(jsonb);
