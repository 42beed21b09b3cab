-- Outbox payloads move to a table of their own. The sync engine rewrites an outbox row each time
-- its state changes (in flight, then applied); with the serialized mutation (a few KB for a
-- ticket) in the same row, every change copied a whole page to the log, while a ring-up waited
-- for the lock. Without it a state change touches a row of about 200 bytes. The payload is
-- still written once, in the ring-up's transaction, and never changed.
CREATE TABLE outbox_payload (
    seq     INTEGER PRIMARY KEY REFERENCES outbox (seq) ON DELETE CASCADE,
    payload BLOB NOT NULL
) STRICT;
INSERT INTO outbox_payload (seq, payload) SELECT seq, payload FROM outbox;
ALTER TABLE outbox DROP COLUMN payload;
