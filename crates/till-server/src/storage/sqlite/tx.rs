//! The SQLite [`Tx`]: each load and write of a use case as one or two prepared statements on the
//! writer connection, inside its `BEGIN IMMEDIATE` transaction. That transaction holds the
//! whole database, so [`Lock`] asks for nothing more here.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};
use till_protocol::shift::{CashMoved, ShiftClosed, ShiftOpened};
use till_protocol::{CustomerFields, Employee, Product, StoredFigures, TaxRate, Ticket};
use uuid::Uuid;

use super::reads::{self, parse_uuid, product_from_row};
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
    CUSTOMER_COLUMNS, OPEN, PRODUCT_COLUMNS,
};
use crate::storage::tx::{CustomerVersion, Lock, ProductKey, Tx};
use crate::storage::{StorageError, TerminalRecord};

/// A write transaction on the writer connection.
pub(super) struct SqliteTx<'t> {
    conn: &'t Connection,
}

impl<'t> SqliteTx<'t> {
    pub(super) fn new(conn: &'t Connection) -> Self {
        SqliteTx { conn }
    }

    /// Runs `sql` with a customer version and its fields as `?1` to `?11`.
    fn write_customer(
        &self,
        sql: &str,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<(), StorageError> {
        self.conn.prepare_cached(sql)?.execute(params![
            at.id.to_string(),
            at.version,
            fields.name,
            fields.email,
            fields.phone,
            fields.note,
            at.change,
            at.hlc,
            at.made_by.to_string(),
            tags_text(&fields.tags)?,
            fields.loyalty_points
        ])?;
        Ok(())
    }

    fn next_counter(&self, name: &str) -> Result<i64, StorageError> {
        Ok(self
            .conn
            .prepare_cached(
                "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
            )?
            .query_row([name], |r| r.get(0))?)
    }
}

impl Tx for SqliteTx<'_> {
    type Error = StorageError;

    async fn lock_terminal(&mut self, id: Uuid) -> Result<Option<u64>, StorageError> {
        let last: Option<i64> = self
            .conn
            .prepare_cached("SELECT last_seq FROM terminals WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        Ok(last.map(to_u64))
    }

    async fn terminal(&mut self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError> {
        reads::terminal(self.conn, "id = ?1", &id.to_string())
    }

    async fn replace_token(
        &mut self,
        id: Uuid,
        token_hash: &str,
        previous_expires_at_ms: Option<i64>,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE terminals
             SET previous_token_hash = CASE WHEN ?3 IS NULL THEN NULL ELSE token_hash END,
                 previous_expires_at_ms = ?3, token_hash = ?2
             WHERE id = ?1",
            params![id.to_string(), token_hash, previous_expires_at_ms],
        )?;
        Ok(())
    }

    async fn recorded(&mut self, ids: &[Uuid]) -> Result<RecordedBy, StorageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT terminal_id, payload_hash, outcome FROM mutations WHERE id = ?1",
        )?;
        let mut recorded = RecordedBy::new();
        for id in ids {
            let row = stmt
                .query_row([id.to_string()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        Recorded {
                            payload_hash: r.get(1)?,
                            outcome_json: r.get(2)?,
                        },
                    ))
                })
                .optional()?;
            if let Some((owner, record)) = row {
                recorded.insert(*id, (parse_uuid(&owner)?, record));
            }
        }
        Ok(recorded)
    }

    async fn ticket(
        &mut self,
        id: Uuid,
        _lock: Lock,
    ) -> Result<Option<StoredTicket>, StorageError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT server_id, kind, terminal_id, total, reversed_by FROM tickets WHERE id = ?1",
            )?
            .query_row([id.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .optional()?;
        row.map(|(server_id, kind, terminal, total, reversed_by)| {
            Ok(StoredTicket {
                server_id,
                kind: parse_kind(&kind)?,
                terminal_id: parse_uuid(&terminal)?,
                total,
                reversed_by: reversed_by.as_deref().map(parse_uuid).transpose()?,
            })
        })
        .transpose()
    }

    async fn stored_figures(&mut self, id: Uuid) -> Result<Option<StoredFigures>, StorageError> {
        let row = self
            .conn
            .prepare_cached("SELECT total, body FROM tickets WHERE id = ?1")?
            .query_row([id.to_string()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        row.map(|(total, body)| stored_figures(total, &body))
            .transpose()
    }

    async fn insert_ticket(
        &mut self,
        terminal_id: Uuid,
        mutation_id: Uuid,
        ticket: &Ticket,
    ) -> Result<Option<(i64, u64)>, StorageError> {
        let stored = self
            .conn
            .prepare_cached("SELECT 1 FROM tickets WHERE id = ?1")?
            .exists([ticket.id.to_string()])?;
        if stored {
            return Ok(None);
        }
        // A counter row, not a sequence: back-office numbers are gapless here.
        let server_number = self.next_counter("ticket_number")?;
        self.conn
            .prepare_cached(
                "INSERT INTO tickets (server_number, id, terminal_id, number, kind, reverses,
                                      total, created_at_ms, mutation_id, body, operator_id,
                                      operator_name, approval, shift_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                server_number,
                ticket.id.to_string(),
                terminal_id.to_string(),
                to_i64(ticket.number, "ticket number")?,
                kind_name(ticket.kind),
                ticket.reverses.map(|r| r.to_string()),
                ticket.totals.total,
                ticket.created_at_ms,
                mutation_id.to_string(),
                ticket_body(ticket)?,
                ticket.operator.as_ref().map(|o| o.id.to_string()),
                ticket.operator.as_ref().map(|o| o.name.as_str()),
                approval_column(&ticket.approval)?,
                ticket.shift_id.map(|s| s.to_string()),
            ])?;
        Ok(Some((self.conn.last_insert_rowid(), to_u64(server_number))))
    }

    async fn sold_lines(&mut self, id: Uuid) -> Result<Vec<SoldLine>, StorageError> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM tickets WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        body.map_or(Ok(Vec::new()), |b| sold_lines(&b))
    }

    async fn reversals_of(&mut self, id: Uuid) -> Result<Vec<EarlierReversal>, StorageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, body FROM tickets WHERE reverses = ?1 ORDER BY server_id",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut earlier = Vec::new();
        for row in rows {
            let (kind, body) = row?;
            earlier.push(earlier_reversal(&kind, &body)?);
        }
        Ok(earlier)
    }

    async fn shift(&mut self, id: Uuid) -> Result<Option<StoredShift>, StorageError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT server_id, terminal_id, z_number, opening_float, state FROM shifts
                 WHERE id = ?1",
            )?
            .query_row([id.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        row.map(|(server_id, terminal, z_number, float, state)| {
            Ok(StoredShift {
                server_id,
                terminal_id: parse_uuid(&terminal)?,
                z_number: to_u64(z_number),
                float,
                closed: state != OPEN,
            })
        })
        .transpose()
    }

    async fn insert_shift(
        &mut self,
        terminal_id: Uuid,
        opened: &ShiftOpened,
    ) -> Result<i64, StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO shifts (id, terminal_id, z_number, opened_by_id, opened_by_name,
                                     opened_at_ms, opening_float, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                opened.shift_id.to_string(),
                terminal_id.to_string(),
                to_i64(opened.z_number, "Z number")?,
                opened.opened_by.id.to_string(),
                opened.opened_by.name,
                opened.opened_at_ms,
                opened.float,
                OPEN
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    async fn cash_movements(&mut self, shift_id: Uuid) -> Result<Vec<CashMoved>, StorageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM cash_movements WHERE shift_id = ?1 ORDER BY at_ms, id",
        )?;
        let rows = stmt.query_map([shift_id.to_string()], |r| r.get::<_, String>(0))?;
        let mut movements = Vec::new();
        for body in rows {
            movements.push(from_json(&body?, "cash movement")?);
        }
        Ok(movements)
    }

    async fn insert_cash_movement(&mut self, moved: &CashMoved) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO cash_movements (id, shift_id, kind, amount, operator_id, at_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                moved.id.to_string(),
                moved.shift_id.to_string(),
                moved.kind.as_str(),
                moved.amount,
                moved.operator.id.to_string(),
                moved.at_ms,
                to_json(moved)?
            ])?;
        Ok(())
    }

    async fn shift_tickets(
        &mut self,
        terminal_id: Uuid,
        shift_id: Uuid,
    ) -> Result<Vec<Ticket>, StorageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM tickets WHERE terminal_id = ?1 AND shift_id = ?2 ORDER BY number",
        )?;
        let rows = stmt.query_map(
            params![terminal_id.to_string(), shift_id.to_string()],
            |r| r.get::<_, String>(0),
        )?;
        let mut tickets = Vec::new();
        for body in rows {
            tickets.push(parse_ticket(&body?)?);
        }
        Ok(tickets)
    }

    async fn close_shift(
        &mut self,
        closed: &ShiftClosed,
        reconciled: &Reconciled,
    ) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "UPDATE shifts SET closed_by_id = ?2, closed_by_name = ?3, closed_at_ms = ?4,
                        counted_cash = ?5, difference = ?6, expected_cash = ?7,
                        till_figures = ?8, state = ?9, mismatch = ?10
                 WHERE id = ?1",
            )?
            .execute(params![
                closed.shift_id.to_string(),
                closed.closed_by.id.to_string(),
                closed.closed_by.name,
                closed.closed_at_ms,
                closed.counted_cash,
                closed.difference,
                closed.figures.expected_cash,
                to_json(&closed.figures)?,
                reconciled.state(),
                reconciled.mismatch.as_ref().map(to_json).transpose()?
            ])?;
        Ok(())
    }

    async fn office_settings(&mut self) -> Result<OfficeSettings, StorageError> {
        reads::office_settings(self.conn)
    }

    async fn put_office_setting(&mut self, name: &str, value: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO office_settings (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    async fn mark_reversed(&mut self, sale: Uuid, by: Uuid) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE tickets SET reversed_by = coalesce(reversed_by, ?2) WHERE id = ?1",
            params![sale.to_string(), by.to_string()],
        )?;
        Ok(())
    }

    async fn insert_dispute(&mut self, d: &NewDispute, now_ms: i64) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO disputes (reversal_id, sale_id, first_id, terminal_id, total,
                                       detected_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                d.reversal_id.to_string(),
                d.sale_id.to_string(),
                d.first_id.to_string(),
                d.terminal_id.to_string(),
                d.total,
                now_ms
            ])?;
        Ok(())
    }

    async fn dispute(&mut self, reversal_id: Uuid) -> Result<Option<StoredDispute>, StorageError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, terminal_id, total, settlement FROM disputes WHERE reversal_id = ?1",
            )?
            .query_row([reversal_id.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        row.map(|(server_id, terminal, total, settlement)| {
            Ok(StoredDispute {
                server_id,
                terminal_id: parse_uuid(&terminal)?,
                total,
                settlement,
            })
        })
        .transpose()
    }

    async fn counts_back_a_dispute(&mut self, id: Uuid) -> Result<bool, StorageError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM disputes WHERE counter_sale_id = ?1")?
            .exists([id.to_string()])?)
    }

    async fn close_dispute(
        &mut self,
        reversal_id: Uuid,
        closed: &DisputeClosed,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "UPDATE disputes SET settlement = ?2, counter_sale_id = ?3, settled_by = ?4,
                        why = ?5, settled_at_ms = ?6
                 WHERE reversal_id = ?1",
            )?
            .execute(params![
                reversal_id.to_string(),
                closed.settlement,
                closed.counter_sale.map(|c| c.to_string()),
                closed.by,
                closed.why,
                now_ms
            ])?;
        Ok(())
    }

    async fn chain_heads(&mut self, terminal_id: Uuid) -> Result<ChainHeads, StorageError> {
        let heads = self
            .conn
            .prepare_cached(
                "SELECT chain_seq, chain_link, announced_seq, announced_link
                 FROM terminals WHERE id = ?1",
            )?
            .query_row([terminal_id.to_string()], |r| {
                Ok(ChainHeads {
                    accepted: chain_head(r.get(0)?, r.get(1)?),
                    announced: chain_head(r.get(2)?, r.get(3)?),
                })
            })
            .optional()?;
        Ok(heads.unwrap_or_default())
    }

    async fn set_chain_heads(
        &mut self,
        terminal_id: Uuid,
        heads: &ChainHeads,
    ) -> Result<(), StorageError> {
        let (chain_seq, chain_link) = chain_head_columns(heads.accepted.as_ref())?;
        let (announced_seq, announced_link) = chain_head_columns(heads.announced.as_ref())?;
        self.conn
            .prepare_cached(
                "UPDATE terminals SET chain_seq = ?2, chain_link = ?3, announced_seq = ?4,
                                      announced_link = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                terminal_id.to_string(),
                chain_seq,
                chain_link,
                announced_seq,
                announced_link
            ])?;
        Ok(())
    }

    async fn record_batch(
        &mut self,
        terminal_id: Uuid,
        settlement: &Settlement,
    ) -> Result<(), StorageError> {
        let terminal = terminal_id.to_string();
        let now = now_ms();
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO mutations (id, terminal_id, seq, kind, payload_hash, outcome, ticket_id,
                                    ticket_number, received_at_ms, recovered_terminal,
                                    recovered_mutation, operator_id, operator_name, content, link)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        for s in &settlement.settled {
            insert.execute(params![
                s.id.to_string(),
                terminal,
                to_i64(s.seq, "sequence")?,
                s.kind,
                s.payload_hash,
                s.outcome_json,
                s.ticket_id.map(|t| t.to_string()),
                s.ticket_number,
                now,
                s.recovered.as_ref().map(|r| r.terminal_id.to_string()),
                s.recovered.as_ref().map(|r| r.mutation_id.to_string()),
                s.operator.as_ref().map(|o| o.id.to_string()),
                s.operator.as_ref().map(|o| o.name.as_str()),
                s.chain.as_ref().map(|(content, _)| content.as_str()),
                s.chain.as_ref().map(|(_, link)| link.as_str()),
            ])?;
        }
        let mut stock = self.conn.prepare_cached(
            "INSERT INTO stock (product_id, quantity) VALUES (?1, ?2)
             ON CONFLICT (product_id) DO UPDATE SET quantity = quantity + excluded.quantity",
        )?;
        for (product, delta) in &settlement.stock {
            stock.execute(params![product.to_string(), delta])?;
        }
        let last_seq = to_i64(settlement.outcome.last_applied_seq, "sequence")?;
        self.conn.execute(
            "UPDATE terminals SET last_seq = ?2 WHERE id = ?1",
            params![terminal, last_seq],
        )?;
        Ok(())
    }

    async fn next_change(&mut self) -> Result<i64, StorageError> {
        self.next_counter("change")
    }

    async fn employee(&mut self, id: Uuid) -> Result<Option<Employee>, StorageError> {
        reads::employee(self.conn, id)
    }

    async fn employee_changes(&mut self) -> Result<Vec<(i64, Employee)>, StorageError> {
        reads::employee_changes(self.conn)
    }

    async fn employees_sent(&mut self, terminal_id: Uuid) -> Result<Option<bool>, StorageError> {
        reads::employees_sent(self.conn, terminal_id)
    }

    async fn mark_employees_sent(&mut self, terminal_id: Uuid) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE terminals SET employees_sent = 1 WHERE id = ?1",
            [terminal_id.to_string()],
        )?;
        Ok(())
    }

    async fn put_employee(
        &mut self,
        employee: &Employee,
        change: i64,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO employees (id, name, role, pin_hash, disabled, created_at_ms, change_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                 pin_hash = excluded.pin_hash, disabled = excluded.disabled,
                 change_seq = excluded.change_seq",
            params![
                employee.id.to_string(),
                employee.name,
                employee.role.as_str(),
                employee.pin_hash,
                employee.disabled,
                now_ms,
                change
            ],
        )?;
        Ok(())
    }

    async fn customer(
        &mut self,
        id: Uuid,
        _lock: Lock,
    ) -> Result<Option<StoredCustomer>, StorageError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?1");
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([id.to_string()], |r| {
                let row = CustomerRow {
                    id,
                    version: r.get(1)?,
                    fields: CustomerFields {
                        name: r.get(2)?,
                        email: r.get(3)?,
                        phone: r.get(4)?,
                        note: r.get(5)?,
                        tags: Default::default(),
                        loyalty_points: r.get(10)?,
                    },
                    tags: r.get(9)?,
                    hlc: r.get(7)?,
                    made_by: None,
                };
                let made_by: Option<String> = r.get(8)?;
                Ok((r.get::<_, i64>(0)?, row, r.get::<_, bool>(6)?, made_by))
            })
            .optional()?;
        row.map(|(server_id, mut row, deleted, made_by)| {
            row.made_by = made_by.as_deref().map(parse_uuid).transpose()?;
            row.into_stored(server_id, deleted)
        })
        .transpose()
    }

    async fn insert_customer(
        &mut self,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<i64, StorageError> {
        self.write_customer(
            "INSERT INTO customers (id, version, name, email, phone, note, change_seq, hlc, made_by,
                                    tags, loyalty_points)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            at,
            fields,
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    async fn update_customer(
        &mut self,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<(), StorageError> {
        self.write_customer(
            "UPDATE customers SET version = ?2, name = ?3, email = ?4, phone = ?5,
                    note = ?6, change_seq = ?7, hlc = ?8, made_by = ?9, tags = ?10,
                    loyalty_points = ?11 WHERE id = ?1",
            at,
            fields,
        )
    }

    async fn delete_customer(&mut self, at: &CustomerVersion) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE customers SET deleted = 1, version = ?2, change_seq = ?3, hlc = ?4,
                    made_by = ?5 WHERE id = ?1",
            params![
                at.id.to_string(),
                at.version,
                at.change,
                at.hlc,
                at.made_by.to_string()
            ],
        )?;
        Ok(())
    }

    async fn settings(&mut self) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row("SELECT body FROM settings WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    async fn put_settings(&mut self, body: &str, change: i64) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO settings (id, body, change_seq) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, change_seq = excluded.change_seq",
            params![body, change],
        )?;
        Ok(())
    }

    async fn tax_rate(&mut self, id: &str) -> Result<Option<StoredRate>, StorageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, rate_bp, deleted FROM tax_rates WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredRate {
                        name: r.get(0)?,
                        rate_bp: r.get(1)?,
                        deleted: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    async fn put_tax_rate(&mut self, rate: &TaxRate, change: i64) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO tax_rates (id, name, rate_bp, deleted, change_seq) VALUES (?1, ?2, ?3, 0, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp,
                 deleted = 0, change_seq = excluded.change_seq",
            params![rate.id, rate.name, rate.rate_bp, change],
        )?;
        Ok(())
    }

    async fn live_tax_rates(&mut self) -> Result<HashSet<String>, StorageError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM tax_rates WHERE deleted = 0")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    async fn product_id(&mut self, sku: &str) -> Result<Option<Uuid>, StorageError> {
        let id: Option<String> = self
            .conn
            .query_row("SELECT id FROM products WHERE sku = ?1", [sku], |r| {
                r.get(0)
            })
            .optional()?;
        id.as_deref().map(parse_uuid).transpose()
    }

    async fn product(&mut self, key: ProductKey<'_>) -> Result<Option<Product>, StorageError> {
        let (column, value) = match key {
            ProductKey::Id(id) => ("id", id.to_string()),
            ProductKey::Sku(sku) => ("sku", sku.to_string()),
        };
        let sql =
            format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE {column} = ?1 AND deleted = 0");
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([value], product_from_row)
            .optional()?;
        row.map(|(id, mut product, _, _)| {
            product.id = parse_uuid(&id)?;
            Ok(product)
        })
        .transpose()
    }

    async fn sku_taken(&mut self, sku: &str, id: Uuid) -> Result<bool, StorageError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM products WHERE sku = ?1 AND id <> ?2")?
            .exists(params![sku, id.to_string()])?)
    }

    async fn put_product(&mut self, p: &Product, change: i64) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO products (id, sku, barcode, name, category, unit_price, tax_category,
                                   active, deleted, change_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)
             ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, barcode = excluded.barcode,
                 name = excluded.name, category = excluded.category,
                 unit_price = excluded.unit_price, tax_category = excluded.tax_category,
                 active = excluded.active, deleted = 0, change_seq = excluded.change_seq",
            params![
                p.id.to_string(),
                p.sku,
                p.barcode,
                p.name,
                p.category,
                p.unit_price,
                p.tax_category,
                p.active,
                change
            ],
        )?;
        Ok(())
    }

    async fn delete_product(
        &mut self,
        id: Uuid,
        sku: &str,
        change: i64,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE products SET deleted = 1, sku = ?2, change_seq = ?3 WHERE id = ?1",
            params![id.to_string(), sku, change],
        )?;
        Ok(())
    }
}
