-- Employees as the back office sends them: who may work this till, in which role, and the
-- Argon2id hash of their PIN (a PHC string; never the PIN), so a PIN is checked offline. A
-- disabled employee stays, so the till knows to refuse their PIN.
CREATE TABLE employees (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    role     TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
) STRICT;
