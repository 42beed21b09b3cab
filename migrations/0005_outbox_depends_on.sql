-- The failed item a failed item waits for (a refund waiting for its sale, a customer edit for an
-- earlier edit of the same customer), so a retry of the first queues the ones waiting on it, and
-- the ones waiting on those, in order. Items failed before this column existed name it in their
-- error text ("depends_on_failed: waits for item N (…)"); it is read from there.
ALTER TABLE outbox ADD COLUMN depends_on_seq INTEGER;
UPDATE outbox
   SET depends_on_seq = CAST(substr(last_error, length('depends_on_failed: waits for item ') + 1)
                             AS INTEGER)
 WHERE state = 'failed' AND last_error LIKE 'depends_on_failed: waits for item %';
CREATE INDEX outbox_depends_on ON outbox (depends_on_seq) WHERE depends_on_seq IS NOT NULL;

-- When to retry is the engine's (`sync_state.next_retry_at_ms`), not each entry's: this column
-- was never written.
ALTER TABLE outbox DROP COLUMN next_attempt_at_ms;
