//! `/tiles/{layer}/{z}/{x}/{y}.mvt`, `/tiles/{layer}.json` (TileJSON 3.0) and `/style.json`:
//! vector tiles from the current snapshot, cached by snapshot generation, the household layer
//! for API tokens only.

use std::io::{Read, Write};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Caller, HouseholdAccess};
use super::choropleth::{ClassCount, Shown, DEFAULT_CLASSES};
use super::indicators::period_of;
use super::query::{parsed, ApiQuery};
use super::{ApiError, AppState};
use crate::aggregate::Disclosure;
use crate::aggregate::Snapshot;
use crate::choropleth::{Method, Palette};
use crate::model::{Period, Scope};
use crate::tiles::{
    border_layer_name, label_layer_name, Layer, TileCoord, TileError, TILE_INDICATORS,
};

/// Bytes of encoded tiles kept in memory, by default.
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

/// What identifies a cached tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    generation: u64,
    layer: Layer,
    tile: TileCoord,
    period: Option<Period>,
    scope: Scope,
    disclosure: Disclosure,
    /// How the bytes are encoded.
    encoding: TileEncoding,
}

/// How a cached tile's bytes are encoded. Tiles are made and kept gzip-compressed; a client
/// that does not take gzip (some GIS clients and proxies) gets them decompressed, and those
/// decompressed bytes are kept too, in the same bounded cache, instead of inflating the tile
/// again for every such request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TileEncoding {
    Gzip,
    Identity,
}

/// A cached tile: its bytes as its key's encoding says (empty for an empty tile) and the
/// households it shows.
pub type TileCache = moka::sync::Cache<TileKey, (Bytes, u64)>;

/// A tile cache bounded to `bytes`.
pub fn tile_cache(bytes: u64) -> TileCache {
    moka::sync::Cache::builder()
        .max_capacity(bytes)
        .weigher(|_k: &TileKey, v: &(Bytes, u64)| v.0.len().clamp(64, u32::MAX as usize) as u32)
        .build()
}

/// A tile address from the path, `{z}/{x}/{y}.mvt` (or `.pbf`), checked: `400` in words for
/// one the pyramid does not have; with the layer's name where the route has one.
pub struct TileAddress {
    /// The tile.
    pub tile: TileCoord,
    /// The `{layer}` segment, if the route has it.
    pub layer: Option<String>,
}

/// The segments of a tile route (read once per request, without a map).
#[derive(Deserialize)]
struct TileSegments {
    layer: Option<String>,
    z: String,
    x: String,
    file: String,
}

impl<S: Send + Sync> FromRequestParts<S> for TileAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(seg) = Path::<TileSegments>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let number = |key: &str, text: &str| {
            Some(text)
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u32>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "the tile's {key} must be a whole number: /tiles/{{layer}}/{{z}}/{{x}}/{{y}}.mvt"
                    ))
                })
        };
        let z = number("zoom", &seg.z)?;
        let x = number("column", &seg.x)?;
        let y = seg
            .file
            .strip_suffix(".mvt")
            .or_else(|| seg.file.strip_suffix(".pbf"))
            .ok_or_else(|| ApiError::bad_request("the tile must be named {y}.mvt"))?;
        let y = number("row", y)?;
        let tile = TileCoord::new(z, x, y).map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(TileAddress {
            tile,
            layer: seg.layer,
        })
    }
}

/// The query of a tile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileQuery {
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt` for the boundary layers.
pub async fn tile(
    State(st): State<AppState>,
    TileAddress { tile, layer }: TileAddress,
    ApiQuery(q): ApiQuery<TileQuery>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = layer.as_deref().unwrap_or_default();
    let layer = name.parse::<Layer>().map_err(|_| {
        ApiError::bad_request(TileError::UnknownLayer(name.to_string()).to_string())
    })?;
    let disclosure = caller.disclosure(&st.auth.config);
    let shared = caller.principal.is_none();
    let access = TileAccess {
        scope: Scope::All,
        disclosure,
        shared,
        reader: None,
    };
    tile_response(st, layer, tile, q.period, access, &headers).await
}

/// `GET /tiles/households/{z}/{x}/{y}.mvt`, for a user who may read household data: the
/// household points of their scope (each tile served is recorded in the audit trail).
pub async fn household_tile(
    State(st): State<AppState>,
    TileAddress { tile, .. }: TileAddress,
    ApiQuery(q): ApiQuery<TileQuery>,
    access: HouseholdAccess,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let access = TileAccess {
        scope: access.scope.clone(),
        disclosure: Disclosure::EXACT,
        shared: false,
        reader: Some(access),
    };
    tile_response(st, Layer::Households, tile, q.period, access, &headers).await
}

/// What a tile request may see and who reads it.
struct TileAccess {
    /// Households of these units (the household layer).
    scope: Scope,
    /// Which unit figures are exact.
    disclosure: Disclosure,
    /// The same for every anonymous reader: shared caches may keep it.
    shared: bool,
    /// A household reader, whose reads are recorded.
    reader: Option<HouseholdAccess>,
}

async fn tile_response(
    st: AppState,
    layer: Layer,
    tile: TileCoord,
    period: Option<Period>,
    access: TileAccess,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let tiles = st.live.tiles();
    let snap = tiles.snapshot();
    // An explicit period must have data; none means the latest (the key keeps `None`).
    if let Some(p) = period {
        period_of(snap, Some(p))?;
    }
    let mut key = TileKey {
        generation: snap.generation,
        layer,
        tile,
        period,
        scope: access.scope,
        disclosure: access.disclosure,
        encoding: TileEncoding::Gzip,
    };
    // The same tag for both encodings: `Vary: Accept-Encoding` tells caches apart.
    let etag = etag_of(&key);
    let cache_control = HeaderValue::from_static(if layer.is_private() {
        "private, no-store"
    } else if access.shared {
        "public, max-age=60, must-revalidate"
    } else {
        "private, max-age=60, must-revalidate"
    });
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().as_bytes() == etag.as_bytes()))
    {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        res.headers_mut().insert(header::ETAG, etag);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, cache_control);
        return Ok(res);
    }
    let wants_gzip = accepts_gzip(headers);
    let identity_cached = if wants_gzip {
        None
    } else {
        key.encoding = TileEncoding::Identity;
        let cached = st.tile_cache.get(&key);
        key.encoding = TileEncoding::Gzip;
        cached
    };
    let (body, households, gzipped) = match identity_cached {
        Some((raw, households)) => {
            tile_counter(TileSource::Cache);
            (raw, households, false)
        }
        None => {
            let (gz, households) = encoded_tile(&st, &tiles, &key).await?;
            if wants_gzip || gz.is_empty() {
                (gz, households, true)
            } else {
                let raw = Bytes::from(gunzip(&gz).map_err(ApiError::internal)?);
                key.encoding = TileEncoding::Identity;
                st.tile_cache.insert(key, (raw.clone(), households));
                (raw, households, false)
            }
        }
    };
    if let Some(reader) = &access.reader {
        reader.record(households);
    }
    let content = !body.is_empty();
    let mut res = if content {
        Response::new(axum::body::Body::from(body))
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Authorization, Cookie"),
    );
    if content {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
        );
        if gzipped {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    Ok(res)
}

/// The tile of `key` gzip-compressed, with the households it shows: from the pyramid drawn
/// ahead, else the cache, else drawn now (and cached).
async fn encoded_tile(
    st: &AppState,
    tiles: &std::sync::Arc<crate::tiles::TileSet>,
    key: &TileKey,
) -> Result<(Bytes, u64), ApiError> {
    let (layer, tile, period) = (key.layer, key.tile, key.period);
    let pyramid = (!layer.is_private())
        .then(|| st.live.pyramid())
        .flatten()
        .and_then(|p| {
            p.get(
                key.generation,
                layer,
                tile,
                period,
                &key.scope,
                key.disclosure,
            )
            .map(|gz| (gz.clone(), 0))
        });
    let (found, source) = match pyramid {
        Some(held) => (Some(held), TileSource::Pyramid),
        None => match st.tile_cache.get(key) {
            Some(cached) => (Some(cached), TileSource::Cache),
            None => (None, TileSource::Drawn),
        },
    };
    tile_counter(source);
    Ok(match found {
        Some(found) => found,
        None => {
            let render_key = key.clone();
            let tiles = tiles.clone();
            let bytes = tokio::task::spawn_blocking(move || {
                let period = tiles
                    .snapshot()
                    .period(render_key.period)
                    .map(|p| p.disclosed(render_key.disclosure));
                let (tile, households) = tiles.render_counted(
                    layer,
                    render_key.tile,
                    period.as_ref(),
                    &render_key.scope,
                )?;
                let bytes = tile.map_or_else(Bytes::new, |t| Bytes::from(gzip(&t)));
                Ok::<_, TileError>((bytes, households))
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
            st.tile_cache.insert(key.clone(), bytes.clone());
            bytes
        }
    })
}

/// Where a tile served came from.
#[derive(Debug, Clone, Copy)]
enum TileSource {
    Pyramid,
    Cache,
    Drawn,
}

/// Counts a tile served by where it came from (`lentera_tile_cache_requests_total`). The
/// counters are looked up once: a tile served from memory costs a few hundred nanoseconds,
/// which a registry lookup per request would double.
fn tile_counter(source: TileSource) {
    static COUNTERS: std::sync::OnceLock<[metrics::Counter; 3]> = std::sync::OnceLock::new();
    // Registered after the recorder is installed (the metrics middleware installs it before
    // any handler runs).
    let counters = COUNTERS.get_or_init(|| {
        ["pyramid", "hit", "miss"]
            .map(|r| metrics::counter!("lentera_tile_cache_requests_total", "result" => r))
    });
    counters[source as usize].increment(1);
}

/// A strong ETag naming what the tile shows: its key (generation, layer, address, period,
/// scope, disclosure) hashed with a fixed seed, so that every server over one store gives a
/// tile the same tag.
fn etag_of(key: &TileKey) -> HeaderValue {
    use std::hash::BuildHasher;
    let hash = foldhash::fast::FixedState::default().hash_one(key);
    let text = format!("\"{hash:016x}\"");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
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
    // Writing into memory cannot fail: the `Vec` grows as needed.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
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

/// `GET /tiles/{layer}.json`: TileJSON 3.0.
pub async fn tilejson(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let layer = name
        .strip_suffix(".json")
        .and_then(|n| n.parse::<Layer>().ok())
        .ok_or_else(|| {
            ApiError::not_found("TileJSON: /tiles/{kabupaten|kecamatan|desa|households}.json")
        })?;
    let tiles = st.live.tiles();
    let snap = tiles.snapshot();
    let (minzoom, maxzoom) = tiles.zooms(layer);
    let bounds = province_bounds(snap).unwrap_or([-180.0, -85.0, 180.0, 85.0]);
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
        "vector_layers": layer.vector_layers(minzoom, maxzoom),
    })))
}

/// The box of all loaded units.
fn province_bounds(snap: &Snapshot) -> Option<[f64; 4]> {
    snap.bbox_of(0..snap.units().len() as u32)
}

/// The query of `/style.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleQuery {
    /// What is drawn (a tile indicator; default `desil_1`).
    #[serde(default, deserialize_with = "parsed")]
    indicator: Option<Shown>,
    /// How classes are made.
    #[serde(default, deserialize_with = "parsed")]
    method: Option<Method>,
    /// The number of classes.
    classes: Option<ClassCount>,
    /// The colours.
    #[serde(default, deserialize_with = "parsed")]
    palette: Option<Palette>,
}

/// `GET /style.json?indicator=&method=&classes=&palette=`: a MapLibre style drawing one
/// indicator per unit (kabupaten, then kecamatan, then desa as the zoom grows) with the very
/// class breaks and colours `/api/choropleth` gives for the same parameters, and the legend
/// in `metadata`.
pub async fn style(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<StyleQuery>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let tiles = st.live.tiles();
    let snap = tiles.snapshot();
    let disclosure = caller.disclosure(&st.auth.config);
    let base = base_url(&headers);
    let shown = q.indicator.unwrap_or_default();
    let Some(shown_indicator) = shown
        .indicator()
        .filter(|i| !shown.needs_base() && TILE_INDICATORS.contains(i))
    else {
        let names: Vec<&str> = TILE_INDICATORS.iter().map(|i| i.name()).collect();
        return Err(ApiError::bad_request(format!(
            "the style draws one of the tile indicators: {}",
            names.join(", ")
        )));
    };
    let indicator = shown_indicator.name();
    let method = q.method.unwrap_or(Method::Ckmeans);
    let k = q.classes.map_or(DEFAULT_CLASSES, |c| c.0);
    let palette = q.palette.unwrap_or_else(Palette::sequential);
    let mut sources = serde_json::Map::new();
    let mut layers = vec![json!({
        "id": "latar", "type": "background", "paint": { "background-color": "#f4f1ea" }
    })];
    let mut legends = serde_json::Map::new();
    // Place names where a font is installed (the glyphs come from this server).
    let label_font = st.fonts.pick(&crate::tiles::glyphs::REGULAR);
    for layer in [Layer::Kabupaten, Layer::Kecamatan, Layer::Desa] {
        let name = layer.as_str();
        sources.insert(
            name.into(),
            json!({ "type": "vector", "url": format!("{base}/tiles/{name}.json") }),
        );
        let Some(level) = layer.level() else { continue };
        let sel = super::choropleth::Selection {
            snap,
            level,
            parent: None,
            shown,
            period: snap.period(None).map(|p| p.disclosed(disclosure)),
            base: None,
            // The style colours the tiles' own values; every value is classified.
            min_households: 0,
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
        // Each level is shown over its own zooms, as the web map's automatic level does
        // (a small level is tiled from zoom 0, but is not drawn over its parents there).
        let (tiled_from, max) = tiles.zooms(layer);
        let (shown_from, shown_to) = match layer {
            Layer::Kabupaten => (0, 8),
            Layer::Kecamatan => (8, 10),
            _ => (10, 24),
        };
        let min = tiled_from.max(shown_from);
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
            "maxzoom": shown_to.min(max + 1),
            "paint": { "line-color": "#555555", "line-width": match layer { Layer::Kabupaten => 1.5, Layer::Kecamatan => 0.6, _ => 0.4 } }
        }));
        // The parent levels' borders as this level's units draw them (a parent's own
        // boundary file may cross them).
        if layer != Layer::Kabupaten {
            layers.push(json!({
                "id": format!("{name}-induk"),
                "type": "line",
                "source": name,
                "source-layer": border_layer_name(layer),
                "minzoom": min,
                "maxzoom": shown_to.min(max + 1),
                "paint": {
                    "line-color": "#333333",
                    "line-width": ["match", ["get", "tingkat"], "kabupaten", 1.6, 1.0]
                }
            }));
        }
        if let Some(font) = label_font {
            layers.push(json!({
                "id": format!("{name}-nama"),
                "type": "symbol",
                "source": name,
                "source-layer": label_layer_name(layer),
                "minzoom": min,
                "maxzoom": shown_to.min(max + 1),
                "layout": {
                    "text-field": ["get", "label"],
                    "text-font": [font],
                    "text-size": match layer { Layer::Kabupaten => 13, Layer::Kecamatan => 12, _ => 11 },
                    "symbol-sort-key": ["get", "peringkat"],
                    "text-max-width": 8,
                },
                "paint": {
                    "text-color": "#1f1f1f",
                    "text-halo-color": "rgba(255, 255, 255, 0.9)",
                    "text-halo-width": 1.4,
                },
            }));
        }
        legends.insert(
            name.into(),
            json!({
                "indicator": indicator,
                "method": method.as_str(),
                "palette": palette.name(),
                "breaks": c.classes.bounds,
                "colors": colors,
                "labels": c.labels(shown.kind()),
                "no_data_color": NO_DATA,
                "no_data_label": super::choropleth::NO_DATA_LABEL,
            }),
        );
    }
    let mut style = json!({
        "version": 8,
        "name": format!("Lentera — {indicator}"),
        "metadata": { "lentera:legend": legends, "lentera:generation": snap.generation },
        "sources": sources,
        "layers": layers,
    });
    if label_font.is_some() {
        style["glyphs"] = json!(format!("{base}/fonts/{{fontstack}}/{{range}}.pbf"));
    }
    Ok(Json(style))
}

/// Colour of units without data.
const NO_DATA: &str = crate::choropleth::NO_DATA_COLOR;
