//! `/api/indicators`, `/api/regions/{kode}`, `/api/periods` and `/api/reconciliation`: the
//! indicators of the current snapshot as JSON.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use super::{parse_kode, parse_level, ApiError, AppState};
use crate::aggregate::indicators::{
    change, serialize_change, serialize_values, value_by_name, HOUSEHOLDS,
};
use crate::aggregate::snapshot::PeriodIndicators;
use crate::aggregate::Snapshot;
use crate::aggregate::{COUNTS, RATES};
use crate::region::Level;

/// One unit with its indicators in one period (and their change since `base`).
pub struct UnitRow<'a> {
    snap: &'a Snapshot,
    unit: u32,
    period: Option<&'a PeriodIndicators>,
    base: Option<&'a PeriodIndicators>,
}

impl Serialize for UnitRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let unit = self.snap.unit(self.unit);
        let info = &unit.info;
        let counts = self.period.and_then(|p| p.counts(self.unit));
        let den = self.snap.denominators(self.unit);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("kode", &info.kode)?;
        map.serialize_entry("nama", &info.nama)?;
        map.serialize_entry("level", &info.level)?;
        map.serialize_entry("jenis", &info.jenis)?;
        map.serialize_entry("parent", &info.parent)?;
        map.serialize_entry("period", &self.period.map(|p| &p.period))?;
        map.serialize_entry("has_data", &counts.is_some())?;
        map.serialize_entry("denominator_households", &den.households)?;
        map.serialize_entry("denominator_population", &den.population)?;
        serialize_values(&mut map, counts, den)?;
        if let Some(base) = self.base {
            map.serialize_entry("base_period", &base.period)?;
            serialize_change(&mut map, counts, base.counts(self.unit), den)?;
        }
        map.end()
    }
}

/// The rows of `units`.
pub fn unit_rows<'a>(
    snap: &'a Snapshot,
    units: &[u32],
    period: Option<&'a PeriodIndicators>,
    base: Option<&'a PeriodIndicators>,
) -> Vec<UnitRow<'a>> {
    units
        .iter()
        .map(|&unit| UnitRow {
            snap,
            unit,
            period,
            base,
        })
        .collect()
}

/// Writes rows as CSV: the unit's code, name, level, parent and period, then every
/// indicator (and its change with a base period) in API order; empty cells are no data.
pub fn write_csv<W: std::io::Write>(out: W, rows: &[UnitRow]) -> Result<(), csv::Error> {
    let names: Vec<&str> = COUNTS
        .iter()
        .map(|f| f.name)
        .chain(RATES.iter().map(|f| f.name))
        .collect();
    let with_change = rows.first().is_some_and(|r| r.base.is_some());
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = ["kode", "nama", "level", "parent", "period"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(names.iter().map(|n| n.to_string()));
    if with_change {
        header.push("base_period".into());
        for n in &names {
            header.push(format!("{n}_change"));
            header.push(format!("{n}_change_rel"));
        }
    }
    w.write_record(&header)?;
    let num = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for row in rows {
        let info = &row.snap.unit(row.unit).info;
        let den = row.snap.denominators(row.unit);
        let counts = row.period.and_then(|p| p.counts(row.unit));
        let mut record = vec![
            info.kode.to_string(),
            info.nama.clone(),
            info.level.as_str().to_string(),
            info.parent.map(|p| p.to_string()).unwrap_or_default(),
            row.period.map(|p| p.period.clone()).unwrap_or_default(),
        ];
        record.extend(names.iter().map(|n| num(value_by_name(n, counts, den))));
        if let Some(base) = row.base.filter(|_| with_change) {
            record.push(base.period.clone());
            let before = base.counts(row.unit);
            for n in &names {
                let (abs, rel) =
                    change(value_by_name(n, before, den), value_by_name(n, counts, den));
                record.push(num(abs));
                record.push(num(rel));
            }
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

/// The period and base period a request names (latest when absent).
pub(crate) fn periods<'a>(
    snap: &'a Snapshot,
    q: &HashMap<String, String>,
) -> Result<(Option<&'a PeriodIndicators>, Option<&'a PeriodIndicators>), ApiError> {
    let find = |key: &str| -> Result<Option<&'a PeriodIndicators>, ApiError> {
        match q.get(key).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(p) => snap.period(Some(p)).map(Some).ok_or_else(|| {
                let known: Vec<&str> = snap.periods().iter().map(|p| p.period.as_str()).collect();
                ApiError::not_found(format!(
                    "no data for period `{p}`; periods with data: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            }),
        }
    };
    let period = match find("period")? {
        Some(p) => Some(p),
        None => snap.period(None),
    };
    Ok((period, find("base")?))
}

/// `GET /api/indicators?level=&parent=&period=&base=`
pub async fn indicators(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let level = parse_level(&q)?.unwrap_or(Level::Kabupaten);
    let parent = match q.get("parent").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let kode = parse_kode(s)?;
            Some(
                snap.unit_index(kode)
                    .ok_or_else(|| ApiError::not_found(format!("no region with code {kode}")))?,
            )
        }
    };
    let (period, base) = periods(&snap, &q)?;
    let units: Vec<u32> = match parent {
        Some(p) => snap.descendants(p).collect(),
        None => (0..snap.units().len() as u32).collect(),
    };
    let rows: Vec<UnitRow> = units
        .into_iter()
        .filter(|&u| snap.unit(u).info.level == level)
        .map(|unit| UnitRow {
            snap: &snap,
            unit,
            period,
            base,
        })
        .collect();
    Ok(Json(
        serde_json::to_value(rows).map_err(ApiError::internal)?,
    ))
}

/// `GET /api/regions/{kode}?period=&base=`: the unit's indicators, its parents (top down) and
/// its children, each with theirs.
pub async fn region_detail(
    State(st): State<AppState>,
    Path(kode): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let kode = parse_kode(&kode)?;
    let unit = snap
        .unit_index(kode)
        .ok_or_else(|| ApiError::not_found(format!("no region with code {kode}")))?;
    let (period, base) = periods(&snap, &q)?;
    let row = |unit| UnitRow {
        snap: &snap,
        unit,
        period,
        base,
    };
    let mut body = serde_json::to_value(row(unit)).map_err(ApiError::internal)?;
    body["bbox"] = json!(snap.unit(unit).info.bbox);
    let parents: Vec<UnitRow> = snap.parents(unit).into_iter().map(row).collect();
    let children: Vec<UnitRow> = snap.children(unit).into_iter().map(row).collect();
    body["parents"] = serde_json::to_value(parents).map_err(ApiError::internal)?;
    body["children"] = serde_json::to_value(children).map_err(ApiError::internal)?;
    Ok(Json(body))
}

/// `GET /api/periods`: the periods with data and their household counts.
pub async fn periods_list(State(st): State<AppState>) -> Json<Value> {
    let snap = st.live.snapshot();
    let provinces: Vec<u32> = (0..snap.units().len() as u32)
        .filter(|&u| snap.unit(u).info.level == Level::Provinsi)
        .collect();
    let list: Vec<Value> = snap
        .periods()
        .iter()
        .map(|p| {
            let households: u64 = provinces
                .iter()
                .filter_map(|&u| p.counts(u))
                .map(|c| c[HOUSEHOLDS])
                .sum();
            json!({ "period": p.period, "households": households })
        })
        .collect();
    Json(json!(list))
}

/// `GET /api/reconciliation`: per batch, households stored = duplicates + counted + not
/// placed, and the totals.
pub async fn reconciliation(State(st): State<AppState>) -> Json<Value> {
    let snap = st.live.snapshot();
    let batches = snap.batches();
    let sum = |f: fn(&crate::aggregate::BatchReport) -> u64| batches.iter().map(f).sum::<u64>();
    Json(json!({
        "generation": snap.generation,
        "batches": batches,
        "totals": {
            "households": sum(|b| b.households),
            "duplicates": sum(|b| b.duplicates),
            "counted": sum(|b| b.counted()),
            "not_placed": sum(|b| b.not_placed),
        },
        "reconciles": batches.iter().all(|b| b.reconciles()),
    }))
}
