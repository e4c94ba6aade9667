-- Providers retry their callbacks: the id a provider gave the message that carried a signal (SNS
-- MessageId, SendGrid sg_event_id, the generic form's webhook-id) is kept on the first row recorded
-- for it, and a second copy finds it taken and changes nothing (issue 17, defect 4).
ALTER TABLE "feedback_events" ADD COLUMN     "message_id" TEXT;

-- CreateIndex: NULLs never conflict, so signals without a provider message id are all kept
CREATE UNIQUE INDEX "feedback_events_source_message_id_key" ON "feedback_events"("source", "message_id");
