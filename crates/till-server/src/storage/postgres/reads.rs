//! What the PostgreSQL backend reads outside a write transaction: terminals, employees, tickets,
//! the rows of a pull page and of stats. Pages and stats read in one REPEATABLE READ snapshot; what the
//! rows mean is decided in [`crate::decide`].

use deadpool_postgres::{Object, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use uuid::Uuid;

use super::tx::product_from_row;
use super::{all, one, TxError};
use crate::decide::chain::StoredChain;
use crate::decide::customers::CustomerRow;
use crate::decide::pull::{self, Changed, TaxRateRow};
use crate::decide::reports::TicketFacts;
use crate::decide::stats::{self, TerminalRows};
use crate::storage::columns::token_slot;
use crate::storage::columns::{
    approval_of, chain_head, mismatch_of, operator_of, parse_role, parse_ticket, stored_link,
    to_i64, to_u64, EMPLOYEE_COLUMNS, PRODUCT_COLUMNS, PUSH_CHAIN_QUERY, REPORT_QUERY,
    SHIFT_COLUMNS, TERMINAL_COLUMNS, TICKET_COLUMNS,
};
use crate::storage::{ShiftSummary, StorageError, TerminalRecord, TicketSummary, TokenOwner};
use till_protocol::{Employee, Operator};

pub(super) fn terminal_from_row(r: &Row) -> TerminalRecord {
    TerminalRecord {
        id: r.get(0),
        name: r.get(1),
        created_at_ms: r.get(2),
        revoked_at_ms: r.get(3),
        last_seq: to_u64(r.get(4)),
        previous_token_expires_at_ms: r.get(5),
    }
}

/// The terminal whose current or previous token hashes to `token_hash`.
pub(super) async fn terminal_by_token(
    client: &mut Object,
    token_hash: &str,
) -> Result<Option<TokenOwner>, TxError> {
    let sql = format!(
        "SELECT {TERMINAL_COLUMNS}, token_hash = $1 FROM terminals
         WHERE token_hash = $1 OR previous_token_hash = $1"
    );
    let stmt = client.prepare_cached(&sql).await?;
    Ok(client
        .query_opt(&stmt, &[&token_hash])
        .await?
        .map(|r| TokenOwner {
            terminal: terminal_from_row(&r),
            slot: token_slot(r.get(6)),
        }))
}

/// The terminal `WHERE {where_clause}` with `$1` bound to `param`.
pub(super) async fn terminal(
    client: &mut Object,
    where_clause: &str,
    param: &(dyn ToSql + Sync),
) -> Result<Option<TerminalRecord>, TxError> {
    let sql = format!("SELECT {TERMINAL_COLUMNS} FROM terminals WHERE {where_clause}");
    let stmt = client.prepare_cached(&sql).await?;
    Ok(client
        .query_opt(&stmt, &[param])
        .await?
        .as_ref()
        .map(terminal_from_row))
}

/// The push chain of the terminal `terminal_id`, read in one snapshot.
pub(super) async fn push_chain(
    client: &mut Object,
    terminal_id: Uuid,
) -> Result<StoredChain, TxError> {
    let tx = snapshot(client).await?;
    let accepted = tx
        .query_opt(
            "SELECT chain_seq, chain_link FROM terminals WHERE id = $1",
            &[&terminal_id],
        )
        .await?
        .map(|r| chain_head(r.get(0), r.get(1)))
        .ok_or_else(|| StorageError::NotFound {
            what: format!("terminal {terminal_id}"),
        })?;
    let rows = tx
        .query(&PUSH_CHAIN_QUERY.replace("{}", "$1"), &[&terminal_id])
        .await?;
    let links = rows
        .iter()
        .map(|r| {
            stored_link(
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get::<_, Option<&str>>(4),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().await?;
    Ok(StoredChain { links, accepted })
}

/// A read-only snapshot: every table as of one moment.
async fn snapshot(client: &mut Object) -> Result<Transaction<'_>, TxError> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// The rows of a pull page after `cursor`. One snapshot for the four tables: change numbers
/// commit in order (module doc of [`super`]), so it holds every change up to the highest it
/// sees.
pub(super) async fn pull_rows(
    client: &mut Object,
    cursor: u64,
    limit: u32,
) -> Result<pull::Rows, TxError> {
    let tx = snapshot(client).await?;
    let after = to_i64(cursor, "cursor")?;
    let take = pull::rows_per_table(limit);
    let mut rows = pull::Rows::default();

    let sql =
        "SELECT body, change_seq FROM settings WHERE change_seq > $1 ORDER BY change_seq LIMIT $2";
    for r in all(&tx, sql, &[&after, &take]).await? {
        rows.settings.push((r.get(1), r.get(0)));
    }

    let sql = "SELECT id, name, rate_bp, deleted, change_seq FROM tax_rates WHERE change_seq > $1
               ORDER BY change_seq LIMIT $2";
    for r in all(&tx, sql, &[&after, &take]).await? {
        rows.tax_rates.push(Changed {
            seq: r.get(4),
            deleted: r.get(3),
            row: TaxRateRow {
                id: r.get(0),
                name: r.get(1),
                rate_bp: r.get(2),
            },
        });
    }

    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE change_seq > $1 ORDER BY change_seq LIMIT $2"
    );
    for r in all(&tx, &sql, &[&after, &take]).await? {
        let (product, deleted, seq) = product_from_row(&r);
        rows.products.push(Changed {
            seq,
            deleted,
            row: product,
        });
    }

    let sql = "SELECT id, version, name, email, phone, note, deleted, change_seq, hlc, made_by,
                      tags, loyalty_points
               FROM customers WHERE change_seq > $1 ORDER BY change_seq LIMIT $2";
    for r in all(&tx, sql, &[&after, &take]).await? {
        rows.customers.push(Changed {
            seq: r.get(7),
            deleted: r.get(6),
            row: CustomerRow {
                id: r.get(0),
                version: r.get(1),
                fields: till_protocol::CustomerFields {
                    name: r.get(2),
                    email: r.get(3),
                    phone: r.get(4),
                    note: r.get(5),
                    tags: Default::default(),
                    loyalty_points: r.get(11),
                },
                tags: r.get(10),
                hlc: r.get(8),
                made_by: r.get(9),
            },
        });
    }

    let sql = format!(
        "SELECT {EMPLOYEE_COLUMNS}, change_seq FROM employees WHERE change_seq > $1
         ORDER BY change_seq LIMIT $2"
    );
    for r in all(&tx, &sql, &[&after, &take]).await? {
        rows.employees.push((r.get(5), employee_from_row(&r)?));
    }
    tx.commit().await?;
    Ok(rows)
}

/// An employee from the [`EMPLOYEE_COLUMNS`] of `r`.
pub(super) fn employee_from_row(r: &Row) -> Result<Employee, StorageError> {
    Ok(Employee {
        id: r.get(0),
        name: r.get(1),
        role: parse_role(r.get(2))?,
        pin_hash: r.get(3),
        disabled: r.get(4),
    })
}

/// Every employee, by name.
pub(super) async fn employees(client: &mut Object) -> Result<Vec<Employee>, TxError> {
    let sql = format!("SELECT {EMPLOYEE_COLUMNS} FROM employees ORDER BY name, id");
    let stmt = client.prepare_cached(&sql).await?;
    let mut employees = Vec::new();
    for r in client.query(&stmt, &[]).await? {
        employees.push(employee_from_row(&r)?);
    }
    Ok(employees)
}

/// Every ticket received, in the order stored.
pub(super) async fn tickets(client: &mut Object) -> Result<Vec<TicketSummary>, TxError> {
    let tx = client.transaction().await?;
    let sql = format!(
        "SELECT {TICKET_COLUMNS}
         FROM tickets t LEFT JOIN mutations m ON m.id = t.mutation_id
         ORDER BY t.server_id"
    );
    let rows = all(&tx, &sql, &[]).await?;
    tx.commit().await?;
    let mut tickets = Vec::new();
    for r in &rows {
        tickets.push(TicketSummary {
            server_id: r.get(0),
            server_number: to_u64(r.get(1)),
            id: r.get(2),
            terminal_id: r.get(3),
            number: to_u64(r.get(4)),
            kind: r.get(5),
            reverses: r.get(6),
            reversed_by: r.get(7),
            total: r.get(8),
            created_at_ms: r.get(9),
            recovered_from: r.get(10),
            operator: operator_of(r.get(11), r.get(12)),
            approval: approval_of(r.get(13))?,
            shift_id: r.get(14),
        });
    }
    Ok(tickets)
}

/// The shifts of `terminal` (every terminal's when `None`), newest first.
pub(super) async fn shifts(
    client: &mut Object,
    terminal: Option<Uuid>,
) -> Result<Vec<ShiftSummary>, TxError> {
    let tx = client.transaction().await?;
    let sql = format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts s JOIN terminals t ON t.id = s.terminal_id
         WHERE $1::uuid IS NULL OR s.terminal_id = $1
         ORDER BY s.opened_at_ms DESC, s.server_id DESC"
    );
    let rows = all(&tx, &sql, &[&terminal]).await?;
    tx.commit().await?;
    let mut shifts = Vec::new();
    for r in &rows {
        shifts.push(ShiftSummary {
            shift_id: r.get(0),
            terminal_id: r.get(1),
            terminal: r.get(2),
            z_number: to_u64(r.get(3)),
            opened_by: Operator {
                id: r.get(4),
                name: r.get(5),
            },
            opened_at_ms: r.get(6),
            float: r.get(7),
            closed_by: operator_of(r.get(8), r.get(9)),
            closed_at_ms: r.get(10),
            expected_cash: r.get(11),
            counted_cash: r.get(12),
            difference: r.get(13),
            state: r.get(14),
            mismatch: mismatch_of(r.get(15))?,
        });
    }
    Ok(shifts)
}

/// The tickets rung up in `[from_ms, to_ms)`, as the sales report reads them.
pub(super) async fn report_tickets(
    client: &mut Object,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<TicketFacts>, TxError> {
    let tx = snapshot(client).await?;
    let rows = all(&tx, REPORT_QUERY, &[&from_ms, &to_ms]).await?;
    tx.commit().await?;
    let mut facts = Vec::new();
    for r in &rows {
        facts.push(TicketFacts {
            ticket: parse_ticket(r.get(0))?,
            terminal_id: r.get(1),
            terminal: r.get(2),
            z_number: r.get::<_, Option<i64>>(3).map(to_u64),
        });
    }
    Ok(facts)
}

/// The first column of every row, as counts or numbers.
async fn u64s(tx: &Transaction<'_>, sql: &str, terminal: &Uuid) -> Result<Vec<u64>, TxError> {
    let rows = all(tx, sql, &[terminal]).await?;
    Ok(rows.iter().map(|r| to_u64(r.get(0))).collect())
}

/// What `stats` counts, in one snapshot.
pub(super) async fn stats_rows(client: &mut Object) -> Result<stats::Rows, TxError> {
    let tx = snapshot(client).await?;
    let sql = format!("SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY created_at_ms, id");
    let records: Vec<TerminalRecord> = all(&tx, &sql, &[])
        .await?
        .iter()
        .map(terminal_from_row)
        .collect();
    let mut terminals = Vec::new();
    for terminal in records {
        let figures = one(
            &tx,
            "SELECT count(*) FILTER (WHERE kind = 'sale'),
                    count(*) FILTER (WHERE kind <> 'sale'),
                    coalesce(sum(total) FILTER (WHERE kind = 'sale'), 0)::bigint,
                    coalesce(sum(total) FILTER (WHERE kind <> 'sale'), 0)::bigint
             FROM tickets WHERE terminal_id = $1",
            &[&terminal.id],
        )
        .await?;
        let refused: i64 = one(
            &tx,
            "SELECT count(*) FROM mutations WHERE terminal_id = $1 AND ticket_id IS NOT NULL
               AND (outcome::jsonb ->> 'status') NOT IN ('applied', 'disputed')",
            &[&terminal.id],
        )
        .await?
        .get(0);
        let disputes = one(
            &tx,
            "SELECT count(*), count(*) FILTER (WHERE settlement IS NULL)
             FROM disputes WHERE terminal_id = $1",
            &[&terminal.id],
        )
        .await?;
        let ticket_numbers = u64s(
            &tx,
            "SELECT DISTINCT ticket_number FROM mutations
             WHERE terminal_id = $1 AND ticket_number IS NOT NULL ORDER BY ticket_number",
            &terminal.id,
        )
        .await?;
        let seqs = u64s(
            &tx,
            "SELECT seq FROM mutations WHERE terminal_id = $1 ORDER BY seq",
            &terminal.id,
        )
        .await?;
        let recovered_up_to = u64s(
            &tx,
            "SELECT coalesce(max(ticket_number), 0) FROM mutations
             WHERE terminal_id = $1 AND recovered_terminal IS NOT NULL",
            &terminal.id,
        )
        .await?;
        terminals.push(TerminalRows {
            terminal,
            sales: figures.get(0),
            reversals: figures.get(1),
            sales_total: figures.get(2),
            reversals_total: figures.get(3),
            refused,
            disputed: disputes.get(0),
            open_disputes: disputes.get(1),
            ticket_numbers,
            recovered_up_to: recovered_up_to.first().copied().unwrap_or(0),
            seqs,
        });
    }
    let counted = stats::Rows {
        terminals,
        duplicate_ticket_ids: all(
            &tx,
            "SELECT ticket_id FROM mutations WHERE ticket_id IS NOT NULL
             GROUP BY ticket_id HAVING count(*) > 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect(),
        duplicate_ticket_numbers: all(
            &tx,
            "SELECT terminal_id, ticket_number FROM mutations WHERE ticket_number IS NOT NULL
             GROUP BY terminal_id, ticket_number HAVING count(*) > 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), to_u64(r.get(1))))
        .collect(),
        duplicate_rows: one(
            &tx,
            "SELECT coalesce(sum(n - 1), 0)::bigint FROM
               (SELECT count(*) AS n FROM tickets GROUP BY terminal_id, number
                HAVING count(*) > 1) d",
            &[],
        )
        .await?
        .get(0),
        mutations: one(&tx, "SELECT count(*) FROM mutations", &[])
            .await?
            .get(0),
    };
    tx.commit().await?;
    Ok(counted)
}
