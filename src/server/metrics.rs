//! `/metrics` in the Prometheus text format, for admins (a Prometheus job sends an admin's
//! personal token as its bearer token): requests and latency per route, the snapshot's
//! generation, size and age, the tile cache's hits and size, and the audit writer's lag —
//! records waiting to be appended and how long appends take.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::auth::Admin;
use super::error::ApiError;
use super::AppState;

/// Latency buckets, in seconds: tiles answer in well under a millisecond from the cache,
/// exports take seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// The process's recorder (installed once; several servers in one process share it).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are not recorded");
                    None
                }
            }
        })
        .as_ref()
}

/// The counters (one per status class, 1xx–5xx) and the latency histogram of one route.
struct RouteMetrics {
    requests: [metrics::Counter; 5],
    latency: metrics::Histogram,
}

impl RouteMetrics {
    fn new(route: &str) -> RouteMetrics {
        RouteMetrics {
            requests: ["1xx", "2xx", "3xx", "4xx", "5xx"].map(|status| {
                metrics::counter!("lentera_http_requests_total", "route" => route.to_string(), "status" => status)
            }),
            latency: metrics::histogram!("lentera_http_request_duration_seconds", "route" => route.to_string()),
        }
    }
}

/// The metrics of `route`, registered on its first request: a lookup in the recorder's
/// registry builds and hashes the labels each time, which costs as much as serving a cached
/// tile; a route is a fixed pattern (`/tiles/{layer}/{z}/{x}/{file}`), so the map stays small.
/// Each is kept for the life of the process (leaked once per route: no reference count to
/// bump per request).
fn route_metrics(route: &str) -> &'static RouteMetrics {
    type Routes = std::collections::HashMap<Box<str>, &'static RouteMetrics>;
    static ROUTES: OnceLock<std::sync::RwLock<Routes>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(m) = routes
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(route)
    {
        return m;
    }
    routes
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(route.into())
        .or_insert_with(|| Box::leak(Box::new(RouteMetrics::new(route))))
}

/// Counts every routed request and its latency by route and status class.
pub async fn track(req: Request, next: Next) -> Response {
    handle();
    let route = route_metrics(
        req.extensions()
            .get::<MatchedPath>()
            .map_or("other", MatchedPath::as_str),
    );
    let started = Instant::now();
    let response = next.run(req).await;
    let class = usize::from(response.status().as_u16() / 100).clamp(1, 5) - 1;
    route.requests[class].increment(1);
    route.latency.record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`, for admins.
pub async fn metrics(State(st): State<AppState>, Admin(_): Admin) -> Result<Response, ApiError> {
    let Some(h) = handle() else {
        return Err(ApiError::internal(
            "the metrics recorder could not be installed",
        ));
    };
    let snap = st.live.snapshot();
    metrics::gauge!("lentera_snapshot_generation").set(snap.generation as f64);
    metrics::gauge!("lentera_snapshot_households").set(snap.households().len() as f64);
    metrics::gauge!("lentera_snapshot_age_seconds").set(st.live.snapshot_age().as_secs_f64());
    metrics::gauge!("lentera_tile_cache_entries").set(st.tile_cache.entry_count() as f64);
    metrics::gauge!("lentera_tile_cache_bytes").set(st.tile_cache.weighted_size() as f64);
    metrics::gauge!("lentera_audit_pending_records").set(st.audit.pending() as f64);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        h.render(),
    )
        .into_response())
}
