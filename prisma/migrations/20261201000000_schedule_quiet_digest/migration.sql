-- Quiet hours: a subscriber's own window and the tenant's default, { start, end } in local time.
ALTER TABLE "tenants" ADD COLUMN     "quiet_hours" JSONB;
ALTER TABLE "subscribers" ADD COLUMN     "quiet_hours" JSONB;

-- CreateTable: digests being gathered or sent, one delivery each
CREATE TABLE "digests" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "subscriber_id" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "digest_key" TEXT NOT NULL,
    "open_key" TEXT,
    "window_end" TIMESTAMPTZ(3) NOT NULL,
    "delivery_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "flushed_at" TIMESTAMPTZ(3),

    CONSTRAINT "digests_pkey" PRIMARY KEY ("id")
);

-- CreateTable: the events gathered in a digest (id = the event's own would-be delivery id)
CREATE TABLE "digest_items" (
    "id" UUID NOT NULL,
    "digest_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "digest_items_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "digests_delivery_id_key" ON "digests"("delivery_id");

-- CreateIndex: at most one open digest per subscriber × channel × key (flushed ones have open_key NULL)
CREATE UNIQUE INDEX "digests_tenant_id_subscriber_id_channel_open_key_key" ON "digests"("tenant_id", "subscriber_id", "channel", "open_key");

-- CreateIndex
CREATE INDEX "digest_items_digest_id_idx" ON "digest_items"("digest_id");

-- AddForeignKey
ALTER TABLE "digest_items" ADD CONSTRAINT "digest_items_digest_id_fkey" FOREIGN KEY ("digest_id") REFERENCES "digests"("id") ON DELETE CASCADE ON UPDATE CASCADE;
