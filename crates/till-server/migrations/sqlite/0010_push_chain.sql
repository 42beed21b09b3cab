-- The push chain: per terminal the last link accepted (`chain_seq`, `chain_link`) and the
-- lowest head it named that the chain has not reached yet (`announced_seq`, `announced_link`);
-- per mutation its content and link. Mutations settled before, and those of terminals that
-- queued them before the chain existed, have none: a terminal's chain begins at the first
-- mutation with a link.
ALTER TABLE terminals ADD COLUMN chain_seq INTEGER;
ALTER TABLE terminals ADD COLUMN chain_link TEXT;
ALTER TABLE terminals ADD COLUMN announced_seq INTEGER;
ALTER TABLE terminals ADD COLUMN announced_link TEXT;
ALTER TABLE mutations ADD COLUMN content TEXT;
ALTER TABLE mutations ADD COLUMN link TEXT;
