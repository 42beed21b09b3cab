-- The HLC stamp of the change that made each customer's current version (JSON text): a
-- terminal's mutation stamp, or the back office's clock for an edit made here. Terminals compare
-- it with their own edit under the last-writer-wins policy. NULL for rows written before.
ALTER TABLE customers ADD COLUMN hlc TEXT;
