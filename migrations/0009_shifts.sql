-- Shifts, cash movements and Z reports, and a journal that keeps events as well as tickets.

-- The journal, rebuilt: an entry is a ticket (`ticket_id` and `ticket_number`, and the shift it
-- was rung up in) or an event (`event`: the canonical JSON its hash covers), never both. Every
-- existing entry is a ticket and keeps its position, ticket and hashes. Nothing refers to it.
CREATE TABLE journal_new (
    position      INTEGER PRIMARY KEY CHECK (position >= 1),
    ticket_id     TEXT UNIQUE REFERENCES tickets (id),
    ticket_number INTEGER UNIQUE,
    shift_id      TEXT,
    event         TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    CHECK ((ticket_id IS NULL) = (ticket_number IS NULL)),
    CHECK ((ticket_id IS NULL) <> (event IS NULL)),
    CHECK (shift_id IS NULL OR ticket_id IS NOT NULL)
) STRICT;
INSERT INTO journal_new (position, ticket_id, ticket_number, prev_hash, hash)
SELECT position, ticket_id, ticket_number, prev_hash, hash FROM journal;
DROP TABLE journal;
ALTER TABLE journal_new RENAME TO journal;
CREATE INDEX journal_shift ON journal (shift_id) WHERE shift_id IS NOT NULL;

-- Z numbers, gapless per till from 1, taken when a shift opens.
INSERT INTO counters (name, value) VALUES ('z_number', 0);

-- One row per shift; at most one open (`closed_at_ms` NULL). `opened_by`/`closed_by` are the
-- JSON `Operator`; `report` the JSON `ShiftClosed` (the Z report) once closed; `reconciliation`
-- the JSON `Reconciliation` the back office's answer set (pending until then).
CREATE TABLE shifts (
    id             TEXT PRIMARY KEY,
    z_number       INTEGER NOT NULL UNIQUE CHECK (z_number >= 1),
    opened_by      TEXT NOT NULL,
    opened_at_ms   INTEGER NOT NULL,
    float          INTEGER NOT NULL CHECK (float >= 0),
    closed_at_ms   INTEGER,
    report         TEXT,
    reconciliation TEXT NOT NULL DEFAULT '{"state":"pending"}',
    CHECK ((closed_at_ms IS NULL) = (report IS NULL))
) STRICT;
CREATE UNIQUE INDEX shifts_one_open ON shifts ((closed_at_ms IS NULL)) WHERE closed_at_ms IS NULL;

-- Cash moved in or out of an open shift's drawer outside a sale; `movement` is the JSON
-- `CashMoved` as sent.
CREATE TABLE cash_movements (
    id       TEXT PRIMARY KEY,
    shift_id TEXT NOT NULL REFERENCES shifts (id),
    at_ms    INTEGER NOT NULL,
    movement TEXT NOT NULL
) STRICT;
CREATE INDEX cash_movements_shift ON cash_movements (shift_id, at_ms);
