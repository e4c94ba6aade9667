-- Retries after a dead-letter replay start a fresh budget: attempts made before the replay do not count.
ALTER TABLE "deliveries" ADD COLUMN     "attempt_floor" INTEGER NOT NULL DEFAULT 0,
-- When a deferred (rate limit) or retrying delivery is due; the housekeeping sweep leaves it alone until then.
ADD COLUMN     "not_before" TIMESTAMPTZ(3);

-- Tenant-wide per-subscriber rate limits by channel, overridden by a rule's own.
ALTER TABLE "tenants" ADD COLUMN     "rate_limits" JSONB NOT NULL DEFAULT '{}';

-- The dead-letter listing reads one tenant's dead deliveries newest first.
DROP INDEX "deliveries_tenant_id_status_idx";
CREATE INDEX "deliveries_tenant_id_status_updated_at_idx" ON "deliveries"("tenant_id", "status", "updated_at");

-- The housekeeping sweep looks only at deliveries still in motion, oldest first.
CREATE INDEX "deliveries_unfinished_idx" ON "deliveries"("updated_at")
  WHERE "status" IN ('pending', 'queued', 'deferred', 'sending');
