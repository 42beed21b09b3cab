-- Employees: who may work a till, in which role, and the Argon2id hash of their PIN as a PHC
-- string (never the PIN). Each change takes the next change number, so tills pull it; an
-- employee is disabled, never deleted, so tills learn of that too.
CREATE TABLE employees (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash      TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    change_seq    INTEGER NOT NULL
) STRICT;
CREATE INDEX employees_change ON employees (change_seq);
