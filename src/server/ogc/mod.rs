//! OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) under `/ogc`, so that QGIS and GDAL
//! can add the units (and, for a token, the households) as live layers.
//!
//! Collections: `kabupaten`, `kecamatan`, `desa` (units with every indicator of a period) and,
//! only for a request with a valid API token, `households` (one point per household counted
//! in the token's units: desil, programmes and placement quality; no names, no identity
//! numbers). Coordinates are CRS84 (longitude, latitude).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod document;
mod households;

use super::auth::{Caller, HouseholdAccess};
use super::indicators::period_of;
use super::query::{parsed, ApiQuery, BBox, Bounded};
use super::{ApiError, AppState};
use crate::aggregate::{Indicator, PeriodIndicators, Snapshot};
use crate::export::{select, unit_properties, UnitFilter};
use crate::model::{Period, Program};
use crate::region::{Kode, Level};

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 10_000;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
const SCHEMA: &str = "application/schema+json";
const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The unit collections: id, title, level.
const UNIT_COLLECTIONS: [(&str, &str, Level); 3] = [
    ("kabupaten", "Kabupaten/Kota", Level::Kabupaten),
    ("kecamatan", "Kecamatan", Level::Kecamatan),
    ("desa", "Desa/Kelurahan", Level::Desa),
];

pub use document::{api, document};
pub use households::{household_item, household_items};

/// The household collection's id.
const HOUSEHOLDS: &str = "households";

/// The server's own address as the client reached it, for absolute links.
fn base_url(headers: &HeaderMap) -> String {
    format!("{}/ogc", super::tiles::base_url(headers))
}

fn link(href: String, rel: &str, ty: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": ty, "title": title })
}

fn json_response(body: Value, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body.to_string()).into_response()
}

/// `GET /ogc`: the landing page.
pub async fn landing(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    json_response(
        json!({
            "title": "Lentera — data kemiskinan per wilayah",
            "description": "Indicators of poor households (BNBA) per kabupaten/kota, kecamatan and desa/kelurahan, as OGC API – Features.",
            "links": [
                link(base.clone(), "self", JSON, "This document"),
                link(format!("{base}/api"), "service-desc", OPENAPI, "The API definition"),
                link(format!("{base}/conformance"), "conformance", JSON, "Conformance classes"),
                link(format!("{base}/collections"), "data", JSON, "Collections"),
            ],
        }),
        JSON,
    )
}

/// `GET /ogc/conformance`.
pub async fn conformance() -> Response {
    json_response(
        json!({
            "conformsTo": [
                "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
                "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            ]
        }),
        JSON,
    )
}

/// The description of collection `id`.
fn collection(snap: &Snapshot, base: &str, id: &str) -> Option<Value> {
    let (title, description, bbox) = match UNIT_COLLECTIONS.iter().find(|c| c.0 == id) {
        Some(&(_, title, level)) => {
            let units = (0..snap.units().len() as u32).filter(|&u| snap.unit(u).info.level == level);
            (
                title.to_string(),
                format!("{title} with every poverty indicator of a period (`period=YYYY-MM`, default the latest)."),
                snap.bbox_of(units),
            )
        }
        None if id == HOUSEHOLDS => (
            "Rumah tangga".to_string(),
            "Households counted in the token's units: desil, programmes and how each was placed (no names, no identity numbers). Points are GPS or an approximate point inside the desa (`approximate_point`).".to_string(),
            snap.bbox_of((0..snap.units().len() as u32).filter(|&u| snap.unit(u).info.level == Level::Desa)),
        ),
        None => return None,
    };
    let periods: Vec<String> = snap
        .periods()
        .iter()
        .map(|p| p.period.to_string())
        .collect();
    let href = format!("{base}/collections/{id}");
    Some(json!({
        "id": id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {
            "spatial": { "bbox": [bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0])], "crs": CRS84 },
            "temporal": {
                "interval": [[periods.first().map(|p| format!("{p}-01T00:00:00Z")), periods.last().map(|p| format!("{p}-01T00:00:00Z"))]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
            }
        },
        "links": [
            link(href.clone(), "self", JSON, "This collection"),
            link(format!("{href}/items"), "items", GEOJSON, "Features (GeoJSON)"),
            link(format!("{href}/schema"), "describedby", SCHEMA, "The properties of a feature"),
        ],
    }))
}

/// The JSON Schema of the features of collection `id` (its properties' names and types), so
/// that a client can type each field rather than guess it from a page of features.
fn feature_schema(id: &str) -> Option<Value> {
    let mut props = Map::new();
    let mut add = |name: &str, ty: &str| {
        props.insert(name.into(), json!({ "type": ty }));
    };
    if id == HOUSEHOLDS {
        for name in ["kode_unit", "source", "period", "quality"] {
            add(name, "string");
        }
        add("desil", "integer");
        add("members", "integer");
        add("approximate_point", "boolean");
        for &prog in Program::ALL {
            add(prog.as_str(), "boolean");
        }
    } else if UNIT_COLLECTIONS.iter().any(|c| c.0 == id) {
        for name in ["kode", "nama", "level", "jenis", "parent", "period"] {
            add(name, "string");
        }
        add("has_data", "boolean");
        for i in Indicator::all() {
            add(i.name(), if i.is_share() { "number" } else { "integer" });
        }
    } else {
        return None;
    }
    Some(json!({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
        "title": id,
        "properties": props,
    }))
}

/// `GET /ogc/collections/{id}/schema`: the JSON Schema of the collection's properties.
pub async fn schema(Path(id): Path<String>) -> Result<Response, ApiError> {
    feature_schema(&id)
        .map(|s| json_response(s, SCHEMA))
        .ok_or_else(|| no_collection(&id))
}

/// `GET /ogc/collections/households/schema`, for a token.
pub async fn household_schema(_: HouseholdAccess) -> Result<Response, ApiError> {
    schema(Path(HOUSEHOLDS.to_string())).await
}

/// `GET /ogc/collections`: the household collection is listed for a valid token only.
pub async fn collections(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&headers);
    let snap = st.live.snapshot();
    let mut ids: Vec<&str> = UNIT_COLLECTIONS.iter().map(|c| c.0).collect();
    if caller
        .principal
        .as_ref()
        .is_some_and(|p| p.household_scope().is_some())
    {
        ids.push(HOUSEHOLDS);
    }
    let list: Vec<Value> = ids
        .iter()
        .filter_map(|id| collection(&snap, &base, id))
        .collect();
    json_response(
        json!({
            "links": [link(format!("{base}/collections"), "self", JSON, "Collections")],
            "collections": list,
        }),
        JSON,
    )
}

/// `GET /ogc/collections/{id}`.
pub async fn collection_by_id(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snap = st.live.snapshot();
    collection(&snap, &base_url(&headers), &id)
        .map(|c| json_response(c, JSON))
        .ok_or_else(|| no_collection(&id))
}

/// `GET /ogc/collections/households`, for a token.
pub async fn household_collection(
    state: State<AppState>,
    _: HouseholdAccess,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    collection_by_id(state, Path(HOUSEHOLDS.to_string()), headers).await
}

/// The level of unit collection `id`, or `404`.
fn unit_level(id: &str) -> Result<Level, ApiError> {
    UNIT_COLLECTIONS
        .iter()
        .find(|c| c.0 == id)
        .map(|c| c.2)
        .ok_or_else(|| no_collection(id))
}

fn no_collection(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no collection `{id}`; collections: kabupaten, kecamatan, desa (households with an API token)"
    ))
}

/// The encodings an OGC client may ask for with `f=`: both are GeoJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// JSON.
    Json,
    /// GeoJSON.
    Geojson,
}

/// The query of an items request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// Only features meeting this box.
    bbox: Option<BBox>,
    /// Features per page.
    limit: Option<Bounded<1, MAX_LIMIT>>,
    /// Features skipped.
    offset: Option<Bounded<0, { usize::MAX }>>,
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// The encoding.
    #[allow(dead_code)]
    f: Option<Encoding>,
}

/// The query of a one-feature request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// The encoding.
    #[allow(dead_code)]
    f: Option<Encoding>,
}

/// Paging parameters of an items request.
struct Paging {
    limit: usize,
    offset: usize,
    bbox: Option<[f64; 4]>,
}

impl From<&ItemsQuery> for Paging {
    fn from(q: &ItemsQuery) -> Paging {
        Paging {
            limit: q.limit.map_or(DEFAULT_LIMIT, |l| l.0),
            offset: q.offset.map_or(0, |o| o.0),
            bbox: q.bbox.map(|b| b.0),
        }
    }
}

/// `GET /ogc/collections/{id}/items?bbox=&limit=&offset=&period=` for the unit collections.
pub async fn items(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let level = unit_level(&id)?;
    let paging = Paging::from(&q);
    let snap = st.live.snapshot();
    let disclosure = caller.disclosure(&st.auth.config);
    let period = period_of(&snap, q.period)?.map(|p| p.disclosed(disclosure));
    let (matched, features) = unit_page(&snap, period.as_ref(), level, &paging);
    Ok(page(&headers, &id, &q, &paging, matched, features))
}

/// A page of features with its counts and its `self`, `collection`, `next` and `prev` links.
fn page(
    headers: &HeaderMap,
    id: &str,
    q: &ItemsQuery,
    paging: &Paging,
    matched: usize,
    features: Vec<Value>,
) -> Response {
    let base = base_url(headers);
    let href = |offset: usize| {
        let mut params = vec![
            format!("limit={}", paging.limit),
            format!("offset={offset}"),
        ];
        if let Some(b) = paging.bbox {
            params.push(format!("bbox={},{},{},{}", b[0], b[1], b[2], b[3]));
        }
        if let Some(p) = q.period {
            params.push(format!("period={p}"));
        }
        format!("{base}/collections/{id}/items?{}", params.join("&"))
    };
    let returned = features.len();
    let mut links = vec![
        link(href(paging.offset), "self", GEOJSON, "This page"),
        link(
            format!("{base}/collections/{id}"),
            "collection",
            JSON,
            "The collection",
        ),
    ];
    if paging.offset + returned < matched {
        links.push(link(
            href(paging.offset + returned),
            "next",
            GEOJSON,
            "Next page",
        ));
    }
    if paging.offset > 0 {
        links.push(link(
            href(paging.offset.saturating_sub(paging.limit)),
            "prev",
            GEOJSON,
            "Previous page",
        ));
    }
    let body = json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": time_stamp(),
        "links": links,
        "features": features,
    });
    json_response(body, GEOJSON)
}

/// Now, as RFC 3339 in UTC (seconds).
fn time_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (y, m, d) = crate::ingest::households::validate::civil_from_days(days);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// One page of units at `level` and the number matched.
fn unit_page(
    snap: &Snapshot,
    period: Option<&PeriodIndicators>,
    level: Level,
    paging: &Paging,
) -> (usize, Vec<Value>) {
    let filter = UnitFilter {
        level,
        parent: None,
        bbox: paging.bbox,
        thresholds: Vec::new(),
    };
    let units = select(snap, &filter, period);
    let page = units
        .iter()
        .skip(paging.offset)
        .take(paging.limit)
        .map(|&u| unit_feature(snap, u, period))
        .collect();
    (units.len(), page)
}

fn unit_feature(snap: &Snapshot, u: u32, period: Option<&PeriodIndicators>) -> Value {
    let unit = snap.unit(u);
    let geometry = if unit.geometry.0.is_empty() {
        Value::Null
    } else {
        serde_json::to_value(geojson::Geometry::from(&unit.geometry)).unwrap_or(Value::Null)
    };
    json!({
        "type": "Feature",
        "id": unit.info.kode.to_string(),
        "geometry": geometry,
        "properties": unit_properties(snap, u, period),
    })
}

/// `GET /ogc/collections/{id}/items/{featureId}` for the unit collections.
pub async fn item(
    State(st): State<AppState>,
    Path((id, feature_id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ItemQuery>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let level = unit_level(&id)?;
    let snap = st.live.snapshot();
    let disclosure = caller.disclosure(&st.auth.config);
    let period = period_of(&snap, q.period)?.map(|p| p.disclosed(disclosure));
    let period = period.as_ref();
    let u = Kode::parse(&feature_id)
        .ok()
        .and_then(|k| snap.unit_index(k))
        .filter(|&u| snap.unit(u).info.level == level)
        .ok_or_else(|| ApiError::not_found(format!("no {id} `{feature_id}`")))?;
    Ok(feature_response(
        &headers,
        &id,
        &feature_id,
        unit_feature(&snap, u, period),
    ))
}

/// One feature with its `self` and `collection` links.
fn feature_response(
    headers: &HeaderMap,
    id: &str,
    feature_id: &str,
    mut feature: Value,
) -> Response {
    let base = base_url(headers);
    feature["links"] = json!([
        link(
            format!("{base}/collections/{id}/items/{feature_id}"),
            "self",
            GEOJSON,
            "This feature"
        ),
        link(
            format!("{base}/collections/{id}"),
            "collection",
            JSON,
            "The collection"
        ),
    ]);
    json_response(feature, GEOJSON)
}
