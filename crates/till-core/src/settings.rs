//! The terminal's own settings: which back office it syncs with, how often, and who operates it.
//! The checks on what a person enters live here, so the app's settings screen and `tillctl enrol`
//! accept exactly the same addresses, tokens and trust; so does the workflow that changes
//! settings (another back office address takes a new enrolment, with a new token: the till's
//! token never goes to another address). The caller that runs the sync engine restarts it when
//! [`Saved::restart_sync`] says so.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use till_protocol::{Approval, Operator};

use crate::approvals::{self, Needed};
use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::error::CoreError;
use crate::store::Store;
use crate::sync::enrolment::{self, Enrolment};
use crate::sync::key_registration;
use crate::sync::transport::{HttpTransport, Timeouts, Transport};
use crate::sync::trust::ServerTrust;
use crate::sync::SyncError;

/// Who operates the till: recorded with the items a manager retries or discards in the app.
pub const OPERATOR: config::Key<String> = config::Key::new("app.operator");
/// Seconds between two periodic syncs.
pub const SYNC_INTERVAL_SECS: config::Key<u32> = config::Key::new("app.sync_interval_secs");
/// The largest discount, in percent of what it discounts, rung up without a manager's approval
/// on a till with employees.
pub const DISCOUNT_APPROVAL_ABOVE_PCT: config::Key<u8> =
    config::Key::new("app.discount_approval_above_pct");
/// The discount limit of a till that never set one.
pub const DEFAULT_DISCOUNT_APPROVAL_ABOVE_PCT: u8 = 20;
/// Seconds without a touch or a key before the app locks the register; 0 never locks.
pub const LOCK_AFTER_IDLE_SECONDS: config::Key<u32> =
    config::Key::new("app.lock_after_idle_seconds");
/// The operator of a till whose settings were never saved.
pub const DEFAULT_OPERATOR: &str = "Manager";
/// The sync interval of a till whose settings were never saved.
pub const DEFAULT_SYNC_INTERVAL_SECS: u32 = 30;
/// How long an idle till waits before it locks, when its settings were never saved.
pub const DEFAULT_LOCK_AFTER_IDLE_SECONDS: u32 = 300;
/// The longest idle time before the till locks that a person may choose (a day).
pub const MAX_LOCK_AFTER_IDLE_SECONDS: u32 = 86_400;
/// The shortest and longest sync interval a person may choose.
pub const MIN_INTERVAL_SECS: u32 = 5;
pub const MAX_INTERVAL_SECS: u32 = 86_400;
/// Longest operator name, in characters.
pub const MAX_OPERATOR_CHARS: usize = 64;
/// Longest back office address, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest enrolment token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 1024;
/// A connection test gives up sooner than a sync would.
const TEST_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(3),
    request: Duration::from_secs(5),
};

/// The terminal's own settings and enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppSettings {
    pub server_url: Option<String>,
    pub enrolled: bool,
    pub terminal_id: Option<Uuid>,
    pub terminal_name: Option<String>,
    pub sync_interval_secs: u32,
    pub operator: String,
    /// Seconds without a touch or a key before the app locks; 0 never locks.
    pub lock_after_idle_seconds: u32,
    /// How the back office is trusted (the default before enrolment).
    pub trust: ServerTrust,
}

/// The settings a person saves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// The back office address as the form holds it; `null` keeps the current one. Another
    /// address than the enrolled one is refused (`enrolment_token_needed`): it takes [`enrol`].
    pub server_url: Option<String>,
    pub sync_interval_secs: u32,
    pub operator: String,
    /// 0 (never) or 1…[`MAX_LOCK_AFTER_IDLE_SECONDS`].
    pub lock_after_idle_seconds: u32,
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionTest {
    pub ok: bool,
    pub latency_ms: Option<u64>,
    pub server_version: Option<String>,
    /// The server's clock minus this till's.
    pub clock_offset_ms: Option<i64>,
    /// Why it failed.
    pub message: Option<String>,
}

/// A back office address as entered: trimmed, not blank, http or https.
pub fn check_url(url: &str) -> Result<&str, CoreError> {
    let url = url.trim();
    if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
        return Err(CoreError::InvalidValue(
            "enter the back office's address".into(),
        ));
    }
    one_line("the back office's address", url)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CoreError::InvalidValue(
            "the back office's address starts with http:// or https://".into(),
        ));
    }
    Ok(url)
}

/// An enrolment token as entered: trimmed, not blank, bounded.
pub fn check_token(token: &str) -> Result<&str, CoreError> {
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(CoreError::InvalidValue("enter the enrolment token".into()));
    }
    one_line("the enrolment token", token)?;
    Ok(token)
}

/// `value` holds no control character ([`till_protocol::text`]).
fn one_line(what: &str, value: &str) -> Result<(), CoreError> {
    till_protocol::text::check(what, value, till_protocol::text::Lines::One)
        .map_err(|e| CoreError::InvalidValue(e.to_string()))
}

/// Settings that passed every check: the operator trimmed, the address checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<'a> {
    pub server_url: Option<&'a str>,
    pub sync_interval_secs: u32,
    pub operator: &'a str,
    pub lock_after_idle_seconds: u32,
}

/// Checks what a person entered on the settings screen.
pub fn check(input: &SettingsInput) -> Result<Checked<'_>, CoreError> {
    if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&input.sync_interval_secs) {
        return Err(CoreError::InvalidValue(format!(
            "the sync interval is between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS} seconds"
        )));
    }
    if input.lock_after_idle_seconds > MAX_LOCK_AFTER_IDLE_SECONDS {
        return Err(CoreError::InvalidValue(format!(
            "the till locks after 0 (never) to {MAX_LOCK_AFTER_IDLE_SECONDS} seconds idle"
        )));
    }
    let operator = input.operator.trim();
    if operator.is_empty() || operator.chars().count() > MAX_OPERATOR_CHARS {
        return Err(CoreError::InvalidValue(format!(
            "the operator's name is 1 to {MAX_OPERATOR_CHARS} characters"
        )));
    }
    one_line("the operator's name", operator)?;
    if till_protocol::card::looks_like_card_number(operator) {
        return Err(CoreError::CardNumberInText {
            field: "the operator's name".into(),
        });
    }
    Ok(Checked {
        server_url: input.server_url.as_deref().map(check_url).transpose()?,
        sync_interval_secs: input.sync_interval_secs,
        operator,
        lock_after_idle_seconds: input.lock_after_idle_seconds,
    })
}

/// The settings as stored, with their defaults.
pub fn read(conn: &Connection) -> Result<AppSettings, SyncError> {
    let enrolled = enrolment::get(conn)?;
    Ok(AppSettings {
        server_url: enrolled.as_ref().map(|e| e.server_url.clone()),
        enrolled: enrolled.is_some(),
        terminal_id: enrolled.as_ref().map(|e| e.terminal_id),
        terminal_name: enrolled.as_ref().map(|e| e.terminal_name.clone()),
        sync_interval_secs: config::get(conn, &SYNC_INTERVAL_SECS)?
            .unwrap_or(DEFAULT_SYNC_INTERVAL_SECS),
        operator: operator(conn)?,
        lock_after_idle_seconds: config::get(conn, &LOCK_AFTER_IDLE_SECONDS)?
            .unwrap_or(DEFAULT_LOCK_AFTER_IDLE_SECONDS),
        trust: enrolled.map(|e| e.trust).unwrap_or_default(),
    })
}

/// The operator named in the settings.
pub fn operator(conn: &Connection) -> Result<String, CoreError> {
    Ok(config::get(conn, &OPERATOR)?.unwrap_or_else(|| DEFAULT_OPERATOR.to_owned()))
}

/// The largest discount (percent) this till rings up without a manager's approval.
pub fn discount_approval_above_pct(conn: &Connection) -> Result<u8, CoreError> {
    Ok(config::get(conn, &DISCOUNT_APPROVAL_ABOVE_PCT)?
        .unwrap_or(DEFAULT_DISCOUNT_APPROVAL_ABOVE_PCT))
}

/// A discount limit as entered: a whole percent from 0 to 100.
pub fn check_discount_limit(pct: i64) -> Result<u8, CoreError> {
    u8::try_from(pct).ok().filter(|p| *p <= 100).ok_or_else(|| {
        CoreError::InvalidValue("the discount limit is a whole percent from 0 to 100".into())
    })
}

/// Sets the largest discount (percent, 0 to 100) rung up without a manager's approval; on a
/// till with employees, by the `operator` signed in with a manager's `approval`
/// ([`Needed::discount_limit`]).
pub fn set_discount_approval_above_pct(
    conn: &Connection,
    pct: i64,
    operator: Option<&Operator>,
    approval: Option<Approval>,
) -> Result<u8, CoreError> {
    let pct = check_discount_limit(pct)?;
    let approval = approvals::check(conn, operator, Some(&Needed::discount_limit(pct)), approval)?;
    config::set(conn, &DISCOUNT_APPROVAL_ABOVE_PCT, &pct)?;
    let by = operator.map(|o| o.name.as_str());
    let approved_by = approval.as_ref().map(|a| a.by.name.as_str());
    tracing::info!(pct, ?by, ?approved_by, "discount limit set");
    Ok(pct)
}

/// What saving did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub settings: AppSettings,
    /// The address or the interval changed: the running sync engine must be started again.
    pub restart_sync: bool,
}

/// Whether `url` moves an enrolled till to another back office (a trailing `/` is no move).
fn moves(before: &AppSettings, url: &str) -> bool {
    before.enrolled && before.server_url.as_deref() != Some(url.trim_end_matches('/'))
}

/// Whether the engine must start again to follow the new settings.
fn restart_needed(before: &AppSettings, after: &AppSettings) -> bool {
    after.server_url != before.server_url || after.sync_interval_secs != before.sync_interval_secs
}

/// Saves the sync interval and operator. Another address for an enrolled till is refused
/// (`enrolment_token_needed`): the till's token is never sent to another address, so a move
/// takes a new enrolment with that back office's token ([`enrol`]); a till that is not enrolled
/// yet gets its address the same way. Nothing is saved, and nothing sent, when a check refuses.
pub async fn save(store: &Store, input: &SettingsInput) -> Result<Saved, SyncError> {
    let checked = check(input)?;
    // Its own connection for a few short statements, as enrolment does: a save is rare, and the
    // caller's connection may be busy with the register.
    let conn = store.connect()?;
    let before = read(&conn)?;
    if checked.server_url.is_some_and(|url| moves(&before, url)) {
        return Err(SyncError::TokenNeeded(
            "another back office address needs that back office's enrolment token: enter it \
             and enrol the till again (this till's token is never sent to another address)"
                .into(),
        ));
    }
    // Written only when it changes, so an interval nobody set stays the default (the Sync
    // settings say where each value comes from).
    if checked.sync_interval_secs != before.sync_interval_secs {
        config::set(&conn, &SYNC_INTERVAL_SECS, &checked.sync_interval_secs)?;
    }
    config::set(&conn, &OPERATOR, &checked.operator.to_owned())?;
    config::set(
        &conn,
        &LOCK_AFTER_IDLE_SECONDS,
        &checked.lock_after_idle_seconds,
    )?;
    let after = read(&conn)?;
    Ok(Saved {
        restart_sync: restart_needed(&before, &after),
        settings: after,
    })
}

/// Enrols the till with a back office, the address, token and trust as a person entered them:
/// all are checked here (plain http to another machine only when allowed, `cleartext_refused`
/// otherwise), then the server checks the token. Enrolling again as the same terminal (a rotated
/// token) keeps the queue. The terminal's signing key is made if the till has none and
/// registered with the back office ([`key_registration`]; should that fail, the next sync
/// registers it). The caller starts syncing.
pub async fn enrol(
    store: &Store,
    server_url: &str,
    token: &str,
    trust: &ServerTrust,
) -> Result<Enrolment, SyncError> {
    let url = check_url(server_url)?;
    let token = check_token(token)?;
    let trust = trust.check(url)?;
    let enrolled = enrolment::enrol(store, url, token, &trust).await?;
    key_registration::offer_after_enrolment(store, &enrolled).await;
    Ok(enrolled)
}

/// Asks the server's health endpoint, trusted as `trust` says and without any token: reachable or
/// not, how fast, its version and how far its clock is from this till's. Answers `ok: false`
/// with the reason rather than failing; changes nothing.
pub async fn test_connection(server_url: &str, trust: &ServerTrust) -> ConnectionTest {
    let failed = |message: String| ConnectionTest {
        ok: false,
        latency_ms: None,
        server_version: None,
        clock_offset_ms: None,
        message: Some(message),
    };
    let checked = check_url(server_url).and_then(|url| Ok((url, trust.check(url)?)));
    let (url, trust) = match checked {
        Ok(checked) => checked,
        Err(e) => return failed(e.to_string()),
    };
    let transport = match HttpTransport::connect(url, None, &trust, TEST_TIMEOUTS) {
        Ok(t) => t,
        Err(e) => return failed(e.to_string()),
    };
    let sent_ms = SystemClock.now_ms();
    let began = Instant::now();
    match transport.health().await {
        Ok(health) => {
            let rtt = began.elapsed();
            let midpoint = sent_ms + i64::try_from(rtt.as_millis() / 2).unwrap_or(0);
            ConnectionTest {
                ok: true,
                latency_ms: Some(u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX)),
                server_version: Some(health.version),
                clock_offset_ms: Some(health.server_time_ms - midpoint),
                message: None,
            }
        }
        Err(e) => failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: Option<&str>, interval: u32, operator: &str) -> SettingsInput {
        SettingsInput {
            server_url: url.map(Into::into),
            sync_interval_secs: interval,
            operator: operator.into(),
            lock_after_idle_seconds: DEFAULT_LOCK_AFTER_IDLE_SECONDS,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// A fresh store (in its temporary data dir) and a runtime to save with.
    fn store_and_runtime() -> (tempfile::TempDir, Store, tokio::runtime::Runtime) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        (dir, store, runtime())
    }

    fn settings(url: Option<&str>, interval: u32) -> AppSettings {
        AppSettings {
            server_url: url.map(Into::into),
            enrolled: url.is_some(),
            terminal_id: None,
            terminal_name: None,
            sync_interval_secs: interval,
            operator: DEFAULT_OPERATOR.into(),
            lock_after_idle_seconds: DEFAULT_LOCK_AFTER_IDLE_SECONDS,
            trust: ServerTrust::default(),
        }
    }

    #[test]
    fn an_address_is_trimmed_and_must_be_http_or_https() {
        assert_eq!(
            check_url("  http://office:7878 ").ok(),
            Some("http://office:7878")
        );
        assert_eq!(check_url("https://office").ok(), Some("https://office"));
        for (bad, says) in [
            ("   ", "enter the back office's address"),
            (
                "ftp://office",
                "the back office's address starts with http:// or https://",
            ),
        ] {
            let e = check_url(bad).expect_err(bad);
            assert_eq!(e.code(), "invalid_input");
            assert_eq!(
                e.to_string(),
                says,
                "the settings screen shows this as it is"
            );
        }
        let long = format!("http://{}", "x".repeat(MAX_URL_CHARS));
        assert!(check_url(&long).is_err(), "bounded like every input");
    }

    #[test]
    fn a_token_is_trimmed_not_blank_and_bounded() {
        assert_eq!(check_token(" t0k ").ok(), Some("t0k"));
        assert_eq!(
            check_token("  ").expect_err("blank").to_string(),
            "enter the enrolment token"
        );
        assert!(check_token(&"x".repeat(MAX_TOKEN_BYTES + 1)).is_err());
        assert!(check_token("t0k\n").is_ok(), "trimmed first");
        assert!(check_token("t0\u{7}k").is_err(), "no control character");
    }

    #[test]
    fn settings_are_checked_before_anything_is_saved() {
        let entered = input(Some(" http://a "), 30, "  Sam ");
        let ok = check(&entered).expect("valid");
        assert_eq!(ok.operator, "Sam");
        assert_eq!(ok.server_url, Some("http://a"));
        for (bad, says) in [
            (
                input(None, 4, "Sam"),
                "the sync interval is between 5 and 86400 seconds",
            ),
            (
                input(None, 86_401, "Sam"),
                "the sync interval is between 5 and 86400 seconds",
            ),
            (
                input(None, 30, "  "),
                "the operator's name is 1 to 64 characters",
            ),
            (
                input(None, 30, &"x".repeat(65)),
                "the operator's name is 1 to 64 characters",
            ),
            (
                input(Some("office"), 30, "Sam"),
                "the back office's address starts with http:// or https://",
            ),
            (
                input(None, 30, "Sam\tBrown"),
                "the operator's name holds a control character (U+0009); it may hold only \
                 printable characters on one line",
            ),
            (
                input(Some("http://a\u{0}"), 30, "Sam"),
                "the back office's address holds a control character (U+0000); it may hold \
                 only printable characters on one line",
            ),
        ] {
            assert_eq!(check(&bad).expect_err(says).to_string(), says);
        }
        let card = check(&input(None, 30, "4111 1111 1111 1111"))
            .expect_err("a card number is no operator's name");
        assert_eq!(card.code(), "card_number_in_text");
    }

    #[test]
    fn the_discount_limit_is_a_whole_percent_and_twenty_until_set() {
        assert_eq!(check_discount_limit(0).ok(), Some(0));
        assert_eq!(check_discount_limit(100).ok(), Some(100));
        for bad in [-1, 101, 256] {
            assert_eq!(
                check_discount_limit(bad).map_err(|e| e.to_string()),
                Err("the discount limit is a whole percent from 0 to 100".into())
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        assert_eq!(discount_approval_above_pct(&conn).ok(), Some(20));
        set_discount_approval_above_pct(&conn, 35, None, None).expect("sets");
        assert!(set_discount_approval_above_pct(&conn, 101, None, None).is_err());
        assert_eq!(
            discount_approval_above_pct(&conn).ok(),
            Some(35),
            "a refused value changes nothing"
        );
    }

    #[test]
    fn the_idle_lock_is_never_or_up_to_a_day() {
        let with_lock = |seconds| SettingsInput {
            lock_after_idle_seconds: seconds,
            ..input(None, 30, "Sam")
        };
        for ok in [0, 1, 300, MAX_LOCK_AFTER_IDLE_SECONDS] {
            assert_eq!(
                check(&with_lock(ok))
                    .map(|c| c.lock_after_idle_seconds)
                    .ok(),
                Some(ok),
                "{ok} s is a valid idle lock (0: never)"
            );
        }
        assert_eq!(
            check(&with_lock(MAX_LOCK_AFTER_IDLE_SECONDS + 1))
                .expect_err("too long")
                .to_string(),
            "the till locks after 0 (never) to 86400 seconds idle"
        );
    }

    #[test]
    fn only_an_enrolled_till_given_another_address_moves() {
        let enrolled = settings(Some("http://a"), 30);
        assert!(moves(&enrolled, "http://b"));
        assert!(!moves(&enrolled, "http://a"), "the same address is no move");
        assert!(
            !moves(&settings(None, 30), "http://b"),
            "a till not enrolled yet gets its address by enrolling, with a token"
        );
    }

    #[test]
    fn the_engine_restarts_when_the_address_or_the_interval_changed() {
        let before = settings(Some("http://a"), 30);
        assert!(!restart_needed(&before, &before.clone()));
        assert!(restart_needed(&before, &settings(Some("http://b"), 30)));
        assert!(restart_needed(&before, &settings(Some("http://a"), 60)));
        let mut renamed = before.clone();
        renamed.operator = "Sam".into();
        assert!(
            !restart_needed(&before, &renamed),
            "the operator's name is not the engine's"
        );
    }

    #[test]
    fn saving_stores_the_interval_and_the_operator_and_says_when_to_restart() {
        let (_dir, store, rt) = store_and_runtime();
        let saved = rt
            .block_on(save(
                &store,
                &SettingsInput {
                    lock_after_idle_seconds: 90,
                    ..input(None, 60, " Sam ")
                },
            ))
            .expect("saves");
        assert_eq!(saved.settings.sync_interval_secs, 60);
        assert_eq!(saved.settings.operator, "Sam");
        assert_eq!(
            saved.settings.lock_after_idle_seconds, 90,
            "the idle lock is saved with the rest"
        );
        assert!(saved.restart_sync, "the interval changed");
        let again = rt
            .block_on(save(&store, &input(None, 60, "Kim")))
            .expect("saves");
        assert!(!again.restart_sync, "only the operator changed");
        let refused = rt.block_on(save(&store, &input(None, 1, "Kim")));
        assert!(refused.is_err());
        let conn = store.connect().expect("connects");
        assert_eq!(
            read(&conn).expect("reads").operator,
            "Kim",
            "a refused save changes nothing"
        );
    }

    #[test]
    fn saving_the_other_settings_leaves_an_interval_nobody_set_as_the_default() {
        let (_dir, store, rt) = store_and_runtime();
        rt.block_on(save(
            &store,
            &input(None, DEFAULT_SYNC_INTERVAL_SECS, "Sam"),
        ))
        .expect("saves");
        let conn = store.connect().expect("connects");
        let source = |conn: &Connection| {
            crate::sync::settings::view(
                conn,
                &crate::sync::settings::Layers::env(&|_| None),
                &crate::sync::SyncConfig::default(),
            )
            .expect("views")
            .into_iter()
            .find(|v| v.name == "interval_secs")
            .expect("the interval")
            .source
        };
        assert_eq!(
            source(&conn),
            crate::sync::settings::Source::Default,
            "the operator was saved, the interval untouched"
        );
        rt.block_on(save(&store, &input(None, 60, "Sam")))
            .expect("saves");
        assert_eq!(source(&conn), crate::sync::settings::Source::Stored);
    }

    #[test]
    fn another_address_for_an_enrolled_till_takes_a_new_enrolment_and_nothing_is_sent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        conn.execute(
            "UPDATE sync_state SET server_url = 'http://127.0.0.1:7878', token = 't',
             terminal_id = ?1, terminal_name = 'Till 1' WHERE id = 1",
            [Uuid::now_v7().to_string()],
        )
        .expect("enrolled");
        let rt = runtime();
        // Nothing listens on port 9: a save that sent anything would fail differently.
        let moved = rt.block_on(save(&store, &input(Some("http://127.0.0.1:9"), 60, "Kim")));
        let e = moved.expect_err("the token never goes to another address");
        assert_eq!(e.code(), "enrolment_token_needed");
        let after = read(&conn).expect("reads");
        assert_eq!(
            (after.server_url.as_deref(), after.sync_interval_secs),
            (Some("http://127.0.0.1:7878"), DEFAULT_SYNC_INTERVAL_SECS),
            "nothing saved"
        );
        let same = rt.block_on(save(
            &store,
            &input(Some("http://127.0.0.1:7878/"), 60, "Kim"),
        ));
        assert!(
            same.is_ok_and(|s| s.settings.sync_interval_secs == 60),
            "the same address with a trailing slash is no move"
        );
    }
}
