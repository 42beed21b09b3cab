//! The PostgreSQL [`Tx`]: each load and write of a use case as one or two prepared statements
//! in a READ COMMITTED transaction. A load with [`Lock::Row`] takes `FOR UPDATE`, as do the
//! terminal's row of a push, the product loads and the change counter (see the module doc of
//! [`super`]). A push's mutations and stock moves are written at its end in one statement each.

use std::collections::HashSet;

use deadpool_postgres::Transaction;
use till_protocol::shift::{CashMoved, ShiftClosed, ShiftOpened};
use till_protocol::{CustomerFields, Employee, Product, Recovered, StoredFigures, TaxRate, Ticket};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::reads::{employee_from_row, terminal_from_row};
use super::{all, exec, one, opt, TxError};
use crate::clock::now_ms;
use crate::decide::catalog::StoredRate;
use crate::decide::chain::ChainHeads;
use crate::decide::customers::{tags_text, CustomerRow, StoredCustomer};
use crate::decide::disputes::{DisputeClosed, NewDispute, StoredDispute};
use crate::decide::push::{Recorded, RecordedBy, Settlement};
use crate::decide::settings::OfficeSettings;
use crate::decide::shifts::{Reconciled, StoredShift};
use crate::decide::tickets::{EarlierReversal, SoldLine, StoredTicket};
use crate::storage::columns::{
    approval_column, chain_head, chain_head_columns, earlier_reversal, from_json, kind_name,
    parse_kind, parse_ticket, sold_lines, stored_figures, ticket_body, to_i64, to_json, to_u64,
    CUSTOMER_COLUMNS, EMPLOYEE_COLUMNS, OPEN, PRODUCT_COLUMNS, TERMINAL_COLUMNS,
};
use crate::storage::tx::{CustomerVersion, Lock, ProductKey, Tx};
use crate::storage::TerminalRecord;

/// One READ COMMITTED transaction of a write use case.
pub(super) struct PgTx<'t, 'c> {
    tx: &'t Transaction<'c>,
}

impl<'t, 'c> PgTx<'t, 'c> {
    pub(super) fn new(tx: &'t Transaction<'c>) -> Self {
        PgTx { tx }
    }
}

/// `sql` with `FOR UPDATE` when the row is to be held.
fn locking(sql: String, lock: Lock) -> String {
    match lock {
        Lock::No => sql,
        Lock::Row => sql + " FOR UPDATE",
    }
}

/// A customer version and its fields as `$1` to `$9`.
fn customer_params<'p>(
    at: &'p CustomerVersion,
    fields: &'p CustomerFields,
    tags: &'p String,
) -> [&'p (dyn ToSql + Sync); 11] {
    [
        &at.id,
        &at.version,
        &fields.name,
        &fields.email,
        &fields.phone,
        &fields.note,
        &at.change,
        &at.hlc,
        &at.made_by,
        tags,
        &fields.loyalty_points,
    ]
}

pub(super) fn product_from_row(r: &tokio_postgres::Row) -> (Product, bool, i64) {
    (
        Product {
            id: r.get(0),
            sku: r.get(1),
            barcode: r.get(2),
            name: r.get(3),
            category: r.get(4),
            unit_price: r.get(5),
            tax_category: r.get(6),
            active: r.get(7),
        },
        r.get(8),
        r.get(9),
    )
}

impl Tx for PgTx<'_, '_> {
    type Error = TxError;

    async fn lock_terminal(&mut self, id: Uuid) -> Result<Option<u64>, TxError> {
        let sql = "SELECT last_seq FROM terminals WHERE id = $1 FOR UPDATE";
        Ok(opt(self.tx, sql, &[&id]).await?.map(|r| to_u64(r.get(0))))
    }

    async fn terminal(&mut self, id: Uuid) -> Result<Option<TerminalRecord>, TxError> {
        let sql = format!("SELECT {TERMINAL_COLUMNS} FROM terminals WHERE id = $1 FOR UPDATE");
        Ok(opt(self.tx, &sql, &[&id])
            .await?
            .as_ref()
            .map(terminal_from_row))
    }

    async fn replace_token(
        &mut self,
        id: Uuid,
        token_hash: &str,
        previous_expires_at_ms: Option<i64>,
    ) -> Result<(), TxError> {
        exec(
            self.tx,
            "UPDATE terminals
             SET previous_token_hash = CASE WHEN $3::bigint IS NULL THEN NULL ELSE token_hash END,
                 previous_expires_at_ms = $3, token_hash = $2
             WHERE id = $1",
            &[&id, &token_hash, &previous_expires_at_ms],
        )
        .await?;
        Ok(())
    }

    /// In one round trip for the whole batch.
    async fn recorded(&mut self, ids: &[Uuid]) -> Result<RecordedBy, TxError> {
        let rows = all(
            self.tx,
            "SELECT id, terminal_id, payload_hash, outcome FROM mutations WHERE id = ANY($1)",
            &[&ids],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let record = Recorded {
                    payload_hash: row.get(2),
                    outcome_json: row.get(3),
                };
                (row.get(0), (row.get(1), record))
            })
            .collect())
    }

    async fn ticket(&mut self, id: Uuid, lock: Lock) -> Result<Option<StoredTicket>, TxError> {
        let sql = locking(
            "SELECT server_id, kind, terminal_id, total, reversed_by FROM tickets WHERE id = $1"
                .into(),
            lock,
        );
        let Some(row) = opt(self.tx, &sql, &[&id]).await? else {
            return Ok(None);
        };
        Ok(Some(StoredTicket {
            server_id: row.get(0),
            kind: parse_kind(row.get(1))?,
            terminal_id: row.get(2),
            total: row.get(3),
            reversed_by: row.get(4),
        }))
    }

    async fn stored_figures(&mut self, id: Uuid) -> Result<Option<StoredFigures>, TxError> {
        let sql = "SELECT total, body FROM tickets WHERE id = $1";
        Ok(match opt(self.tx, sql, &[&id]).await? {
            Some(row) => Some(stored_figures(row.get(0), row.get(1))?),
            None => None,
        })
    }

    /// `ON CONFLICT` waits for a ticket with the same id that another replica is committing.
    async fn insert_ticket(
        &mut self,
        terminal_id: Uuid,
        mutation_id: Uuid,
        ticket: &Ticket,
    ) -> Result<Option<(i64, u64)>, TxError> {
        let row = opt(
            self.tx,
            "INSERT INTO tickets (server_number, id, terminal_id, number, kind, reverses, total,
                                  created_at_ms, mutation_id, body, operator_id, operator_name,
                                  approval, shift_id)
             VALUES (nextval('ticket_number'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                     $13)
             ON CONFLICT (id) DO NOTHING
             RETURNING server_id, server_number",
            &[
                &ticket.id,
                &terminal_id,
                &to_i64(ticket.number, "ticket number")?,
                &kind_name(ticket.kind),
                &ticket.reverses,
                &ticket.totals.total,
                &ticket.created_at_ms,
                &mutation_id,
                &ticket_body(ticket)?,
                &ticket.operator.as_ref().map(|o| o.id),
                &ticket.operator.as_ref().map(|o| o.name.as_str()),
                &approval_column(&ticket.approval)?,
                &ticket.shift_id,
            ],
        )
        .await?;
        Ok(row.map(|r| (r.get(0), to_u64(r.get(1)))))
    }

    async fn sold_lines(&mut self, id: Uuid) -> Result<Vec<SoldLine>, TxError> {
        let sql = "SELECT body FROM tickets WHERE id = $1";
        match opt(self.tx, sql, &[&id]).await? {
            Some(row) => Ok(sold_lines(row.get(0))?),
            None => Ok(Vec::new()),
        }
    }

    async fn reversals_of(&mut self, id: Uuid) -> Result<Vec<EarlierReversal>, TxError> {
        let sql = "SELECT kind, body FROM tickets WHERE reverses = $1 ORDER BY server_id";
        let mut earlier = Vec::new();
        for row in all(self.tx, sql, &[&id]).await? {
            earlier.push(earlier_reversal(row.get(0), row.get(1))?);
        }
        Ok(earlier)
    }

    async fn shift(&mut self, id: Uuid) -> Result<Option<StoredShift>, TxError> {
        let sql = "SELECT server_id, terminal_id, z_number, opening_float, state FROM shifts
                   WHERE id = $1";
        Ok(opt(self.tx, sql, &[&id]).await?.map(|r| StoredShift {
            server_id: r.get(0),
            terminal_id: r.get(1),
            z_number: to_u64(r.get(2)),
            float: r.get(3),
            closed: r.get::<_, &str>(4) != OPEN,
        }))
    }

    async fn insert_shift(
        &mut self,
        terminal_id: Uuid,
        opened: &ShiftOpened,
    ) -> Result<i64, TxError> {
        let row = one(
            self.tx,
            "INSERT INTO shifts (id, terminal_id, z_number, opened_by_id, opened_by_name,
                                 opened_at_ms, opening_float, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING server_id",
            &[
                &opened.shift_id,
                &terminal_id,
                &to_i64(opened.z_number, "Z number")?,
                &opened.opened_by.id,
                &opened.opened_by.name,
                &opened.opened_at_ms,
                &opened.float,
                &OPEN,
            ],
        )
        .await?;
        Ok(row.get(0))
    }

    async fn cash_movements(&mut self, shift_id: Uuid) -> Result<Vec<CashMoved>, TxError> {
        let sql = "SELECT body FROM cash_movements WHERE shift_id = $1 ORDER BY at_ms, id";
        let mut movements = Vec::new();
        for row in all(self.tx, sql, &[&shift_id]).await? {
            movements.push(from_json(row.get(0), "cash movement")?);
        }
        Ok(movements)
    }

    async fn insert_cash_movement(&mut self, moved: &CashMoved) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO cash_movements (id, shift_id, kind, amount, operator_id, at_ms, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &moved.id,
                &moved.shift_id,
                &moved.kind.as_str(),
                &moved.amount,
                &moved.operator.id,
                &moved.at_ms,
                &to_json(moved)?,
            ],
        )
        .await?;
        Ok(())
    }

    async fn shift_tickets(
        &mut self,
        terminal_id: Uuid,
        shift_id: Uuid,
    ) -> Result<Vec<Ticket>, TxError> {
        let sql =
            "SELECT body FROM tickets WHERE terminal_id = $1 AND shift_id = $2 ORDER BY number";
        let mut tickets = Vec::new();
        for row in all(self.tx, sql, &[&terminal_id, &shift_id]).await? {
            tickets.push(parse_ticket(row.get(0))?);
        }
        Ok(tickets)
    }

    async fn close_shift(
        &mut self,
        closed: &ShiftClosed,
        reconciled: &Reconciled,
    ) -> Result<(), TxError> {
        exec(
            self.tx,
            "UPDATE shifts SET closed_by_id = $2, closed_by_name = $3, closed_at_ms = $4,
                    counted_cash = $5, difference = $6, expected_cash = $7,
                    till_figures = $8, state = $9, mismatch = $10
             WHERE id = $1",
            &[
                &closed.shift_id,
                &closed.closed_by.id,
                &closed.closed_by.name,
                &closed.closed_at_ms,
                &closed.counted_cash,
                &closed.difference,
                &closed.figures.expected_cash,
                &to_json(&closed.figures)?,
                &reconciled.state(),
                &reconciled.mismatch.as_ref().map(to_json).transpose()?,
            ],
        )
        .await?;
        Ok(())
    }

    async fn office_settings(&mut self) -> Result<OfficeSettings, TxError> {
        let rows: Vec<(String, String)> =
            all(self.tx, "SELECT name, value FROM office_settings", &[])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        Ok(OfficeSettings::from_rows(&rows)?)
    }

    async fn put_office_setting(&mut self, name: &str, value: &str) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO office_settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &value],
        )
        .await?;
        Ok(())
    }

    async fn mark_reversed(&mut self, sale: Uuid, by: Uuid) -> Result<(), TxError> {
        let sql = "UPDATE tickets SET reversed_by = coalesce(reversed_by, $2) WHERE id = $1";
        exec(self.tx, sql, &[&sale, &by]).await?;
        Ok(())
    }

    async fn insert_dispute(&mut self, d: &NewDispute, now_ms: i64) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO disputes (reversal_id, sale_id, first_id, terminal_id, total,
                                   detected_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &d.reversal_id,
                &d.sale_id,
                &d.first_id,
                &d.terminal_id,
                &d.total,
                &now_ms,
            ],
        )
        .await?;
        Ok(())
    }

    async fn dispute(&mut self, reversal_id: Uuid) -> Result<Option<StoredDispute>, TxError> {
        let sql = "SELECT id, terminal_id, total, settlement FROM disputes
                   WHERE reversal_id = $1 FOR UPDATE";
        Ok(opt(self.tx, sql, &[&reversal_id])
            .await?
            .map(|r| StoredDispute {
                server_id: r.get(0),
                terminal_id: r.get(1),
                total: r.get(2),
                settlement: r.get(3),
            }))
    }

    async fn counts_back_a_dispute(&mut self, id: Uuid) -> Result<bool, TxError> {
        let sql = "SELECT 1 FROM disputes WHERE counter_sale_id = $1";
        Ok(opt(self.tx, sql, &[&id]).await?.is_some())
    }

    async fn close_dispute(
        &mut self,
        reversal_id: Uuid,
        closed: &DisputeClosed,
        now_ms: i64,
    ) -> Result<(), TxError> {
        exec(
            self.tx,
            "UPDATE disputes SET settlement = $2, counter_sale_id = $3, settled_by = $4,
                    why = $5, settled_at_ms = $6
             WHERE reversal_id = $1",
            &[
                &reversal_id,
                &closed.settlement,
                &closed.counter_sale,
                &closed.by,
                &closed.why,
                &now_ms,
            ],
        )
        .await?;
        Ok(())
    }

    /// The mutations in one statement, then the stock moves in one: a ledger of deltas that a
    /// push only appends to, so pushes of tills selling the same products never wait for each
    /// other's rows.
    async fn chain_heads(&mut self, terminal_id: Uuid) -> Result<ChainHeads, TxError> {
        let sql = "SELECT chain_seq, chain_link, announced_seq, announced_link
                   FROM terminals WHERE id = $1";
        Ok(opt(self.tx, sql, &[&terminal_id])
            .await?
            .map(|r| ChainHeads {
                accepted: chain_head(r.get(0), r.get(1)),
                announced: chain_head(r.get(2), r.get(3)),
            })
            .unwrap_or_default())
    }

    async fn set_chain_heads(
        &mut self,
        terminal_id: Uuid,
        heads: &ChainHeads,
    ) -> Result<(), TxError> {
        let (chain_seq, chain_link) = chain_head_columns(heads.accepted.as_ref())?;
        let (announced_seq, announced_link) = chain_head_columns(heads.announced.as_ref())?;
        exec(
            self.tx,
            "UPDATE terminals SET chain_seq = $2, chain_link = $3, announced_seq = $4,
                                  announced_link = $5
             WHERE id = $1",
            &[
                &terminal_id,
                &chain_seq,
                &chain_link,
                &announced_seq,
                &announced_link,
            ],
        )
        .await?;
        Ok(())
    }

    async fn record_batch(
        &mut self,
        terminal_id: Uuid,
        settlement: &Settlement,
    ) -> Result<(), TxError> {
        let settled = &settlement.settled;
        let ids: Vec<Uuid> = settled.iter().map(|s| s.id).collect();
        let seqs = settled
            .iter()
            .map(|s| to_i64(s.seq, "sequence"))
            .collect::<Result<Vec<i64>, _>>()?;
        let kinds: Vec<&str> = settled.iter().map(|s| s.kind).collect();
        let hashes: Vec<&str> = settled.iter().map(|s| s.payload_hash.as_str()).collect();
        let outcomes: Vec<&str> = settled.iter().map(|s| s.outcome_json.as_str()).collect();
        let ticket_ids: Vec<Option<Uuid>> = settled.iter().map(|s| s.ticket_id).collect();
        let numbers: Vec<Option<i64>> = settled.iter().map(|s| s.ticket_number).collect();
        let recovered = |f: fn(&Recovered) -> Uuid| -> Vec<Option<Uuid>> {
            settled
                .iter()
                .map(|s| s.recovered.as_ref().map(f))
                .collect()
        };
        let (from_terminals, from_mutations) =
            (recovered(|r| r.terminal_id), recovered(|r| r.mutation_id));
        let operator_ids: Vec<Option<Uuid>> = settled
            .iter()
            .map(|s| s.operator.as_ref().map(|o| o.id))
            .collect();
        let operator_names: Vec<Option<&str>> = settled
            .iter()
            .map(|s| s.operator.as_ref().map(|o| o.name.as_str()))
            .collect();
        let contents: Vec<Option<&str>> = settled
            .iter()
            .map(|s| s.chain.as_ref().map(|(content, _)| content.as_str()))
            .collect();
        let links: Vec<Option<&str>> = settled
            .iter()
            .map(|s| s.chain.as_ref().map(|(_, link)| link.as_str()))
            .collect();
        exec(
            self.tx,
            "INSERT INTO mutations (id, terminal_id, seq, kind, payload_hash, outcome, ticket_id,
                                    ticket_number, received_at_ms, recovered_terminal,
                                    recovered_mutation, operator_id, operator_name, content, link)
             SELECT m.id, $1, m.seq, m.kind, m.payload_hash, m.outcome, m.ticket_id,
                    m.ticket_number, $9, m.recovered_terminal, m.recovered_mutation,
                    m.operator_id, m.operator_name, m.content, m.link
             FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                         $7::uuid[], $8::bigint[], $10::uuid[], $11::uuid[], $12::uuid[],
                         $13::text[], $14::text[], $15::text[])
                  AS m (id, seq, kind, payload_hash, outcome, ticket_id, ticket_number,
                        recovered_terminal, recovered_mutation, operator_id, operator_name,
                        content, link)",
            &[
                &terminal_id,
                &ids,
                &seqs,
                &kinds,
                &hashes,
                &outcomes,
                &ticket_ids,
                &numbers,
                &now_ms(),
                &from_terminals,
                &from_mutations,
                &operator_ids,
                &operator_names,
                &contents,
                &links,
            ],
        )
        .await?;
        if !settlement.stock.is_empty() {
            let products: Vec<Uuid> = settlement.stock.keys().copied().collect();
            let deltas: Vec<i64> = settlement.stock.values().copied().collect();
            exec(
                self.tx,
                "INSERT INTO stock_moves (product_id, delta)
                 SELECT m.product_id, m.delta
                 FROM unnest($1::uuid[], $2::bigint[]) AS m (product_id, delta)
                 WHERE m.delta <> 0",
                &[&products, &deltas],
            )
            .await?;
        }
        let last_seq = to_i64(settlement.outcome.last_applied_seq, "sequence")?;
        exec(
            self.tx,
            "UPDATE terminals SET last_seq = $2 WHERE id = $1",
            &[&terminal_id, &last_seq],
        )
        .await?;
        Ok(())
    }

    /// Holds the counter row to commit (see the module doc of [`super`]).
    async fn next_change(&mut self) -> Result<i64, TxError> {
        let sql = "UPDATE counters SET value = value + 1 WHERE name = 'change' RETURNING value";
        Ok(one(self.tx, sql, &[]).await?.get(0))
    }

    async fn employee(&mut self, id: Uuid) -> Result<Option<Employee>, TxError> {
        let sql = format!("SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE id = $1 FOR UPDATE");
        match opt(self.tx, &sql, &[&id]).await? {
            Some(r) => Ok(Some(employee_from_row(&r)?)),
            None => Ok(None),
        }
    }

    async fn employee_changes(&mut self) -> Result<Vec<(i64, Employee)>, TxError> {
        let sql = format!("SELECT {EMPLOYEE_COLUMNS}, change_seq FROM employees");
        let mut employees = Vec::new();
        for row in all(self.tx, &sql, &[]).await? {
            employees.push((row.get(5), employee_from_row(&row)?));
        }
        Ok(employees)
    }

    async fn employees_sent(&mut self, terminal_id: Uuid) -> Result<Option<bool>, TxError> {
        let sql = "SELECT employees_sent FROM terminals WHERE id = $1 FOR UPDATE";
        Ok(opt(self.tx, sql, &[&terminal_id]).await?.map(|r| r.get(0)))
    }

    async fn mark_employees_sent(&mut self, terminal_id: Uuid) -> Result<(), TxError> {
        let sql = "UPDATE terminals SET employees_sent = true WHERE id = $1";
        exec(self.tx, sql, &[&terminal_id]).await?;
        Ok(())
    }

    async fn put_employee(
        &mut self,
        employee: &Employee,
        change: i64,
        now_ms: i64,
    ) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO employees (id, name, role, pin_hash, disabled, created_at_ms, change_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                 pin_hash = excluded.pin_hash, disabled = excluded.disabled,
                 change_seq = excluded.change_seq",
            &[
                &employee.id,
                &employee.name,
                &employee.role.as_str(),
                &employee.pin_hash,
                &employee.disabled,
                &now_ms,
                &change,
            ],
        )
        .await?;
        Ok(())
    }

    async fn customer(&mut self, id: Uuid, lock: Lock) -> Result<Option<StoredCustomer>, TxError> {
        let sql = locking(
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"),
            lock,
        );
        let Some(r) = opt(self.tx, &sql, &[&id]).await? else {
            return Ok(None);
        };
        let row = CustomerRow {
            id,
            version: r.get(1),
            fields: CustomerFields {
                name: r.get(2),
                email: r.get(3),
                phone: r.get(4),
                note: r.get(5),
                tags: Default::default(),
                loyalty_points: r.get(10),
            },
            tags: r.get(9),
            hlc: r.get(7),
            made_by: r.get(8),
        };
        Ok(Some(row.into_stored(r.get(0), r.get(6))?))
    }

    /// A customer created on two terminals at once: the loser's unique violation runs its
    /// transaction again, which then finds the row.
    async fn insert_customer(
        &mut self,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<i64, TxError> {
        let sql = "INSERT INTO customers (id, version, name, email, phone, note, change_seq, hlc,
                                         made_by, tags, loyalty_points)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING server_id";
        let tags = tags_text(&fields.tags)?;
        Ok(one(self.tx, sql, &customer_params(at, fields, &tags))
            .await?
            .get(0))
    }

    async fn update_customer(
        &mut self,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<(), TxError> {
        let sql = "UPDATE customers SET version = $2, name = $3, email = $4, phone = $5,
                          note = $6, change_seq = $7, hlc = $8, made_by = $9, tags = $10,
                          loyalty_points = $11 WHERE id = $1";
        let tags = tags_text(&fields.tags)?;
        exec(self.tx, sql, &customer_params(at, fields, &tags)).await?;
        Ok(())
    }

    async fn delete_customer(&mut self, at: &CustomerVersion) -> Result<(), TxError> {
        exec(
            self.tx,
            "UPDATE customers SET deleted = true, version = $2, change_seq = $3, hlc = $4,
                    made_by = $5 WHERE id = $1",
            &[&at.id, &at.version, &at.change, &at.hlc, &at.made_by],
        )
        .await?;
        Ok(())
    }

    async fn settings(&mut self) -> Result<Option<String>, TxError> {
        let sql = "SELECT body FROM settings WHERE id = 1";
        Ok(opt(self.tx, sql, &[]).await?.map(|r| r.get(0)))
    }

    async fn put_settings(&mut self, body: &str, change: i64) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO settings (id, body, change_seq) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body,
                 change_seq = excluded.change_seq",
            &[&body, &change],
        )
        .await?;
        Ok(())
    }

    async fn tax_rate(&mut self, id: &str) -> Result<Option<StoredRate>, TxError> {
        let sql = "SELECT name, rate_bp, deleted FROM tax_rates WHERE id = $1";
        Ok(opt(self.tx, sql, &[&id]).await?.map(|r| StoredRate {
            name: r.get(0),
            rate_bp: r.get(1),
            deleted: r.get(2),
        }))
    }

    async fn put_tax_rate(&mut self, rate: &TaxRate, change: i64) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO tax_rates (id, name, rate_bp, deleted, change_seq)
             VALUES ($1, $2, $3, false, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp,
                 deleted = false, change_seq = excluded.change_seq",
            &[&rate.id, &rate.name, &i64::from(rate.rate_bp), &change],
        )
        .await?;
        Ok(())
    }

    async fn live_tax_rates(&mut self) -> Result<HashSet<String>, TxError> {
        let sql = "SELECT id FROM tax_rates WHERE NOT deleted";
        Ok(all(self.tx, sql, &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn product_id(&mut self, sku: &str) -> Result<Option<Uuid>, TxError> {
        let sql = "SELECT id FROM products WHERE sku = $1";
        Ok(opt(self.tx, sql, &[&sku]).await?.map(|r| r.get(0)))
    }

    /// Held for the rest of the transaction.
    async fn product(&mut self, key: ProductKey<'_>) -> Result<Option<Product>, TxError> {
        let sql = |column: &str| {
            format!(
                "SELECT {PRODUCT_COLUMNS} FROM products WHERE {column} = $1 AND NOT deleted \
                 FOR UPDATE"
            )
        };
        let row = match key {
            ProductKey::Id(id) => opt(self.tx, &sql("id"), &[&id]).await?,
            ProductKey::Sku(sku) => opt(self.tx, &sql("sku"), &[&sku]).await?,
        };
        Ok(row.map(|r| product_from_row(&r).0))
    }

    async fn sku_taken(&mut self, sku: &str, id: Uuid) -> Result<bool, TxError> {
        let sql = "SELECT 1 FROM products WHERE sku = $1 AND id <> $2";
        Ok(opt(self.tx, sql, &[&sku, &id]).await?.is_some())
    }

    async fn put_product(&mut self, p: &Product, change: i64) -> Result<(), TxError> {
        exec(
            self.tx,
            "INSERT INTO products (id, sku, barcode, name, category, unit_price, tax_category,
                                   active, deleted, change_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9)
             ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, barcode = excluded.barcode,
                 name = excluded.name, category = excluded.category,
                 unit_price = excluded.unit_price, tax_category = excluded.tax_category,
                 active = excluded.active, deleted = false, change_seq = excluded.change_seq",
            &[
                &p.id,
                &p.sku,
                &p.barcode,
                &p.name,
                &p.category,
                &p.unit_price,
                &p.tax_category,
                &p.active,
                &change,
            ],
        )
        .await?;
        Ok(())
    }

    async fn delete_product(&mut self, id: Uuid, sku: &str, change: i64) -> Result<(), TxError> {
        exec(
            self.tx,
            "UPDATE products SET deleted = true, sku = $2, change_seq = $3 WHERE id = $1",
            &[&id, &sku, &change],
        )
        .await?;
        Ok(())
    }
}
