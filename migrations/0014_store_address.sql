-- The store's address and tax id, as the back office's settings carry them, for receipts.
ALTER TABLE store_settings ADD COLUMN address TEXT;
ALTER TABLE store_settings ADD COLUMN tax_id TEXT;
