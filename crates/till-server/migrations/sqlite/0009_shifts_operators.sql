-- Who did what, and shifts. A ticket keeps its operator (who rang it up), the manager's approval
-- it needed (JSON, `till_protocol::Approval`) and its shift, taken out of its JSON into columns so
-- listings, reports and a shift's reconciliation read them; every mutation keeps who made it on
-- the till. Tickets stored before keep theirs too (taken from their JSON here).
ALTER TABLE tickets ADD COLUMN operator_id TEXT;
ALTER TABLE tickets ADD COLUMN operator_name TEXT;
ALTER TABLE tickets ADD COLUMN approval TEXT;
ALTER TABLE tickets ADD COLUMN shift_id TEXT;
UPDATE tickets SET operator_id = json_extract(body, '$.operator.id'),
                   operator_name = json_extract(body, '$.operator.name'),
                   approval = json_extract(body, '$.approval'),
                   shift_id = json_extract(body, '$.shift_id');
CREATE INDEX tickets_shift ON tickets (shift_id);
-- A sale's earlier reversals, read when another refund of it arrives.
CREATE INDEX tickets_reverses ON tickets (reverses);
CREATE INDEX tickets_created ON tickets (created_at_ms);
ALTER TABLE mutations ADD COLUMN operator_id TEXT;
ALTER TABLE mutations ADD COLUMN operator_name TEXT;

-- A till's shift: opened with a float, closed with the cash counted and its Z report
-- (`till_figures`, JSON `till_protocol::shift::ShiftFigures`; `expected_cash` and `difference` as
-- the Z report has them). On close the back office computes the figures again from the tickets
-- and cash movements it holds for the shift: `matched`, or `mismatch` with what differs
-- (`mismatch`, JSON `till_protocol::shift::ShiftMismatch`).
CREATE TABLE shifts (
    server_id      INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    terminal_id    TEXT NOT NULL REFERENCES terminals (id),
    z_number       INTEGER NOT NULL,
    opened_by_id   TEXT NOT NULL,
    opened_by_name TEXT NOT NULL,
    opened_at_ms   INTEGER NOT NULL,
    opening_float  INTEGER NOT NULL,
    closed_by_id   TEXT,
    closed_by_name TEXT,
    closed_at_ms   INTEGER,
    counted_cash   INTEGER,
    difference     INTEGER,
    expected_cash  INTEGER,
    till_figures   TEXT,
    state          TEXT NOT NULL CHECK (state IN ('open', 'matched', 'mismatch')),
    mismatch       TEXT
) STRICT;
CREATE INDEX shifts_terminal ON shifts (terminal_id, z_number);

-- Cash put into or taken out of a shift's drawer outside a sale, kept whole (`body`, JSON
-- `till_protocol::shift::CashMoved`) beside the columns a listing reads.
CREATE TABLE cash_movements (
    id          TEXT PRIMARY KEY,
    shift_id    TEXT NOT NULL REFERENCES shifts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('cash_in', 'cash_out', 'no_sale')),
    amount      INTEGER NOT NULL,
    operator_id TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX cash_movements_shift ON cash_movements (shift_id);

-- Whether the terminal was sent every employee, once, when it first pulled at protocol revision 3
-- or later: a till that spoke an older revision before passed the employee changes in its pulls.
ALTER TABLE terminals ADD COLUMN employees_sent INTEGER NOT NULL DEFAULT 0;
