-- Topics: named audiences that events fan out to in batches of members.
CREATE TABLE "topics" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "topics_pkey" PRIMARY KEY ("id")
);

-- CreateTable: members keyed (topic, subscriber id), so a batch is one range of the primary key
CREATE TABLE "topic_members" (
    "topic_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "subscriber_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "topic_members_pkey" PRIMARY KEY ("topic_id","subscriber_id")
);

-- A topic event's fan-out progress: it resumes after this member when a batch is re-run
ALTER TABLE "events" ADD COLUMN     "fanout_cursor" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "topics_tenant_id_key_key" ON "topics"("tenant_id", "key");

-- CreateIndex: the member listing, newest first
CREATE INDEX "topic_members_topic_id_created_at_subscriber_id_idx" ON "topic_members"("topic_id", "created_at", "subscriber_id");

-- AddForeignKey
ALTER TABLE "topic_members" ADD CONSTRAINT "topic_members_topic_id_fkey" FOREIGN KEY ("topic_id") REFERENCES "topics"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "topic_members" ADD CONSTRAINT "topic_members_tenant_id_subscriber_id_fkey" FOREIGN KEY ("tenant_id", "subscriber_id") REFERENCES "subscribers"("tenant_id", "subscriber_id") ON DELETE CASCADE ON UPDATE CASCADE;
