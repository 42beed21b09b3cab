-- A customer's tags (a JSON array of trimmed, lower-case strings) and loyalty points. Each field
-- merges by its own rule when a till and the back office both changed it: tags as a set, points
-- as a counter. Customers written before have no tags and no points.
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers ADD COLUMN loyalty_points INTEGER NOT NULL DEFAULT 0;
