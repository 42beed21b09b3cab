-- A mutation a terminal queued again under a new identity after its history diverged from the
-- back office's (a restored or copied data dir) names where it was first numbered: that
-- terminal and its id there. `till-server tickets` shows the tickets such mutations stored as
-- recovered; NULL for every other mutation.
ALTER TABLE mutations ADD COLUMN recovered_terminal TEXT;
ALTER TABLE mutations ADD COLUMN recovered_mutation TEXT;
