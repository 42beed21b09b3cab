-- Each terminal's Ed25519 public key (64 hex digits), registered by the till with its token. The
-- back office checks with it the signed bundle a dead till's unsent sales are carried in
-- (`till-server import-queue`). NULL until the till registers one.
ALTER TABLE terminals ADD COLUMN public_key text;
