-- What each sync cycle cost on the wire, how long its requests took, and what the check at the end
-- of a drain found. Cycles recorded before this have zeros and no check.
ALTER TABLE sync_cycles ADD COLUMN bytes_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_cycles ADD COLUMN bytes_received INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_cycles ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_cycles ADD COLUMN latency_p50_ms INTEGER;
ALTER TABLE sync_cycles ADD COLUMN latency_p99_ms INTEGER;
ALTER TABLE sync_cycles ADD COLUMN verify TEXT;
