-- `terminal rotate-token`: the token a terminal had before its last rotation keeps working until
-- previous_expires_at_ms, so a till can take its new token without a gap in sync. Only that one
-- earlier token is kept (as its hash, like the current one); NULL when there is none.
ALTER TABLE terminals ADD COLUMN previous_token_hash TEXT;
ALTER TABLE terminals ADD COLUMN previous_expires_at_ms INTEGER;
CREATE INDEX terminals_previous_token ON terminals (previous_token_hash);
