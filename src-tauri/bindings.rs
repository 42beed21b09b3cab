//! The TypeScript bindings of every type that crosses IPC are generated from the Rust types
//! (ts-rs; most are `till-core`'s own, derived under its `ts` feature, the rest the shell's in
//! `ipc.rs`) and committed in `ui/src/lib/bindings/`. The test below regenerates them into a
//! temporary directory and fails when the committed files differ, so the UI can never drift from
//! the core or the shell unnoticed. To regenerate after changing an IPC type:
//!
//! ```sh
//! TILL_WRITE_BINDINGS=1 cargo test -p till bindings
//! ```
//!
//! JavaScript numbers hold every integer Till sends exactly (money is bounded by
//! `till_protocol::pricing::MAX_TOTAL`, far below 2^53), so 64-bit integers are `number`.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use ts_rs::{Config, TS};

    use crate::error::AppError;
    use crate::ipc::*;
    use till_core::ErrorCode;

    /// Where the committed bindings live, relative to the root package.
    const BINDINGS_DIR: &str = "ui/src/lib/bindings";

    /// Exports every IPC root type (with the types it uses) into `dir`.
    fn export_all(dir: &Path) {
        // Maps as `{ [key in string]?: V }`: a partial map is what the UI builds (conflict picks).
        #[allow(deprecated)]
        let cfg = Config::new()
            .with_large_int("number")
            .with_v11_hashmap()
            .with_out_dir(dir);
        macro_rules! export {
            ($($t:ty),* $(,)?) => {
                $( <$t as TS>::export_all(&cfg).expect(concat!("exports ", stringify!($t))); )*
            };
        }
        export!(
            ActivityLine,
            AppError,
            AppSettings,
            Cart,
            CashCount,
            CloseAnswer,
            CloseChoice,
            CloseRequest,
            CommittedTicket,
            ConflictDetail,
            ConflictResolution,
            ConflictSummary,
            ConnectionTest,
            CustomerFields,
            CustomerView,
            ErrorCode,
            ExportedQueue,
            Flushed,
            ListedTicket,
            ParkedSale,
            Paper,
            PrinterSettings,
            PrinterStatus,
            Lookup,
            ProductList,
            QuoteView,
            Receipt,
            RefundLine,
            Resolved,
            RestoredSale,
            ReviewItem,
            SaleDraft,
            ServerTrust,
            Session,
            SettingsInput,
            ShiftView,
            SignedIn,
            StoreDamage,
            StoreSettings,
            SyncNowAnswer,
            SyncSettingChange,
            SyncSettingView,
            SyncStatus,
            TenderBalance,
            TenderInput,
            TicketDetail,
            TicketSynced,
        );
    }

    fn read_ts_files(dir: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "ts") {
                let name = path
                    .file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("bindings file is UTF-8");
                out.insert(name, text);
            }
        }
        out
    }

    #[test]
    fn committed_bindings_match_the_rust_types() {
        let committed_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_DIR);
        if std::env::var_os("TILL_WRITE_BINDINGS").is_some() {
            for (name, _) in read_ts_files(&committed_dir) {
                std::fs::remove_file(committed_dir.join(name)).expect("removes a stale binding");
            }
            export_all(&committed_dir);
            return;
        }
        let fresh = tempfile::tempdir().expect("temp dir");
        export_all(fresh.path());
        let generated = read_ts_files(fresh.path());
        let committed = read_ts_files(&committed_dir);

        let mut problems = Vec::new();
        for (name, text) in &generated {
            match committed.get(name) {
                None => problems.push(format!("{name} is missing")),
                Some(c) if c != text => problems.push(format!("{name} differs")),
                Some(_) => {}
            }
        }
        for name in committed.keys() {
            if !generated.contains_key(name) {
                problems.push(format!("{name} is not generated from any Rust type"));
            }
        }
        assert!(
            problems.is_empty(),
            "the UI's bindings in {BINDINGS_DIR} drifted from the Rust IPC types ({}); \
             regenerate them with `TILL_WRITE_BINDINGS=1 cargo test -p till bindings`",
            problems.join(", ")
        );
    }
}
