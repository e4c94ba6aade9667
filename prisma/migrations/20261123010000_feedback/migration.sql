-- CreateTable: addresses Herald must not send to, per tenant and channel (normalized address)
CREATE TABLE "suppressions" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "detail" TEXT,
    "delivery_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("id")
);

-- CreateTable: every signal a provider sent back, as received (secrets removed)
CREATE TABLE "feedback_events" (
    "id" UUID NOT NULL,
    "tenant_id" UUID,
    "source" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "address" TEXT,
    "provider_message_id" TEXT,
    "delivery_id" UUID,
    "suppression_id" UUID,
    "outcome" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "feedback_events_pkey" PRIMARY KEY ("id")
);

-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "sms_from" TEXT;

-- AlterTable
ALTER TABLE "webhook_endpoints" ADD COLUMN     "first_failure_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE UNIQUE INDEX "suppressions_tenant_id_channel_address_key" ON "suppressions"("tenant_id", "channel", "address");

-- CreateIndex
CREATE INDEX "feedback_events_delivery_id_idx" ON "feedback_events"("delivery_id");

-- CreateIndex
CREATE INDEX "deliveries_provider_message_id_idx" ON "deliveries"("provider_message_id");

-- CreateIndex
CREATE INDEX "tenants_sms_from_idx" ON "tenants"("sms_from");
