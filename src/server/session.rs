//! Logging in and out of the web page: `POST /api/session` checks a password (Argon2id) and
//! sets an HttpOnly, SameSite=Strict cookie; `GET /api/session` says who is logged in and
//! gives the CSRF token; `DELETE /api/session` logs out. Failed logins are counted per user
//! (a lockout an admin lifts with `lentera users unlock`) and per address.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::{client_addr, Caller, Via, SESSION_COOKIE};
use super::error::ApiError;
use super::AppState;
use crate::model::account::{after, new_secret, secret_digest, timestamp};
use crate::model::{AuditAction, Password, SessionInfo, UserChange, UserName};

/// The body of a login.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// A well-formed Argon2id hash nobody's password matches: checked for unknown users so that
/// a login takes as long whether or not the user exists.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    Password::offered("lentera-no-such-user".into())
        .hash()
        .unwrap_or_default()
});

/// `POST /api/session` with `{"username", "password"}`.
pub async fn login(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let addr = client_addr(request.extensions(), &headers, &st.auth.config);
    let bytes = axum::body::to_bytes(request.into_body(), 16 * 1024)
        .await
        .map_err(|_| ApiError::bad_request("a login is a small JSON object"))?;
    let body: LoginBody = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::bad_request(r#"a login is {"username": "…", "password": "…"}"#))?;
    let store = st.live.store().clone();
    let mut entry = caller.audit_entry(AuditAction::LoginFailed, "POST /api/session", "");
    if st.auth.address_blocked(addr) {
        entry.detail = "too many failed logins from this address".into();
        st.audit.record(entry);
        return Err(ApiError::TooManyRequests(
            "too many failed logins from this address; wait 15 minutes".into(),
        ));
    }
    let name = UserName::parse(body.username.trim()).ok();
    let account = match &name {
        Some(n) => store.account(n).await?,
        None => None,
    };
    let hash = account
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |a| a.password_hash.clone());
    let offered = Password::offered(body.password);
    let matches = tokio::task::spawn_blocking(move || offered.matches(&hash))
        .await
        .map_err(ApiError::internal)?;
    let refused = |why: &str| ApiError::Unauthorized(why.to_string());
    let Some(account) = account else {
        // An unknown name may be a password typed in the wrong field: it is not recorded.
        entry.detail = "unknown user".into();
        st.audit.record(entry);
        st.auth.address_failed(addr);
        return Err(refused("wrong user name or password"));
    };
    let user = account.user;
    entry.actor = Some(user.name.to_string());
    entry.role = Some(user.role.as_str().to_string());
    if user.is_locked() {
        entry.detail = "account locked".into();
        st.audit.record(entry);
        return Err(ApiError::Forbidden(
            "this account is locked after too many failed logins; try again later or ask an \
             admin to unlock it"
                .into(),
        ));
    }
    if !matches || user.disabled {
        entry.detail = if user.disabled {
            "account disabled"
        } else {
            "wrong password"
        }
        .into();
        st.audit.record(entry);
        st.auth.address_failed(addr);
        if !user.disabled {
            let until = after(st.auth.config.lock_for);
            store
                .change_user(
                    &user.name,
                    &UserChange::LoginFailed {
                        lock_after: st.auth.config.lock_after,
                        until,
                    },
                )
                .await?;
        }
        return Err(refused("wrong user name or password"));
    }
    store
        .change_user(&user.name, &UserChange::LoginSucceeded)
        .await?;
    let secret = new_secret("");
    let now = SystemTime::now();
    let session = SessionInfo {
        digest: secret_digest(&secret),
        user_id: user.id,
        csrf: new_secret(""),
        created_at: timestamp(now),
        last_seen_at: timestamp(now),
        expires_at: timestamp(now + st.auth.config.session_max),
    };
    store.add_session(&session).await?;
    entry.action = AuditAction::Login.as_str().into();
    entry.scope = Some(user.principal().scope_text());
    entry.detail = "ok".into();
    st.audit.record(entry);
    let cookie = session_cookie(&secret, st.auth.config.session_max.as_secs(), &st);
    let body = json!({
        "username": user.name,
        "role": user.role,
        "scope": user.scope,
        "csrf": session.csrf,
        "households": user.principal().household_scope().is_some(),
        "needs_purpose": user.role.needs_purpose(),
    });
    Ok((
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Json(body),
    )
        .into_response())
}

/// The `Set-Cookie` value of a session (written by hand: one cookie with fixed attributes
/// needs no cookie crate). `Max-Age=0` removes it.
fn session_cookie(value: &str, max_age: u64, st: &AppState) -> String {
    let secure = if st.auth.config.behind_https {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

/// `GET /api/session`: who is logged in (`{"username": null}` for nobody), the role, the
/// scope, what the page may offer, and the CSRF token of a web session.
pub async fn current(State(st): State<AppState>, caller: Caller) -> Response {
    let csrf = match &caller.via {
        Via::Session { csrf, .. } => Some(csrf.clone()),
        _ => None,
    };
    let body = match &caller.principal {
        None => json!({
            "username": null,
            "private": st.auth.config.private,
            "suppressed_label": caller.disclosure(&st.auth.config).label(),
        }),
        Some(p) => json!({
            "username": p.name,
            "role": p.role,
            "scope": p.scope,
            "csrf": csrf,
            "households": p.household_scope().is_some(),
            "needs_purpose": p.role.needs_purpose(),
            "admin": p.role == crate::model::Role::Admin,
            "private": st.auth.config.private,
        }),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// `DELETE /api/session`: logs out (the CSRF token is checked before this runs).
pub async fn logout(State(st): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let Via::Session { digest, .. } = &caller.via else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    st.live
        .store()
        .remove_session(digest, &timestamp(SystemTime::now()))
        .await?;
    st.auth.forget(digest);
    st.audit
        .record(caller.audit_entry(AuditAction::Logout, "DELETE /api/session", ""));
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session_cookie("", 0, &st))],
    )
        .into_response())
}
