//! `till-server`: the back office's command line. `serve` runs the HTTP API; every other command
//! works on the same data dir, also while `serve` runs.

#[macro_use]
extern crate till_cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use till_cli::customer::{FieldArgs, Points};
use till_protocol::{Employee, Role};
use till_server::clock::now_ms;
use till_server::dates::Day;
use till_server::decide::bundle::BundleError;
use till_server::decide::chain;
use till_server::decide::reports::GroupBy;
use till_server::decide::settings::{OfficeSetting, OfficeSettings};
use till_server::decide::stamps::StampLimit;
use till_server::import_queue::{self, ImportError};
use till_server::serve::{shutdown_signal, BoundServer, ServeError, ServeOptions, TlsFiles};
use till_server::storage::postgres::PostgresStorage;
use till_server::storage::sqlite::SqliteStorage;
use till_server::storage::{CustomerEdit, PointsChange, ShiftSummary, Storage, StorageError};
use till_server::{catalog_file, dates, duration, pin, token};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "till-server",
    version = till_cli::version!(),
    about = "Till's back-office sync server"
)]
struct Cli {
    /// Where the server keeps its database.
    #[arg(long, global = true, env = "TILL_SERVER_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user@host:port/db`) instead of the data dir's SQLite:
    /// for a chain of shops, shared by several server replicas.
    #[arg(
        long,
        global = true,
        env = "TILL_SERVER_DATABASE",
        value_name = "URL",
        conflicts_with = "data_dir"
    )]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP API; prints `listening on http(s)://ADDR` once ready.
    Serve(ServeArgs),
    /// Enrols, revokes and lists terminals.
    #[command(subcommand)]
    Terminal(TerminalCommand),
    /// Imports the catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Changes products.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Adds, edits and deletes customers (each change bumps the customer's version).
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Adds, lists and disables employees and sets their PINs (tills receive them by pull).
    #[command(subcommand)]
    Employee(EmployeeCommand),
    /// Shows and changes the back office's own settings.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Lists the tickets received.
    Tickets {
        #[arg(long)]
        json: bool,
    },
    /// Lists the shifts tills opened, newest first: open, or closed and matched or mismatched
    /// with what the back office holds.
    Shifts {
        /// Only this terminal's shifts.
        #[arg(long, value_name = "ID")]
        terminal: Option<Uuid>,
        #[arg(long)]
        json: bool,
    },
    /// Reports on what the tills sold.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Ticket counts and totals per terminal, duplicates and sequence gaps.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Recomputes a terminal's push chain from what the back office stores (each link from the
    /// one before, each ticket's content from its stored body); exits 3 naming the first broken
    /// sequence.
    VerifyJournal {
        /// The terminal's id.
        #[arg(long, value_name = "ID")]
        terminal: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Applies a dead till's unsent sales from the file `tillctl export-queue` wrote, once:
    /// checks it is whole and signed by the key its terminal registered, then settles it as a
    /// push from the till (what was delivered before is answered as duplicates). Exit 2 when
    /// the file is refused (nothing applied).
    ImportQueue {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    listen: String,
    /// PEM certificate chain; serves HTTPS together with --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// How long a client may take to send a request's headers [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    header_timeout: Option<Duration>,
    /// How long one request may take, body and waiting included; then 408 [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    request_timeout: Option<Duration>,
    /// Requests handled at once; more wait for a slot [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrent: Option<u32>,
    /// Failed authentications one address may make per minute before it gets 429; 0 for no
    /// limit [default: 20].
    #[arg(long, value_name = "N")]
    max_auth_failures: Option<u32>,
    /// How far ahead of this server's clock a terminal's stamp on a customer change may be
    /// before the change is refused [default: 5m].
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    max_clock_skew: Option<Duration>,
}

impl ServeArgs {
    /// The options given, the defaults for the rest.
    fn options(&self) -> ServeOptions {
        let default = ServeOptions::default();
        ServeOptions {
            header_timeout: self.header_timeout.unwrap_or(default.header_timeout),
            request_timeout: self.request_timeout.unwrap_or(default.request_timeout),
            max_concurrent: self
                .max_concurrent
                .map_or(default.max_concurrent, |n| n as usize),
            max_auth_failures: self.max_auth_failures.unwrap_or(default.max_auth_failures),
            max_clock_skew: self.max_clock_skew.unwrap_or(default.max_clock_skew),
        }
    }
}

#[derive(Subcommand)]
enum TerminalCommand {
    /// Enrols a terminal and prints its id and bearer token (shown once; only a hash is kept).
    Add {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Revokes a terminal's token: its requests get 401 from now on.
    Revoke { id: Uuid },
    /// After a person has looked at a terminal's `journal_break` (compared `verify-journal
    /// --terminal ID` with the till's own) and accepts the till's books as they are: forgets the
    /// push-chain head accepted and the head the till named, so its next push anchors the chain
    /// afresh. What the back office holds is not changed.
    Reanchor { id: Uuid },
    /// Gives a terminal a new token (printed once); the old one works on for the grace period.
    RotateToken {
        id: Uuid,
        /// How long the old token keeps working: 0, 30s, 15m, 24h, 7d.
        #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "24h")]
        grace: Duration,
        #[arg(long)]
        json: bool,
    },
    /// Lists terminals.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Sales from one day to another, one row per group and a total row.
    ///
    /// Days are YYYY-MM-DD in UTC, both inclusive; a ticket counts on the day it was rung up.
    /// Amounts are in minor units:
    ///   tickets    the sales, voids and refunds in the group (a ticket counts once in each
    ///              group it touches; the total counts each ticket once)
    ///   gross      the sales' subtotals: unit price × quantity, before discounts
    ///   discounts  the sales' line and ticket discounts
    ///   refunds    the totals of the voids and refunds (disputed ones too)
    ///   tax        the sales' tax minus the voids' and refunds' tax
    ///   net        the sales' totals minus refunds
    /// By day, operator, terminal or shift a ticket falls whole into one group; by product or
    /// tax rate each line into its own; by tender a ticket is shared between its tenders in
    /// proportion to what each took or paid back. --csv prints no total row.
    #[command(verbatim_doc_comment)]
    Sales {
        /// The first day, YYYY-MM-DD (UTC).
        #[arg(long, value_name = "DATE", value_parser = Day::parse)]
        from: Day,
        /// The last day, YYYY-MM-DD (UTC), included.
        #[arg(long, value_name = "DATE", value_parser = Day::parse)]
        to: Day,
        /// day, product, tender, tax, operator, terminal or shift.
        #[arg(long, value_name = "GROUPING", value_parser = GroupBy::parse)]
        by: GroupBy,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Sets one setting: `allow-cross-till-returns true|false`.
    Set { name: String, value: String },
    /// Shows every setting.
    Show {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Imports a catalog file: JSON (a CatalogSnapshot) or CSV with a header row.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum ProductCommand {
    /// Sets a product's unit price, in minor units.
    SetPrice {
        sku: String,
        #[arg(allow_negative_numbers = true)]
        price_minor: i64,
    },
    /// Deletes a product (terminals receive a tombstone).
    Delete { sku: String },
}

/// A customer edit as the back office's storage takes it, from the flags both programs share.
fn customer_edit(a: FieldArgs) -> CustomerEdit {
    CustomerEdit {
        points: a.points_change().map(|p| match p {
            Points::Add(n) => PointsChange::Add(n),
            Points::Set(n) => PointsChange::Set(n),
        }),
        name: a.name,
        email: a.email,
        phone: a.phone,
        note: a.note,
        add_tags: a.add_tags,
        remove_tags: a.remove_tags,
    }
}

#[derive(Subcommand)]
enum CustomerCommand {
    /// Creates a customer (needs --name), or edits it if it exists.
    Add {
        id: Uuid,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Edits a customer's fields; those not given keep their value.
    Edit {
        id: Uuid,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Deletes a customer (terminals receive a tombstone).
    Delete { id: Uuid },
}

#[derive(Subcommand)]
enum EmployeeCommand {
    /// Adds an employee; prints its id, name and role. Only a hash of the PIN is kept.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// 4 to 8 digits.
        #[arg(long)]
        pin: String,
        #[arg(long)]
        json: bool,
    },
    /// Lists employees: id, name, role, and whether disabled.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Gives an employee a new PIN (4 to 8 digits).
    SetPin {
        id: Uuid,
        #[arg(long)]
        pin: String,
    },
    /// Disables an employee: tills refuse their PIN once they pulled the change.
    Disable { id: Uuid },
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| "the role is cashier or manager".to_string())
}

/// An employee as the command line shows it: never its PIN's hash.
#[derive(Serialize)]
struct EmployeeShown<'e> {
    id: Uuid,
    name: &'e str,
    role: Role,
    disabled: bool,
}

impl<'e> From<&'e Employee> for EmployeeShown<'e> {
    fn from(e: &'e Employee) -> Self {
        EmployeeShown {
            id: e.id,
            name: &e.name,
            role: e.role,
            disabled: e.disabled,
        }
    }
}

/// Why a command failed; printed as `error: …` with a non-zero exit code.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("no data dir: pass --data-dir DIR or set TILL_SERVER_DATA_DIR (or --database URL)")]
    NoDataDir,
    #[error("--database takes a postgres:// or postgresql:// URL")]
    BadDatabaseUrl,
    #[error("--from {from} is after --to {to}")]
    BackwardRange { from: Day, to: Day },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Catalog(#[from] catalog_file::CatalogFileError),
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0} ({code})", code = .0.code())]
    Bundle(BundleError),
    #[error("cannot write to stdout: {0}")]
    Output(String),
    #[error("no terminal {0}")]
    UnknownTerminal(Uuid),
    #[error("the push chain of terminal {terminal} is broken at sequence {seq}: {why}")]
    ChainBroken {
        terminal: Uuid,
        seq: u64,
        why: String,
    },
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::NoDataDir
            | CliError::BadDatabaseUrl
            | CliError::BackwardRange { .. }
            | CliError::UnknownTerminal(_)
            | CliError::Unreadable { .. }
            | CliError::Bundle(_) => 2,
            CliError::Serve(ServeError::AddressInUse { .. }) | CliError::ChainBroken { .. } => 3,
            CliError::Storage(StorageError::DataDir { .. } | StorageError::Connect { .. }) => 4,
            _ => 1,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_));
    init_logging(serving);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs go to stderr (stdout carries only command output). `RUST_LOG` filters;
/// `TILL_LOG_FORMAT=json` gives one JSON object per line.
fn init_logging(serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if std::env::var("TILL_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("warning: logging is off: {e}");
    }
}

/// `verify-journal --terminal ID`: the terminal's stored push chain, recomputed.
async fn verify_journal(storage: &dyn Storage, terminal: Uuid, json: bool) -> Result<(), CliError> {
    let stored = match storage.push_chain(terminal).await {
        Err(StorageError::NotFound { .. }) => return Err(CliError::UnknownTerminal(terminal)),
        other => other?,
    };
    let verification = chain::verify(&stored);
    if json {
        print_json(&verification)?;
    }
    if let Some(broken) = verification.first_break {
        return Err(CliError::ChainBroken {
            terminal,
            seq: broken.seq,
            why: broken.why,
        });
    }
    if !json {
        match &verification.head {
            Some(head) => outln!(
                "push chain of terminal {terminal} holds: {} links checked, head {} at sequence {}",
                verification.checked,
                head.link,
                head.seq
            ),
            None => outln!("terminal {terminal} has no push chain yet (no mutation with a link)"),
        }
    }
    Ok(())
}

fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
    outln!("{text}");
    Ok(())
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let storage = open_storage(cli.data_dir, cli.database).await?;
    match cli.command {
        Command::Serve(args) => serve(storage, args).await,
        Command::Terminal(TerminalCommand::Add { name, json }) => {
            let token = token::generate();
            let terminal = storage.add_terminal(&name, &token::hash(&token)).await?;
            if json {
                print_json(&serde_json::json!({
                    "id": terminal.id,
                    "name": terminal.name,
                    "token": token,
                }))
            } else {
                outln!("id: {}", terminal.id);
                outln!("token: {token}");
                Ok(())
            }
        }
        Command::Terminal(TerminalCommand::Revoke { id }) => {
            let t = storage.revoke_terminal(id).await?;
            outln!("revoked {} ({})", t.id, t.name);
            Ok(())
        }
        Command::Terminal(TerminalCommand::Reanchor { id }) => {
            let t = storage.reanchor_terminal(id).await?;
            tracing::warn!(terminal = %t.id, "push chain reanchored by hand");
            outln!(
                "{} ({}): its next push anchors the push chain afresh",
                t.id,
                t.name
            );
            Ok(())
        }
        Command::Terminal(TerminalCommand::RotateToken { id, grace, json }) => {
            let token = token::generate();
            let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
            let rotated = storage
                .rotate_token(id, &token::hash(&token), grace_ms)
                .await?;
            if json {
                print_json(&serde_json::json!({
                    "id": rotated.terminal.id,
                    "name": rotated.terminal.name,
                    "token": token,
                    "old_token_expires_at_ms": rotated.old_token_stops_at_ms,
                }))
            } else {
                outln!("id: {}", rotated.terminal.id);
                outln!("token: {token}");
                outln!(
                    "old token works until: {} ms since the Unix epoch",
                    rotated.old_token_stops_at_ms
                );
                Ok(())
            }
        }
        Command::Terminal(TerminalCommand::List { json }) => {
            let terminals = storage.list_terminals().await?;
            if json {
                return print_json(&terminals);
            }
            for t in terminals {
                let state = if t.is_revoked() { "revoked" } else { "active" };
                outln!(
                    "{}  {:<8} last_seq={:<8} {}",
                    t.id,
                    state,
                    t.last_seq,
                    t.name
                );
            }
            Ok(())
        }
        Command::Catalog(CatalogCommand::Import { file }) => {
            let import = catalog_file::read(&file)?;
            let summary = storage.import_catalog(import).await?;
            outln!(
                "imported {} tax rates and {} products ({} unchanged)",
                summary.tax_rates,
                summary.products,
                summary.unchanged
            );
            Ok(())
        }
        Command::Product(ProductCommand::SetPrice { sku, price_minor }) => {
            let p = storage.set_price(&sku, price_minor).await?;
            outln!("{} {} now costs {}", p.sku, p.name, p.unit_price);
            Ok(())
        }
        Command::Product(ProductCommand::Delete { sku }) => {
            let p = storage.delete_product(&sku).await?;
            outln!("deleted {} {}", p.sku, p.name);
            Ok(())
        }
        Command::Customer(
            CustomerCommand::Add { id, fields } | CustomerCommand::Edit { id, fields },
        ) => {
            let c = storage.save_customer(id, customer_edit(fields)).await?;
            print_json(&c)
        }
        Command::Customer(CustomerCommand::Delete { id }) => {
            let c = storage.delete_customer(id).await?;
            outln!("deleted {} at version {}", c.id, c.version);
            Ok(())
        }
        Command::Employee(EmployeeCommand::Add {
            name,
            role,
            pin,
            json,
        }) => {
            let e = storage.add_employee(&name, role, pin::hash(&pin)?).await?;
            if json {
                return print_json(&serde_json::json!({
                    "id": e.id,
                    "name": e.name,
                    "role": e.role,
                }));
            }
            outln!("id: {}", e.id);
            outln!("name: {}", e.name);
            outln!("role: {}", e.role.as_str());
            Ok(())
        }
        Command::Employee(EmployeeCommand::List { json }) => {
            let employees = storage.list_employees().await?;
            if json {
                let shown: Vec<EmployeeShown<'_>> = employees.iter().map(Into::into).collect();
                return print_json(&shown);
            }
            for e in &employees {
                let state = if e.disabled { "disabled" } else { "active" };
                outln!("{}  {:<8} {:<8} {}", e.id, e.role.as_str(), state, e.name);
            }
            Ok(())
        }
        Command::Employee(EmployeeCommand::SetPin { id, pin }) => {
            let e = storage.set_employee_pin(id, pin::hash(&pin)?).await?;
            outln!("new PIN set for {} {}", e.id, e.name);
            Ok(())
        }
        Command::Employee(EmployeeCommand::Disable { id }) => {
            let e = storage.disable_employee(id).await?;
            outln!("disabled {} {}", e.id, e.name);
            Ok(())
        }
        Command::Settings(SettingsCommand::Set { name, value }) => {
            let setting = OfficeSetting::parse(&name, &value)?;
            print_settings(&storage.set_office_setting(setting).await?, false)
        }
        Command::Settings(SettingsCommand::Show { json }) => {
            print_settings(&storage.office_settings().await?, json)
        }
        Command::Tickets { json } => {
            let tickets = storage.tickets().await?;
            if json {
                return print_json(&tickets);
            }
            for t in tickets {
                let recovered = t
                    .recovered_from
                    .map(|from| format!("  recovered from terminal {from}"))
                    .unwrap_or_default();
                let by = t
                    .operator
                    .map(|o| format!("  by {}", o.name))
                    .unwrap_or_default();
                let approved = t
                    .approval
                    .map(|a| format!("  {} approved by {}", a.action.as_str(), a.by.name))
                    .unwrap_or_default();
                outln!(
                    "#{:<6} {} terminal {} no. {:<6} {:<6} {:>12}{by}{approved}{recovered}",
                    t.server_number,
                    t.id,
                    t.terminal_id,
                    t.number,
                    t.kind,
                    t.total
                );
            }
            Ok(())
        }
        Command::Shifts { terminal, json } => {
            let shifts = storage.shifts(terminal).await?;
            if json {
                return print_json(&shifts);
            }
            for s in &shifts {
                print_shift(s);
            }
            Ok(())
        }
        Command::Report(ReportCommand::Sales {
            from,
            to,
            by,
            json,
            csv,
        }) => {
            if from > to {
                return Err(CliError::BackwardRange { from, to });
            }
            let report = storage.sales_report(from, to, by).await?;
            if json {
                return print_json(&report);
            }
            let text = if csv {
                report
                    .to_csv()
                    .map_err(|e| CliError::Output(e.to_string()))?
            } else {
                report.to_table()
            };
            outln!("{}", text.trim_end_matches('\n'));
            Ok(())
        }
        Command::VerifyJournal { terminal, json } => {
            verify_journal(&*storage, terminal, json).await
        }
        Command::ImportQueue { file, json } => import_queue(storage.as_ref(), &file, json).await,
        Command::Stats { json } => {
            let stats = storage.stats().await?;
            if json {
                return print_json(&stats);
            }
            outln!(
                "{} tickets ({} sales, {} reversals), total {}, {} mutations, {} duplicates, \
                 {} gaps, {} disputed reversals ({} open)",
                stats.tickets,
                stats.sales,
                stats.reversals,
                stats.total,
                stats.mutations,
                stats.duplicates,
                stats.gaps,
                stats.disputed_reversals,
                stats.open_disputes
            );
            for t in &stats.terminals {
                outln!(
                    "  {} {}: {} tickets ({} sales, {} reversals), total {}, last seq {}, \
                     {} disputed ({} open)",
                    t.terminal_id,
                    t.name,
                    t.tickets,
                    t.sales,
                    t.reversals,
                    t.total,
                    t.last_seq,
                    t.disputed_reversals,
                    t.open_disputes
                );
            }
            Ok(())
        }
    }
}

async fn import_queue(storage: &dyn Storage, file: &Path, json: bool) -> Result<(), CliError> {
    let bytes = std::fs::read(file).map_err(|e| CliError::Unreadable {
        path: file.display().to_string(),
        reason: e.to_string(),
    })?;
    let skew = ServeOptions::default().max_clock_skew;
    let stamps = StampLimit::ahead_of(
        now_ms(),
        i64::try_from(skew.as_millis()).unwrap_or(i64::MAX),
    );
    let imported = import_queue::import(storage, &bytes, stamps)
        .await
        .map_err(|e| match e {
            ImportError::Bundle(e) => CliError::Bundle(e),
            ImportError::Storage(e) => CliError::Storage(e),
        })?;
    if json {
        return print_json(&imported);
    }
    outln!(
        "imported {} mutations of terminal {} ({}): {} applied, {} duplicates, {} other; \
         settled up to sequence {}",
        imported.mutations,
        imported.terminal_id,
        imported.terminal_name,
        imported.tally.applied,
        imported.tally.duplicates,
        imported.tally.other,
        imported.last_applied_seq
    );
    Ok(())
}

/// A shift on one line (opened, and once closed the cash counted), then what differs.
fn print_shift(s: &ShiftSummary) {
    let closed = match (&s.closed_by, s.closed_at_ms) {
        (Some(by), Some(at)) => format!(
            "  closed {} by {}  expected {} counted {} difference {}",
            dates::timestamp(at),
            by.name,
            shown(s.expected_cash),
            shown(s.counted_cash),
            shown(s.difference)
        ),
        _ => String::new(),
    };
    outln!(
        "{} Z{:<4} {:<8} {}  opened {} by {}  float {}{closed}",
        s.shift_id,
        s.z_number,
        s.state,
        s.terminal,
        dates::timestamp(s.opened_at_ms),
        s.opened_by.name,
        s.float
    );
    if let Some(m) = &s.mismatch {
        if !m.missing_tickets.is_empty() {
            outln!("    missing tickets: {:?}", m.missing_tickets);
        }
        if !m.unexpected_tickets.is_empty() {
            outln!("    unexpected tickets: {:?}", m.unexpected_tickets);
        }
        for d in &m.differences {
            outln!(
                "    {}: till {}, back office {}",
                d.figure,
                d.till,
                d.back_office
            );
        }
    }
}

fn shown(figure: Option<i64>) -> String {
    figure.map_or_else(|| "-".into(), |f| f.to_string())
}

fn print_settings(settings: &OfficeSettings, json: bool) -> Result<(), CliError> {
    if json {
        return print_json(settings);
    }
    outln!(
        "allow-cross-till-returns {}",
        settings.allow_cross_till_returns
    );
    Ok(())
}

/// The data dir's SQLite database, or the PostgreSQL database named by `--database`.
async fn open_storage(
    data_dir: Option<PathBuf>,
    database: Option<String>,
) -> Result<Arc<dyn Storage>, CliError> {
    if let Some(url) = database {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(CliError::BadDatabaseUrl);
        }
        return Ok(Arc::new(PostgresStorage::connect(&url).await?));
    }
    let data_dir = data_dir.ok_or(CliError::NoDataDir)?;
    Ok(Arc::new(SqliteStorage::open(&data_dir)?))
}

async fn serve(storage: Arc<dyn Storage>, args: ServeArgs) -> Result<(), CliError> {
    let options = args.options();
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let server = BoundServer::bind(storage, &args.listen, tls.as_ref(), &options)?;
    // Scripts wait for this exact line; it is the only thing `serve` writes to stdout.
    outln!("listening on {}", server.url());
    tracing::info!(addr = %server.local_addr(), "till-server ready");
    server.run(shutdown_signal()).await?;
    tracing::info!("till-server stopped");
    Ok(())
}
