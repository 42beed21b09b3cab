-- What made each customer's current version: the id of the terminal mutation that did, or an id
-- drawn for an edit made in the back office. A terminal's edit names it as its base and is
-- applied only while the version it names is current. NULL for versions written before.
ALTER TABLE customers ADD COLUMN made_by TEXT;
