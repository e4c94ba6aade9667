-- A tenant the root key revoked (suspended): its keys and inbox tokens are refused, its live streams end.
ALTER TABLE "tenants" ADD COLUMN "revoked_at" TIMESTAMPTZ(3);

-- CreateIndex: each api process asks every few seconds what was revoked lately (keys and tenants), so that
-- cached keys and open inbox streams on every replica learn of it; these keep that look-up small.
CREATE INDEX "tenants_revoked_at_idx" ON "tenants"("revoked_at");
CREATE INDEX "api_keys_revoked_at_idx" ON "api_keys"("revoked_at");
