//! What every request passes through before its handler: one of the server's request slots,
//! the request timeout, and its request id made known to the error mapping (a 5xx answer names
//! it, so the log line with the real cause can be found).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::{AppState, HttpError};
use crate::decide::auth_failures::{FailureLimit, Failures, Verdict};
use crate::serve::ServeOptions;

/// Token lookups that may run at once. A flood of unknown tokens queues here, so it holds at
/// most this many database connections and pushes keep the rest of the pool.
const TOKEN_LOOKUPS: usize = 4;

/// Clients whose failed authentications are remembered at once; beyond it, expired windows are
/// forgotten first, and a new client is not counted until there is room.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The window of the failed-authentication limit.
const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(60);

tokio::task_local! {
    /// The `x-request-id` of the request being handled.
    static REQUEST_ID: String;
}

/// The id of the request being handled, `-` outside one.
pub(super) fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

/// The server's limits, shared by every request.
pub struct Limits {
    slots: Semaphore,
    request_timeout: Duration,
    token_lookups: Semaphore,
    auth_failures: AuthFailures,
    pub(super) max_clock_skew: Duration,
}

impl Limits {
    pub fn new(options: &ServeOptions) -> Self {
        Limits {
            slots: Semaphore::new(options.max_concurrent.max(1)),
            request_timeout: options.request_timeout,
            token_lookups: Semaphore::new(TOKEN_LOOKUPS),
            auth_failures: AuthFailures {
                limit: FailureLimit {
                    max_failures: options.max_auth_failures,
                    window_ms: AUTH_FAILURE_WINDOW.as_millis() as i64,
                },
                by_client: Mutex::new(HashMap::new()),
            },
            max_clock_skew: options.max_clock_skew,
        }
    }

    /// Runs `lookup` when one of the token-lookup permits is free.
    pub(super) async fn look_up_token<T>(
        &self,
        lookup: impl std::future::Future<Output = Result<T, HttpError>>,
    ) -> Result<T, HttpError> {
        let _permit = self.token_lookups.acquire().await.map_err(|_| busy())?;
        lookup.await
    }

    /// 429 `too_many_auth_failures` when `client` used up its failed authentications.
    pub(super) fn check_client(&self, client: IpAddr, now_ms: i64) -> Result<(), HttpError> {
        let failures = self.auth_failures.get(client);
        match self.auth_failures.limit.verdict(failures.as_ref(), now_ms) {
            Verdict::Allow => Ok(()),
            Verdict::Refuse { retry_after_s } => Err(HttpError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_auth_failures",
                format!(
                    "too many failed authentications from this address; try again in {retry_after_s} s"
                ),
            )
            .retry_after(retry_after_s)),
        }
    }

    /// Counts one failed authentication of `client`.
    pub(super) fn auth_failed(&self, client: IpAddr, now_ms: i64) {
        self.auth_failures.failed(client, now_ms);
    }
}

/// Failed authentications per client, in memory: each replica counts its own.
struct AuthFailures {
    limit: FailureLimit,
    by_client: Mutex<HashMap<IpAddr, Failures>>,
}

impl AuthFailures {
    fn get(&self, client: IpAddr) -> Option<Failures> {
        self.lock().get(&client).copied()
    }

    fn failed(&self, client: IpAddr, now_ms: i64) {
        if self.limit.max_failures == 0 {
            return;
        }
        let mut by_client = self.lock();
        if by_client.len() >= MAX_TRACKED_CLIENTS && !by_client.contains_key(&client) {
            by_client.retain(|_, f| !self.limit.expired(f, now_ms));
            if by_client.len() >= MAX_TRACKED_CLIENTS {
                return;
            }
        }
        let next = self.limit.failed(by_client.get(&client).copied(), now_ms);
        by_client.insert(client, next);
    }

    /// A poisoned lock only means a thread panicked between two plain map operations.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.by_client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn busy() -> HttpError {
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the back office is handling too many requests",
    )
}

/// Every request: knows its request id, waits for a slot and runs to its answer, all within the
/// request timeout. (A slot always frees in time for a waiter: whoever holds it started earlier,
/// so its own timeout ends first.)
pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    REQUEST_ID
        .scope(id, limited(state.limits, request, next))
        .await
}

async fn limited(limits: Arc<Limits>, request: Request, next: Next) -> Response {
    let answered = tokio::time::timeout(limits.request_timeout, async {
        let _slot = limits.slots.acquire().await.map_err(|_| busy())?;
        Ok::<_, HttpError>(next.run(request).await)
    })
    .await;
    match answered {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => error.into_response(),
        Err(_) => HttpError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took longer than {} s",
                limits.request_timeout.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn token_lookups_run_at_most_a_few_at_once_however_many_ask() {
        let limits = Arc::new(Limits::new(&ServeOptions::default()));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let lookups: Vec<_> = (0..50)
            .map(|_| {
                let (limits, running, most) = (limits.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    limits
                        .look_up_token(async {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for lookup in lookups {
            lookup.await.expect("runs").expect("looks up");
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            TOKEN_LOOKUPS,
            "a flood of lookups holds no more database connections than its permits"
        );
    }
}
