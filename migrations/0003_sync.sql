-- The sync engine's tables: its own state, the local copy of customers, conflicts, what became
-- of failed items, pushed tickets' server identity, and one row per sync cycle.

-- One row: where sync stands. `next_retry_at_ms` is persisted so a restart during a back-off
-- does not hammer the server; `ack_needed` is set after an ambiguous failure (request sent, no
-- answer) so the next attempt asks the server what it settled before resending.
CREATE TABLE sync_state (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    server_url         TEXT,
    token              TEXT,
    terminal_id        TEXT,
    terminal_name      TEXT,
    cursor             INTEGER NOT NULL DEFAULT 0 CHECK (cursor >= 0),
    next_retry_at_ms   INTEGER,
    last_success_at_ms INTEGER,
    last_error_code    TEXT,
    last_error_message TEXT,
    clock_offset_ms    INTEGER,
    paused             INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    ack_needed         INTEGER NOT NULL DEFAULT 0 CHECK (ack_needed IN (0, 1)),
    server_acked_seq   INTEGER NOT NULL DEFAULT 0,
    failures_in_a_row  INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO sync_state (id) VALUES (1);

-- The back office's customers as this terminal knows them, plus local edits not yet settled.
-- `version` is the server version the local copy is based on (0: created here, never applied);
-- `base` is the server's fields at that version (JSON), the common ancestor for a field merge.
CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
    name          TEXT NOT NULL,
    email         TEXT,
    phone         TEXT,
    note          TEXT,
    base          TEXT,
    pending       INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1)),
    deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    updated_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX customers_name ON customers (name);

-- Disagreements sync could not settle by itself. `local`, `server` and `base` are JSON; `fields`
-- is a JSON array of the differing field names. At most one open conflict per entity.
CREATE TABLE conflicts (
    id             INTEGER PRIMARY KEY,
    entity_kind    TEXT NOT NULL CHECK (entity_kind IN ('customer', 'ticket')),
    entity_id      TEXT NOT NULL,
    outbox_seq     INTEGER,
    reason         TEXT NOT NULL,
    local          TEXT,
    server         TEXT,
    base           TEXT,
    fields         TEXT NOT NULL DEFAULT '[]',
    policy         TEXT NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    resolved_at_ms INTEGER,
    resolved_by    TEXT,
    resolution     TEXT,
    resolution_seq INTEGER
) STRICT;
CREATE UNIQUE INDEX conflicts_open_entity ON conflicts (entity_kind, entity_id)
    WHERE resolved_at_ms IS NULL;

-- What a person did with a failed item: retried (as a new mutation `new_seq`) or discarded.
-- Failed items never leave the list without a row here.
CREATE TABLE outbox_actions (
    id         INTEGER PRIMARY KEY,
    seq        INTEGER NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('retry', 'discard')),
    new_seq    INTEGER,
    reason     TEXT,
    actor      TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    last_error TEXT
) STRICT;

-- The back office's identity of each ticket this terminal pushed.
CREATE TABLE ticket_sync (
    ticket_id     TEXT PRIMARY KEY,
    server_id     INTEGER NOT NULL,
    server_number INTEGER,
    version       INTEGER NOT NULL,
    synced_at_ms  INTEGER NOT NULL
) STRICT;

-- One row per sync cycle, for the UI and `tillctl history`.
CREATE TABLE sync_cycles (
    id            INTEGER PRIMARY KEY,
    started_at_ms INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    pushed        INTEGER NOT NULL,
    pulled        INTEGER NOT NULL,
    conflicts     INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    error         TEXT
) STRICT;
