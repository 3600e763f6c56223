//! Who is asking: every request is resolved once, by the [`resolve`] middleware, to a
//! [`Caller`] — a user behind a web session cookie or a personal API token, or an anonymous
//! visitor — which handlers take as an extractor. Household data is reached only through the
//! [`HouseholdAccess`] extractor, which refuses callers whose role and scope do not open it,
//! asks analysts for a purpose, and writes every read into the audit trail.
//!
//! Sessions and tokens are looked up in the store by the SHA-256 of their secret, so that
//! several servers over one PostGIS share them; a short cache keeps tile requests off the
//! database.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::audit::AuditLog;
use super::error::ApiError;
use super::AppState;
use crate::aggregate::Disclosure;
use crate::model::account::{parse_timestamp, secret_digest, timestamp};
use crate::model::{AuditAction, AuditEntry, Principal, Role, Scope};
use crate::store::{Store, StoreError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lentera_sesi";
/// The header a page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header (or `purpose=` query parameter) an analyst states a purpose in.
pub const PURPOSE_HEADER: &str = "x-purpose";
/// Longest purpose kept.
const MAX_PURPOSE: usize = 500;

/// How accounts and sessions behave.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Every route except the page, the login and the health check needs a login.
    pub private: bool,
    /// Served behind a TLS-terminating proxy: cookies are `Secure` and the client address is
    /// the last one of `X-Forwarded-For`.
    pub behind_https: bool,
    /// Units with 1 up to this many households are hidden from anonymous visitors and
    /// viewers (0: never).
    pub suppress_upto: u64,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, whatever happens.
    pub session_max: Duration,
    /// Failed logins of one user that lock the account.
    pub lock_after: u32,
    /// How long a lockout lasts (an admin can lift it sooner).
    pub lock_for: Duration,
    /// Failed logins from one address within [`AuthConfig::lock_for`] before it is refused.
    pub address_limit: u32,
    /// How long a resolved session or token is trusted before the store is asked again.
    pub cache_for: Duration,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            private: false,
            behind_https: false,
            suppress_upto: Disclosure::PUBLIC.suppress_upto,
            session_idle: Duration::from_secs(2 * 3600),
            session_max: Duration::from_secs(12 * 3600),
            lock_after: 5,
            lock_for: Duration::from_secs(15 * 60),
            address_limit: 20,
            cache_for: Duration::from_secs(5),
        }
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Nothing: an anonymous visitor.
    Anonymous,
    /// A web session (cookie), with the CSRF token its state-changing requests carry.
    Session {
        /// SHA-256 of the cookie.
        digest: String,
        /// The CSRF token.
        csrf: String,
    },
    /// A personal API token.
    Token {
        /// The token's id.
        id: i64,
    },
}

/// Who is asking: the user (if any), how they proved it, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The logged-in user's rights, `None` for an anonymous visitor.
    pub principal: Option<Principal>,
    /// Session, token or nothing.
    pub via: Via,
    /// Client address (text).
    pub client: String,
}

impl Caller {
    /// The aggregates this caller sees exactly.
    pub fn disclosure(&self, config: &AuthConfig) -> Disclosure {
        match &self.principal {
            Some(p) if p.role.sees_small_counts() => Disclosure::EXACT,
            _ => Disclosure {
                suppress_upto: config.suppress_upto,
            },
        }
    }

    /// The caller's role, if logged in.
    pub fn role(&self) -> Option<Role> {
        self.principal.as_ref().map(|p| p.role)
    }

    /// An audit entry of `action` by this caller.
    pub fn audit_entry(&self, action: AuditAction, endpoint: &str, params: &str) -> AuditEntry {
        let mut e = AuditEntry::new(action, endpoint);
        e.actor = self.principal.as_ref().map(|p| p.name.to_string());
        e.role = self.role().map(|r| r.as_str().to_string());
        e.scope = self.principal.as_ref().map(Principal::scope_text);
        e.params = params.to_string();
        e.client = self.client.clone();
        e
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the caller was not resolved"))
    }
}

/// An admin, or the request is refused (`401` anonymous, `403` other roles).
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, st).await?;
        match caller.role() {
            Some(Role::Admin) => Ok(Admin(caller)),
            Some(_) => Err(ApiError::Forbidden("only an admin may do this".into())),
            None => Err(login_needed("this")),
        }
    }
}

fn login_needed(what: &str) -> ApiError {
    ApiError::Unauthorized(format!(
        "{what} needs a login (POST /api/session) or a personal API token \
         (Authorization: Bearer …)"
    ))
}

/// The households a request may read, and the record of reading them. Extracting it refuses
/// an anonymous caller (`401`), a viewer or a user without a scope (`403`), and an analyst
/// who states no purpose (`400`: `purpose=` or the `X-Purpose` header).
#[derive(Debug, Clone)]
pub struct HouseholdAccess {
    /// Households the caller may see.
    pub scope: Scope,
    /// Who.
    pub caller: Caller,
    /// The purpose stated.
    pub purpose: Option<String>,
    endpoint: String,
    params: String,
    audit: AuditLog,
}

impl HouseholdAccess {
    /// The audit entry of this read, returning `count` households.
    fn entry(&self, count: u64) -> AuditEntry {
        let mut e =
            self.caller
                .audit_entry(AuditAction::HouseholdRead, &self.endpoint, &self.params);
        e.count = Some(count);
        e.purpose = self.purpose.clone();
        e
    }

    /// Records that `count` households were returned, batched with the caller's other reads
    /// (for tiles: many small reads whose record must not slow them down).
    pub fn record(&self, count: u64) {
        self.audit.record_read(self.entry(count));
    }

    /// Records that `count` households were returned and waits until the record is stored:
    /// an export is not complete without its record.
    pub async fn record_durably(&self, count: u64) -> Result<(), ApiError> {
        self.audit.record_durably(self.entry(count)).await
    }

    /// As [`HouseholdAccess::record_durably`], from a blocking thread (a streamed export).
    pub fn record_durably_blocking(&self, count: u64) -> Result<(), String> {
        self.audit.record_durably_blocking(self.entry(count))
    }
}

impl FromRequestParts<AppState> for HouseholdAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, st).await?;
        let Some(principal) = &caller.principal else {
            return Err(login_needed("household data"));
        };
        let Some(scope) = principal.household_scope() else {
            return Err(ApiError::Forbidden(format!(
                "the role {} {} may not read household data",
                principal.role,
                if principal.role == Role::Viewer {
                    ""
                } else {
                    "without a scope"
                }
            )));
        };
        let (purpose, params) = purpose_of(parts);
        if principal.role.needs_purpose() && purpose.is_none() {
            return Err(ApiError::bad_request(
                "an analyst reads household data only for a stated purpose: add \
                 purpose=… (what the data is for, e.g. \"verifikasi penerima PKH Kec. X\")",
            ));
        }
        let endpoint = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or_else(|| parts.uri.path().to_string(), |m| m.as_str().to_string());
        Ok(HouseholdAccess {
            scope,
            caller,
            purpose,
            endpoint: format!("{} {endpoint}", parts.method),
            params,
            audit: st.audit.clone(),
        })
    }
}

/// The purpose stated in a request (query `purpose=` or header), and the query string
/// without it (what the audit trail records as the parameters).
fn purpose_of(parts: &Parts) -> (Option<String>, String) {
    let query = parts.uri.query().unwrap_or_default();
    let mut purpose = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "purpose" {
            purpose = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    let purpose = purpose
        .or_else(|| {
            parts
                .headers
                .get(PURPOSE_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .map(|p| p.trim().chars().take(MAX_PURPOSE).collect::<String>())
        .filter(|p| !p.is_empty());
    // The path's own parameters (tile address, feature id) are part of what was read.
    let rest = rest.finish();
    let params = if rest.is_empty() {
        parts.uri.path().to_string()
    } else {
        format!("{}?{rest}", parts.uri.path())
    };
    (purpose, params)
}

/// What the server remembers between requests about callers.
pub struct Auth {
    /// The configuration.
    pub config: AuthConfig,
    cache: moka::sync::Cache<String, Arc<Resolved>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.config)
            .finish()
    }
}

/// A session or token looked up in the store.
#[derive(Debug, Clone)]
enum Resolved {
    /// It works: the user's rights and how.
    Valid {
        principal: Principal,
        via: Via,
        /// Last time the session was noted as used (sessions only).
        last_seen: Option<String>,
        idle_ends: Option<SystemTime>,
    },
    /// It does not (unknown, expired, revoked, or the user is disabled).
    Invalid(String),
}

impl Auth {
    /// The state of `config`.
    pub fn new(config: AuthConfig) -> Auth {
        let cache = moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(config.cache_for.max(Duration::from_millis(1)))
            .build();
        Auth {
            config,
            cache,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets what is cached about a session or token (logout).
    pub fn forget(&self, digest: &str) {
        self.cache.invalidate(digest);
    }

    /// Whether `addr` has failed too many logins lately.
    pub fn address_blocked(&self, addr: Option<IpAddr>) -> bool {
        let Some(addr) = addr else { return false };
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&addr).is_some_and(|(n, since)| {
            *n >= self.config.address_limit && since.elapsed() < self.config.lock_for
        })
    }

    /// Counts a failed login from `addr`.
    pub fn address_failed(&self, addr: Option<IpAddr>) {
        let Some(addr) = addr else { return };
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.config.lock_for;
        map.retain(|_, (_, since)| since.elapsed() < window);
        let e = map.entry(addr).or_insert((0, Instant::now()));
        e.0 += 1;
    }

    async fn resolve_cached(
        &self,
        store: &dyn Store,
        digest: &str,
        token: bool,
    ) -> Result<Arc<Resolved>, StoreError> {
        if self.config.cache_for > Duration::ZERO {
            if let Some(r) = self.cache.get(digest) {
                return Ok(r);
            }
        }
        let resolved = Arc::new(if token {
            resolve_token(store, digest).await?
        } else {
            resolve_session(store, digest, &self.config).await?
        });
        if self.config.cache_for > Duration::ZERO {
            self.cache.insert(digest.to_string(), resolved.clone());
        }
        Ok(resolved)
    }
}

async fn resolve_token(store: &dyn Store, digest: &str) -> Result<Resolved, StoreError> {
    Ok(match store.token_user(digest).await? {
        None => Resolved::Invalid("this API token is not known".into()),
        Some((t, _)) if t.revoked_at.is_some() => {
            Resolved::Invalid("this API token was revoked".into())
        }
        Some((t, _)) if !t.is_valid() => Resolved::Invalid("this API token has expired".into()),
        Some((_, u)) if u.disabled => {
            Resolved::Invalid("the user of this API token is disabled".into())
        }
        Some((t, u)) => Resolved::Valid {
            principal: u.principal(),
            via: Via::Token { id: t.id },
            last_seen: None,
            idle_ends: None,
        },
    })
}

async fn resolve_session(
    store: &dyn Store,
    digest: &str,
    config: &AuthConfig,
) -> Result<Resolved, StoreError> {
    let Some((s, user)) = store.session_user(digest).await? else {
        return Ok(Resolved::Invalid("the session has ended".into()));
    };
    let now = SystemTime::now();
    let ends = parse_timestamp(&s.expires_at);
    let idle_ends = parse_timestamp(&s.last_seen_at).map(|t| t + config.session_idle);
    if user.disabled || ends.is_none_or(|e| e <= now) || idle_ends.is_none_or(|e| e <= now) {
        return Ok(Resolved::Invalid("the session has ended".into()));
    }
    Ok(Resolved::Valid {
        principal: user.principal(),
        via: Via::Session {
            digest: s.digest,
            csrf: s.csrf,
        },
        last_seen: Some(s.last_seen_at),
        idle_ends,
    })
}

/// The client's address: the connection's peer, or behind a proxy the last address of
/// `X-Forwarded-For` (the one the proxy itself added).
pub fn client_addr(
    parts_ext: &axum::http::Extensions,
    headers: &HeaderMap,
    config: &AuthConfig,
) -> Option<IpAddr> {
    if config.behind_https {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Paths a private server serves without a login: the page (which shows the login form),
/// the login itself, the help page and the indicator names it lists, the health check and the
/// map's fonts.
fn open_on_private(path: &str) -> bool {
    matches!(
        path,
        "/" | "/app.js"
            | "/verval.js"
            | "/programs.js"
            | "/app.css"
            | "/bantuan"
            | "/bantuan.js"
            | "/api/fields"
            | "/api/session"
            | "/healthz"
            | "/fonts.json"
    ) || path.starts_with("/vendor/")
        || path.starts_with("/fonts/")
}

/// Resolves the caller of every request (see the module documentation), refuses a bad
/// token (`401`), a state-changing request from a session without its CSRF token (`403`) and,
/// on a private server, anonymous requests outside the page and the login (`401`).
pub async fn resolve(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    match resolve_caller(&st, &mut req).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn resolve_caller(st: &AppState, req: &mut Request) -> Result<Caller, ApiError> {
    let config = &st.auth.config;
    let addr = client_addr(req.extensions(), req.headers(), config);
    let client = addr.map_or_else(|| "-".to_string(), |a| a.to_string());
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let store = st.live.store();
    let caller = if let Some(secret) = bearer {
        match &*st
            .auth
            .resolve_cached(store.as_ref(), &secret_digest(&secret), true)
            .await?
        {
            Resolved::Valid { principal, via, .. } => Caller {
                principal: Some(principal.clone()),
                via: via.clone(),
                client,
            },
            Resolved::Invalid(why) => return Err(ApiError::Unauthorized(why.clone())),
        }
    } else if let Some(cookie) = cookie(req.headers(), SESSION_COOKIE) {
        let digest = secret_digest(&cookie);
        match &*st
            .auth
            .resolve_cached(store.as_ref(), &digest, false)
            .await?
        {
            Resolved::Valid {
                principal,
                via,
                last_seen,
                idle_ends,
            } => {
                if idle_ends.is_some_and(|e| e <= SystemTime::now()) {
                    st.auth.forget(&digest);
                    anonymous(client)
                } else {
                    touch(st, store.as_ref(), &digest, last_seen.as_deref()).await?;
                    Caller {
                        principal: Some(principal.clone()),
                        via: via.clone(),
                        client,
                    }
                }
            }
            // An ended session is an anonymous visitor: the page asks for a new login.
            Resolved::Invalid(_) => anonymous(client),
        }
    } else {
        anonymous(client)
    };
    if let Via::Session { csrf, .. } = &caller.via {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !safe && !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
            return Err(ApiError::Forbidden(
                "this request changes data and needs the session's CSRF token \
                 (X-CSRF-Token, from GET /api/session)"
                    .into(),
            ));
        }
    }
    if config.private && caller.principal.is_none() && !open_on_private(req.uri().path()) {
        return Err(login_needed("this server is private: every request"));
    }
    Ok(caller)
}

fn anonymous(client: String) -> Caller {
    Caller {
        principal: None,
        via: Via::Anonymous,
        client,
    }
}

/// Notes a session's use at most once a minute (the idle limit counts from it).
async fn touch(
    st: &AppState,
    store: &dyn Store,
    digest: &str,
    last_seen: Option<&str>,
) -> Result<(), ApiError> {
    let stale = last_seen
        .and_then(parse_timestamp)
        .is_none_or(|t| t + Duration::from_secs(60) <= SystemTime::now());
    if stale {
        store
            .touch_session(digest, &timestamp(SystemTime::now()))
            .await?;
        st.auth.forget(digest);
    }
    Ok(())
}

/// Compares secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
