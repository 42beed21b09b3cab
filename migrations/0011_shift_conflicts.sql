-- A closed shift whose Z report the back office does not agree with is a conflict for a manager:
-- conflicts gain the entity kind `shift` (`local` the Z report sent, `server` what the back
-- office found different). The table is rebuilt to widen its check; every row keeps its id and
-- columns.
CREATE TABLE conflicts_new (
    id             INTEGER PRIMARY KEY,
    entity_kind    TEXT NOT NULL CHECK (entity_kind IN ('customer', 'ticket', 'shift')),
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
INSERT INTO conflicts_new SELECT id, entity_kind, entity_id, outbox_seq, reason, local, server,
    base, fields, policy, detected_at_ms, resolved_at_ms, resolved_by, resolution, resolution_seq
FROM conflicts;
DROP TABLE conflicts;
ALTER TABLE conflicts_new RENAME TO conflicts;
CREATE UNIQUE INDEX conflicts_open_entity ON conflicts (entity_kind, entity_id)
    WHERE resolved_at_ms IS NULL;
