//! The `households` collection, for users who may read household data: one point per household counted in the token's
//! units, with desil, programmes and placement, never names or identity numbers.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{feature_response, page, ItemQuery, ItemsQuery, Paging, HOUSEHOLDS};
use crate::aggregate::{PeriodIndicators, Snapshot};
use crate::model::{Program, Quality, Scope};
use crate::server::auth::HouseholdAccess;
use crate::server::indicators::period_of;
use crate::server::query::ApiQuery;
use crate::server::{ApiError, AppState};

/// `GET /ogc/collections/households/items?bbox=&limit=&offset=&period=`, for a token.
pub async fn household_items(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
    access: HouseholdAccess,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let paging = Paging::from(&q);
    let snap = st.live.snapshot();
    let period = period_of(&snap, q.period)?;
    let (matched, features) = household_page(&snap, period, &access.scope, &paging);
    access.record_durably(features.len() as u64).await?;
    Ok(page(&headers, HOUSEHOLDS, &q, &paging, matched, features))
}

/// One page of households and the number matched, in one pass over the records of the
/// page's box (all records without one), keeping only the page. Feature ids are
/// `{generation}-{index}`: they name a household within one snapshot of the data.
fn household_page(
    snap: &Snapshot,
    period: Option<&PeriodIndicators>,
    scope: &Scope,
    paging: &Paging,
) -> (usize, Vec<Value>) {
    let Some(period) = period else {
        return (0, Vec::new());
    };
    let batches = snap.batches();
    let wanted = |i: u32| {
        let h = &snap.households()[i as usize];
        batches[h.batch_index()].period == period.period
            && h.unit()
                .is_some_and(|u| scope.allows(snap.unit(u).info.kode))
    };
    let mut matched = 0;
    let mut page = Vec::new();
    let mut visit = |i: u32| {
        if wanted(i) {
            if matched >= paging.offset && page.len() < paging.limit {
                page.push(household_feature(snap, i));
            }
            matched += 1;
        }
    };
    match paging.bbox {
        Some(b) => snap.households_in(b).into_iter().for_each(&mut visit),
        None => (0..snap.households().len() as u32).for_each(&mut visit),
    }
    (matched, page)
}

fn household_feature(snap: &Snapshot, i: u32) -> Value {
    let h = &snap.households()[i as usize];
    let batch = &snap.batches()[h.batch_index()];
    let mut p = Map::new();
    p.insert(
        "kode_unit".into(),
        h.unit()
            .map_or(Value::Null, |u| snap.unit(u).info.kode.to_string().into()),
    );
    p.insert("source".into(), batch.source.as_str().into());
    p.insert("period".into(), batch.period.to_string().into());
    p.insert("desil".into(), h.desil().map_or(Value::Null, Value::from));
    p.insert(
        "members".into(),
        h.members().map_or(Value::Null, Value::from),
    );
    p.insert(
        "quality".into(),
        h.quality().map_or(Value::Null, |q| q.as_str().into()),
    );
    p.insert(
        "approximate_point".into(),
        h.quality()
            .map_or(Value::Null, |q| (q != Quality::Gps).into()),
    );
    let programs = h.programs();
    for &prog in Program::ALL {
        p.insert(
            prog.as_str().into(),
            programs.get(prog).map_or(Value::Null, Value::from),
        );
    }
    let geometry = if h.has_point() {
        json!({ "type": "Point", "coordinates": [f64::from(h.lon), f64::from(h.lat)] })
    } else {
        Value::Null
    };
    json!({
        "type": "Feature",
        "id": format!("{}-{i}", snap.generation),
        "geometry": geometry,
        "properties": p,
    })
}

/// `GET /ogc/collections/households/items/{featureId}`, for a token: a household of the
/// current snapshot inside the token's units.
pub async fn household_item(
    State(st): State<AppState>,
    Path(feature_id): Path<String>,
    ApiQuery(q): ApiQuery<ItemQuery>,
    access: HouseholdAccess,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snap = st.live.snapshot();
    period_of(&snap, q.period)?;
    let stale = || {
        ApiError::not_found(format!(
            "no household `{feature_id}` in the current data (ids change when the data is reloaded)"
        ))
    };
    let (generation, index) = feature_id.split_once('-').ok_or_else(stale)?;
    let index: u32 = index.parse().map_err(|_| stale())?;
    if generation != snap.generation.to_string() || index as usize >= snap.households().len() {
        return Err(stale());
    }
    let h = &snap.households()[index as usize];
    if !h
        .unit()
        .is_some_and(|u| access.scope.allows(snap.unit(u).info.kode))
    {
        return Err(stale());
    }
    access.record_durably(1).await?;
    Ok(feature_response(
        &headers,
        HOUSEHOLDS,
        &feature_id,
        household_feature(&snap, index),
    ))
}
