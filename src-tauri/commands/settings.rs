//! The terminal's settings: which back office it syncs with (enrolment), how often, and who
//! operates it; and a connection test that never changes anything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::State;
use till_core::clock::{Clock, SystemClock};
use till_core::config;
use till_core::sync::enrolment;
use till_core::sync::transport::Timeouts;
use till_core::sync::{HttpTransport, Transport};

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{AppSettings, ConnectionTest, SettingsInput};
use crate::terminal::{
    AppState, Terminal, DEFAULT_OPERATOR, DEFAULT_SYNC_INTERVAL_SECS, OPERATOR, SYNC_INTERVAL_SECS,
};

const MIN_INTERVAL_SECS: u32 = 5;
const MAX_INTERVAL_SECS: u32 = 86_400;
const MAX_OPERATOR_CHARS: usize = 64;
const MAX_URL_CHARS: usize = 2048;
/// A connection test gives up sooner than a sync would.
const TEST_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(3),
    request: Duration::from_secs(5),
};

async fn read(t: &Arc<Terminal>) -> CmdResult<AppSettings> {
    t.db(|c| {
        let enrolled = enrolment::get(c)?;
        Ok::<_, AppError>(AppSettings {
            server_url: enrolled.as_ref().map(|e| e.server_url.clone()),
            enrolled: enrolled.is_some(),
            terminal_id: enrolled.as_ref().map(|e| e.terminal_id),
            terminal_name: enrolled.map(|e| e.terminal_name),
            sync_interval_secs: config::get(c, &SYNC_INTERVAL_SECS)?
                .unwrap_or(DEFAULT_SYNC_INTERVAL_SECS),
            operator: config::get(c, &OPERATOR)?.unwrap_or_else(|| DEFAULT_OPERATOR.to_owned()),
        })
    })
    .await
}

fn check_url(url: &str) -> CmdResult<&str> {
    let url = url.trim();
    if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
        return Err(AppError::invalid_input("enter the back office's address"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(AppError::invalid_input(
            "the back office's address starts with http:// or https://",
        ));
    }
    Ok(url)
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> CmdResult<AppSettings> {
    read(&state.terminal()?).await
}

/// Saves the sync interval and operator. A new server address for an enrolled till is checked
/// with the server (same token) before it is used; a till that is not enrolled yet gets its
/// address through `enrol`, with a token.
#[tauri::command]
pub async fn settings_set(
    state: State<'_, AppState>,
    settings: Input<SettingsInput>,
) -> CmdResult<AppSettings> {
    let settings = settings.into_inner();
    if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&settings.sync_interval_secs) {
        return Err(AppError::invalid_input(format!(
            "the sync interval is between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS} seconds"
        )));
    }
    let operator = settings.operator.trim().to_owned();
    if operator.is_empty() || operator.chars().count() > MAX_OPERATOR_CHARS {
        return Err(AppError::invalid_input(format!(
            "the operator's name is 1 to {MAX_OPERATOR_CHARS} characters"
        )));
    }
    let new_url = settings.server_url.as_deref().map(check_url).transpose()?;
    let t = state.terminal()?;
    let before = read(&t).await?;
    if let Some(url) = new_url {
        let moved = before.enrolled && before.server_url.as_deref() != Some(url);
        if moved {
            let token = t
                .db(|c| enrolment::get(c))
                .await?
                .map(|e| e.token)
                .unwrap_or_default();
            enrolment::enrol(t.store(), url, &token).await?;
        }
    }
    let interval = settings.sync_interval_secs;
    t.db(move |c| {
        config::set(c, &SYNC_INTERVAL_SECS, &interval)?;
        config::set(c, &OPERATOR, &operator)
    })
    .await?;
    let after = read(&t).await?;
    if after.server_url != before.server_url
        || after.sync_interval_secs != before.sync_interval_secs
    {
        t.restart_sync().await?;
    }
    Ok(after)
}

/// Enrols the till with a back office (the server checks the token) and starts syncing.
#[tauri::command]
pub async fn enrol(
    state: State<'_, AppState>,
    server_url: Input<String>,
    token: Input<String>,
) -> CmdResult<AppSettings> {
    let server_url = server_url.into_inner();
    let token = token.into_inner();
    let url = check_url(&server_url)?;
    let token = token.trim();
    if token.is_empty() || token.len() > 1024 {
        return Err(AppError::invalid_input("enter the enrolment token"));
    }
    let t = state.terminal()?;
    enrolment::enrol(t.store(), url, token).await?;
    t.restart_sync().await?;
    read(&t).await
}

/// Asks the server's health endpoint: reachable or not, how fast, its version and how far its
/// clock is from this till's. Answers `ok: false` with the reason rather than failing.
#[tauri::command]
pub async fn test_connection(server_url: Input<String>) -> CmdResult<ConnectionTest> {
    let server_url = server_url.into_inner();
    let failed = |message: String| ConnectionTest {
        ok: false,
        latency_ms: None,
        server_version: None,
        clock_offset_ms: None,
        message: Some(message),
    };
    let url = match check_url(&server_url) {
        Ok(url) => url,
        Err(e) => return Ok(failed(e.message)),
    };
    let transport = match HttpTransport::new(url, "", TEST_TIMEOUTS) {
        Ok(t) => t,
        Err(e) => return Ok(failed(e.to_string())),
    };
    let sent_ms = SystemClock.now_ms();
    let began = Instant::now();
    match transport.health().await {
        Ok(health) => {
            let rtt = began.elapsed();
            let midpoint = sent_ms + i64::try_from(rtt.as_millis() / 2).unwrap_or(0);
            Ok(ConnectionTest {
                ok: true,
                latency_ms: Some(u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX)),
                server_version: Some(health.version),
                clock_offset_ms: Some(health.server_time_ms - midpoint),
                message: None,
            })
        }
        Err(e) => Ok(failed(e.to_string())),
    }
}
