//! A dead till's unsent sales, carried to the back office by hand: every mutation not yet at the
//! back office, in sequence order and exactly as queued, written to a file signed with the
//! terminal's key ([`crate::terminal_key`]), for `till-server import-queue`. No network is
//! needed. The mutations stay queued: should the till sync again, the back office answers those
//! it imported as duplicates and the outbox settles them as usual.
//!
//! On a till with employees exporting is a manager's action ([`Needed::export_queue`]); every
//! export is recorded in the journal ([`Event::QueueExported`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use till_protocol::bundle::{Bundle, BundleContent, BUNDLE_FORMAT};
use till_protocol::{Approval, Operator, MAX_PUSH_BATCH};
use uuid::Uuid;

use crate::approvals::{self, Needed};
use crate::clock::Clock;
use crate::error::CoreError;
use crate::journal::{self, Event, QueueExported};
use crate::sync::enrolment;
use crate::sync::error::SyncError;
use crate::{data_dir, outbox, push_chain, terminal_key};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ExportedQueue"))]
pub struct Exported {
    /// The file written.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: PathBuf,
    pub terminal_id: Uuid,
    pub mutations: u64,
    /// The first and last sequence in it, as the back office numbers them.
    pub first_seq: u64,
    pub last_seq: u64,
    /// Whether the back office acknowledged this terminal's key: without it, it cannot check
    /// the bundle, and the file is of no use until the key reaches it.
    pub key_registered: bool,
}

/// Who exports, and the approval it needed.
pub struct ExportBy<'a> {
    /// Who exports, on a till without employees.
    pub actor: &'a str,
    pub operator: Option<&'a Operator>,
    pub approval: Option<Approval>,
}

/// The name an export is given where the app writes it: the terminal and the time, so exports
/// never collide.
pub fn file_name(terminal_id: Uuid, now_ms: i64) -> String {
    format!("till-unsent-{terminal_id}-{now_ms}.json")
}

/// Where the app writes an export: the user's Documents folder, or the data dir's `exports`
/// folder (made private) when there is none.
pub fn app_folder(data_dir: &Path) -> Result<PathBuf, SyncError> {
    let documents = directories::UserDirs::new()
        .and_then(|d| d.document_dir().map(Path::to_path_buf))
        .filter(|d| d.is_dir());
    if let Some(documents) = documents {
        return Ok(documents);
    }
    let exports = data_dir.join("exports");
    data_dir::create_private(&exports).map_err(CoreError::Io)?;
    Ok(exports)
}

/// [`export`] into the folder `folder`, under a name of its own ([`file_name`]).
pub fn export_into(
    conn: &mut Connection,
    data_dir: &Path,
    folder: &Path,
    by: ExportBy<'_>,
    clock: &dyn Clock,
) -> Result<Exported, SyncError> {
    let enrolled = enrolment::get(conn)?.ok_or(SyncError::NotEnrolled)?;
    let out = folder.join(file_name(enrolled.terminal_id, clock.now_ms()));
    export(conn, data_dir, &out, false, by, clock)
}

/// Writes every unsent mutation of the till whose store `conn` opens (its data dir
/// `data_dir`, where its key is) to `out`, signed. An existing `out` is refused unless
/// `overwrite`; the file is written whole or not at all (a temporary file beside it, synced,
/// then renamed). Refused with nothing written when the till is not enrolled, when nothing is
/// unsent, or, on a till with employees, without a manager's approval.
pub fn export(
    conn: &mut Connection,
    data_dir: &Path,
    out: &Path,
    overwrite: bool,
    by: ExportBy<'_>,
    clock: &dyn Clock,
) -> Result<Exported, SyncError> {
    let enrolled = enrolment::get(conn)?.ok_or(SyncError::NotEnrolled)?;
    let approval = approvals::check(
        conn,
        by.operator,
        Some(&Needed::export_queue()),
        by.approval,
    )?;
    let actor = crate::sync::attribution::name(
        "the name of who exports",
        by.operator.map_or(by.actor, |o| o.name.as_str()),
    )?;
    if !overwrite && out.exists() {
        return Err(SyncError::InvalidInput(format!(
            "{} exists; name another file (or pass --force to replace it)",
            out.display()
        )));
    }
    let key = terminal_key::ensure(data_dir)?;
    let key_registered = terminal_key::is_registered(conn, enrolled.terminal_id, &key)?;
    let now = clock.now_ms();
    let (queued, head) = {
        // One snapshot: a sync settling entries meanwhile changes nothing read here, and the
        // head named is the newest link of what is exported.
        let snapshot = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        (unsent(&snapshot)?, push_chain::head(&snapshot)?)
    };
    let (Some(first_seq), Some(last_seq)) = (queued.first_seq, queued.last_seq) else {
        return Err(SyncError::NotApplicable(
            "nothing is unsent: the back office holds every sale of this till".into(),
        ));
    };
    let content = BundleContent {
        format: BUNDLE_FORMAT.to_string(),
        terminal_id: enrolled.terminal_id,
        created_at_ms: now,
        head,
        mutations: queued.payloads,
    };
    let signed = serde_json::value::to_raw_value(&content)?;
    let signature = key.sign_hex(signed.get().as_bytes());
    let bytes = serde_json::to_vec(&Bundle { signed, signature })?;
    write_whole(out, &bytes)?;
    let exported = Exported {
        path: out.to_path_buf(),
        terminal_id: enrolled.terminal_id,
        mutations: content.mutations.len() as u64,
        first_seq,
        last_seq,
        key_registered,
    };
    let event = Event::QueueExported(QueueExported {
        at_ms: now,
        mutations: exported.mutations,
        first_seq,
        last_seq,
        actor: actor.to_string(),
        operator: by.operator.cloned(),
        approval,
    });
    if let Err(e) = record(conn, &event) {
        // Recorded or not exported: a file the journal does not mention is taken back.
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    tracing::info!(
        mutations = exported.mutations,
        first_seq,
        last_seq,
        %actor,
        "unsent queue exported"
    );
    Ok(exported)
}

fn record(conn: &mut Connection, event: &Event) -> Result<(), SyncError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    journal::append_event(&tx, event)?;
    tx.commit()?;
    Ok(())
}

/// The unsent mutations, each as its outbox stores it, in sequence order.
struct Unsent {
    payloads: Vec<Box<RawValue>>,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
}

/// The sequence a queued mutation carries to the back office.
#[derive(Deserialize)]
struct Numbered {
    seq: u64,
}

fn unsent(conn: &Connection) -> Result<Unsent, SyncError> {
    let mut queued = Unsent {
        payloads: Vec::new(),
        first_seq: None,
        last_seq: None,
    };
    let mut after = 0;
    loop {
        let page = outbox::unsettled_after(conn, after, MAX_PUSH_BATCH as u32)?;
        let Some(last) = page.last() else {
            return Ok(queued);
        };
        after = last.seq;
        for entry in page {
            let text = String::from_utf8(entry.payload).map_err(|e| {
                CoreError::Database(format!("outbox entry {} is not UTF-8: {e}", entry.seq))
            })?;
            let payload = RawValue::from_string(text)?;
            let Numbered { seq } = serde_json::from_str(payload.get())?;
            queued.first_seq.get_or_insert(seq);
            queued.last_seq = Some(seq);
            queued.payloads.push(payload);
        }
    }
}

/// Writes `bytes` to `out` whole or not at all.
fn write_whole(out: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| SyncError::InvalidInput(format!("{} is not a file name", out.display())))?;
    let temporary = parent.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        Uuid::now_v7()
    ));
    let written = std::fs::File::create_new(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, out));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        let named = std::io::Error::new(e.kind(), format!("writing {}: {e}", out.display()));
        return Err(CoreError::Io(named).into());
    }
    // The rename itself survives a power cut once the directory is synced (not possible
    // everywhere; the file is whole either way).
    if let Ok(dir) = std::fs::File::open(&parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_named_by_terminal_and_time() {
        let t = Uuid::now_v7();
        assert_eq!(
            file_name(t, 1_700_000_000_000),
            format!("till-unsent-{t}-1700000000000.json")
        );
        assert_ne!(
            file_name(t, 1),
            file_name(t, 2),
            "two exports never collide"
        );
    }

    #[test]
    fn a_file_is_written_whole_and_nothing_else_stays() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("queue.json");
        write_whole(&out, b"{}").expect("writes");
        assert_eq!(std::fs::read(&out).expect("reads"), b"{}");
        write_whole(&out, b"[]").expect("replaces");
        assert_eq!(std::fs::read(&out).expect("reads"), b"[]");
        let nowhere = dir.path().join("no such folder").join("queue.json");
        let refused = write_whole(&nowhere, b"{}").expect_err("no folder to write in");
        assert!(
            refused.to_string().contains("no such folder"),
            "the error names the file: {refused}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file stays: {names:?}");
    }
}
