-- Finding the mutations of one entity (a ticket's sync state, a customer's pending edits)
-- without scanning the whole outbox.
CREATE INDEX outbox_entity ON outbox (entity_id, seq);
