-- Batched delivery (issue 19): every row version of a delivery (inserted queued, claimed, settled) writes
-- an entry into each index whose predicate it meets, so an index the hot path never reads is paid for three
-- times per delivery. These two now hold only the rows they are read for.

-- The dead-letter list (a tenant's dead deliveries, newest first) was the only reader of the full
-- (tenant_id, status, updated_at) index; dead deliveries alone are indexed now.
DROP INDEX "deliveries_tenant_id_status_updated_at_idx";
CREATE INDEX "deliveries_dead_by_tenant_idx" ON "deliveries"("tenant_id", "updated_at" DESC, "id" DESC)
  WHERE "status" = 'dead';

-- Provider callbacks find a delivery by its provider's message id; rows without one (queued, in-app) are
-- not indexed. `provider_message_id = $1` implies it is not null, so lookups use the partial index.
DROP INDEX "deliveries_provider_message_id_idx";
CREATE INDEX "deliveries_provider_message_id_idx" ON "deliveries"("provider_message_id")
  WHERE "provider_message_id" IS NOT NULL;
