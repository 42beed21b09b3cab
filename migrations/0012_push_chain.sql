-- The push chain: one link per mutation queued since the chain began, kept forever (outbox rows
-- are pruned once applied; these are not), so the till can check its own chain and the head the
-- back office accepted against it. `seq` is the outbox sequence (local, never reused); the
-- sequence the back office knows is `seq` less the outbox's base of the identity it was queued
-- under. `ticket_id` names the ticket of a ticket mutation, whose content is checked against the
-- ticket rebuilt from its rows. Mutations queued before this migration have no link: the chain
-- starts at the first mutation queued after it (the `push_chain_base` setting).
CREATE TABLE push_chain (
    seq       INTEGER PRIMARY KEY,
    content   TEXT NOT NULL,
    link      TEXT NOT NULL,
    ticket_id TEXT
) STRICT;
