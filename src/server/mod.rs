//! The HTTP server (axum): health, the region and indicator API, choropleths, exports, vector
//! tiles, OGC API – Features, the verval template and the web page.
//!
//! Requests are typed at the edge: query strings through [`query::ApiQuery`], household
//! access through the [`auth::HouseholdScope`] extractor, errors through [`ApiError`].

pub mod audit;
pub mod auth;
pub mod batches;
pub mod choropleth;
pub mod error;
pub mod export;
pub mod fonts;
pub mod indicators;
mod linger;
pub mod live;
pub mod mapimage;
pub mod metrics;
pub mod ogc;
pub mod openapi;
pub mod profile;
pub mod programs;
pub mod pyramid;
pub mod query;
pub mod rounds;
pub mod session;
pub mod sources;
pub mod table;
pub mod targets;
pub mod templates;
pub mod tiles;
pub mod trends;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::region::{Kode, Level, RegionInfo};
use crate::store::{RegionFilter, StoreError};
use query::{parsed, ApiQuery};

pub use error::ApiError;
pub use live::Live;

/// Shared state of the handlers: one reference-counted pointer, since every request clones it
/// several times (each extractor and middleware that reads state) and a clone of a dozen
/// shared pointers, contended across cores, was a tenth of what a cached tile costs.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct SharedState {
    /// The store and its current snapshot.
    pub live: Live,
    /// Encoded tiles, keyed by snapshot generation (a new snapshot never meets old tiles).
    pub tile_cache: tiles::TileCache,
    /// Accounts, sessions and login limits.
    pub auth: Arc<auth::Auth>,
    /// The audit trail's writer.
    pub audit: audit::AuditLog,
    /// MapLibre GL JS for the web map.
    pub vendor: web::Vendor,
    /// Uploads of household files: where they go, their limit, and those in progress.
    pub uploads: Arc<batches::Uploads>,
    /// What each batch holds, per store generation (the round status reads it often).
    pub batch_stats: moka::sync::Cache<(i64, u64), Arc<batches::BatchStats>>,
    /// The fonts map labels are drawn with.
    pub fonts: Arc<crate::tiles::glyphs::Fonts>,
    /// Glyph ranges drawn so far.
    pub glyph_cache: fonts::GlyphCache,
    /// The same fonts for the text of static maps.
    pub map_fonts: Arc<resvg::usvg::fontdb::Database>,
}

/// What the server is started with besides its store.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Logins, sessions, private mode and small-count suppression.
    pub auth: auth::AuthConfig,
    /// Bytes of encoded tiles kept in memory.
    pub tile_cache_bytes: u64,
    /// Most public boundary tiles pre-rendered per snapshot ([`pyramid`]); 0: none.
    pub prerender_tiles: usize,
    /// The web directory holding `node_modules/maplibre-gl` (see [`web::web_dir_from_env`]).
    pub web_dir: std::path::PathBuf,
    /// After SIGTERM or Ctrl-C, how long requests in flight may take to finish.
    pub grace: Duration,
    /// Uploads of household files.
    pub uploads: batches::UploadOptions,
    /// Longest wait for a request's headers (slow clients are dropped).
    pub header_timeout: Duration,
    /// Font files and directories for map labels (see
    /// [`crate::tiles::glyphs::font_paths_from_env`]).
    pub font_paths: Vec<std::path::PathBuf>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            auth: auth::AuthConfig::default(),
            tile_cache_bytes: tiles::DEFAULT_CACHE_BYTES,
            prerender_tiles: pyramid::DEFAULT_PRERENDER_TILES,
            web_dir: web::web_dir_from_env(),
            grace: Duration::from_secs(30),
            uploads: batches::UploadOptions::default(),
            header_timeout: Duration::from_secs(15),
            font_paths: crate::tiles::glyphs::font_paths_from_env(),
        }
    }
}

impl ServerOptions {
    /// What the server pre-renders: the public tiles, as a reader without an account sees
    /// them (pass it to [`Live::prerender`]).
    pub fn prerender(&self) -> pyramid::Prerender {
        pyramid::Prerender {
            budget: self.prerender_tiles,
            disclosure: crate::aggregate::Disclosure {
                suppress_upto: self.auth.suppress_upto,
            },
        }
    }
}

/// Builds the router over a live snapshot with the default options.
pub fn router(live: Live) -> Router {
    router_with(live, ServerOptions::default())
}

impl AppState {
    /// The handlers' state over a live snapshot with `options` (starts the audit writer:
    /// call inside a tokio runtime).
    pub fn new(live: Live, options: ServerOptions) -> AppState {
        let audit = audit::AuditLog::start(live.store().clone());
        AppState::with_audit(live, options, audit)
    }

    /// As [`AppState::new`], with the audit trail written by `audit`.
    pub fn with_audit(live: Live, options: ServerOptions, audit: audit::AuditLog) -> AppState {
        AppState(Arc::new(SharedState {
            audit,
            live,
            tile_cache: tiles::tile_cache(options.tile_cache_bytes),
            auth: Arc::new(auth::Auth::new(options.auth)),
            vendor: web::Vendor::new(&options.web_dir),
            uploads: Arc::new(batches::Uploads::new(options.uploads)),
            batch_stats: moka::sync::Cache::new(256),
            fonts: Arc::new(crate::tiles::glyphs::Fonts::discover(&options.font_paths)),
            glyph_cache: fonts::glyph_cache(),
            map_fonts: crate::render::font_database(&options.font_paths),
        }))
    }
}

/// Builds the router over a live snapshot with `options`.
pub fn router_with(live: Live, options: ServerOptions) -> Router {
    router_over(AppState::new(live, options))
}

/// Builds the router over the handlers' state (keep a clone of the state to flush its audit
/// writer).
pub fn router_over(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/app.js", get(web::script))
        .route("/verval.js", get(web::verval_script))
        .route("/programs.js", get(web::programs_script))
        .route("/app.css", get(web::style))
        .route("/bantuan", get(web::help))
        .route("/bantuan.js", get(web::help_script))
        .route("/vendor/{file}", get(web::vendor))
        .route("/api/search", get(web::search))
        .route("/healthz", get(healthz))
        .route(
            "/api/session",
            get(session::current)
                .post(session::login)
                .delete(session::logout),
        )
        .route(
            "/api/batches",
            get(batches::list)
                .post(batches::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/batches/{id}",
            get(batches::one).delete(batches::remove),
        )
        .route(
            "/api/batches/{id}/review",
            get(batches::review).post(batches::correct),
        )
        .route("/api/batches/{id}/preview", get(batches::preview))
        .route(
            "/api/batches/{id}/{file}",
            get(batches::rejects).post(batches::step),
        )
        .route("/api/uploads/{id}", get(batches::progress))
        .route("/api/programs", get(programs::list).post(programs::add))
        .route(
            "/api/programs/{id}",
            get(programs::one).delete(programs::remove),
        )
        .route("/api/programs/{id}/list", post(programs::upload_list))
        .route("/api/programs/{id}/coverage", get(programs::coverage))
        .route("/api/targeting", get(programs::targeting))
        .route("/api/targeting/households", get(programs::target_list))
        .route(
            "/api/target-lists",
            get(programs::saved).post(programs::save),
        )
        .route("/api/target-lists/{id}/compare", get(programs::compare))
        .route("/api/rounds", get(rounds::list).post(rounds::open))
        .route("/api/rounds/{period}", get(rounds::status))
        .route("/api/rounds/{period}/close", post(rounds::close))
        .route("/api/rounds/{period}/status.xlsx", get(rounds::status_xlsx))
        .route("/api/audit", get(audit::audit))
        .route("/api/users", get(audit::users))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route("/api/indicators", get(indicators::indicators))
        .route("/api/periods", get(indicators::periods_list))
        .route("/api/choropleth", get(choropleth::choropleth))
        .route("/api/targets", get(targets::targets))
        .route("/api/goals", get(trends::list))
        .route("/api/map.png", get(mapimage::map_png))
        .route("/api/profile/{file}", get(profile::profile))
        .route("/api/trend", get(trends::trend_of))
        .route("/api/fields", get(web::fields))
        .route("/api/export/households.csv", get(export::households_csv))
        .route(
            "/api/export/households.geojson",
            get(export::households_geojson),
        )
        .route("/api/export/{file}", get(export::export))
        .route("/api/reconciliation", get(indicators::reconciliation))
        .route("/api/sources", get(sources::sources))
        .route("/api/transitions", get(sources::transitions))
        .route("/api/regions", get(list_regions))
        .route("/api/regions/{kode}", get(indicators::region_detail))
        .route("/api/templates/{file}", get(template))
        .route(
            "/tiles/households/{z}/{x}/{file}",
            get(tiles::household_tile),
        )
        .route("/tiles/{layer}/{z}/{x}/{file}", get(tiles::tile))
        .route("/tiles/{name}", get(tiles::tilejson))
        .route("/style.json", get(tiles::style))
        .route("/fonts.json", get(fonts::list))
        .route("/fonts/{fontstack}/{range}", get(fonts::glyphs))
        .route("/ogc", get(ogc::landing))
        .route("/ogc/", get(ogc::landing))
        .route("/ogc/api", get(ogc::api))
        .route("/ogc/conformance", get(ogc::conformance))
        .route("/ogc/collections", get(ogc::collections))
        .route(
            "/ogc/collections/households",
            get(ogc::household_collection),
        )
        .route(
            "/ogc/collections/households/schema",
            get(ogc::household_schema),
        )
        .route("/ogc/collections/{id}", get(ogc::collection_by_id))
        .route("/ogc/collections/{id}/schema", get(ogc::schema))
        .route(
            "/ogc/collections/households/items",
            get(ogc::household_items),
        )
        .route(
            "/ogc/collections/households/items/{feature}",
            get(ogc::household_item),
        )
        .route("/ogc/collections/{id}/items", get(ogc::items))
        .route("/ogc/collections/{id}/items/{feature}", get(ogc::item))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::resolve,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `live` on `addr` until Ctrl-C or SIGTERM (then finishing requests in flight for
/// the grace period), checking the store for changes every `refresh`.
pub async fn serve(
    live: Live,
    addr: SocketAddr,
    refresh: Duration,
    options: ServerOptions,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Lentera listening on http://{}", listener.local_addr()?);
    let refresher = live.spawn_refresher(refresh);
    live.prerender(options.prerender());
    live.prepare_tiles();
    let grace = options.grace;
    let header_timeout = options.header_timeout;
    match batches::remove_stale_uploads(&options.uploads.dir) {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            files = n,
            "removed uploads left by a server that did not stop cleanly"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot clear the upload directory"),
    }
    let state = AppState::new(live, options);
    // Read MapLibre now: the first map does not wait for it, and a missing install is logged.
    state.vendor.is_complete();
    let app = router_over(state.clone());
    let (stopping, mut stop) = tokio::sync::watch::channel(false);
    let limits = ConnectionLimits { header_timeout };
    let accepting = accept_loop(listener, app, limits, stopping.subscribe());
    let signal = async move {
        stop_signal().await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "stopping: no new connections; finishing requests in flight"
        );
        let _ = stopping.send(true);
    };
    let served = async move { tokio::join!(accepting, signal).0 };
    // Requests in flight get the grace period; then the server stops regardless.
    let overdue = async move {
        let _ = stop.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    let served = tokio::select! {
        r = served => r,
        () = overdue => {
            tracing::warn!("requests still in flight after the grace period were cut off");
            Ok(())
        }
    };
    refresher.abort();
    // Records batched for the audit trail are written before the process ends.
    state.audit.flush().await;
    tracing::info!("stopped");
    served
}

/// What a connection may take before it is dropped.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    /// Longest wait for a request's headers once a connection is open or idle between
    /// requests: a client that trickles its headers (slowloris) does not hold a connection.
    header_timeout: Duration,
}

/// Most bytes of a request's head (request line and headers); past it the answer is `431`.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Accepts connections until `stop` turns true, serving each with hyper's HTTP/1 under
/// `limits` (axum's own `serve` has no header timeout), each request carrying the client's
/// address as `ConnectInfo`; then asks every connection to finish its request in flight and
/// waits for them.
/// Until `stop` turns true (or its sender is gone). Returns nothing, so the borrow of the
/// watched value never lives in a `select!` (it would make the serving future not `Send`).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    // Every connection task holds a receiver; the loop waits until all are dropped.
    let (closed_tx, closed_rx) = tokio::sync::watch::channel(());
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let app = app.clone();
        let mut stop = stop.clone();
        let closed = closed_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(addr));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            let conn =
                builder.serve_connection(TokioIo::new(linger::Lingering::new(stream)), service);
            let mut conn = std::pin::pin!(conn);
            let stopping = tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    false
                }
                () = stopped(&mut stop) => true,
            };
            if stopping {
                // The request in flight finishes; the connection takes no other.
                conn.as_mut().graceful_shutdown();
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            drop(closed);
        });
    }
    drop(closed_rx);
    closed_tx.closed().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (systemd, container runtimes) where there is one.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn healthz(State(st): State<AppState>) -> Response {
    let store = st.live.store();
    let snapshot = st.live.snapshot();
    let pyramid = st
        .live
        .pyramid()
        .filter(|p| p.generation() == snapshot.generation);
    let report = async {
        Ok::<_, StoreError>(json!({
            "status": "ok",
            "backend": store.backend(),
            "schema_version": store.schema_version().await?,
            "dataset": store.get_meta("dataset").await?,
            "regions": store.region_counts().await?,
            "snapshot": {
                "generation": snapshot.generation,
                "households": snapshot.households().len(),
                "periods": snapshot.periods().iter().map(|p| p.period).collect::<Vec<_>>(),
            },
            "tiles": {
                "prepared": st.live.tiles_prepared(),
                "prerendered": pyramid.as_ref().map_or(0, |p| p.len()),
                "prerendered_mib": pyramid.as_ref().map_or(0.0, |p| p.bytes() as f64 / f64::from(1 << 20)),
            },
        }))
    };
    match report.await {
        Ok(body) => Json(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "error", "backend": store.backend() })),
            )
                .into_response()
        }
    }
}

async fn template(Path(file): Path<String>) -> Result<Response, ApiError> {
    let disposition = |name: &str| format!("attachment; filename=\"{name}\"");
    let (content_type, name, bytes) = match file.as_str() {
        "verval.csv" => (
            "text/csv; charset=utf-8",
            "templat-verval.csv",
            templates::verval_csv().into_bytes(),
        ),
        "verval.xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "templat-verval.xlsx",
            templates::verval_xlsx().map_err(ApiError::internal)?,
        ),
        _ => return Err(ApiError::not_found("templates: verval.xlsx, verval.csv")),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition(name)),
        ],
        bytes,
    )
        .into_response())
}

/// The query of `/api/regions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsQuery {
    /// Only units of this level.
    #[serde(default, deserialize_with = "parsed")]
    level: Option<Level>,
    /// Only units inside this one.
    #[serde(default, deserialize_with = "parsed")]
    parent: Option<Kode>,
}

async fn list_regions(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<RegionsQuery>,
) -> Result<Json<Vec<RegionInfo>>, ApiError> {
    let filter = RegionFilter {
        level: q.level,
        parent: q.parent,
    };
    Ok(Json(st.live.store().list_regions(&filter).await?))
}
