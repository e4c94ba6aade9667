-- Tracing: the W3C traceparent of the ingest request's span, carried by the relay into the fan-out job.
ALTER TABLE "events" ADD COLUMN     "trace_parent" TEXT;
