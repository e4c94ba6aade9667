-- Event metadata: the sender's time, the correlation id carried through relay, fan-out and delivery,
-- the data schema version checked at ingest, who sent it, and a CloudEvent's context attributes.
ALTER TABLE "events" ADD COLUMN     "occurred_at" TIMESTAMPTZ(3),
ADD COLUMN     "received_at" TIMESTAMPTZ(3),
ADD COLUMN     "correlation_id" TEXT,
ADD COLUMN     "schema_version" INTEGER,
ADD COLUMN     "sender_key_id" UUID,
ADD COLUMN     "sender_source_id" UUID,
ADD COLUMN     "cloud_event" JSONB;

-- The latest time a delivery was held back (quiet hours, a rate limit) and why, kept once it is sent: its timeline
ALTER TABLE "deliveries" ADD COLUMN     "last_deferral" JSONB;

-- CreateTable: one JSON Schema per published version of an event type's data; never changed once published
CREATE TABLE "event_schemas" (
    "tenant_id" UUID NOT NULL,
    "event_type" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "schema" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "event_schemas_pkey" PRIMARY KEY ("tenant_id","event_type","version")
);

-- CreateIndex: GET /v1/events?correlationId= (one correlation id, usually a handful of events)
CREATE INDEX "events_tenant_id_correlation_id_idx" ON "events"("tenant_id", "correlation_id");

-- AddForeignKey
ALTER TABLE "event_schemas" ADD CONSTRAINT "event_schemas_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
