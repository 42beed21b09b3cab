-- The terminal's store: identity and config, counters, catalog, tickets, journal, outbox.
-- Applied in one transaction; `PRAGMA user_version` records the highest migration applied.

-- Small typed settings of this terminal (identity, clock, enrolment, sync state), JSON values.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Gapless per-terminal sequences ('ticket', 'mutation'): `value` is the last number handed out.
-- Read and bumped inside the write transaction that uses the number, so a rollback returns it.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL CHECK (value >= 0)
) STRICT;
INSERT INTO counters (name, value) VALUES ('ticket', 0), ('mutation', 0);

-- The catalog, as last loaded from the demo file or pulled from the back office.
CREATE TABLE store_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    store_name         TEXT NOT NULL,
    currency_code      TEXT NOT NULL,
    currency_exponent  INTEGER NOT NULL CHECK (currency_exponent BETWEEN 0 AND 4),
    prices_include_tax INTEGER NOT NULL CHECK (prices_include_tax IN (0, 1)),
    locale             TEXT NOT NULL
) STRICT;

CREATE TABLE tax_rates (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000)
) STRICT;

-- No foreign key to tax_rates: a pull page may bring a product before its rate. A product
-- whose rate is unknown cannot be sold (`unknown_tax_rate`).
CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    sku          TEXT NOT NULL,
    barcode      TEXT,
    name         TEXT NOT NULL,
    category     TEXT NOT NULL,
    unit_price   INTEGER NOT NULL CHECK (unit_price >= 0),
    tax_category TEXT NOT NULL,
    active       INTEGER NOT NULL CHECK (active IN (0, 1))
) STRICT;
CREATE INDEX products_barcode ON products (barcode);
CREATE INDEX products_category ON products (category, name);
CREATE INDEX products_sku ON products (sku);

-- Tickets are append-only: a void or refund is a new row whose `reverses` names the original.
-- The UNIQUE on `reverses` makes "reversed at most once" a property of the store itself.
CREATE TABLE tickets (
    id                 TEXT PRIMARY KEY,
    number             INTEGER NOT NULL UNIQUE CHECK (number >= 1),
    kind               TEXT NOT NULL CHECK (kind IN ('sale', 'void', 'refund')),
    reverses           TEXT UNIQUE REFERENCES tickets (id),
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
    journal_hash       TEXT NOT NULL
) STRICT;

CREATE TABLE ticket_lines (
    ticket_id       TEXT NOT NULL REFERENCES tickets (id),
    line_no         INTEGER NOT NULL,
    product_id      TEXT NOT NULL,
    sku             TEXT NOT NULL,
    name            TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    unit_price      INTEGER NOT NULL,
    tax_category    TEXT NOT NULL,
    tax_rate_bp     INTEGER NOT NULL,
    discount        TEXT,                -- JSON `Discount`, or NULL
    gross           INTEGER NOT NULL,
    line_discount   INTEGER NOT NULL,
    ticket_discount INTEGER NOT NULL,
    amount          INTEGER NOT NULL,
    tax             INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, line_no)
) STRICT;

CREATE TABLE ticket_taxes (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    rate_bp   INTEGER NOT NULL,
    base      INTEGER NOT NULL,
    tax       INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, rate_bp)
) STRICT;

-- Never a full card number: a card tender keeps the approval reference and at most last four.
CREATE TABLE tenders (
    ticket_id    TEXT NOT NULL REFERENCES tickets (id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('cash', 'card')),
    amount       INTEGER NOT NULL,       -- cash: tendered; card: amount
    change       INTEGER NOT NULL DEFAULT 0,
    approval_ref TEXT,
    last4        TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
    PRIMARY KEY (ticket_id, position)
) STRICT;

-- The hash chain, one entry per ticket in number order: hash = SHA-256(prev_hash || canonical
-- ticket bytes). `position` equals the ticket number.
CREATE TABLE journal (
    position      INTEGER PRIMARY KEY,
    ticket_id     TEXT NOT NULL UNIQUE REFERENCES tickets (id),
    ticket_number INTEGER NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
) STRICT;

-- Mutations waiting for (or settled by) the back office, in gapless `seq` order. `payload` is
-- the serialized `till_protocol::Mutation` exactly as it is sent, so a resend is byte-identical.
CREATE TABLE outbox (
    seq                INTEGER PRIMARY KEY CHECK (seq >= 1),
    mutation_id        TEXT NOT NULL UNIQUE,
    kind               TEXT NOT NULL,    -- the `MutationBody` tag, e.g. 'ticket_created'
    entity_id          TEXT NOT NULL,
    payload            BLOB NOT NULL,
    state              TEXT NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'in_flight', 'applied', 'failed', 'conflict', 'discarded')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    result             TEXT,             -- JSON `till_protocol::Outcome` once settled
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    next_attempt_at_ms INTEGER
) STRICT;
CREATE INDEX outbox_state ON outbox (state, seq);
