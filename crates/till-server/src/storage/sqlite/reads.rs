//! What the SQLite backend reads outside a write transaction: terminals, employees, tickets, the
//! rows of a pull page and of stats. Each read runs on a pooled reader connection; what the rows mean is
//! decided in [`crate::decide`].

use rusqlite::{params, Connection, OptionalExtension};
use till_protocol::{CustomerFields, Employee, Operator, Product};
use uuid::Uuid;

use crate::decide::chain::StoredChain;
use crate::decide::customers::CustomerRow;
use crate::decide::pull::{self, Changed, TaxRateRow};
use crate::decide::reports::TicketFacts;
use crate::decide::settings::OfficeSettings;
use crate::decide::stats::{self, TerminalRows};
use crate::storage::columns::token_slot;
use crate::storage::columns::{
    approval_of, chain_head, mismatch_of, operator_of, parse_role, parse_ticket, stored_link,
    to_i64, to_u64, EMPLOYEE_COLUMNS, PRODUCT_COLUMNS, PUSH_CHAIN_QUERY, REPORT_QUERY,
    SHIFT_COLUMNS, TERMINAL_COLUMNS, TICKET_COLUMNS,
};
use crate::storage::{ShiftSummary, StorageError, TerminalRecord, TicketSummary, TokenOwner};

pub(super) fn parse_uuid(text: &str) -> Result<Uuid, StorageError> {
    Uuid::parse_str(text).map_err(|e| StorageError::Corrupt(format!("bad id {text:?}: {e}")))
}

fn terminal_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, TerminalRecord)> {
    let id: String = r.get(0)?;
    Ok((
        id,
        TerminalRecord {
            id: Uuid::nil(),
            name: r.get(1)?,
            created_at_ms: r.get(2)?,
            revoked_at_ms: r.get(3)?,
            last_seq: to_u64(r.get(4)?),
            previous_token_expires_at_ms: r.get(5)?,
        },
    ))
}

fn finish_terminal((id, mut t): (String, TerminalRecord)) -> Result<TerminalRecord, StorageError> {
    t.id = parse_uuid(&id)?;
    Ok(t)
}

/// The terminal `WHERE {where_clause}` with `?1` bound to `param`.
pub(super) fn terminal(
    conn: &Connection,
    where_clause: &str,
    param: &str,
) -> Result<Option<TerminalRecord>, StorageError> {
    let sql = format!("SELECT {TERMINAL_COLUMNS} FROM terminals WHERE {where_clause}");
    conn.prepare_cached(&sql)?
        .query_row([param], terminal_from_row)
        .optional()?
        .map(finish_terminal)
        .transpose()
}

/// The push chain of the terminal `terminal_id`, read in the caller's snapshot.
pub(super) fn push_chain(
    conn: &Connection,
    terminal_id: Uuid,
) -> Result<StoredChain, StorageError> {
    let id = terminal_id.to_string();
    let accepted = conn
        .prepare_cached("SELECT chain_seq, chain_link FROM terminals WHERE id = ?1")?
        .query_row([&id], |r| Ok(chain_head(r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("terminal {terminal_id}"),
        })?;
    let mut stmt = conn.prepare(&PUSH_CHAIN_QUERY.replace("{}", "?1"))?;
    let rows = stmt.query_map([&id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut links = Vec::new();
    for row in rows {
        let (seq, kind, content, link, body) = row?;
        links.push(stored_link(seq, &kind, content, link, body.as_deref())?);
    }
    Ok(StoredChain { links, accepted })
}

/// The terminal whose current or previous token hashes to `token_hash`.
pub(super) fn terminal_by_token(
    conn: &Connection,
    token_hash: &str,
) -> Result<Option<TokenOwner>, StorageError> {
    let sql = format!(
        "SELECT {TERMINAL_COLUMNS}, token_hash = ?1 FROM terminals
         WHERE token_hash = ?1 OR previous_token_hash = ?1"
    );
    conn.prepare_cached(&sql)?
        .query_row([token_hash], |r| {
            Ok((terminal_from_row(r)?, r.get::<_, bool>(6)?))
        })
        .optional()?
        .map(|(row, current)| {
            Ok(TokenOwner {
                terminal: finish_terminal(row)?,
                slot: token_slot(current),
            })
        })
        .transpose()
}

/// The back office's settings.
pub(super) fn office_settings(conn: &Connection) -> Result<OfficeSettings, StorageError> {
    let mut stmt = conn.prepare_cached("SELECT name, value FROM office_settings")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    OfficeSettings::from_rows(&rows)
}

/// Every terminal, in enrolment order.
pub(super) fn terminals(conn: &Connection) -> Result<Vec<TerminalRecord>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY created_at_ms, id"
    ))?;
    let rows = stmt.query_map([], terminal_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(finish_terminal(row?)?);
    }
    Ok(out)
}

/// A product row: its id as stored, the product, its tombstone flag and change number.
pub(super) fn product_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, Product, bool, i64)> {
    Ok((
        r.get(0)?,
        Product {
            id: Uuid::nil(),
            sku: r.get(1)?,
            barcode: r.get(2)?,
            name: r.get(3)?,
            category: r.get(4)?,
            unit_price: r.get(5)?,
            tax_category: r.get(6)?,
            active: r.get(7)?,
        },
        r.get(8)?,
        r.get(9)?,
    ))
}

pub(super) fn stock(conn: &Connection, product_id: Uuid) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached("SELECT quantity FROM stock WHERE product_id = ?1")?
        .query_row([product_id.to_string()], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The employees `WHERE {where_clause}` (`?1` bound to `param`), ordered by `order`, each with
/// its change number.
fn employees_where(
    conn: &Connection,
    where_clause: &str,
    param: &dyn rusqlite::ToSql,
    order: &str,
    limit: i64,
) -> Result<Vec<(i64, Employee)>, StorageError> {
    let sql = format!(
        "SELECT {EMPLOYEE_COLUMNS}, change_seq FROM employees WHERE {where_clause}
         ORDER BY {order} LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![param, limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut employees = Vec::new();
    for row in rows {
        let (id, name, role, pin_hash, disabled, change) = row?;
        employees.push((
            change,
            Employee {
                id: parse_uuid(&id)?,
                name,
                role: parse_role(&role)?,
                pin_hash,
                disabled,
            },
        ));
    }
    Ok(employees)
}

/// Every employee with the number of its last change.
pub(super) fn employee_changes(conn: &Connection) -> Result<Vec<(i64, Employee)>, StorageError> {
    employees_where(conn, "1 = ?1", &1, "change_seq", -1)
}

/// Whether the terminal was sent every employee (`None`: no such terminal).
pub(super) fn employees_sent(conn: &Connection, id: Uuid) -> Result<Option<bool>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT employees_sent FROM terminals WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?)
}

/// Every employee, by name.
pub(super) fn employees(conn: &Connection) -> Result<Vec<Employee>, StorageError> {
    let all = employees_where(conn, "1 = ?1", &1, "name, id", -1)?;
    Ok(all.into_iter().map(|(_, e)| e).collect())
}

/// The employee `id`.
pub(super) fn employee(conn: &Connection, id: Uuid) -> Result<Option<Employee>, StorageError> {
    let found = employees_where(conn, "id = ?1", &id.to_string(), "id", 1)?;
    Ok(found.into_iter().next().map(|(_, e)| e))
}

/// The rows of a pull page after `cursor`, in the caller's snapshot.
pub(super) fn pull_rows(
    conn: &Connection,
    cursor: u64,
    limit: u32,
) -> Result<pull::Rows, StorageError> {
    let after = to_i64(cursor, "cursor")?;
    let take = pull::rows_per_table(limit);
    let mut rows = pull::Rows::default();

    let mut stmt = conn.prepare_cached(
        "SELECT body, change_seq FROM settings WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
    )?;
    for row in stmt.query_map(params![after, take], |r| Ok((r.get(1)?, r.get(0)?)))? {
        rows.settings.push(row?);
    }

    let mut stmt = conn.prepare_cached(
        "SELECT id, name, rate_bp, deleted, change_seq FROM tax_rates WHERE change_seq > ?1
         ORDER BY change_seq LIMIT ?2",
    )?;
    for row in stmt.query_map(params![after, take], |r| {
        Ok(Changed {
            seq: r.get(4)?,
            deleted: r.get(3)?,
            row: TaxRateRow {
                id: r.get(0)?,
                name: r.get(1)?,
                rate_bp: r.get(2)?,
            },
        })
    })? {
        rows.tax_rates.push(row?);
    }

    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in stmt.query_map(params![after, take], product_from_row)? {
        let (id, mut product, deleted, seq) = row?;
        product.id = parse_uuid(&id)?;
        rows.products.push(Changed {
            seq,
            deleted,
            row: product,
        });
    }

    let mut stmt = conn.prepare_cached(
        "SELECT id, version, name, email, phone, note, deleted, change_seq, hlc, made_by,
                tags, loyalty_points
         FROM customers WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
    )?;
    for row in stmt.query_map(params![after, take], |r| {
        let fields = CustomerFields {
            name: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
            note: r.get(5)?,
            tags: Default::default(),
            loyalty_points: r.get(11)?,
        };
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            (fields, r.get::<_, String>(10)?),
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get::<_, Option<String>>(9)?,
        ))
    })? {
        let (id, version, (fields, tags), deleted, seq, hlc, made_by) = row?;
        rows.customers.push(Changed {
            seq,
            deleted,
            row: CustomerRow {
                id: parse_uuid(&id)?,
                version,
                fields,
                tags,
                hlc,
                made_by: made_by.as_deref().map(parse_uuid).transpose()?,
            },
        });
    }

    rows.employees = employees_where(conn, "change_seq > ?1", &after, "change_seq", take)?;
    Ok(rows)
}

/// An optional id column.
fn opt_uuid(text: Option<String>) -> Result<Option<Uuid>, StorageError> {
    text.as_deref().map(parse_uuid).transpose()
}

/// Every ticket received, in the order stored.
pub(super) fn tickets(conn: &Connection) -> Result<Vec<TicketSummary>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {TICKET_COLUMNS}
         FROM tickets t LEFT JOIN mutations m ON m.id = t.mutation_id
         ORDER BY t.server_id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(TicketSummary {
            server_id: r.get(0)?,
            server_number: to_u64(r.get(1)?),
            id: parse_uuid(&r.get::<_, String>(2)?)?,
            terminal_id: parse_uuid(&r.get::<_, String>(3)?)?,
            number: to_u64(r.get(4)?),
            kind: r.get(5)?,
            reverses: opt_uuid(r.get(6)?)?,
            reversed_by: opt_uuid(r.get(7)?)?,
            total: r.get(8)?,
            created_at_ms: r.get(9)?,
            recovered_from: opt_uuid(r.get(10)?)?,
            operator: operator_of(opt_uuid(r.get(11)?)?, r.get(12)?),
            approval: approval_of(r.get::<_, Option<String>>(13)?.as_deref())?,
            shift_id: opt_uuid(r.get(14)?)?,
        });
    }
    Ok(out)
}

/// The shifts of `terminal` (every terminal's when `None`), newest first.
pub(super) fn shifts(
    conn: &Connection,
    terminal: Option<Uuid>,
) -> Result<Vec<ShiftSummary>, StorageError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN terminals t ON t.id = s.terminal_id
         WHERE ?1 IS NULL OR s.terminal_id = ?1
         ORDER BY s.opened_at_ms DESC, s.server_id DESC"
    ))?;
    let mut rows = stmt.query([terminal.map(|t| t.to_string())])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(ShiftSummary {
            shift_id: parse_uuid(&r.get::<_, String>(0)?)?,
            terminal_id: parse_uuid(&r.get::<_, String>(1)?)?,
            terminal: r.get(2)?,
            z_number: to_u64(r.get(3)?),
            opened_by: Operator {
                id: parse_uuid(&r.get::<_, String>(4)?)?,
                name: r.get(5)?,
            },
            opened_at_ms: r.get(6)?,
            float: r.get(7)?,
            closed_by: operator_of(opt_uuid(r.get(8)?)?, r.get(9)?),
            closed_at_ms: r.get(10)?,
            expected_cash: r.get(11)?,
            counted_cash: r.get(12)?,
            difference: r.get(13)?,
            state: r.get(14)?,
            mismatch: mismatch_of(r.get::<_, Option<String>>(15)?.as_deref())?,
        });
    }
    Ok(out)
}

/// The tickets rung up in `[from_ms, to_ms)`, as the sales report reads them.
pub(super) fn report_tickets(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<TicketFacts>, StorageError> {
    let mut stmt = conn.prepare(REPORT_QUERY)?;
    let mut rows = stmt.query(params![from_ms, to_ms])?;
    let mut facts = Vec::new();
    while let Some(r) = rows.next()? {
        facts.push(TicketFacts {
            ticket: parse_ticket(&r.get::<_, String>(0)?)?,
            terminal_id: parse_uuid(&r.get::<_, String>(1)?)?,
            terminal: r.get(2)?,
            z_number: r.get::<_, Option<i64>>(3)?.map(to_u64),
        });
    }
    Ok(facts)
}

fn column_u64s(conn: &Connection, sql: &str, terminal: &str) -> Result<Vec<u64>, StorageError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([terminal], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(to_u64(row?));
    }
    Ok(out)
}

/// What `stats` counts, in the caller's snapshot.
pub(super) fn stats_rows(conn: &Connection) -> Result<stats::Rows, StorageError> {
    let mut terminals = Vec::new();
    for terminal in self::terminals(conn)? {
        let id = terminal.id.to_string();
        let (sales, reversals, sales_total, reversals_total) = conn.query_row(
            "SELECT count(*) FILTER (WHERE kind = 'sale'),
                    count(*) FILTER (WHERE kind != 'sale'),
                    coalesce(sum(total) FILTER (WHERE kind = 'sale'), 0),
                    coalesce(sum(total) FILTER (WHERE kind != 'sale'), 0)
             FROM tickets WHERE terminal_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let refused = conn.query_row(
            "SELECT count(*) FROM mutations WHERE terminal_id = ?1 AND ticket_id IS NOT NULL
               AND json_extract(outcome, '$.status') NOT IN ('applied', 'disputed')",
            [&id],
            |r| r.get(0),
        )?;
        let (disputed, open_disputes) = conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE settlement IS NULL)
             FROM disputes WHERE terminal_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let ticket_numbers = column_u64s(
            conn,
            "SELECT DISTINCT ticket_number FROM mutations
             WHERE terminal_id = ?1 AND ticket_number IS NOT NULL ORDER BY ticket_number",
            &id,
        )?;
        let seqs = column_u64s(
            conn,
            "SELECT seq FROM mutations WHERE terminal_id = ?1 ORDER BY seq",
            &id,
        )?;
        let recovered_up_to: i64 = conn.query_row(
            "SELECT coalesce(max(ticket_number), 0) FROM mutations
             WHERE terminal_id = ?1 AND recovered_terminal IS NOT NULL",
            [&id],
            |r| r.get(0),
        )?;
        terminals.push(TerminalRows {
            terminal,
            sales,
            reversals,
            sales_total,
            reversals_total,
            refused,
            disputed,
            open_disputes,
            ticket_numbers,
            recovered_up_to: to_u64(recovered_up_to),
            seqs,
        });
    }
    let duplicate_ticket_ids = {
        let mut stmt = conn.prepare(
            "SELECT ticket_id FROM mutations WHERE ticket_id IS NOT NULL
             GROUP BY ticket_id HAVING count(*) > 1",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(parse_uuid(&row?)?);
        }
        out
    };
    let duplicate_ticket_numbers = {
        let mut stmt = conn.prepare(
            "SELECT terminal_id, ticket_number FROM mutations WHERE ticket_number IS NOT NULL
             GROUP BY terminal_id, ticket_number HAVING count(*) > 1",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (t, n) = row?;
            out.push((parse_uuid(&t)?, to_u64(n)));
        }
        out
    };
    let duplicate_rows = conn.query_row(
        "SELECT coalesce(sum(n - 1), 0) FROM
           (SELECT count(*) AS n FROM tickets GROUP BY terminal_id, number HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    let mutations = conn.query_row("SELECT count(*) FROM mutations", [], |r| r.get(0))?;
    Ok(stats::Rows {
        terminals,
        duplicate_ticket_ids,
        duplicate_ticket_numbers,
        duplicate_rows,
        mutations,
    })
}
