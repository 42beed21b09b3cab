-- Till back office, first schema. Ids are UUID text; money is integer minor units.

-- Global counters: `change` orders every catalog/customer change for pull cursors;
-- `ticket_number` numbers tickets across the whole back office.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('change', 0), ('ticket_number', 0);

CREATE TABLE terminals (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- Hex SHA-256 of the bearer token; the token itself is never stored.
    token_hash    TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    -- Every mutation of this terminal up to this sequence is settled.
    last_seq      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Every settled mutation, kept forever so a replay returns the original outcome.
CREATE TABLE mutations (
    id             TEXT PRIMARY KEY,
    terminal_id    TEXT NOT NULL REFERENCES terminals (id),
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    payload_hash   TEXT NOT NULL,
    -- The outcome JSON exactly as first answered.
    outcome        TEXT NOT NULL,
    -- For ticket mutations, which ticket the terminal sent (kept for duplicate checks in stats).
    ticket_id      TEXT,
    ticket_number  INTEGER,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (terminal_id, seq)
) STRICT;
CREATE INDEX mutations_ticket ON mutations (ticket_id);

CREATE TABLE tickets (
    server_id     INTEGER PRIMARY KEY,
    server_number INTEGER NOT NULL UNIQUE,
    id            TEXT NOT NULL UNIQUE,
    terminal_id   TEXT NOT NULL REFERENCES terminals (id),
    number        INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    reverses      TEXT,
    -- The void or refund that reversed this sale, if any.
    reversed_by   TEXT,
    total         INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    mutation_id   TEXT NOT NULL,
    body          TEXT NOT NULL
) STRICT;
CREATE INDEX tickets_terminal ON tickets (terminal_id, number);

-- Stock moves by deltas, so concurrent sales on several terminals never conflict.
CREATE TABLE stock (
    product_id TEXT PRIMARY KEY,
    quantity   INTEGER NOT NULL
) STRICT;

-- Single row: the store settings.
CREATE TABLE settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    body       TEXT NOT NULL,
    change_seq INTEGER NOT NULL
) STRICT;

CREATE TABLE tax_rates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    rate_bp    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    change_seq INTEGER NOT NULL
) STRICT;
CREATE INDEX tax_rates_change ON tax_rates (change_seq);

CREATE TABLE products (
    server_id    INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    sku          TEXT NOT NULL UNIQUE,
    barcode      TEXT,
    name         TEXT NOT NULL,
    category     TEXT NOT NULL,
    unit_price   INTEGER NOT NULL,
    tax_category TEXT NOT NULL,
    active       INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    change_seq   INTEGER NOT NULL
) STRICT;
CREATE INDEX products_change ON products (change_seq);

CREATE TABLE customers (
    server_id  INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    email      TEXT,
    phone      TEXT,
    note       TEXT,
    deleted    INTEGER NOT NULL DEFAULT 0,
    change_seq INTEGER NOT NULL
) STRICT;
CREATE INDEX customers_change ON customers (change_seq);
