//! `GET /api/export/{level}.{geojson|csv|xlsx|gpkg}`: units with their indicators as a
//! download; GeoJSON and CSV streamed while they are written.

use std::collections::BTreeMap;
use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{Caller, HouseholdAccess};
use super::indicators::{period_of, unit_of};
use super::query::{parsed, ApiQuery, BBox};
use super::{ApiError, AppState};
use crate::aggregate::Indicator;
use crate::export::{
    select, stream_households, write_csv, write_geojson, write_households_csv,
    write_households_geojson, Format, HouseholdFilter, Threshold, UnitFilter,
};
use crate::model::Period;
use crate::region::{Kode, Level};

/// Bytes written before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// A writer that sends what it is given, in chunks, to the response body.
struct ChannelWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

/// How a CSV export gives each unit's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsvGeometry {
    /// The outline as WKT.
    #[default]
    Wkt,
    /// A point inside the unit (lon, lat).
    Point,
}

/// The query of a unit export. Besides the named parameters it takes indicator thresholds,
/// `min_{indicator}=` and `max_{indicator}=`, whose names are open.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// Only units inside this one.
    #[serde(default, deserialize_with = "parsed")]
    parent: Option<Kode>,
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// Only units meeting this box.
    bbox: Option<BBox>,
    /// CSV: WKT outlines or points.
    geometry: Option<CsvGeometry>,
    /// `min_…` and `max_…` thresholds.
    #[serde(flatten)]
    thresholds: BTreeMap<String, String>,
}

impl ExportQuery {
    /// The thresholds, each indicator once with its bounds; any other parameter is refused.
    fn thresholds(&self) -> Result<Vec<Threshold>, ApiError> {
        let mut out: Vec<Threshold> = Vec::new();
        for (k, v) in &self.thresholds {
            let (name, is_min) = match (k.strip_prefix("min_"), k.strip_prefix("max_")) {
                (Some(n), _) => (n, true),
                (_, Some(n)) => (n, false),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter `{k}`; known: parent, period, bbox, geometry, \
                         min_{{indicator}}, max_{{indicator}}"
                    )))
                }
            };
            let indicator: Indicator = name
                .parse()
                .map_err(|e| ApiError::bad_request(format!("{k}: {e}")))?;
            let value: f64 = v
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| ApiError::bad_request(format!("{k} must be a number")))?;
            let i = match out.iter().position(|t| t.indicator == indicator) {
                Some(i) => i,
                None => {
                    out.push(Threshold {
                        indicator,
                        min: None,
                        max: None,
                    });
                    out.len() - 1
                }
            };
            if is_min {
                out[i].min = Some(value);
            } else {
                out[i].max = Some(value);
            }
        }
        Ok(out)
    }
}

/// Runs `write` on a blocking thread and streams what it writes as the response body; an
/// error part-way ends the body with an error, never a silently short file.
fn streamed(
    headers: Vec<(header::HeaderName, String)>,
    write: impl FnOnce(&mut ChannelWriter) -> Result<(), String> + Send + 'static,
) -> Response {
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let done = write(&mut w)
            .map_err(std::io::Error::other)
            .and_then(|_| w.flush());
        if let Err(e) = done {
            tracing::warn!(error = %e, "export stopped");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(stream).into_response();
    for (name, value) in headers {
        if let Ok(v) = value.parse() {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// `GET /api/export/{level}.{geojson|csv|xlsx|gpkg}?parent=&period=&bbox=&min_…=&max_…=&geometry=wkt|point`
pub async fn export(
    State(st): State<AppState>,
    Path(file): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let disclosure = caller.disclosure(&st.auth.config);
    let (level, ext) = file
        .split_once('.')
        .ok_or_else(|| ApiError::not_found("exports: /api/export/{level}.geojson or .csv"))?;
    if level == "households" {
        return Err(ApiError::not_found(
            "household exports: /api/export/households.geojson or .csv",
        ));
    }
    let level: Level = level
        .parse()
        .map_err(|e: crate::region::UnknownLevel| ApiError::bad_request(e.to_string()))?;
    let format: Format = ext
        .parse()
        .map_err(|_| ApiError::not_found("exports: .geojson, .csv, .xlsx or .gpkg"))?;
    if q.geometry.is_some() && format != Format::Csv {
        return Err(ApiError::bad_request("geometry= is for CSV exports"));
    }
    let snap = st.live.snapshot();
    let period = period_of(&snap, q.period)?.map(|p| p.period);
    let filter = UnitFilter {
        level,
        parent: q.parent.map(|k| unit_of(&snap, k)).transpose()?,
        bbox: q.bbox.map(|b| b.0),
        thresholds: q.thresholds()?,
    };
    let name = format!(
        "lentera-{}{}{}.{ext}",
        level.as_str(),
        q.parent.map(|k| format!("-{k}")).unwrap_or_default(),
        period.map(|p| format!("-{p}")).unwrap_or_default()
    );
    let headers = vec![
        (header::CONTENT_TYPE, format.content_type().to_string()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
    ];
    let table = level.as_str();
    Ok(match format {
        // Whole-file formats: built in memory (a table of units, not of households).
        Format::Xlsx | Format::Gpkg => {
            let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
                let period = snap.period(period).map(|p| p.disclosed(disclosure));
                let period = period.as_ref();
                let units = select(&snap, &filter, period);
                if format == Format::Xlsx {
                    crate::export::xlsx_bytes(&snap, &units, period, table)
                        .map_err(|e| e.to_string())
                } else {
                    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                    let path = dir.path().join("export.gpkg");
                    crate::export::write_gpkg(&snap, &units, period, table, &path)
                        .map_err(|e| e.to_string())?;
                    std::fs::read(&path).map_err(|e| e.to_string())
                }
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
            let mut response = bytes.into_response();
            for (name, value) in headers {
                if let Ok(v) = value.parse() {
                    response.headers_mut().insert(name, v);
                }
            }
            response
        }
        Format::Geojson | Format::Csv => {
            let wkt = q.geometry.unwrap_or_default() == CsvGeometry::Wkt;
            streamed(headers, move |w| {
                let period = snap.period(period).map(|p| p.disclosed(disclosure));
                let period = period.as_ref();
                let units = select(&snap, &filter, period);
                let written = if format == Format::Geojson {
                    write_geojson(&snap, &units, period, w)
                } else {
                    write_csv(&snap, &units, period, wkt, w)
                };
                written.map_err(|e| e.to_string())
            })
        }
    })
}

/// The query of a household export.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdExportQuery {
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// Only households counted inside this unit.
    #[serde(default, deserialize_with = "parsed")]
    parent: Option<Kode>,
    /// Only households whose point lies in this box.
    bbox: Option<BBox>,
}

/// `GET /api/export/households.csv?period=&parent=&bbox=&purpose=`, for a user who may read
/// household data.
pub async fn households_csv(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<HouseholdExportQuery>,
    access: HouseholdAccess,
) -> Result<Response, ApiError> {
    export_households(st, false, access, q).await
}

/// `GET /api/export/households.geojson?period=&parent=&bbox=&purpose=`, for a user who may
/// read household data.
pub async fn households_geojson(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<HouseholdExportQuery>,
    access: HouseholdAccess,
) -> Result<Response, ApiError> {
    export_households(st, true, access, q).await
}

/// The households of one period inside the caller's scope (NIK and KK masked), streamed from
/// the store; the last bytes go out only once the audit trail holds the export.
async fn export_households(
    st: AppState,
    geojson: bool,
    access: HouseholdAccess,
    q: HouseholdExportQuery,
) -> Result<Response, ApiError> {
    let scope = access.scope.clone();
    let snap = st.live.snapshot();
    let period = period_of(&snap, q.period)?
        .map(|p| p.period)
        .ok_or_else(|| ApiError::not_found("no households are loaded"))?;
    let filter = HouseholdFilter {
        scope,
        parent: q.parent,
        bbox: q.bbox.map(|b| b.0),
    };
    let batches = snap.batch_ids_of(period);
    let mut chunks = stream_households(st.live.reads().clone(), batches);
    let format = if geojson {
        Format::Geojson
    } else {
        Format::Csv
    };
    let (ext, content_type) = (format.extension(), format.content_type());
    let headers = vec![
        (header::CONTENT_TYPE, content_type.to_string()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"lentera-households-{period}.{ext}\""),
        ),
        (header::CACHE_CONTROL, "private, no-store".to_string()),
    ];
    Ok(streamed(headers, move |w| {
        let source = std::iter::from_fn(|| chunks.blocking_recv());
        let written = if geojson {
            write_households_geojson(source, &filter, w)
        } else {
            write_households_csv(source, &filter, w)
        };
        let count = written.map_err(|e| e.to_string())?;
        access.record_durably_blocking(count)
    }))
}
