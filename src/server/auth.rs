//! Who may read household data: API tokens scoped to units, and the [`HouseholdScope`]
//! extractor every handler that serves household data takes. A request without a token gets
//! `401`, one with an unknown token `403`; aggregates need neither.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::model::Scope;
use crate::region::Kode;

/// An API token and the units whose households it may see.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    digest: [u8; 32],
    /// What the token may see.
    pub scope: Scope,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken(…, {:?})", self.scope)
    }
}

/// Why a token list was refused.
#[derive(Debug, thiserror::Error)]
#[error("API token {index}: {reason}")]
pub struct TokenError {
    index: usize,
    reason: String,
}

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 24;

impl ApiToken {
    /// Parses a comma-separated token list: `TOKEN` (all households) or
    /// `TOKEN@KODE[+KODE…]` (households inside those units only, e.g. a kabupaten's Dinas
    /// Sosial: `…@64.72`).
    pub fn parse_list(list: &str) -> Result<Vec<ApiToken>, TokenError> {
        list.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(i, t)| {
                let err = |reason: String| TokenError {
                    index: i + 1,
                    reason,
                };
                let (secret, scope) = match t.split_once('@') {
                    None => (t, Scope::All),
                    Some((secret, units)) => {
                        let kodes = units
                            .split('+')
                            .map(|k| Kode::parse(k).map_err(|e| err(e.to_string())))
                            .collect::<Result<Vec<_>, _>>()?;
                        (secret, Scope::Within(kodes))
                    }
                };
                if secret.len() < MIN_TOKEN_LEN {
                    return Err(err(format!(
                        "too short: use at least {MIN_TOKEN_LEN} random characters"
                    )));
                }
                Ok(ApiToken {
                    digest: Sha256::digest(secret.as_bytes()).into(),
                    scope,
                })
            })
            .collect()
    }

    /// The token whose secret is `secret`. Compares digests, so the time taken says nothing
    /// about how much of a wrong token was right.
    fn find<'a>(tokens: &'a [ApiToken], secret: &str) -> Option<&'a ApiToken> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        tokens.iter().find(|t| t.digest == digest)
    }
}

/// The households a request may see: the scope of its bearer token. Extracting it refuses a
/// request without a token (`401`, with `WWW-Authenticate: Bearer`) or with an unknown one
/// (`403`); as `Option<HouseholdScope>` it is `None` for either, for endpoints that only show
/// more to a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdScope(pub Scope);

impl HouseholdScope {
    fn of(parts: &Parts, state: &AppState) -> Result<HouseholdScope, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(secret) = bearer else {
            return Err(ApiError::Unauthorized(
                "household data needs an API token (Authorization: Bearer …)".into(),
            ));
        };
        ApiToken::find(&state.tokens, secret)
            .map(|t| HouseholdScope(t.scope.clone()))
            .ok_or_else(|| ApiError::Forbidden("this API token is not valid".into()))
    }
}

impl FromRequestParts<AppState> for HouseholdScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        HouseholdScope::of(parts, state)
    }
}

impl OptionalFromRequestParts<AppState> for HouseholdScope {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(HouseholdScope::of(parts, state).ok())
    }
}
