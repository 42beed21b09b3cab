-- Employees: who may work a till, in which role, and the Argon2id hash of their PIN as a PHC
-- string (never the PIN). Each change takes the next change number, so tills pull it; an
-- employee is disabled, never deleted, so tills learn of that too.
CREATE TABLE employees (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash      text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at_ms bigint NOT NULL,
    change_seq    bigint NOT NULL
);
CREATE INDEX employees_change ON employees (change_seq);
