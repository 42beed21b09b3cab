//! `tillctl customers add|edit|delete|list|show`: this terminal's customers, through the core
//! functions the app's Customers screen uses, so both follow one rule. Each change is saved here
//! and queued for the back office; on a till with employees it takes the PIN of who makes it, and
//! is sent as theirs.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use till_cli::customer::{FieldArgs, Points};
use till_core::sync::customers::{self, LocalCustomer};
use till_core::sync::SyncError;
use till_core::SystemClock;
use till_protocol::{fields, CustomerFields};
use uuid::Uuid;

use crate::pin::Pin;
use crate::{open_store, Failure};

/// Most customers `list` prints.
const MAX_LISTED: u32 = 100_000;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a customer here (queued for the back office); prints its id
    Add {
        #[command(flatten)]
        fields: FieldArgs,
        /// Print {"id": …} instead of the id alone
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pin: Pin,
    },
    /// Edit a customer: fields not named keep their value, an empty one is cleared
    Edit {
        id: String,
        #[command(flatten)]
        fields: FieldArgs,
        #[command(flatten)]
        pin: Pin,
    },
    /// Delete a customer here (queued for the back office)
    Delete {
        id: String,
        #[command(flatten)]
        pin: Pin,
    },
    /// Customers by name
    List {
        #[arg(long)]
        json: bool,
    },
    /// One customer, with whether an edit of it is waiting to sync
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// `current` with the fields `named` applied: tags added and removed, points moved or set.
fn applied_to(named: FieldArgs, current: CustomerFields) -> Result<CustomerFields, SyncError> {
    let optional = |new: Option<String>, old: Option<String>| match new {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(v),
        None => old,
    };
    let points = match named.points_change() {
        Some(Points::Add(n)) => current.loyalty_points.saturating_add(n),
        Some(Points::Set(n)) => n,
        None => current.loyalty_points,
    };
    Ok(CustomerFields {
        name: named.name.unwrap_or(current.name),
        email: optional(named.email, current.email),
        phone: optional(named.phone, current.phone),
        note: optional(named.note, current.note),
        tags: fields::edit_tags(&current.tags, &named.add_tags, &named.remove_tags)
            .map_err(SyncError::InvalidInput)?,
        loyalty_points: points,
    })
}

/// A customer as `list --json` and `show --json` print it.
#[derive(Serialize)]
struct Shown {
    id: Uuid,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    note: Option<String>,
    tags: BTreeSet<String>,
    loyalty_points: i64,
    /// The last back-office version this terminal knows (0: created here, not yet applied).
    version: u64,
    /// An edit of it is waiting to sync.
    pending: bool,
}

impl From<LocalCustomer> for Shown {
    fn from(c: LocalCustomer) -> Self {
        Shown {
            id: c.id,
            name: c.fields.name,
            email: c.fields.email,
            phone: c.fields.phone,
            note: c.fields.note,
            tags: c.fields.tags,
            loyalty_points: c.fields.loyalty_points,
            version: c.version,
            pending: c.pending,
        }
    }
}

fn parse_id(id: &str) -> Result<Uuid, SyncError> {
    Uuid::parse_str(id.trim())
        .map_err(|_| SyncError::InvalidInput(format!("{id:?} is not a customer id")))
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    match args.command {
        Command::Add { fields, json, pin } => {
            let operator = pin.operator(&mut conn)?;
            let fields = applied_to(fields, CustomerFields::default())?;
            let saved =
                customers::save_by(&mut conn, None, fields, operator.as_ref(), &SystemClock)?;
            if json {
                outln!("{}", serde_json::json!({ "id": saved.id }));
            } else {
                outln!("{}", saved.id);
            }
        }
        Command::Edit { id, fields, pin } => {
            let operator = pin.operator(&mut conn)?;
            let id = parse_id(&id)?;
            let current = customers::live(&conn, id)?;
            let saved = customers::save_by(
                &mut conn,
                Some(id),
                applied_to(fields, current.fields)?,
                operator.as_ref(),
                &SystemClock,
            )?;
            outln!("customer {} saved; the edit is queued", saved.id);
        }
        Command::Delete { id, pin } => {
            let operator = pin.operator(&mut conn)?;
            let id = parse_id(&id)?;
            customers::delete_by(&mut conn, id, operator.as_ref(), &SystemClock)?;
            outln!("customer {id} deleted; the deletion is queued");
        }
        Command::List { json } => {
            let all: Vec<Shown> = customers::search(&conn, "", MAX_LISTED)?
                .into_iter()
                .map(Shown::from)
                .collect();
            if json {
                outln!("{}", serde_json::to_string(&all)?);
            } else {
                for c in all {
                    outln!(
                        "{}\t{}\t{}\t{}\tversion {}{}",
                        c.id,
                        c.name,
                        c.email.unwrap_or_default(),
                        c.phone.unwrap_or_default(),
                        c.version,
                        if c.pending { "\tpending" } else { "" }
                    );
                }
            }
        }
        Command::Show { id, json } => {
            let shown = Shown::from(customers::live(&conn, parse_id(&id)?)?);
            if json {
                outln!("{}", serde_json::to_string(&shown)?);
            } else {
                outln!("id:       {}", shown.id);
                outln!("name:     {}", shown.name);
                outln!("email:    {}", shown.email.unwrap_or_default());
                outln!("phone:    {}", shown.phone.unwrap_or_default());
                outln!("note:     {}", shown.note.unwrap_or_default());
                let tags: Vec<String> = shown.tags.into_iter().collect();
                outln!("tags:     {}", tags.join(", "));
                outln!("points:   {}", shown.loyalty_points);
                outln!("version:  {}", shown.version);
                outln!("pending:  {}", shown.pending);
            }
        }
    }
    Ok(())
}
