-- One owner per SMS sender number (issue 17, defect 3): the root key assigns numbers, and the
-- database refuses a second claim. Numbers several tenants claimed before this stay with the
-- earliest-created of them (ties: the smallest id); the others go back to the shared sender.
-- A tenant whose number is one of Herald's shared senders (TWILIO_FROM, a fallback's from, the
-- sandbox's) cannot be told apart here: the application treats it as using the shared sender.
UPDATE "tenants" AS t SET "sms_from" = NULL
WHERE t."sms_from" IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM "tenants" AS earlier
    WHERE earlier."sms_from" = t."sms_from"
      AND (earlier."created_at", earlier."id") < (t."created_at", t."id")
  );

-- DropIndex: the unique index below answers the same look-ups
DROP INDEX "tenants_sms_from_idx";

-- CreateIndex
CREATE UNIQUE INDEX "tenants_sms_from_key" ON "tenants"("sms_from");
