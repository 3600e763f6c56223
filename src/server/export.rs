//! `GET /api/export/{level}.{geojson|csv|xlsx|gpkg}`: units with their indicators as a
//! download; GeoJSON and CSV streamed while they are written.

use std::collections::HashMap;
use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::{parse_kode, ApiError, AppState};
use crate::aggregate::indicators::is_indicator;
use crate::export::{
    select, stream_households, write_csv, write_geojson, write_households_csv,
    write_households_geojson, HouseholdFilter, Threshold, UnitFilter,
};
use crate::region::Level;

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

/// Reads `bbox=w,s,e,n`.
pub(crate) fn parse_bbox(s: &str) -> Result<[f64; 4], ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad_request("bbox must be four numbers: west,south,east,north"))?;
    match v.as_slice() {
        [w, s, e, n] if w <= e && s <= n => Ok([*w, *s, *e, *n]),
        _ => Err(ApiError::bad_request(
            "bbox must be four numbers: west,south,east,north",
        )),
    }
}

/// Reads `min_{indicator}=v` and `max_{indicator}=v`.
fn thresholds(q: &HashMap<String, String>) -> Result<Vec<Threshold>, ApiError> {
    let mut out: Vec<Threshold> = Vec::new();
    for (k, v) in q {
        let (name, is_min) = match (k.strip_prefix("min_"), k.strip_prefix("max_")) {
            (Some(n), _) => (n, true),
            (_, Some(n)) => (n, false),
            _ => continue,
        };
        if !is_indicator(name) {
            return Err(ApiError::bad_request(format!(
                "unknown indicator `{name}` in {k}"
            )));
        }
        let value: f64 = v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{k} must be a number")))?;
        let entry = match out.iter_mut().find(|(n, _, _)| n == name) {
            Some(e) => e,
            None => {
                out.push((name.to_string(), None, None));
                out.last_mut().expect("just pushed")
            }
        };
        if is_min {
            entry.1 = Some(value);
        } else {
            entry.2 = Some(value);
        }
    }
    Ok(out)
}

/// `GET /api/export/{level}.{geojson|csv}?parent=&period=&bbox=&min_…=&max_…=&geometry=wkt|point`
pub async fn export(
    State(st): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (level, ext) = file
        .split_once('.')
        .ok_or_else(|| ApiError::not_found("exports: /api/export/{level}.geojson or .csv"))?;
    if level == "households" {
        return match super::tiles::token_scope(&st, &headers) {
            Ok(scope) => export_households(st, ext, scope, q).await,
            Err(refused) => Ok(*refused),
        };
    }
    let level: Level = level
        .parse()
        .map_err(|e: crate::region::UnknownLevel| ApiError::bad_request(e.to_string()))?;
    let snap = st.live.snapshot();
    let (period, _) = super::indicators::periods(&snap, &q)?;
    let period_name = period.map(|p| p.period.clone());
    let parent_kode = q
        .get("parent")
        .filter(|s| !s.is_empty())
        .map(|s| parse_kode(s))
        .transpose()?;
    let parent = match parent_kode {
        None => None,
        Some(k) => Some(
            snap.unit_index(k)
                .ok_or_else(|| ApiError::not_found(format!("no region with code {k}")))?,
        ),
    };
    let filter = UnitFilter {
        level,
        parent,
        bbox: q.get("bbox").map(|b| parse_bbox(b)).transpose()?,
        thresholds: thresholds(&q)?,
    };
    let (content_type, wkt) = match (ext, q.get("geometry").map(String::as_str)) {
        ("geojson", _) => ("application/geo+json", false),
        ("xlsx", _) => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            false,
        ),
        ("gpkg", _) => ("application/geopackage+sqlite3", false),
        ("csv", None | Some("wkt")) => ("text/csv; charset=utf-8", true),
        ("csv", Some("point")) => ("text/csv; charset=utf-8", false),
        ("csv", Some(_)) => return Err(ApiError::bad_request("geometry must be wkt or point")),
        _ => {
            return Err(ApiError::not_found(
                "exports: .geojson, .csv, .xlsx or .gpkg",
            ))
        }
    };
    let name = format!(
        "lentera-{}{}{}.{ext}",
        level.as_str(),
        parent_kode.map(|k| format!("-{k}")).unwrap_or_default(),
        period_name.map(|p| format!("-{p}")).unwrap_or_default()
    );
    let disposition = format!("attachment; filename=\"{name}\"");
    if ext == "xlsx" || ext == "gpkg" {
        // Whole-file formats: built in memory (a table of units, not of households).
        let table = level.as_str();
        let xlsx = ext == "xlsx";
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            let period = period_name_of(&snap, &q);
            let units = select(&snap, &filter, period);
            if xlsx {
                crate::export::xlsx_bytes(&snap, &units, period, table).map_err(|e| e.to_string())
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
        return Ok((
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            bytes,
        )
            .into_response());
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let geojson = ext == "geojson";
    tokio::task::spawn_blocking(move || {
        let period = period_name_of(&snap, &q);
        let units = select(&snap, &filter, period);
        let mut w = ChannelWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let written = if geojson {
            write_geojson(&snap, &units, period, &mut w)
        } else {
            write_csv(&snap, &units, period, wkt, &mut w)
        };
        let done = written
            .map_err(std::io::Error::other)
            .and_then(|_| w.flush());
        if let Err(e) = done {
            tracing::warn!(error = %e, "export stopped");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /api/export/households.{geojson|csv}?period=&parent=&bbox=` for a bearer token: the
/// households of one period inside the token's units (NIK and KK masked), streamed from the
/// store.
async fn export_households(
    st: AppState,
    ext: &str,
    scope: crate::tiles::Scope,
    q: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let content_type = match ext {
        "geojson" => "application/geo+json",
        "csv" => "text/csv; charset=utf-8",
        _ => return Err(ApiError::not_found("household exports: .geojson or .csv")),
    };
    let snap = st.live.snapshot();
    let (period, _) = super::indicators::periods(&snap, &q)?;
    let period = period
        .map(|p| p.period.clone())
        .ok_or_else(|| ApiError::not_found("no households are loaded"))?;
    let filter = HouseholdFilter {
        scope,
        parent: q
            .get("parent")
            .filter(|s| !s.is_empty())
            .map(|s| parse_kode(s))
            .transpose()?,
        bbox: q.get("bbox").map(|b| parse_bbox(b)).transpose()?,
    };
    let batches = snap.batch_ids_of(&period);
    let mut chunks = stream_households(st.live.store().clone(), batches);
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let geojson = ext == "geojson";
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let source = std::iter::from_fn(|| chunks.blocking_recv());
        let written = if geojson {
            write_households_geojson(source, &filter, &mut w)
        } else {
            write_households_csv(source, &filter, &mut w)
        };
        let done = written
            .map_err(std::io::Error::other)
            .and_then(|_| w.flush());
        if let Err(e) = done {
            tracing::warn!(error = %e, "household export stopped");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let disposition = format!("attachment; filename=\"lentera-households-{period}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The period a query names (already checked to exist), or the latest.
fn period_name_of<'a>(
    snap: &'a crate::aggregate::Snapshot,
    q: &HashMap<String, String>,
) -> Option<&'a crate::aggregate::snapshot::PeriodIndicators> {
    snap.period(
        q.get("period")
            .filter(|p| !p.is_empty())
            .map(String::as_str),
    )
}
