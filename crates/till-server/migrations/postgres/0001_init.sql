-- Till back office on PostgreSQL, first schema: the same tables as the SQLite backend. Ids are
-- uuid; money is bigint minor units; outcomes are kept as the exact text first answered (jsonb
-- would reorder keys, and a replay must answer byte for byte).

-- `change` orders every catalog/customer change for pull cursors. Its single row is taken with
-- `UPDATE … RETURNING` by each transaction that records a change, so change numbers commit in
-- order (see storage/postgres/mod.rs).
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change', 0);

-- Back-office ticket numbers come from a sequence, not from a counter row: pushes of different
-- terminals must not queue behind one row. A rolled-back push may leave a hole in these numbers;
-- they are unique, not gapless (terminal ticket numbers and mutation seqs are the gapless ones).
CREATE SEQUENCE ticket_number;

CREATE TABLE terminals (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    -- Hex SHA-256 of the bearer token; the token itself is never stored.
    token_hash    text NOT NULL UNIQUE,
    created_at_ms bigint NOT NULL,
    revoked_at_ms bigint,
    -- Every mutation of this terminal up to this sequence is settled. A push locks this row
    -- (SELECT … FOR UPDATE): one terminal's batches settle one at a time, across replicas.
    last_seq      bigint NOT NULL DEFAULT 0
);

-- Every settled mutation, kept forever so a replay returns the original outcome.
CREATE TABLE mutations (
    id             uuid PRIMARY KEY,
    terminal_id    uuid NOT NULL REFERENCES terminals (id),
    seq            bigint NOT NULL,
    kind           text NOT NULL,
    payload_hash   text NOT NULL,
    outcome        text NOT NULL,
    ticket_id      uuid,
    ticket_number  bigint,
    received_at_ms bigint NOT NULL,
    UNIQUE (terminal_id, seq)
);
CREATE INDEX mutations_ticket ON mutations (ticket_id);
CREATE INDEX mutations_ticket_number ON mutations (terminal_id, ticket_number);

CREATE TABLE tickets (
    server_id     bigserial PRIMARY KEY,
    server_number bigint NOT NULL UNIQUE,
    id            uuid NOT NULL UNIQUE,
    terminal_id   uuid NOT NULL REFERENCES terminals (id),
    number        bigint NOT NULL,
    kind          text NOT NULL,
    reverses      uuid,
    reversed_by   uuid,
    total         bigint NOT NULL,
    created_at_ms bigint NOT NULL,
    mutation_id   uuid NOT NULL,
    body          text NOT NULL
);
CREATE INDEX tickets_terminal ON tickets (terminal_id, number);

-- Stock is a ledger of deltas: a push only appends its moves, so pushes of many terminals
-- selling the same products neither conflict nor queue behind one row per product (an
-- `UPDATE … SET quantity = quantity + delta` would hold that row to commit, and every till
-- sells the popular products). The quantity is the sum of a product's moves.
CREATE TABLE stock_moves (
    id         bigserial PRIMARY KEY,
    product_id uuid NOT NULL,
    delta      bigint NOT NULL
);
CREATE INDEX stock_moves_product ON stock_moves (product_id);

CREATE TABLE settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    body       text NOT NULL,
    change_seq bigint NOT NULL
);

CREATE TABLE tax_rates (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    rate_bp    bigint NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    change_seq bigint NOT NULL
);
CREATE INDEX tax_rates_change ON tax_rates (change_seq);

CREATE TABLE products (
    server_id    bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    sku          text NOT NULL UNIQUE,
    barcode      text,
    name         text NOT NULL,
    category     text NOT NULL,
    unit_price   bigint NOT NULL,
    tax_category text NOT NULL,
    active       boolean NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    change_seq   bigint NOT NULL
);
CREATE INDEX products_change ON products (change_seq);

CREATE TABLE customers (
    server_id  bigserial PRIMARY KEY,
    id         uuid NOT NULL UNIQUE,
    version    bigint NOT NULL,
    name       text NOT NULL,
    email      text,
    phone      text,
    note       text,
    deleted    boolean NOT NULL DEFAULT false,
    change_seq bigint NOT NULL
);
CREATE INDEX customers_change ON customers (change_seq);
