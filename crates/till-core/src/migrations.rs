//! The terminal's schema: numbered SQL files from `/migrations`, embedded at build time and
//! applied all-or-nothing. `PRAGMA user_version` holds the number of the last one applied; a
//! database with a higher number was written by a newer Till and is refused.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{CoreError, Result};

/// One schema step. `version` is the number in the file name.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this binary knows, numbered 1, 2, 3… with no gap: the runner applies those
/// numbered above `PRAGMA user_version`, so a gap filled later would be skipped on databases
/// already past it. A test holds the list to this. Add new files here, with the next number.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_terminal",
        sql: include_str!("../../../migrations/0001_terminal.sql"),
    },
    Migration {
        version: 2,
        name: "0002_outbox_entity",
        sql: include_str!("../../../migrations/0002_outbox_entity.sql"),
    },
    Migration {
        version: 3,
        name: "0003_sync",
        sql: include_str!("../../../migrations/0003_sync.sql"),
    },
    Migration {
        version: 4,
        name: "0004_outbox_payload",
        sql: include_str!("../../../migrations/0004_outbox_payload.sql"),
    },
    Migration {
        version: 5,
        name: "0005_outbox_depends_on",
        sql: include_str!("../../../migrations/0005_outbox_depends_on.sql"),
    },
    Migration {
        version: 6,
        name: "0006_customer_edit_bases",
        sql: include_str!("../../../migrations/0006_customer_edit_bases.sql"),
    },
    Migration {
        version: 7,
        name: "0007_employees",
        sql: include_str!("../../../migrations/0007_employees.sql"),
    },
    Migration {
        version: 8,
        name: "0008_operators_refunds",
        sql: include_str!("../../../migrations/0008_operators_refunds.sql"),
    },
    Migration {
        version: 9,
        name: "0009_shifts",
        sql: include_str!("../../../migrations/0009_shifts.sql"),
    },
    Migration {
        version: 10,
        name: "0010_parked_sales",
        sql: include_str!("../../../migrations/0010_parked_sales.sql"),
    },
    Migration {
        version: 11,
        name: "0011_shift_conflicts",
        sql: include_str!("../../../migrations/0011_shift_conflicts.sql"),
    },
    Migration {
        version: 12,
        name: "0012_push_chain",
        sql: include_str!("../../../migrations/0012_push_chain.sql"),
    },
    Migration {
        version: 13,
        name: "0013_print_jobs",
        sql: include_str!("../../../migrations/0013_print_jobs.sql"),
    },
    Migration {
        version: 14,
        name: "0014_store_address",
        sql: include_str!("../../../migrations/0014_store_address.sql"),
    },
    Migration {
        version: 15,
        name: "0015_cycle_metrics",
        sql: include_str!("../../../migrations/0015_cycle_metrics.sql"),
    },
    Migration {
        version: 16,
        name: "0016_customer_fields",
        sql: include_str!("../../../migrations/0016_customer_fields.sql"),
    },
];

/// Whether `migrations` are numbered 1, 2, 3… in order, with no gap and no repeat.
const fn numbered_without_gaps(migrations: &[Migration]) -> bool {
    let mut i = 0;
    while i < migrations.len() {
        if migrations[i].version as usize != i + 1 {
            return false;
        }
        i += 1;
    }
    true
}

// A gap or a wrong order fails the build, not just the tests.
const _: () = assert!(
    numbered_without_gaps(MIGRATIONS),
    "MIGRATIONS must be numbered 1..=N in order without gaps"
);

/// The schema version this binary writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The schema version recorded in the database.
pub fn current_version(conn: &Connection) -> Result<u32> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

/// Brings the schema up to [`latest_version`] in one immediate transaction: either every pending
/// migration applies or none does. Refuses a database newer than this binary
/// (`schema_too_new`) without writing to it.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    apply(conn, MIGRATIONS)
}

fn apply(conn: &mut Connection, migrations: &[Migration]) -> Result<()> {
    let known = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    let found = current_version(conn)?;
    if found > known {
        return Err(CoreError::SchemaTooNew { found, known });
    }
    if found == known {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated between the check above and taking the write lock.
    let found = current_version(&tx)?;
    if found > known {
        return Err(CoreError::SchemaTooNew { found, known });
    }
    for m in migrations.iter().filter(|m| m.version > found) {
        tracing::info!(migration = m.name, "applying migration");
        tx.execute_batch(m.sql)
            .map_err(|e| CoreError::Database(format!("migration {}: {e}", m.name)))?;
        tx.pragma_update(None, "user_version", m.version)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_to_n_without_gaps() {
        for pair in MIGRATIONS.windows(2) {
            assert!(
                pair[0].version < pair[1].version,
                "{} must come before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for (i, m) in MIGRATIONS.iter().enumerate() {
            let expected = u32::try_from(i + 1).expect("few migrations");
            assert_eq!(
                m.version, expected,
                "{} must be migration {expected}: a gap would let a later file slip under \
                 user_version and never apply",
                m.name
            );
            assert!(
                m.name.starts_with(&format!("{expected:04}_")),
                "{} must be named after its number {expected:04}",
                m.name
            );
        }
        assert_eq!(
            latest_version(),
            u32::try_from(MIGRATIONS.len()).expect("few migrations"),
            "the latest version is the number of migrations"
        );
    }

    #[test]
    fn every_file_in_the_migrations_folder_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the migrations folder is readable")
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".sql").map(str::to_owned))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(
            files, embedded,
            "each SQL file must be listed in MIGRATIONS, in number order"
        );
    }

    #[test]
    fn a_gap_in_the_numbering_is_detected() {
        let step = |version| Migration {
            version,
            name: "step",
            sql: "",
        };
        assert!(numbered_without_gaps(&[step(1), step(2), step(3)]));
        assert!(!numbered_without_gaps(&[step(1), step(2), step(10)]));
        assert!(!numbered_without_gaps(&[step(2), step(1)]));
        assert!(!numbered_without_gaps(&[step(1), step(1)]));
    }

    #[test]
    fn an_empty_database_migrates_to_the_latest_version() {
        let mut conn = Connection::open_in_memory().expect("opens");
        migrate(&mut conn).expect("migrates");
        assert_eq!(current_version(&conn).expect("reads"), latest_version());
        migrate(&mut conn).expect("migrating twice is a no-op");
    }

    #[test]
    fn a_failing_migration_leaves_the_database_as_it_was() {
        let mut conn = Connection::open_in_memory().expect("opens");
        let steps = [
            Migration {
                version: 1,
                name: "0001_ok",
                sql: "CREATE TABLE a (x INTEGER);",
            },
            Migration {
                version: 2,
                name: "0002_broken",
                sql: "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;",
            },
        ];
        let err = apply(&mut conn, &steps).expect_err("a broken migration fails");
        assert_eq!(err.code(), "database_error");
        assert_eq!(
            current_version(&conn).expect("reads"),
            0,
            "no version recorded"
        );
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .expect("counts");
        assert_eq!(
            tables, 0,
            "all-or-nothing: the first migration is rolled back too"
        );
    }

    #[test]
    fn queued_mutations_keep_their_exact_bytes_when_payloads_move_to_their_own_table() {
        let mut conn = Connection::open_in_memory().expect("opens");
        apply(&mut conn, &MIGRATIONS[..3]).expect("migrates to version 3");
        let payload = br#"{"id":"0192","seq":1,"body":"exact bytes"}"#.to_vec();
        conn.execute(
            "INSERT INTO outbox (seq, mutation_id, kind, entity_id, payload, state,
                                 created_at_ms, updated_at_ms)
             VALUES (1, 'm-1', 'ticket_created', 't-1', ?1, 'in_flight', 5, 6)",
            [&payload],
        )
        .expect("queues");
        migrate(&mut conn).expect("migrates to the latest version");
        let (state, moved): (String, Vec<u8>) = conn
            .query_row(
                "SELECT state, payload FROM outbox JOIN outbox_payload USING (seq)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the mutation is still queued");
        assert_eq!(state, "in_flight");
        assert_eq!(moved, payload, "a resend must stay byte-identical");
        conn.execute("DELETE FROM outbox WHERE seq = 1", [])
            .expect("prunes");
        let left: i64 = conn
            .query_row("SELECT count(*) FROM outbox_payload", [], |r| r.get(0))
            .expect("counts");
        assert_eq!(left, 0, "pruning a row takes its payload with it");
    }

    #[test]
    fn items_failed_before_dependencies_had_a_column_keep_what_they_wait_for() {
        let mut conn = Connection::open_in_memory().expect("opens");
        apply(&mut conn, &MIGRATIONS[..4]).expect("migrates to version 4");
        conn.execute_batch(
            "INSERT INTO outbox (seq, mutation_id, kind, entity_id, state, last_error,
                                 created_at_ms, updated_at_ms) VALUES
               (1, 'm-1', 'ticket_created', 't-1', 'failed', 'totals_mismatch: off by 1', 5, 5),
               (12, 'm-12', 'ticket_refunded', 't-2', 'failed',
                'depends_on_failed: waits for item 1 (unknown_ticket: no such sale)', 5, 5);",
        )
        .expect("two failed items");
        migrate(&mut conn).expect("migrates to the latest version");
        let waits: Vec<Option<i64>> = conn
            .prepare("SELECT depends_on_seq FROM outbox ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("reads");
        assert_eq!(waits, vec![None, Some(1)]);
    }

    #[test]
    fn tickets_rebuilt_without_unique_reverses_keep_every_row_and_pointer() {
        let mut conn = Connection::open_in_memory().expect("opens");
        conn.pragma_update(None, "foreign_keys", true)
            .expect("foreign keys on, as the store runs");
        apply(&mut conn, &MIGRATIONS[..7]).expect("migrates to version 7");
        let ticket =
            |conn: &Connection, id: &str, number: i64, kind: &str, reverses: Option<&str>| {
                conn.execute(
                    "INSERT INTO tickets (id, number, kind, reverses, created_at_ms, hlc_wall_ms,
                     hlc_counter, hlc_node, currency_code, currency_exponent, prices_include_tax,
                     subtotal, discount_total, tax_total, total, journal_hash)
                 VALUES (?1, ?2, ?3, ?4, 1, 1, 0, 'n', 'EUR', 2, 1, 500, 0, 83, 500, 'h')",
                    rusqlite::params![id, number, kind, reverses],
                )
            };
        ticket(&conn, "sale", 1, "sale", None).expect("a sale");
        ticket(&conn, "refund-1", 2, "refund", Some("sale")).expect("its refund");
        assert!(
            ticket(&conn, "refund-2", 3, "refund", Some("sale")).is_err(),
            "before: one reversal per sale"
        );
        conn.execute_batch(
            "INSERT INTO ticket_lines (ticket_id, line_no, product_id, sku, name, quantity,
                 unit_price, tax_category, tax_rate_bp, gross, line_discount, ticket_discount,
                 amount, tax, total)
             VALUES ('sale', 1, 'p', 'S', 'Scone', 2, 250, 'std', 2000, 500, 0, 0, 500, 83, 500);
             INSERT INTO ticket_taxes (ticket_id, rate_bp, base, tax) VALUES ('sale', 2000, 417, 83);
             INSERT INTO tenders (ticket_id, position, kind, amount) VALUES ('sale', 1, 'cash', 500);
             INSERT INTO journal (position, ticket_id, ticket_number, prev_hash, hash)
             VALUES (1, 'sale', 1, 'g', 'h'), (2, 'refund-1', 2, 'h', 'h2');",
        )
        .expect("lines, taxes, tenders and journal entries point at the tickets");
        migrate(&mut conn).expect("migrates to the latest version");
        let kept: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, reverses FROM tickets ORDER BY number")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("reads");
        assert_eq!(
            kept,
            vec![
                ("sale".to_owned(), None),
                ("refund-1".to_owned(), Some("sale".to_owned()))
            ]
        );
        let orphans: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("checks");
        assert_eq!(
            orphans, 0,
            "every pointer at tickets still finds its ticket"
        );
        ticket(&conn, "refund-2", 3, "refund", Some("sale")).expect("a second refund of the sale");
        assert!(
            ticket(&conn, "refund-3", 4, "refund", Some("nowhere")).is_err(),
            "a reversal still points at a ticket that exists"
        );
        assert!(
            ticket(&conn, "sale-again", 1, "sale", None).is_err(),
            "numbers stay unique"
        );
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().expect("opens");
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .expect("sets");
        let err = migrate(&mut conn).expect_err("a newer schema must be refused");
        assert_eq!(err.code(), "schema_too_new");
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .expect("counts");
        assert_eq!(tables, 0, "nothing may be created in a refused database");
    }
}
