//! `tillctl enrol --server URL --token TOKEN [--ca FILE | --pin SHA256] [--allow-cleartext]`:
//! asks the server who the token belongs to (`/v1/whoami`) and stores the server URL, token,
//! terminal id and how the server is trusted in the data dir. The address, token and trust are
//! checked as the app's settings screen checks them: plain http is refused to anything but this
//! machine unless `--allow-cleartext`. Enrolling again with a new token of the same terminal (after
//! `till-server terminal rotate-token`) keeps the queue; another address always takes a new token.
//! On a till whose history diverged, a token of a new terminal recovers it: what the back office
//! lacks is queued again under that terminal.

use std::path::{Path, PathBuf};

use till_core::settings;
use till_core::sync::persisted;
use till_core::sync::ServerTrust;

use crate::sync::runtime;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The back office, e.g. https://backoffice.example:8443 (http:// only to this machine)
    #[arg(long, value_name = "URL")]
    server: String,
    /// This terminal's bearer token, from `till-server terminal add` or `terminal rotate-token`
    #[arg(long, value_name = "TOKEN", env = "TILL_TOKEN", hide_env_values = true)]
    token: String,
    /// A CA certificate (PEM) that issued the back office's certificate, trusted for this back
    /// office only, beside the usual roots
    #[arg(long, value_name = "FILE", conflicts_with = "pin")]
    ca: Option<PathBuf>,
    /// The SHA-256 of the back office's certificate (DER, 64 hex digits, colons allowed): the
    /// only certificate accepted, whoever issued it
    #[arg(long, value_name = "SHA256")]
    pin: Option<String>,
    /// Allow plain http to another machine: the token and every sale cross the network
    /// unencrypted (shown in red in the app's status bar)
    #[arg(long)]
    allow_cleartext: bool,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let ca_pem = args
        .ca
        .as_deref()
        .map(|file| {
            std::fs::read_to_string(file).map_err(|e| Failure {
                code: till_core::ErrorCode::InvalidInput,
                message: format!("cannot read the CA file {}: {e}", file.display()),
                exit: crate::failure::EXIT_RUNTIME,
            })
        })
        .transpose()?;
    let trust = ServerTrust {
        ca_pem,
        pin_sha256: args.pin,
        allow_cleartext: args.allow_cleartext,
    };
    let store = open_store(data_dir)?;
    let diverged = persisted::diverged(&store.connect()?)?.is_some();
    let enrolled =
        runtime()?.block_on(settings::enrol(&store, &args.server, &args.token, &trust))?;
    let conn = store.connect()?;
    let recovered = diverged && persisted::diverged(&conn)?.is_none();
    if args.json {
        outln!("{}", serde_json::to_string(&enrolled)?);
        return Ok(());
    }
    outln!(
        "enrolled as {} ({}) with {}",
        enrolled.terminal_name,
        enrolled.terminal_id,
        enrolled.server_url
    );
    if recovered {
        let queued = till_core::outbox::counts(&conn)?.pending;
        outln!(
            "this till's history had diverged: {queued} mutations the back office has not \
             settled are queued again as this terminal, flagged recovered"
        );
    } else if diverged {
        outln!(
            "this till's history still differs from the back office's: enrol it with a token \
             of a new terminal (till-server terminal add) to deliver its sales"
        );
    }
    if enrolled.cleartext() {
        eprintln!(
            "warning: {} is plain http: the token and every sale cross the network unencrypted",
            enrolled.server_url
        );
    }
    Ok(())
}
