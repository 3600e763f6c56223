//! Who may see what: every route against every kind of caller (anonymous, viewer, analysts
//! with and without scope and purpose, operators of two kabupaten, admin, a disabled user, an
//! expired and a revoked token) on both stores; household data only inside the caller's
//! scope; web sessions (cookie flags, CSRF, expiry, logout, lockout, a disabled user); the
//! audit trail's hash chain and its record of every household export; small counts hidden
//! from the public.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;

use lentera::model::account::{secret_digest, timestamp};
use lentera::model::{
    AuditAction, AuditFilter, ChainCheck, NewToken, NewUser, Password, Role, SourceFormat,
    UserChange, UserName,
};
use lentera::region::Kode;
use lentera::server::auth::AuthConfig;
use lentera::server::{router_over, AppState, Live, ServerOptions};
use lentera::store::{PostgisStore, SqliteStore, Store};

/// Who asks: a name for messages, and the bearer token sent (none: anonymous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    Viewer,
    AnalystWithoutScope,
    AnalystWithoutPurpose,
    AnalystWithPurpose,
    Operator6472,
    Operator6471,
    Admin,
    DisabledUser,
    ExpiredToken,
    RevokedToken,
}

const ALL: [Who; 11] = [
    Who::Anonymous,
    Who::Viewer,
    Who::AnalystWithoutScope,
    Who::AnalystWithoutPurpose,
    Who::AnalystWithPurpose,
    Who::Operator6472,
    Who::Operator6471,
    Who::Admin,
    Who::DisabledUser,
    Who::ExpiredToken,
    Who::RevokedToken,
];

impl Who {
    fn token(self) -> Option<String> {
        let t = match self {
            Who::Anonymous => return None,
            Who::AnalystWithoutPurpose | Who::AnalystWithPurpose => "analyst-scoped".to_string(),
            other => format!("{other:?}"),
        };
        Some(format!("lt_test_{t}_0123456789abcdef"))
    }

    /// The units whose households this caller may read (`None`: none).
    fn scope(self) -> Option<Vec<&'static str>> {
        match self {
            Who::Admin => Some(vec![]),
            Who::Operator6472 | Who::AnalystWithPurpose | Who::AnalystWithoutPurpose => {
                Some(vec!["64.72"])
            }
            Who::Operator6471 => Some(vec!["64.71"]),
            _ => None,
        }
    }

    fn purpose(self) -> Option<&'static str> {
        (self == Who::AnalystWithPurpose).then_some("uji matriks akses: verifikasi sasaran")
    }

    fn user(self) -> Option<&'static str> {
        Some(match self {
            Who::Viewer => "viewer",
            Who::AnalystWithoutScope => "analyst.none",
            Who::AnalystWithoutPurpose | Who::AnalystWithPurpose => "analyst.scoped",
            Who::Operator6472 | Who::ExpiredToken | Who::RevokedToken => "op.samarinda",
            Who::Operator6471 => "op.balikpapan",
            Who::Admin => "admin",
            Who::DisabledUser => "disabled",
            Who::Anonymous => return None,
        })
    }
}

async fn add_user(store: &dyn Store, name: &str, role: Role, scope: &[&str], password: &str) {
    let user = NewUser::new(
        UserName::parse(name).unwrap(),
        role,
        scope.iter().map(|k| Kode::parse(k).unwrap()).collect(),
        &Password::new(password.into()).unwrap(),
    )
    .unwrap();
    store.add_user(&user).await.unwrap();
}

async fn add_token(store: &dyn Store, name: &str, secret: &str, expires_at: Option<String>) -> i64 {
    store
        .add_token(&NewToken {
            user: UserName::parse(name).unwrap(),
            digest: secret_digest(secret),
            label: "matrix".into(),
            expires_at,
        })
        .await
        .unwrap()
        .id
}

const PASSWORD: &str = "kata-sandi-uji-2026";

/// Users and tokens of every caller kind.
async fn add_callers(store: &dyn Store) {
    add_user(store, "admin", Role::Admin, &[], PASSWORD).await;
    add_user(store, "viewer", Role::Viewer, &[], PASSWORD).await;
    add_user(store, "analyst.none", Role::Analyst, &[], PASSWORD).await;
    add_user(store, "analyst.scoped", Role::Analyst, &["64.72"], PASSWORD).await;
    add_user(store, "op.samarinda", Role::Operator, &["64.72"], PASSWORD).await;
    add_user(store, "op.balikpapan", Role::Operator, &["64.71"], PASSWORD).await;
    add_user(store, "disabled", Role::Operator, &["64.72"], PASSWORD).await;
    for who in ALL {
        let (Some(user), Some(token)) = (who.user(), who.token()) else {
            continue;
        };
        if who == Who::AnalystWithPurpose {
            continue; // shares the scoped analyst's token
        }
        let expires = (who == Who::ExpiredToken)
            .then(|| timestamp(std::time::SystemTime::now() - Duration::from_secs(60)));
        let id = add_token(store, user, &token, expires).await;
        if who == Who::RevokedToken {
            store.revoke_token(id).await.unwrap();
        }
    }
    store
        .change_user(&UserName::parse("disabled").unwrap(), &UserChange::Disable)
        .await
        .unwrap();
}

struct World {
    store: Arc<dyn Store>,
    state: AppState,
    app: axum::Router,
    /// A household of Samarinda in the OGC collection (its feature id).
    samarinda_feature: String,
}

async fn world(store: Arc<dyn Store>, auth: AuthConfig) -> World {
    let regions = common::load_kaltim(store.as_ref()).await;
    common::import_generated(
        store.as_ref(),
        &regions,
        SourceFormat::Verval,
        3_000,
        61,
        "2025-09",
    )
    .await;
    add_callers(store.as_ref()).await;
    let live = Live::load(store.clone()).await.unwrap();
    let state = AppState::new(
        live,
        ServerOptions {
            auth,
            ..Default::default()
        },
    );
    let app = router_over(state.clone());
    let mut w = World {
        store,
        state,
        app,
        samarinda_feature: String::new(),
    };
    let items = w
        .get(
            Who::Operator6472,
            "/ogc/collections/households/items?limit=1",
        )
        .await;
    assert_eq!(items.0, StatusCode::OK);
    let v: Value = serde_json::from_slice(&items.1).unwrap();
    w.samarinda_feature = v["features"][0]["id"].as_str().unwrap().to_string();
    w
}

impl World {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let got = common::send(&self.app, req).await;
        (got.status, got.body, got.headers)
    }

    async fn get(&self, who: Who, uri: &str) -> (StatusCode, Vec<u8>) {
        let uri = match who.purpose() {
            Some(p) => {
                let sep = if uri.contains('?') { '&' } else { '?' };
                format!("{uri}{sep}purpose={}", p.replace(' ', "%20"))
            }
            None => uri.to_string(),
        };
        let mut req = Request::get(&uri).header(header::HOST, "lentera.test");
        if let Some(t) = who.token() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, body, _) = self.send(req.body(Body::empty()).unwrap()).await;
        (status, body)
    }
}

/// What a route is: public aggregates, household data, or for admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Public,
    LoggedIn,
    Exact,
    Households,
    AdminOnly,
}

/// Every GET route of the server with a sample address.
fn routes(w: &World) -> Vec<(&'static str, String, Kind)> {
    use Kind::*;
    // A tile over Samarinda at zoom 12 (its households are drawn as points).
    let (x, y, _, _) = lentera::tiles::mercator::tiles_covering([117.15, -0.50, 117.15, -0.50], 12);
    vec![
        ("/", "/".into(), Public),
        ("/app.js", "/app.js".into(), Public),
        ("/app.css", "/app.css".into(), Public),
        ("/programs.js", "/programs.js".into(), Public),
        ("/bantuan", "/bantuan".into(), Public),
        ("/bantuan.js", "/bantuan.js".into(), Public),
        ("/api/programs", "/api/programs".into(), LoggedIn),
        (
            "/api/targeting",
            "/api/targeting?desil_max=2&not_covered=any&area=64.72".into(),
            Exact,
        ),
        ("/api/target-lists", "/api/target-lists".into(), LoggedIn),
        ("/healthz", "/healthz".into(), Public),
        ("/api/session", "/api/session".into(), Public),
        ("/api/openapi.json", "/api/openapi.json".into(), Public),
        ("/api/search", "/api/search?q=samarinda".into(), Public),
        (
            "/api/indicators",
            "/api/indicators?level=desa&parent=64.72".into(),
            Public,
        ),
        ("/api/periods", "/api/periods".into(), Public),
        (
            "/api/choropleth",
            "/api/choropleth?level=desa&parent=64.72".into(),
            Public,
        ),
        ("/api/targets", "/api/targets?level=desa".into(), Public),
        ("/api/fields", "/api/fields".into(), Public),
        (
            "/api/export/{file}",
            "/api/export/desa.geojson?parent=64.72".into(),
            Public,
        ),
        ("/api/reconciliation", "/api/reconciliation".into(), Public),
        (
            "/api/sources",
            "/api/sources?level=desa&parent=64.72".into(),
            Public,
        ),
        (
            "/api/regions",
            "/api/regions?level=kabupaten".into(),
            Public,
        ),
        ("/api/regions/{kode}", "/api/regions/64.72".into(), Public),
        (
            "/api/templates/{file}",
            "/api/templates/verval.csv".into(),
            Public,
        ),
        (
            "/tiles/{layer}/{z}/{x}/{y}.mvt",
            format!("/tiles/desa/12/{x}/{y}.mvt"),
            Public,
        ),
        ("/tiles/{name}", "/tiles/desa.json".into(), Public),
        ("/style.json", "/style.json".into(), Public),
        ("/ogc", "/ogc".into(), Public),
        ("/ogc/api", "/ogc/api".into(), Public),
        ("/ogc/conformance", "/ogc/conformance".into(), Public),
        ("/ogc/collections", "/ogc/collections".into(), Public),
        (
            "/ogc/collections/{id}",
            "/ogc/collections/desa".into(),
            Public,
        ),
        (
            "/ogc/collections/{id}/schema",
            "/ogc/collections/desa/schema".into(),
            Public,
        ),
        (
            "/ogc/collections/{id}/items",
            "/ogc/collections/desa/items?limit=50".into(),
            Public,
        ),
        (
            "/ogc/collections/{id}/items/{feature}",
            "/ogc/collections/desa/items/64.72.01.1001".into(),
            Public,
        ),
        (
            "/api/export/households.csv",
            "/api/export/households.csv".into(),
            Households,
        ),
        (
            "/api/export/households.geojson",
            "/api/export/households.geojson".into(),
            Households,
        ),
        (
            "/tiles/households/{z}/{x}/{file}",
            format!("/tiles/households/12/{x}/{y}.mvt"),
            Households,
        ),
        (
            "/ogc/collections/households",
            "/ogc/collections/households".into(),
            Households,
        ),
        (
            "/ogc/collections/households/schema",
            "/ogc/collections/households/schema".into(),
            Households,
        ),
        (
            "/ogc/collections/households/items",
            "/ogc/collections/households/items?limit=10000".into(),
            Households,
        ),
        (
            "/ogc/collections/households/items/{feature}",
            format!("/ogc/collections/households/items/{}", w.samarinda_feature),
            Households,
        ),
        ("/api/audit", "/api/audit?limit=5".into(), AdminOnly),
        ("/api/users", "/api/users".into(), AdminOnly),
        ("/metrics", "/metrics".into(), AdminOnly),
    ]
}

/// The status `who` must get from a route of `kind` at `route`.
fn expected(who: Who, kind: Kind, route: &str) -> StatusCode {
    use StatusCode as S;
    if matches!(
        who,
        Who::DisabledUser | Who::ExpiredToken | Who::RevokedToken
    ) {
        return S::UNAUTHORIZED;
    }
    match kind {
        Kind::Public => S::OK,
        Kind::LoggedIn => match who {
            Who::Anonymous => S::UNAUTHORIZED,
            _ => S::OK,
        },
        Kind::Exact => match who {
            Who::Anonymous => S::UNAUTHORIZED,
            Who::Viewer => S::FORBIDDEN,
            _ => S::OK,
        },
        Kind::AdminOnly => match who {
            Who::Anonymous => S::UNAUTHORIZED,
            Who::Admin => S::OK,
            _ => S::FORBIDDEN,
        },
        Kind::Households => match who {
            Who::Anonymous => S::UNAUTHORIZED,
            Who::Viewer | Who::AnalystWithoutScope => S::FORBIDDEN,
            Who::AnalystWithoutPurpose => S::BAD_REQUEST,
            // A Samarinda household is not there for Balikpapan; the tile over Samarinda is
            // empty for it.
            Who::Operator6471 if route.ends_with("{feature}") => S::NOT_FOUND,
            Who::Operator6471 if route.starts_with("/tiles/households") => S::NO_CONTENT,
            _ => S::OK,
        },
    }
}

/// The unit codes of the households in a household response.
fn household_units(route: &str, body: &[u8]) -> Vec<String> {
    if route.ends_with(".csv") {
        let mut r = csv::Reader::from_reader(body);
        let col = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "kode_unit")
            .unwrap();
        return r
            .records()
            .map(|rec| rec.unwrap()[col].to_string())
            .collect();
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let features: Vec<&Value> = match v["type"].as_str() {
        Some("FeatureCollection") => v["features"].as_array().unwrap().iter().collect(),
        Some("Feature") => vec![&v],
        _ => Vec::new(),
    };
    features
        .iter()
        .map(|f| {
            f["properties"]["kode_unit"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// Fields only a household record has: none may reach an anonymous visitor or a viewer.
const HOUSEHOLD_FIELDS: [&str; 5] = [
    "head_name",
    "nik_masked",
    "kk_masked",
    "source_row",
    "kode_unit",
];

/// Runs the matrix; returns each household export that was served: (user, households,
/// purpose).
async fn matrix(
    w: &World,
) -> (
    BTreeMap<(String, Who), StatusCode>,
    Vec<(String, u64, String)>,
) {
    let mut table = BTreeMap::new();
    let mut exports = Vec::new();
    for (route, uri, kind) in routes(w) {
        for who in ALL {
            let (status, body) = w.get(who, &uri).await;
            let want = expected(who, kind, route);
            assert_eq!(
                status,
                want,
                "{route} as {who:?}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
            table.insert((route.to_string(), who), status);
            if matches!(who, Who::Anonymous | Who::Viewer)
                && route != "/app.js"
                && route != "/programs.js"
            {
                let text = String::from_utf8_lossy(&body);
                for f in HOUSEHOLD_FIELDS {
                    assert!(!text.contains(f), "{route} shows `{f}` to {who:?}");
                }
            }
            if kind != Kind::Households || status != StatusCode::OK {
                continue;
            }
            let scope = who.scope().unwrap();
            let inside = |k: &str| {
                let k = Kode::parse(k).unwrap_or_else(|_| panic!("{route}: unit `{k}`"));
                scope.is_empty() || scope.iter().any(|s| k.is_within(&Kode::parse(s).unwrap()))
            };
            if route.starts_with("/tiles/") {
                assert!(!body.is_empty(), "{route} as {who:?}: an empty tile");
                continue;
            }
            let units = household_units(route, &body);
            if route.ends_with("/items")
                || route.contains("/export/")
                || route.ends_with("{feature}")
            {
                assert!(
                    !units.is_empty(),
                    "{route} as {who:?} returned no household"
                );
            }
            assert!(
                units.iter().all(|k| inside(k)),
                "{route} as {who:?}: a household outside {scope:?}"
            );
            if route.contains("/export/households") {
                exports.push((
                    who.user().unwrap().to_string(),
                    units.len() as u64,
                    who.purpose().unwrap_or("").to_string(),
                ));
            }
        }
    }
    (table, exports)
}

/// The matrix, printed for the reader of the test's output: one row per route, one column
/// per caller.
#[allow(clippy::print_stderr)]
fn print_matrix(table: &BTreeMap<(String, Who), StatusCode>) {
    let routes: Vec<&String> = {
        let mut r: Vec<&String> = table.keys().map(|(r, _)| r).collect();
        r.dedup();
        r
    };
    eprintln!("route | {}", ALL.map(|w| format!("{w:?}")).join(" | "));
    for r in routes {
        let row: Vec<String> = ALL
            .iter()
            .map(|w| table[&(r.clone(), *w)].as_u16().to_string())
            .collect();
        eprintln!("{r} | {}", row.join(" | "));
    }
}

async fn check_store(store: Arc<dyn Store>, cli: &[&str]) {
    let w = world(store, AuthConfig::default()).await;
    let (table, exports) = matrix(&w).await;
    print_matrix(&table);
    assert_eq!(
        exports.len(),
        2 * 4,
        "two export routes × admin, two operators, analyst"
    );
    w.state.audit.flush().await;

    // Every household export is in the audit trail with user, count and purpose.
    let out = common::lentera_with(
        cli,
        &["audit", "--action", "household_read", "--format", "csv"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    for (user, count, purpose) in &exports {
        assert!(
            rows.iter().any(|row| &row[col("actor")] == user
                && row[col("count")] == count.to_string()
                && &row[col("purpose")] == purpose
                && row[col("endpoint")].contains("/api/export/households")),
            "the export by {user} ({count} households) is not in the audit trail"
        );
    }
    // Nothing personal in the trail.
    let all = common::lentera_with(cli, &["audit", "--format", "json"]);
    let text = String::from_utf8_lossy(&all.stdout);
    assert!(!text.contains(PASSWORD));
    let verified = common::lentera_with(cli, &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact"));
    let records = w
        .store
        .audit(&AuditFilter::default(), 0, 1_000_000)
        .await
        .unwrap();
    let mut check = ChainCheck::new();
    assert!(records.iter().all(|r| check.next(r).is_ok()));
    assert!(records
        .iter()
        .any(|r| r.entry.action == AuditAction::HouseholdRead.as_str()
            && r.entry.endpoint.contains("/tiles/households")
            && r.entry.params.contains("/tiles/households/12/")));
}

/// Alters audit record `id` behind Lentera's back (the append-only guard lifted first, as an
/// intruder with database access would).
fn tamper_sqlite(dir: &Path, id: i64) {
    let c = rusqlite::Connection::open(dir.join("lentera.sqlite")).unwrap();
    c.execute_batch(&format!(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET count = count + 1 WHERE id = {id};"
    ))
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_caller_as_its_role_allows_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let data = dir.path().to_str().unwrap().to_string();
    let cli = ["--data-dir", data.as_str()];
    check_store(store.clone(), &cli).await;
    // One record altered: verify names it.
    let reads = store
        .audit(
            &AuditFilter {
                action: Some(AuditAction::HouseholdRead),
                ..Default::default()
            },
            0,
            1,
        )
        .await
        .unwrap();
    let id = reads[0].id;
    tamper_sqlite(dir.path(), id);
    let out = common::lentera_with(&cli, &["audit", "verify"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("audit record {id} was altered")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_caller_as_its_role_allows_on_postgis() {
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    let cli = ["--database-url", url.as_str()];
    check_store(store.clone(), &cli).await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let id: i64 = client
        .query_one(
            "SELECT max(id) FROM audit_log WHERE action = 'household_read'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let direct = client
        .execute(
            "UPDATE audit_log SET purpose = 'lain' WHERE id = $1",
            &[&id],
        )
        .await;
    assert!(direct.is_err(), "the trail refuses updates");
    client
        .batch_execute(&format!(
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
             UPDATE audit_log SET purpose = 'lain' WHERE id = {id};"
        ))
        .await
        .unwrap();
    let out = common::lentera_with(&cli, &["audit", "verify"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("audit record {id} was altered")),
        "{err}"
    );
}

/// A POST/DELETE of `/api/session` with optional cookie and CSRF header, from `addr`.
fn session_request(
    method: Method,
    body: Option<(&str, &str)>,
    cookie: Option<&str>,
    csrf: Option<&str>,
    addr: Option<SocketAddr>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri("/api/session");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    let body = body.map_or_else(Body::empty, |(u, p)| {
        Body::from(serde_json::json!({ "username": u, "password": p }).to_string())
    });
    let mut req = req
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    if let Some(a) = addr {
        req.extensions_mut().insert(ConnectInfo(a));
    }
    req
}

/// Logs in; returns the `Cookie` value and the CSRF token.
async fn login(w: &World, user: &str) -> (String, String) {
    let (status, body, headers) = w
        .send(session_request(
            Method::POST,
            Some((user, PASSWORD)),
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let v: Value = serde_json::from_slice(&body).unwrap();
    (cookie, v["csrf"].as_str().unwrap().to_string())
}

async fn get_with_cookie(w: &World, uri: &str, cookie: &str) -> (StatusCode, Value) {
    let req = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = w.send(req).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_sessions_are_strict_expire_and_die_with_their_user() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let w = world(
        store.clone(),
        AuthConfig {
            cache_for: Duration::ZERO,
            session_max: Duration::from_secs(2),
            address_limit: 8,
            ..Default::default()
        },
    )
    .await;

    // The cookie: HttpOnly, SameSite=Strict, whole site, not Secure over plain HTTP.
    let (status, body, headers) = w
        .send(session_request(
            Method::POST,
            Some(("op.samarinda", PASSWORD)),
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"));
    assert!(!String::from_utf8_lossy(&body).contains(PASSWORD));
    let (cookie, csrf) = login(&w, "op.samarinda").await;
    let (_, me) = get_with_cookie(&w, "/api/session", &cookie).await;
    assert_eq!(me["username"], "op.samarinda");
    assert_eq!(me["role"], "operator");
    assert_eq!(me["scope"][0], "64.72");
    assert_eq!(me["households"], true);
    let (status, _) = get_with_cookie(&w, "/api/export/households.geojson", &cookie).await;
    assert_eq!(status, StatusCode::OK);

    // Logging out needs the CSRF token.
    let (status, _, _) = w
        .send(session_request(
            Method::DELETE,
            None,
            Some(&cookie),
            None,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = w
        .send(session_request(
            Method::DELETE,
            None,
            Some(&cookie),
            Some("salah"),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, headers) = w
        .send(session_request(
            Method::DELETE,
            None,
            Some(&cookie),
            Some(&csrf),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (_, me) = get_with_cookie(&w, "/api/session", &cookie).await;
    assert!(me["username"].is_null(), "logged out: {me}");
    let (status, _) = get_with_cookie(&w, "/api/export/households.csv", &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Sessions end at their absolute limit.
    let (cookie, _) = login(&w, "op.samarinda").await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (_, me) = get_with_cookie(&w, "/api/session", &cookie).await;
    assert!(me["username"].is_null(), "expired: {me}");

    // A disabled user's session dies at once.
    let (cookie, _) = login(&w, "op.balikpapan").await;
    store
        .change_user(
            &UserName::parse("op.balikpapan").unwrap(),
            &UserChange::Disable,
        )
        .await
        .unwrap();
    let (status, _) = get_with_cookie(&w, "/api/export/households.csv", &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = w
        .send(session_request(
            Method::POST,
            Some(("op.balikpapan", PASSWORD)),
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Five wrong passwords lock the account, even for the right one, until an admin lifts it.
    for _ in 0..5 {
        let (status, _, _) = w
            .send(session_request(
                Method::POST,
                Some(("viewer", "salah-salah-salah")),
                None,
                None,
                None,
            ))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body, _) = w
        .send(session_request(
            Method::POST,
            Some(("viewer", PASSWORD)),
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(String::from_utf8_lossy(&body).contains("locked"));
    store
        .change_user(&UserName::parse("viewer").unwrap(), &UserChange::Unlock)
        .await
        .unwrap();
    login(&w, "viewer").await;

    // One address guessing many names is refused after the limit.
    let addr: SocketAddr = "203.0.113.7:40000".parse().unwrap();
    let mut last = StatusCode::OK;
    for i in 0..9 {
        let name = format!("tebak{i}");
        let (status, _, _) = w
            .send(session_request(
                Method::POST,
                Some((&name, "salah-salah-salah")),
                None,
                None,
                Some(addr),
            ))
            .await;
        last = status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let other: SocketAddr = "203.0.113.8:40000".parse().unwrap();
    let (status, _, _) = w
        .send(session_request(
            Method::POST,
            Some(("admin", PASSWORD)),
            None,
            None,
            Some(other),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Each failure is in the trail, without the password tried.
    w.state.audit.flush().await;
    let failed = store
        .audit(
            &AuditFilter {
                action: Some(AuditAction::LoginFailed),
                ..Default::default()
            },
            0,
            1000,
        )
        .await
        .unwrap();
    assert!(failed.len() >= 5 + 9);
    assert!(failed
        .iter()
        .all(|r| !format!("{r:?}").contains("salah-salah")));
    assert!(
        failed.iter().all(|r| !format!("{r:?}").contains("tebak")),
        "unknown names are not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_server_needs_a_login_and_small_counts_stay_hidden_from_the_public() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let w = world(store.clone(), AuthConfig::default()).await;

    // Desa of Samarinda with 1–4 households: hidden for anonymous and viewer, exact for others.
    let uri = "/api/indicators?level=desa&parent=64.72";
    let (_, public) = common::get_json(&w.app, uri).await;
    let (_, viewer) = {
        let (s, b) = w.get(Who::Viewer, uri).await;
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    let (_, exact) = {
        let (s, b) = w.get(Who::Operator6472, uri).await;
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    let exact = exact.as_array().unwrap();
    let small: Vec<&Value> = exact
        .iter()
        .filter(|d| {
            d["households"]
                .as_u64()
                .is_some_and(|n| (1..=4).contains(&n))
        })
        .collect();
    assert!(
        !small.is_empty(),
        "the fixture has desa with 1–4 households"
    );
    for rows in [&public, &viewer] {
        for d in rows.as_array().unwrap() {
            let e = exact.iter().find(|x| x["kode"] == d["kode"]).unwrap();
            let n = e["households"].as_u64().unwrap_or(0);
            if (1..=4).contains(&n) {
                assert_eq!(d["suppressed"], true, "{}", d["kode"]);
                assert!(d["households"].is_null() && d["desil_1"].is_null() && d["pkh"].is_null());
            } else {
                assert_eq!(d["suppressed"], false);
                assert_eq!(d["households"], e["households"]);
            }
        }
    }
    assert!(exact.iter().all(|d| d["suppressed"] == false));
    // The same rule in the choropleth, the OGC items and the GeoJSON export.
    let kode = small[0]["kode"].as_str().unwrap();
    let (_, ch) = common::get_json(
        &w.app,
        "/api/choropleth?level=desa&parent=64.72&indicator=households",
    )
    .await;
    let unit = ch["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kode"] == kode)
        .unwrap();
    assert_eq!(unit["suppressed"], true);
    assert!(unit["value"].is_null());
    assert!(ch["suppressed"].as_u64().unwrap() >= small.len() as u64);
    let (_, item) = common::get_json(&w.app, &format!("/ogc/collections/desa/items/{kode}")).await;
    assert_eq!(item["properties"]["suppressed"], true);
    assert!(item["properties"]["households"].is_null());
    let (_, item) = {
        let (s, b) = w
            .get(Who::Admin, &format!("/ogc/collections/desa/items/{kode}"))
            .await;
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    assert_eq!(item["properties"]["households"], small[0]["households"]);

    // A private server: the page, the help and the login only.
    let private = AppState::new(
        Live::load(store.clone()).await.unwrap(),
        ServerOptions {
            auth: AuthConfig {
                private: true,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let app = router_over(private);
    for (uri, status) in [
        ("/", StatusCode::OK),
        ("/api/session", StatusCode::OK),
        ("/healthz", StatusCode::OK),
        // The help page and the indicator names it lists hold no figure.
        ("/bantuan", StatusCode::OK),
        ("/api/fields", StatusCode::OK),
        ("/api/indicators", StatusCode::UNAUTHORIZED),
        ("/tiles/kabupaten/0/0/0.mvt", StatusCode::UNAUTHORIZED),
        ("/ogc/collections", StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(common::fetch(&app, uri, &[]).await.status, status, "{uri}");
    }
    let bearer = format!("Bearer {}", Who::Viewer.token().unwrap());
    let got = common::fetch(
        &app,
        "/api/indicators",
        &[(header::AUTHORIZATION, bearer.as_str())],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
}
