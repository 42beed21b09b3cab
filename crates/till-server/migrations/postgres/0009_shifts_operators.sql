-- Who did what, and shifts. A ticket keeps its operator (who rang it up), the manager's approval
-- it needed (JSON, `till_protocol::Approval`) and its shift, taken out of its JSON into columns so
-- listings, reports and a shift's reconciliation read them; every mutation keeps who made it on
-- the till. Tickets stored before keep theirs too (taken from their JSON here).
ALTER TABLE tickets ADD COLUMN operator_id uuid;
ALTER TABLE tickets ADD COLUMN operator_name text;
ALTER TABLE tickets ADD COLUMN approval text;
ALTER TABLE tickets ADD COLUMN shift_id uuid;
UPDATE tickets SET operator_id = (body::jsonb -> 'operator' ->> 'id')::uuid,
                   operator_name = body::jsonb -> 'operator' ->> 'name',
                   approval = (body::jsonb -> 'approval')::text,
                   shift_id = (body::jsonb ->> 'shift_id')::uuid
WHERE body::jsonb ?| ARRAY['operator', 'approval', 'shift_id'];
CREATE INDEX tickets_shift ON tickets (shift_id);
-- A sale's earlier reversals, read when another refund of it arrives.
CREATE INDEX tickets_reverses ON tickets (reverses);
CREATE INDEX tickets_created ON tickets (created_at_ms);
ALTER TABLE mutations ADD COLUMN operator_id uuid;
ALTER TABLE mutations ADD COLUMN operator_name text;

-- A till's shift: opened with a float, closed with the cash counted and its Z report
-- (`till_figures`, JSON `till_protocol::shift::ShiftFigures`; `expected_cash` and `difference` as
-- the Z report has them). On close the back office computes the figures again from the tickets
-- and cash movements it holds for the shift: `matched`, or `mismatch` with what differs
-- (`mismatch`, JSON `till_protocol::shift::ShiftMismatch`).
CREATE TABLE shifts (
    server_id      bigserial PRIMARY KEY,
    id             uuid NOT NULL UNIQUE,
    terminal_id    uuid NOT NULL REFERENCES terminals (id),
    z_number       bigint NOT NULL,
    opened_by_id   uuid NOT NULL,
    opened_by_name text NOT NULL,
    opened_at_ms   bigint NOT NULL,
    opening_float  bigint NOT NULL,
    closed_by_id   uuid,
    closed_by_name text,
    closed_at_ms   bigint,
    counted_cash   bigint,
    difference     bigint,
    expected_cash  bigint,
    till_figures   text,
    state          text NOT NULL CHECK (state IN ('open', 'matched', 'mismatch')),
    mismatch       text
);
CREATE INDEX shifts_terminal ON shifts (terminal_id, z_number);

-- Cash put into or taken out of a shift's drawer outside a sale, kept whole (`body`, JSON
-- `till_protocol::shift::CashMoved`) beside the columns a listing reads.
CREATE TABLE cash_movements (
    id          uuid PRIMARY KEY,
    shift_id    uuid NOT NULL REFERENCES shifts (id),
    kind        text NOT NULL CHECK (kind IN ('cash_in', 'cash_out', 'no_sale')),
    amount      bigint NOT NULL,
    operator_id uuid NOT NULL,
    at_ms       bigint NOT NULL,
    body        text NOT NULL
);
CREATE INDEX cash_movements_shift ON cash_movements (shift_id);

-- Whether the terminal was sent every employee, once, when it first pulled at protocol revision 3
-- or later: a till that spoke an older revision before passed the employee changes in its pulls.
ALTER TABLE terminals ADD COLUMN employees_sent boolean NOT NULL DEFAULT false;
