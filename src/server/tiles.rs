//! `/tiles/{layer}/{z}/{x}/{y}.mvt`, `/tiles/{layer}.json` (TileJSON 3.0) and `/style.json`:
//! vector tiles from the current snapshot, cached by snapshot generation, the household layer
//! for API tokens only.

use std::collections::HashMap;
use std::io::{Read, Write};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};
use crate::region::Kode;
use crate::tiles::{check_tile, Layer, Scope, TileError, TILE_INDICATORS};

/// Bytes of encoded tiles kept in memory, by default.
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

/// An API token and the units whose households it may see.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    digest: [u8; 32],
    /// What the token may see.
    pub scope: Scope,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken(…, {:?})", self.scope)
    }
}

/// Why a token list was refused.
#[derive(Debug, thiserror::Error)]
#[error("API token {index}: {reason}")]
pub struct TokenError {
    index: usize,
    reason: String,
}

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 24;

impl ApiToken {
    /// Parses a comma-separated token list: `TOKEN` (all households) or
    /// `TOKEN@KODE[+KODE…]` (households inside those units only, e.g. a kabupaten's Dinas
    /// Sosial: `…@64.72`).
    pub fn parse_list(list: &str) -> Result<Vec<ApiToken>, TokenError> {
        list.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(i, t)| {
                let err = |reason: String| TokenError {
                    index: i + 1,
                    reason,
                };
                let (secret, scope) = match t.split_once('@') {
                    None => (t, Scope::All),
                    Some((secret, units)) => {
                        let kodes = units
                            .split('+')
                            .map(|k| Kode::parse(k).map_err(|e| err(e.to_string())))
                            .collect::<Result<Vec<_>, _>>()?;
                        (secret, Scope::Within(kodes))
                    }
                };
                if secret.len() < MIN_TOKEN_LEN {
                    return Err(err(format!(
                        "too short: use at least {MIN_TOKEN_LEN} random characters"
                    )));
                }
                Ok(ApiToken {
                    digest: Sha256::digest(secret.as_bytes()).into(),
                    scope,
                })
            })
            .collect()
    }

    /// The token whose secret is `secret`. Compares digests, so the time taken says nothing
    /// about how much of a wrong token was right.
    fn find<'a>(tokens: &'a [ApiToken], secret: &str) -> Option<&'a ApiToken> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        tokens.iter().find(|t| t.digest == digest)
    }
}

/// The scope of a request's bearer token: 401 without one, 403 for an unknown one.
pub fn token_scope(state: &AppState, headers: &HeaderMap) -> Result<Scope, Box<Response>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(secret) = bearer else {
        let mut r = ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "household data needs an API token (Authorization: Bearer …)".into(),
        }
        .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Err(Box::new(r));
    };
    ApiToken::find(&state.tokens, secret)
        .map(|t| t.scope.clone())
        .ok_or_else(|| {
            Box::new(
                ApiError {
                    status: StatusCode::FORBIDDEN,
                    message: "this API token is not valid".into(),
                }
                .into_response(),
            )
        })
}

/// What identifies a cached tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    generation: u64,
    layer: Layer,
    z: u8,
    x: u32,
    y: u32,
    period: Option<String>,
    scope: Scope,
}

/// A cached tile: gzip-compressed bytes (empty for an empty tile).
pub type TileCache = moka::sync::Cache<TileKey, Bytes>;

/// A tile cache bounded to `bytes`.
pub fn tile_cache(bytes: u64) -> TileCache {
    moka::sync::Cache::builder()
        .max_capacity(bytes)
        .weigher(|_k: &TileKey, v: &Bytes| v.len().clamp(64, u32::MAX as usize) as u32)
        .build()
}

fn tile_error(e: TileError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
pub async fn tile(
    State(st): State<AppState>,
    Path((layer, z, x, file)): Path<(String, u32, u32, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match tile_response(st, &layer, z, x, &file, &q, &headers).await {
        Ok(r) => r,
        Err(r) => *r,
    }
}

async fn tile_response(
    st: AppState,
    layer: &str,
    z: u32,
    x: u32,
    file: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, Box<Response>> {
    let bad = |e: ApiError| Box::new(e.into_response());
    let layer = Layer::parse(layer)
        .ok_or_else(|| bad(tile_error(TileError::UnknownLayer(layer.to_string()))))?;
    let y = file
        .strip_suffix(".mvt")
        .or_else(|| file.strip_suffix(".pbf"))
        .and_then(|y| y.parse::<u32>().ok())
        .ok_or_else(|| bad(ApiError::bad_request("the tile must be named {y}.mvt")))?;
    let (z, x, y) = check_tile(z, x, y).map_err(|e| bad(tile_error(e)))?;
    let scope = if layer.is_private() {
        token_scope(&st, headers)?
    } else {
        Scope::All
    };
    let tiles = st.live.tiles();
    let snap = tiles.snapshot().clone();
    let period_name = q.get("period").filter(|p| !p.is_empty()).cloned();
    let period = match &period_name {
        None => None,
        Some(p) => Some(
            snap.period(Some(p))
                .ok_or_else(|| bad(ApiError::not_found(format!("no data for period `{p}`"))))?
                .period
                .clone(),
        ),
    };
    let key = TileKey {
        generation: snap.generation,
        layer,
        z,
        x,
        y,
        period: period.clone(),
        scope: scope.clone(),
    };
    let etag = etag_of(&key);
    let cache_control = if layer.is_private() {
        "private, no-store"
    } else {
        "public, max-age=60, must-revalidate"
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache_control.into()),
            ],
        )
            .into_response());
    }
    let gz = match st.tile_cache.get(&key) {
        Some(bytes) => bytes,
        None => {
            let render_key = key.clone();
            let bytes = tokio::task::spawn_blocking(move || {
                let period = render_key
                    .period
                    .as_deref()
                    .and_then(|p| tiles.snapshot().period(Some(p)))
                    .or_else(|| tiles.snapshot().period(None));
                let tile = tiles.render(layer, (z, x, y), period, &render_key.scope);
                tile.map_or_else(Bytes::new, |t| Bytes::from(gzip(&t)))
            })
            .await
            .map_err(|e| bad(ApiError::internal(e)))?;
            st.tile_cache.insert(key, bytes.clone());
            bytes
        }
    };
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, cache_control.to_string()),
        (header::VARY, "Accept-Encoding, Authorization".to_string()),
    ];
    if gz.is_empty() {
        return Ok((StatusCode::NO_CONTENT, common).into_response());
    }
    let accepts_gzip = accepts_gzip(headers);
    let content_type = (
        header::CONTENT_TYPE,
        "application/vnd.mapbox-vector-tile".to_string(),
    );
    if accepts_gzip {
        let encoding = (header::CONTENT_ENCODING, "gzip".to_string());
        Ok((common, [content_type, encoding], gz).into_response())
    } else {
        let raw = gunzip(&gz).map_err(|e| bad(ApiError::internal(e)))?;
        Ok((common, [content_type], raw).into_response())
    }
}

fn etag_of(key: &TileKey) -> String {
    let text = format!("{key:?}");
    let digest = Sha256::digest(text.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// Whether the client accepts a gzip-encoded body.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

/// `data` gzip-compressed (fast level).
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

fn gunzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

/// The base URL of the request (`http://host`), for absolute tile URLs.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1:8080");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// The fields of a layer, as TileJSON's `vector_layers` lists them.
fn layer_fields(layer: Layer) -> Value {
    let mut fields = serde_json::Map::new();
    if layer.is_private() {
        for (k, v) in [
            ("cluster", "Boolean: true for a cluster of households"),
            ("point_count", "Number: households in a cluster"),
            ("desil_1", "Number: desil-1 households in a cluster"),
            ("desil", "Number: the household's desil (single points)"),
            (
                "quality",
                "String: how the household was placed (gps, code, name_exact…)",
            ),
            ("pkh", "Boolean: receives PKH, where the source states it"),
        ] {
            fields.insert(k.into(), v.into());
        }
        return Value::Object(fields);
    }
    for (k, v) in [
        ("kode", "String: Kemendagri code"),
        ("nama", "String: name"),
        (
            "jenis",
            "String: kabupaten, kota, kecamatan, desa or kelurahan",
        ),
        ("parent", "String: code of the parent unit"),
        (
            "has_data",
            "Boolean: false where no source of the period covers the unit",
        ),
    ] {
        fields.insert(k.into(), v.into());
    }
    for name in TILE_INDICATORS {
        fields.insert(
            name.into(),
            "Number (absent where there is no data; see /api/openapi.json)".into(),
        );
    }
    Value::Object(fields)
}

/// `GET /tiles/{layer}.json`: TileJSON 3.0.
pub async fn tilejson(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let layer = name
        .strip_suffix(".json")
        .and_then(Layer::parse)
        .ok_or_else(|| {
            ApiError::not_found("TileJSON: /tiles/{kabupaten|kecamatan|desa|households}.json")
        })?;
    let snap = st.live.snapshot();
    let (minzoom, maxzoom) = layer.zooms();
    let bounds = province_bounds(&snap).unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    let center = [
        (bounds[0] + bounds[2]) / 2.0,
        (bounds[1] + bounds[3]) / 2.0,
        f64::from(minzoom.max(6)),
    ];
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": format!("Lentera {}", layer.as_str()),
        "description": if layer.is_private() {
            "Household points (clustered below zoom 12); needs an API token."
        } else {
            "Boundaries with poverty indicators."
        },
        "version": snap.generation.to_string(),
        "scheme": "xyz",
        "tiles": [format!("{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", base_url(&headers), layer.as_str())],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": center,
        "vector_layers": [{
            "id": layer.as_str(),
            "fields": layer_fields(layer),
            "minzoom": minzoom,
            "maxzoom": maxzoom,
        }],
    })))
}

/// The box of all loaded units.
fn province_bounds(snap: &crate::aggregate::Snapshot) -> Option<[f64; 4]> {
    snap.bbox_of(0..snap.units().len() as u32)
}

/// `GET /style.json?indicator=&method=&classes=&palette=`: a MapLibre style drawing one
/// indicator per unit (kabupaten, then kecamatan, then desa as the zoom grows) with the very
/// class breaks and colours `/api/choropleth` gives for the same parameters, and the legend
/// in `metadata`.
pub async fn style(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let base = base_url(&headers);
    let indicator = q.get("indicator").map(String::as_str).unwrap_or("desil_1");
    let shown = super::choropleth::Shown::parse(indicator)
        .filter(|s| s.change.is_none() && TILE_INDICATORS.contains(&s.indicator.as_str()))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "the style draws one of the tile indicators: {}",
                TILE_INDICATORS.join(", ")
            ))
        })?;
    let method: crate::choropleth::Method = q
        .get("method")
        .map(String::as_str)
        .unwrap_or("ckmeans")
        .parse()
        .map_err(|e: crate::choropleth::ClassifyError| ApiError::bad_request(e.to_string()))?;
    let k: usize = q
        .get("classes")
        .and_then(|c| c.parse().ok())
        .unwrap_or(super::choropleth::DEFAULT_CLASSES);
    let palette: crate::choropleth::Palette = match q.get("palette") {
        Some(p) => p
            .parse()
            .map_err(|e: crate::choropleth::ClassifyError| ApiError::bad_request(e.to_string()))?,
        None => crate::choropleth::Palette::sequential(),
    };
    let mut sources = serde_json::Map::new();
    let mut layers = vec![json!({
        "id": "latar", "type": "background", "paint": { "background-color": "#f4f1ea" }
    })];
    let mut legends = serde_json::Map::new();
    for layer in [Layer::Kabupaten, Layer::Kecamatan, Layer::Desa] {
        let name = layer.as_str();
        sources.insert(
            name.into(),
            json!({ "type": "vector", "url": format!("{base}/tiles/{name}.json") }),
        );
        let level = layer.level().expect("boundary layer");
        let sel = super::choropleth::Selection {
            snap: &snap,
            level,
            parent: None,
            shown: shown.clone(),
            period: snap.period(None),
            base: None,
        };
        let c = super::choropleth::build(&sel, &method, k, palette)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let colors = c.colors.clone();
        let mut step: Vec<Value> = vec![
            json!(["get", indicator]),
            json!(colors.first().cloned().unwrap_or_else(|| NO_DATA.into())),
        ];
        let inner = c.classes.bounds.get(1..c.classes.len()).unwrap_or(&[]);
        for (b, colour) in inner.iter().zip(colors.iter().skip(1)) {
            step.push(json!(b));
            step.push(json!(colour));
        }
        let (min, max) = layer.zooms();
        let shown_to = match layer {
            Layer::Kabupaten => 8,
            Layer::Kecamatan => 10,
            _ => 24,
        };
        layers.push(json!({
            "id": format!("{name}-isi"),
            "type": "fill",
            "source": name,
            "source-layer": name,
            "minzoom": min,
            "maxzoom": shown_to.min(max + 1),
            "paint": {
                "fill-color": ["case", ["has", indicator], Value::Array(
                    std::iter::once(json!("step")).chain(step).collect()
                ), NO_DATA],
                "fill-opacity": 0.8
            }
        }));
        layers.push(json!({
            "id": format!("{name}-batas"),
            "type": "line",
            "source": name,
            "source-layer": name,
            "minzoom": min,
            "paint": { "line-color": "#555555", "line-width": match layer { Layer::Kabupaten => 1.5, Layer::Kecamatan => 1.0, _ => 0.4 } }
        }));
        legends.insert(
            name.into(),
            json!({
                "indicator": indicator,
                "method": method.as_str(),
                "palette": palette.name(),
                "breaks": c.classes.bounds,
                "colors": colors,
                "labels": crate::choropleth::labels(&c.classes, shown.kind()),
                "no_data_color": NO_DATA,
                "no_data_label": super::choropleth::NO_DATA_LABEL,
            }),
        );
    }
    Ok(Json(json!({
        "version": 8,
        "name": format!("Lentera — {indicator}"),
        "metadata": { "lentera:legend": legends, "lentera:generation": snap.generation },
        "sources": sources,
        "layers": layers,
    })))
}

/// Colour of units without data.
const NO_DATA: &str = crate::choropleth::NO_DATA_COLOR;
