-- Who did what, and several refunds of one sale.
--
-- Every ticket names the employee who rang it up (`operator_id`, `operator_name`) and the
-- manager's approval it needed (`approval`, JSON `till_protocol::Approval`); both are NULL on a
-- till without employees and on tickets from before them, so those rebuild and hash as before.
--
-- `reverses` loses its UNIQUE: a sale may be refunded several times, each refund up to what is
-- left of each line, and "a void only of a sale nothing was returned from" is kept by
-- `tickets::void`. SQLite cannot drop a column's constraint, so the table is rebuilt: copied
-- aside, dropped, created anew and filled again. The store runs with foreign keys on, and
-- migrations run inside one transaction, where `PRAGMA foreign_keys` cannot change; instead
-- `defer_foreign_keys` holds the checks of the rows that point at `tickets` (its lines, taxes,
-- tenders, journal entries and reversals) until the commit, by when every ticket they name is
-- back. Indexes come before the rows, so refilling checks each pointer by index.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE tickets_before_0008 AS SELECT * FROM main.tickets;
DROP TABLE main.tickets;

CREATE TABLE main.tickets (
    id                 TEXT PRIMARY KEY,
    number             INTEGER NOT NULL UNIQUE CHECK (number >= 1),
    kind               TEXT NOT NULL CHECK (kind IN ('sale', 'void', 'refund')),
    reverses           TEXT REFERENCES tickets (id),
    created_at_ms      INTEGER NOT NULL,
    hlc_wall_ms        INTEGER NOT NULL,
    hlc_counter        INTEGER NOT NULL,
    hlc_node           TEXT NOT NULL,
    currency_code      TEXT NOT NULL,
    currency_exponent  INTEGER NOT NULL,
    prices_include_tax INTEGER NOT NULL CHECK (prices_include_tax IN (0, 1)),
    customer_id        TEXT,
    ticket_discount    TEXT,             -- JSON `till_protocol::pricing::Discount`, or NULL
    subtotal           INTEGER NOT NULL,
    discount_total     INTEGER NOT NULL,
    tax_total          INTEGER NOT NULL,
    total              INTEGER NOT NULL,
    journal_hash       TEXT NOT NULL,
    operator_id        TEXT,
    operator_name      TEXT,
    approval           TEXT,             -- JSON `till_protocol::Approval`, or NULL
    CHECK ((operator_id IS NULL) = (operator_name IS NULL))
) STRICT;
CREATE INDEX main.tickets_reverses ON tickets (reverses) WHERE reverses IS NOT NULL;

INSERT INTO main.tickets (id, number, kind, reverses, created_at_ms, hlc_wall_ms, hlc_counter,
                          hlc_node, currency_code, currency_exponent, prices_include_tax,
                          customer_id, ticket_discount, subtotal, discount_total, tax_total,
                          total, journal_hash)
SELECT id, number, kind, reverses, created_at_ms, hlc_wall_ms, hlc_counter, hlc_node,
       currency_code, currency_exponent, prices_include_tax, customer_id, ticket_discount,
       subtotal, discount_total, tax_total, total, journal_hash
  FROM temp.tickets_before_0008
 ORDER BY number;
DROP TABLE temp.tickets_before_0008;

-- The line of the sale each line of a refund returns (NULL on other tickets and on refunds from
-- before; those are matched by product and price, see `tickets::returned`).
ALTER TABLE ticket_lines ADD COLUMN returns_line INTEGER;

-- The manager's approval a discarded failed item needed (JSON `till_protocol::Approval`).
ALTER TABLE outbox_actions ADD COLUMN approval TEXT;
