-- A customer's tags (a JSON array of trimmed, lower-case strings) and loyalty points (never below
-- 0). When this till and the back office both changed them, tags merge as a set and points as a
-- counter. Customers held before have no tags and no points until the back office sends them.
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers ADD COLUMN loyalty_points INTEGER NOT NULL DEFAULT 0;
