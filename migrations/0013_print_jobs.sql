-- The print queue: every job the printer should print, in order (`id`), with the bytes rendered
-- when it was queued. A job is queued in the transaction of what it prints (a sale's receipt and
-- drawer kick with the sale), and `printed_at_ms` is set right after the printer took its bytes,
-- so a crash never loses a receipt and a printer that was off prints each waiting one once.
CREATE TABLE print_jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL
                  CHECK (kind IN ('receipt', 'copy', 'z_report', 'test', 'drawer_kick')),
    -- The ticket of a receipt or copy; the Z number of a Z report.
    ticket_id     TEXT,
    z_number      INTEGER,
    bytes         BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    printed_at_ms INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
) STRICT;

CREATE INDEX print_jobs_waiting ON print_jobs (id) WHERE printed_at_ms IS NULL;
