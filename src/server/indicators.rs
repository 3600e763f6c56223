//! `/api/indicators`, `/api/regions/{kode}`, `/api/periods` and `/api/reconciliation`: the
//! indicators of the current snapshot as JSON.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::query::{parsed, ApiQuery};
use super::{ApiError, AppState};
use crate::aggregate::indicators::DEFAULT_MIN_HOUSEHOLDS;
use crate::aggregate::{BatchTally, Count, Disclosure, PeriodIndicators, Snapshot};
use crate::export::{unit_rows, UnitRow};
use crate::model::Period;
use crate::region::{Kode, Level};

/// The period a request names, or the latest with data when it names none.
pub(crate) fn period_of(
    snap: &Snapshot,
    period: Option<Period>,
) -> Result<Option<&PeriodIndicators>, ApiError> {
    match period {
        Some(p) => known_period(snap, p).map(Some),
        None => Ok(snap.period(None)),
    }
}

/// The period and base period a request names (the latest when it names no period), as a
/// reader under `disclosure` sees them.
pub(crate) fn periods(
    snap: &Snapshot,
    period: Option<Period>,
    base: Option<Period>,
    disclosure: Disclosure,
) -> Result<(Option<PeriodIndicators>, Option<PeriodIndicators>), ApiError> {
    let period = period_of(snap, period)?.map(|p| p.disclosed(disclosure));
    let base = base.map(|b| known_period(snap, b)).transpose()?;
    Ok((period, base.map(|b| b.disclosed(disclosure))))
}

/// The indicators of period `p`, or `404` naming the periods with data.
fn known_period(snap: &Snapshot, p: Period) -> Result<&PeriodIndicators, ApiError> {
    snap.period(Some(p)).ok_or_else(|| {
        let known: Vec<String> = snap
            .periods()
            .iter()
            .map(|p| p.period.to_string())
            .collect();
        ApiError::not_found(format!(
            "no data for period `{p}`; periods with data: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// The unit with code `kode`, or `404`.
pub(crate) fn unit_of(snap: &Snapshot, kode: Kode) -> Result<u32, ApiError> {
    snap.unit_index(kode)
        .ok_or_else(|| ApiError::not_found(format!("no region with code {kode}")))
}

/// The query of `/api/indicators`, `/api/sources` and `/api/transitions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitsQuery {
    /// Level of the units listed (default kabupaten/kota).
    #[serde(default, deserialize_with = "parsed")]
    pub(crate) level: Option<Level>,
    /// Only units inside this one.
    #[serde(default, deserialize_with = "parsed")]
    pub(crate) parent: Option<Kode>,
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    pub(crate) period: Option<Period>,
    /// The period changes (or flows) are measured from.
    #[serde(default, deserialize_with = "parsed")]
    pub(crate) base: Option<Period>,
    /// Rates over fewer households are listed in `few_households`.
    #[serde(default, deserialize_with = "parsed")]
    pub(crate) min_households: Option<u64>,
}

impl UnitsQuery {
    /// The level asked for (default kabupaten/kota) and its units inside the parent asked
    /// for, in code order.
    pub(crate) fn units(&self, snap: &Snapshot) -> Result<(Level, Vec<u32>), ApiError> {
        let level = self.level.unwrap_or(Level::Kabupaten);
        let units: Vec<u32> = match self.parent.map(|k| unit_of(snap, k)).transpose()? {
            Some(p) => snap.descendants(p).collect(),
            None => (0..snap.units().len() as u32).collect(),
        };
        let units = units
            .into_iter()
            .filter(|&u| snap.unit(u).info.level == level)
            .collect();
        Ok((level, units))
    }

    /// `400` naming `name` when it was given to an endpoint that takes no such parameter.
    pub(crate) fn refuse(given: bool, name: &str, endpoint: &str) -> Result<(), ApiError> {
        if given {
            return Err(ApiError::bad_request(format!(
                "`{name}` is not a parameter of {endpoint}"
            )));
        }
        Ok(())
    }
}

/// `GET /api/indicators?level=&parent=&period=&base=&min_households=`
pub async fn indicators(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<UnitsQuery>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let (_, units) = q.units(&snap)?;
    let disclosure = caller.disclosure(&st.auth.config);
    let (period, base) = periods(&snap, q.period, q.base, disclosure)?;
    let min = q.min_households.unwrap_or(DEFAULT_MIN_HOUSEHOLDS);
    let rows: Vec<UnitRow> = unit_rows(&snap, &units, period.as_ref(), base.as_ref())
        .into_iter()
        .map(|r| r.min_households(min))
        .collect();
    Ok(Json(
        serde_json::to_value(rows).map_err(ApiError::internal)?,
    ))
}

/// The query of `/api/regions/{kode}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// The period changes are measured from.
    #[serde(default, deserialize_with = "parsed")]
    base: Option<Period>,
    /// Rates over fewer households are listed in `few_households`.
    #[serde(default, deserialize_with = "parsed")]
    min_households: Option<u64>,
}

/// A query string that must be empty.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// `GET /api/regions/{kode}?period=&base=`: the unit's indicators, its parents (top down) and
/// its children, each with theirs.
pub async fn region_detail(
    State(st): State<AppState>,
    Path(kode): Path<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let kode = Kode::parse(&kode).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let unit = unit_of(&snap, kode)?;
    let disclosure = caller.disclosure(&st.auth.config);
    let (period, base) = periods(&snap, q.period, q.base, disclosure)?;
    let (period, base) = (period.as_ref(), base.as_ref());
    let min = q.min_households.unwrap_or(DEFAULT_MIN_HOUSEHOLDS);
    let row = |unit| UnitRow::new(&snap, unit, period, base).min_households(min);
    let mut body = serde_json::to_value(row(unit)).map_err(ApiError::internal)?;
    body["bbox"] = json!(snap.unit(unit).info.bbox);
    body["sources"] = json!(period.map_or_else(Vec::new, |p| {
        super::sources::sources_json(&snap, unit, p)
    }));
    let parents: Vec<UnitRow> = snap.parents(unit).into_iter().map(row).collect();
    let children: Vec<UnitRow> = snap.children(unit).into_iter().map(row).collect();
    body["parents"] = serde_json::to_value(parents).map_err(ApiError::internal)?;
    body["children"] = serde_json::to_value(children).map_err(ApiError::internal)?;
    Ok(Json(body))
}

/// `GET /api/periods`: the periods with data and their household counts.
pub async fn periods_list(
    State(st): State<AppState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
) -> Json<Value> {
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
                .map(|c| c[Count::Households])
                .sum();
            json!({ "period": p.period, "households": households })
        })
        .collect();
    Json(json!(list))
}

/// `GET /api/reconciliation`: per batch, households stored = duplicates + counted + not
/// placed, and the totals.
pub async fn reconciliation(
    State(st): State<AppState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
) -> Json<Value> {
    let snap = st.live.snapshot();
    let batches = snap.batches();
    let sum = |f: fn(&BatchTally) -> u64| batches.iter().map(|b| f(&b.tally)).sum::<u64>();
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
