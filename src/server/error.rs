//! The API's errors: each variant carries its HTTP status, says in words what is wrong, and
//! is sent as `{"error": "…"}`. Store failures and internal errors are logged and never
//! shown in detail.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;

/// An error of an API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong: a parameter, a code, a period in the wrong form.
    #[error("{0}")]
    BadRequest(String),
    /// The request needs credentials it does not carry.
    #[error("{0}")]
    Unauthorized(String),
    /// The credentials do not open this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts (failed logins from one address).
    #[error("{0}")]
    TooManyRequests(String),
    /// Nothing is at this address, or no data for what was asked.
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit where things stand (a batch already decided, a round closed,
    /// a file already uploaded).
    #[error("{0}")]
    Conflict(String),
    /// The client stopped sending mid-request.
    #[error("{0}")]
    Timeout(String),
    /// The body is larger than the server takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The store failed (logged; the client is told only that it is not available, or that
    /// its disk is full and nothing of the change was kept).
    #[error("{}", unavailable_words(.0))]
    Unavailable(#[from] StoreError),
    /// Something else failed inside the server (logged, never shown).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A bad request, in words.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(message.into())
    }

    /// Nothing found, in words.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::NotFound(message.into())
    }

    /// An internal failure; what failed is logged, not sent.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(StoreError::DiskFull) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a client is told of a store failure: no detail, except that a full disk kept nothing.
fn unavailable_words(e: &StoreError) -> &'static str {
    match e {
        StoreError::DiskFull => {
            "the disk holding the data store is full: nothing of this change was kept; ask the \
             administrator to free space, then send it again"
        }
        _ => "the data store is not available",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(e) => tracing::error!(error = %e, "store error"),
            ApiError::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let mut response =
            (self.status(), Json(json!({ "error": self.to_string() }))).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_are_not_shown() {
        let e = ApiError::from(StoreError::Corrupt("secret detail".into()));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!e.to_string().contains("secret"));
        let r = ApiError::Unauthorized("needs a token".into()).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn a_full_disk_is_said_as_such() {
        let e = ApiError::from(StoreError::DiskFull);
        assert_eq!(e.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert!(e
            .to_string()
            .contains("disk holding the data store is full"));
    }
}
