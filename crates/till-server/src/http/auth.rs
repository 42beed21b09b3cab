//! Bearer-token authentication: the client's failed-authentication limit first, then one token
//! lookup (through the lookup permits of [`Limits`]), then [`terminals::accept_token`]. Every
//! 401 counts as a failed authentication of the client's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::{AppState, HttpError};
use crate::clock::now_ms;
use crate::decide::auth_failures::client_key;
use crate::decide::terminals::{self, TokenRefusal};
use crate::storage::TerminalRecord;
use crate::token;

/// Longest bearer token read; a Till token is 69 characters.
const MAX_TOKEN_LEN: usize = 512;

/// The terminal a valid, unrevoked bearer token belongs to.
pub struct AuthedTerminal(pub TerminalRecord);

impl FromRequestParts<AppState> for AuthedTerminal {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let client = client(parts);
        state.limits.check_client(client, now_ms())?;
        match authenticate(parts, state).await {
            Ok(terminal) => {
                tracing::Span::current().record("terminal", tracing::field::display(terminal.id));
                Ok(AuthedTerminal(terminal))
            }
            Err(e) => {
                if e.status == StatusCode::UNAUTHORIZED {
                    state.limits.auth_failed(client, now_ms());
                }
                Err(e)
            }
        }
    }
}

/// The address failures are counted under; one that cannot be known (no connection info,
/// as in a test calling the router directly) counts as one unknown client.
fn client(parts: &Parts) -> IpAddr {
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    client_key(ip)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<TerminalRecord, HttpError> {
    let unauthorized =
        |code, message: &str| HttpError::new(StatusCode::UNAUTHORIZED, code, message);
    let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        )
    })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
        .ok_or_else(|| {
            unauthorized(
                "invalid_token",
                "the Authorization header is not a bearer token",
            )
        })?;
    let hash = token::hash(token);
    let owner = state
        .limits
        .look_up_token(async { Ok(state.storage.terminal_by_token_hash(&hash).await?) })
        .await?
        .ok_or_else(|| unauthorized("invalid_token", "the bearer token is not known"))?;
    match terminals::accept_token(&owner.terminal, owner.slot, now_ms()) {
        Ok(()) => Ok(owner.terminal),
        Err(TokenRefusal::Revoked) => Err(unauthorized(
            "token_revoked",
            "this terminal's token was revoked",
        )),
        Err(TokenRefusal::Replaced) => Err(unauthorized(
            "token_rotated",
            "this token was replaced by a new one and its grace period is over",
        )),
    }
}
