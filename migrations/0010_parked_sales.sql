-- Sales the register set aside to finish later (parked), and the one sale in progress, saved on
-- every change so that a crash or a restart of the app does not lose it. Each holds the cart as
-- the register holds it (JSON of `till_core::parked::SaleDraft`): product ids, quantities,
-- discounts and the customer. No figures are kept: a recalled sale is priced again.
CREATE TABLE parked_sales (
    id           TEXT PRIMARY KEY,
    label        TEXT NOT NULL,
    draft        TEXT NOT NULL,
    parked_at_ms INTEGER NOT NULL,
    -- Who parked it (JSON of `Operator`); NULL on a till without employees.
    parked_by    TEXT
) STRICT;

CREATE TABLE current_sale (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    draft       TEXT NOT NULL,
    saved_at_ms INTEGER NOT NULL
) STRICT;
