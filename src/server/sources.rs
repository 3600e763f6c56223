//! `/api/sources` (which batches each unit's figures rest on) and `/api/transitions` (what
//! happened to households between two periods).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::auth::Caller;
use super::indicators::{period_of, periods, UnitsQuery};
use super::query::ApiQuery;
use super::{ApiError, AppState};
use crate::aggregate::{PeriodIndicators, Snapshot};

/// The share `part / whole`, null when `whole` is zero.
fn share(part: u64, whole: u64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!(part as f64 / whole as f64)
    }
}

/// The sources of unit `u` in `period` as JSON: one object per batch counted there (none
/// where the disclosure rule hides the unit's figures).
pub(crate) fn sources_json(snap: &Snapshot, u: u32, period: &PeriodIndicators) -> Vec<Value> {
    if period.suppressed(u) {
        return Vec::new();
    }
    snap.sources_of(u, period.period)
        .map(|(b, s)| {
            json!({
                "batch_id": b.id,
                "file_name": b.file_name,
                "source": b.source,
                "imported_at": b.imported_at,
                "households": s.households,
                "placed_gps": s.placed_gps,
                "placed_code": s.placed_code,
                "placed_names": s.placed_names,
                "flagged": s.flagged,
                "share_gps": share(s.placed_gps, s.households),
                "share_code": share(s.placed_code, s.households),
                "share_names": share(s.placed_names, s.households),
                "share_flagged": share(s.flagged, s.households),
                "states": s.states,
            })
        })
        .collect()
}

/// `GET /api/sources?level=&parent=&period=`: per unit, the batches of the period counted
/// in it (source format, file, import time, households, how they were placed, share flagged,
/// the fields they state).
pub async fn sources(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<UnitsQuery>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    UnitsQuery::refuse(
        q.base.is_some(),
        "base",
        "/api/sources (flows: /api/transitions)",
    )?;
    UnitsQuery::refuse(q.min_households.is_some(), "min_households", "/api/sources")?;
    let snap = st.live.snapshot();
    let (_, units) = q.units(&snap)?;
    let disclosure = caller.disclosure(&st.auth.config);
    let Some(period) = period_of(&snap, q.period)?.map(|p| p.disclosed(disclosure)) else {
        return Ok(Json(json!([])));
    };
    let list: Vec<Value> = units
        .iter()
        .map(|&u| {
            let info = &snap.unit(u).info;
            let sources = sources_json(&snap, u, &period);
            let households: u64 = sources
                .iter()
                .filter_map(|s| s["households"].as_u64())
                .sum();
            json!({
                "kode": info.kode,
                "nama": info.nama,
                "level": info.level,
                "period": period.period,
                "households": if period.suppressed(u) { Value::Null } else { households.into() },
                "suppressed": period.suppressed(u),
                "sources": sources,
            })
        })
        .collect();
    Ok(Json(json!(list)))
}

/// `GET /api/transitions?level=&parent=&period=&base=`: per unit, households matched between
/// the base period and the period by their keyed KK/NIK hashes, entered, left, moved in and
/// out, and desil movements of the matched ones.
pub async fn transitions(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<UnitsQuery>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    UnitsQuery::refuse(
        q.min_households.is_some(),
        "min_households",
        "/api/transitions",
    )?;
    let snap = st.live.snapshot();
    let (level, units) = q.units(&snap)?;
    let disclosure = caller.disclosure(&st.auth.config);
    let (period, base) = periods(&snap, q.period, q.base, disclosure)?;
    let Some(period) = period else {
        return Ok(Json(json!([])));
    };
    let base = match base {
        Some(b) => b.period,
        None => snap
            .periods()
            .iter()
            .map(|p| p.period)
            .rfind(|p| *p < period.period)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no period before {} to compare with; give base=",
                    period.period
                ))
            })?,
    };
    if base == period.period {
        return Err(ApiError::bad_request("`base` must differ from `period`"));
    }
    let base_counts = snap.period(Some(base)).map(|b| b.disclosed(disclosure));
    let flows = snap.transitions(period.period, base, level);
    let list: Vec<Value> = units
        .iter()
        .map(|&u| {
            let info = &snap.unit(u).info;
            let mut v = json!({
                "kode": info.kode,
                "nama": info.nama,
                "level": info.level,
                "period": period.period,
                "base_period": base,
            });
            // Where a period has no source covering the unit, nothing entered or left it:
            // its flows are no data.
            let uncovered = [(period.period, Some(&period)), (base, base_counts.as_ref())]
                .into_iter()
                .find(|(_, p)| p.and_then(|p| p.counts(u)).is_none());
            let t = flows[u as usize];
            if let (Value::Object(m), Ok(Value::Object(f))) = (&mut v, serde_json::to_value(t)) {
                for (k, x) in f {
                    m.insert(k, if uncovered.is_some() { Value::Null } else { x });
                }
                m.insert(
                    "note".into(),
                    uncovered.map_or(Value::Null, |(p, x)| {
                        if x.is_some_and(|x| x.suppressed(u)) {
                            format!(
                                "disembunyikan untuk {p}: {} rumah tangga",
                                disclosure.label()
                            )
                            .into()
                        } else {
                            format!("tidak ada data untuk {p}").into()
                        }
                    }),
                );
            }
            v
        })
        .collect();
    Ok(Json(json!(list)))
}
