-- Disputed reversals: a void or refund of a sale another reversal already reversed. The reversal
-- is stored in `tickets` and counted (the cash left the drawer); this row flags it for a manager
-- until the till that made it settles it: the refund stands, or the cash came back and
-- `counter_sale_id`, a sale of the same till and total, counts it in again.
CREATE TABLE disputes (
    id              bigserial PRIMARY KEY,
    reversal_id     uuid NOT NULL UNIQUE REFERENCES tickets (id),
    sale_id         uuid NOT NULL,
    first_id        uuid NOT NULL,
    terminal_id     uuid NOT NULL REFERENCES terminals (id),
    total           bigint NOT NULL,
    detected_at_ms  bigint NOT NULL,
    -- NULL while open; then 'refund_stands' or 'cash_came_back'.
    settlement      text CHECK (settlement IN ('refund_stands', 'cash_came_back')),
    counter_sale_id uuid UNIQUE,
    settled_by      text,
    why             text,
    settled_at_ms   bigint
);
CREATE INDEX disputes_terminal ON disputes (terminal_id);
