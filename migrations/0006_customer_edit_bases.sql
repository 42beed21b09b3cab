-- Customer edits judged by the identity of their base. `made_by` is what made the server version
-- a customer row is based on (the back office's `Customer::made_by`); a local edit names it as
-- its base. NULL when the back office did not say (a version made before it kept that).
ALTER TABLE customers ADD COLUMN made_by TEXT;

-- Each queued customer edit's own base: the customer's fields it was made on (JSON; NULL for a
-- create), so a conflict knows exactly which fields that edit changed, whatever other edits of
-- the same customer were queued around it.
CREATE TABLE customer_edits (
    mutation_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    base        TEXT
) STRICT;
