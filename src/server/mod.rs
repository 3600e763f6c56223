//! The HTTP server (axum): health, the region API, the verval template and the web page.

pub mod templates;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::region::{Kode, Level, RegionInfo};
use crate::store::{RegionFilter, Store, StoreError};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The store the server reads.
    pub store: Arc<dyn Store>,
}

/// An API error: a status and a message in words, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!(error = %e, "store error");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the data store is not available".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// Builds the router over a store.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/api/regions", get(list_regions))
        .route("/api/regions/{kode}", get(region_detail))
        .route("/api/templates/{file}", get(template))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(AppState { store })
}

/// Serves `store` on `addr` until Ctrl-C.
pub async fn serve(store: Arc<dyn Store>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Lentera listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(store))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

async fn index() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(include_str!("../../web/index.html")),
    )
}

async fn healthz(State(st): State<AppState>) -> Response {
    let report = async {
        Ok::<_, StoreError>(json!({
            "status": "ok",
            "backend": st.store.backend(),
            "schema_version": st.store.schema_version().await?,
            "dataset": st.store.get_meta("dataset").await?,
            "regions": st.store.region_counts().await?,
        }))
    };
    match report.await {
        Ok(body) => Json(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "error", "backend": st.store.backend() })),
            )
                .into_response()
        }
    }
}

async fn template(Path(file): Path<String>) -> Result<Response, ApiError> {
    let disposition = |name: &str| format!("attachment; filename=\"{name}\"");
    match file.as_str() {
        "verval.csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    disposition("templat-verval.csv"),
                ),
            ],
            templates::verval_csv(),
        )
            .into_response()),
        "verval.xlsx" => {
            let bytes = templates::verval_xlsx().map_err(|e| {
                tracing::error!(error = %e, "cannot build the verval template");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "the template cannot be built".into(),
                }
            })?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        disposition("templat-verval.xlsx"),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Err(ApiError::not_found("templates: verval.xlsx, verval.csv")),
    }
}

fn parse_level(q: &HashMap<String, String>) -> Result<Option<Level>, ApiError> {
    q.get("level")
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Level>()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .transpose()
}

fn parse_kode(s: &str) -> Result<Kode, ApiError> {
    Kode::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn list_regions(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<RegionInfo>>, ApiError> {
    let filter = RegionFilter {
        level: parse_level(&q)?,
        parent: q
            .get("parent")
            .filter(|s| !s.is_empty())
            .map(|s| parse_kode(s))
            .transpose()?,
    };
    Ok(Json(st.store.list_regions(&filter).await?))
}

/// A unit with its parents (top down) and its direct children.
#[derive(Serialize)]
struct RegionDetail {
    #[serde(flatten)]
    region: RegionInfo,
    parents: Vec<RegionInfo>,
    children: Vec<RegionInfo>,
}

async fn region_detail(
    State(st): State<AppState>,
    Path(kode): Path<String>,
) -> Result<Json<RegionDetail>, ApiError> {
    let kode = parse_kode(&kode)?;
    let region = st
        .store
        .get_region(kode)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no region with code {kode}")))?;
    let mut parents = Vec::new();
    for p in kode.ancestors() {
        if let Some(r) = st.store.get_region(p).await? {
            parents.push(r.info());
        }
    }
    let children = match kode.level().child() {
        Some(level) => {
            st.store
                .list_regions(&RegionFilter {
                    level: Some(level),
                    parent: Some(kode),
                })
                .await?
        }
        None => Vec::new(),
    };
    Ok(Json(RegionDetail {
        region: region.info(),
        parents,
        children,
    }))
}
