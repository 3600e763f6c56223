//! `/api/goals` and `/api/trend`: the goals set, and one indicator of a unit, its parent and
//! its province across every period, with the goal that holds for the unit.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::indicators::{unit_of, NoQuery};
use super::query::{parsed, ApiQuery};
use super::{ApiError, AppState};
use crate::aggregate::goals::{goal_for, trend, Goal};
use crate::aggregate::Indicator;
use crate::app::goals::{goals, GoalStoreError};
use crate::region::Kode;

/// The goals in the store, or the error in words.
pub(crate) async fn stored_goals(st: &AppState) -> Result<Vec<Goal>, ApiError> {
    goals(st.live.store().as_ref()).await.map_err(|e| match e {
        GoalStoreError::Store(e) => ApiError::from(e),
        GoalStoreError::Goal(e) => ApiError::internal(e),
    })
}

/// `GET /api/goals`: every goal set (`lentera goals set`).
pub async fn list(
    State(st): State<AppState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let goals = stored_goals(&st).await?;
    Ok(Json(json!(goals
        .iter()
        .map(Goal::to_json)
        .collect::<Vec<_>>())))
}

/// The query of `/api/trend`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// The unit (required).
    #[serde(default, deserialize_with = "parsed")]
    kode: Option<Kode>,
    /// The indicator (default `desil_1`).
    #[serde(default, deserialize_with = "parsed")]
    indicator: Option<Indicator>,
}

/// `GET /api/trend?kode=&indicator=`: the indicator in every period for the unit and, for a
/// rate, its parent and its province (each once), as the caller may see them (`null` for no data, with
/// `suppressed` where a value is hidden because it would single out a family), and the goal
/// that holds for the unit (`null` when none is set).
pub async fn trend_of(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<TrendQuery>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let kode = q
        .kode
        .ok_or_else(|| ApiError::bad_request("name the unit: /api/trend?kode=64.72"))?;
    let snap = st.live.snapshot();
    let unit = unit_of(&snap, kode)?;
    let indicator = q
        .indicator
        .unwrap_or(Indicator::Count(crate::aggregate::Count::Desil1));
    let disclosure = caller.disclosure(&st.auth.config);
    let mut units = vec![unit];
    // A rate compares with the parent's and the province's; a count does not (a province's
    // thousands would flatten a desa's tens).
    if indicator.is_share() {
        // Parents top down: the direct parent last, the province first.
        let parents = snap.parents(unit);
        for p in [parents.last(), parents.first()].into_iter().flatten() {
            if !units.contains(p) {
                units.push(*p);
            }
        }
    }
    let series: Vec<Value> = units
        .iter()
        .map(|&u| {
            let info = &snap.unit(u).info;
            json!({
                "kode": info.kode,
                "nama": info.full_name(),
                "level": info.level.as_str(),
                "points": trend(&snap, u, indicator, disclosure),
            })
        })
        .collect();
    let goals = stored_goals(&st).await?;
    Ok(Json(json!({
        "indicator": indicator.name(),
        "label": indicator.label(),
        "kind": if indicator.is_share() { "rate" } else { "count" },
        "periods": snap.periods().iter().map(|p| p.period).collect::<Vec<_>>(),
        "series": series,
        "goal": goal_for(&goals, indicator, kode).map(Goal::to_json),
    })))
}
