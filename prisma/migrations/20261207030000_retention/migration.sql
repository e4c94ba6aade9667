-- Retention (issue 17, defect 10): the housekeeping role purges finished data in bounded batches, and
-- every periodic statement (relay, sweeps, purges) walks an index that holds what it is looking for, so
-- its cost follows the work to do, not the size of the tables. The partial and expression indexes here
-- cannot be written in schema.prisma (test/integration/schema-drift.test.ts lists them as SQL-only).

-- The purge found the event still in use (a delivery not done, a dead letter still replayable, a digest
-- being sent, a sendAt to come) and does not look at it again before this time.
ALTER TABLE "events" ADD COLUMN "retained_until" TIMESTAMPTZ(3);

-- Idempotency keys are released (cleared on their event) 24 h after it came: events still holding one.
CREATE INDEX "events_idempotency_key_created_at_idx" ON "events"("created_at") WHERE "idempotency_key" IS NOT NULL;

-- The stuck-event sweep: events not fanned out yet, by their last sign of life (GREATEST skips a NULL send_at).
CREATE INDEX "events_stuck_idx" ON "events"(GREATEST("updated_at", "send_at")) WHERE "status" = 'accepted';

-- The event purge: finished events by when they finished, and those it held, by when to look again.
CREATE INDEX "events_finished_idx" ON "events"("updated_at")
  WHERE "status" IN ('routed', 'unrouted', 'cancelled') AND "retained_until" IS NULL;
CREATE INDEX "events_retained_until_idx" ON "events"("retained_until") WHERE "retained_until" IS NOT NULL;

-- The stuck-delivery sweep: deliveries in motion by their last sign of life, so one waiting for a later
-- not_before (quiet hours, a digest window, a retry) is never read. Replaces deliveries_unfinished_idx
-- (by updated_at alone), which nothing else used.
DROP INDEX "deliveries_unfinished_idx";
CREATE INDEX "deliveries_stuck_idx" ON "deliveries"(GREATEST("updated_at", "not_before", "lease_until"))
  WHERE "status" IN ('pending', 'queued', 'deferred', 'sending');

-- Dead letters expire (dead → failed) a while after dying.
CREATE INDEX "deliveries_dead_idx" ON "deliveries"("updated_at") WHERE "status" = 'dead';

-- Archived inbox messages and published outbox rows, by age.
CREATE INDEX "inbox_messages_archived_idx" ON "inbox_messages"("archived_at") WHERE "archived_at" IS NOT NULL;
CREATE INDEX "outbox_published_idx" ON "outbox"("published_at") WHERE "published_at" IS NOT NULL;

-- CreateIndex: feedback events by age
CREATE INDEX "feedback_events_created_at_idx" ON "feedback_events"("created_at");

-- CreateIndex: whether an event sits in a digest still being sent, and a purged event's items
CREATE INDEX "digest_items_event_id_idx" ON "digest_items"("event_id");
