-- The back office's own settings (`till-server settings set NAME VALUE`): store policies only the
-- server applies, such as allow_cross_till_returns. A setting without a row has its default.
CREATE TABLE office_settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
