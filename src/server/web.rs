//! The web map: its page, script and style (compiled into the binary), MapLibre GL JS (read
//! from the npm package installed in the web directory, pinned by `web/package-lock.json`),
//! and the place search it uses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::choropleth::{method_about, method_label};
use super::indicators::NoQuery;
use super::query::{ApiQuery, Bounded};
use super::{ApiError, AppState};
use crate::aggregate::{Count, Indicator, Rate};
use crate::choropleth::Method;
use crate::geocode::names::similarity;
use crate::geocode::normalize::{normalize_name, words};
use crate::region::Level;

/// The web directory of the source tree, where `npm ci` installs MapLibre.
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web");

/// A file served as read, and gzip-compressed once for clients that accept it.
#[derive(Debug, Clone)]
struct Asset {
    raw: Bytes,
    gzip: Bytes,
}

/// MapLibre's files (and the PMTiles reader's) as served: each read from the web directory on
/// its first request and kept;
/// one not found yet is looked for again on the next request, so `npm ci` after the server
/// started is enough.
#[derive(Debug, Clone)]
pub struct Vendor(Arc<VendorFiles>);

#[derive(Debug)]
struct VendorFiles {
    modules: PathBuf,
    script: OnceLock<Asset>,
    style: OnceLock<Asset>,
    pmtiles: OnceLock<Asset>,
}

impl Vendor {
    /// The npm packages in `web_dir/node_modules`.
    pub fn new(web_dir: &Path) -> Vendor {
        Vendor(Arc::new(VendorFiles {
            modules: web_dir.join("node_modules"),
            script: OnceLock::new(),
            style: OnceLock::new(),
            pmtiles: OnceLock::new(),
        }))
    }

    /// The file `name` of `slot`, read now if it was not yet.
    fn get<'a>(&self, slot: &'a OnceLock<Asset>, name: &str) -> Option<&'a Asset> {
        if let Some(asset) = slot.get() {
            return Some(asset);
        }
        match std::fs::read(self.0.modules.join(name)) {
            Ok(b) => Some(slot.get_or_init(|| Asset {
                gzip: Bytes::from(super::tiles::gzip(&b)),
                raw: Bytes::from(b),
            })),
            Err(e) => {
                tracing::warn!(
                    "{name} not found in {} ({e}): run `npm ci --prefix web`",
                    self.0.modules.display()
                );
                None
            }
        }
    }

    /// Whether both files are there (reading them if they were not read yet); says in the log
    /// how to install them when not.
    pub fn is_complete(&self) -> bool {
        self.script().is_some() && self.style().is_some()
    }

    fn script(&self) -> Option<&Asset> {
        self.get(&self.0.script, "maplibre-gl/dist/maplibre-gl.js")
    }

    fn style(&self) -> Option<&Asset> {
        self.get(&self.0.style, "maplibre-gl/dist/maplibre-gl.css")
    }

    fn pmtiles(&self) -> Option<&Asset> {
        self.get(&self.0.pmtiles, "pmtiles/dist/pmtiles.js")
    }
}

/// Where the server finds the web directory: `LENTERA_WEB_DIR` or the source tree's `web/`.
pub fn web_dir_from_env() -> PathBuf {
    std::env::var_os("LENTERA_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_WEB_DIR))
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the map page.
pub async fn index() -> Response {
    asset(
        "text/html; charset=utf-8",
        Html(include_str!("../../web/index.html")),
    )
}

/// `GET /bantuan`: the help page (indicators, methods, sources, glossary, QGIS).
pub async fn help() -> Response {
    asset(
        "text/html; charset=utf-8",
        Html(include_str!("../../web/bantuan.html")),
    )
}

/// `GET /bantuan.js`: the help page's lists from `/api/fields`.
pub async fn help_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/bantuan.js"),
    )
}

/// `GET /app.js`.
pub async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    )
}

/// `GET /verval.js`: the verval round in the page.
pub async fn verval_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/verval.js"),
    )
}

/// `GET /programs.js`: programmes and targeting in the page.
pub async fn programs_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/programs.js"),
    )
}

/// `GET /app.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../web/app.css"))
}

/// `GET /vendor/maplibre-gl.js`, `/vendor/maplibre-gl.css` and `/vendor/pmtiles.js`.
pub async fn vendor(
    State(st): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let (bytes, content_type) = match file.as_str() {
        "maplibre-gl.js" => (st.vendor.script(), "text/javascript; charset=utf-8"),
        "maplibre-gl.css" => (st.vendor.style(), "text/css; charset=utf-8"),
        "pmtiles.js" => (st.vendor.pmtiles(), "text/javascript; charset=utf-8"),
        _ => return ApiError::not_found("no such file").into_response(),
    };
    match bytes {
        Some(asset) if super::tiles::accepts_gzip(&headers) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "accept-encoding"),
            ],
            asset.gzip.clone(),
        )
            .into_response(),
        Some(asset) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::VARY, "accept-encoding"),
            ],
            asset.raw.clone(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "MapLibre GL JS is not installed: run `npm ci --prefix web` in Lentera's source tree \
             (or set LENTERA_WEB_DIR to a directory holding it).",
        )
            .into_response(),
    }
}

/// The indicators the map offers, in the order its list shows them.
pub const MAP_INDICATORS: [Indicator; 14] = [
    Indicator::Count(Count::Desil1),
    Indicator::Count(Count::Desil1To4),
    Indicator::Count(Count::Households),
    Indicator::Count(Count::People),
    Indicator::Count(Count::ExtremePoor),
    Indicator::Rate(Rate::ExtremePoorRate),
    Indicator::Rate(Rate::Desil1Rate),
    Indicator::Rate(Rate::Desil1To4Rate),
    Indicator::Count(Count::Pkh),
    Indicator::Rate(Rate::PkhCoverage),
    Indicator::Count(Count::Desil1NoProgram),
    Indicator::Count(Count::Desil1NoPkh),
    Indicator::Rate(Rate::Desil1NoPkhShare),
    Indicator::Count(Count::Flagged),
];

/// The figures a unit's panel shows, in order.
pub const PANEL_FIGURES: [Indicator; 16] = [
    Indicator::Count(Count::Households),
    Indicator::Count(Count::People),
    Indicator::Count(Count::Desil1),
    Indicator::Count(Count::Desil2),
    Indicator::Count(Count::Desil3),
    Indicator::Count(Count::Desil4),
    Indicator::Count(Count::Desil1To4),
    Indicator::Count(Count::ExtremePoor),
    Indicator::Count(Count::Pkh),
    Indicator::Rate(Rate::PkhCoverage),
    Indicator::Count(Count::Desil1NoPkh),
    Indicator::Count(Count::Desil1NoProgram),
    Indicator::Rate(Rate::ExtremePoorRate),
    Indicator::Rate(Rate::Desil1Rate),
    Indicator::Rate(Rate::Desil1To4Rate),
    Indicator::Count(Count::Flagged),
];

/// `GET /api/fields`: every indicator with its labels in Bahasa Indonesia, its kind (a
/// count or a rate, 0–1), its description, and its place in the map's list (`map`) and in a
/// unit's panel (`panel`), `null` where it is not shown there; and the classification methods
/// (`methods`: name, label, about). The web page and the help page build their lists from
/// this, so a label is written once.
pub async fn fields(ApiQuery(NoQuery {}): ApiQuery<NoQuery>) -> Json<Value> {
    let position = |list: &[Indicator], i: Indicator| list.iter().position(|x| *x == i);
    let fields: Vec<Value> = Indicator::all()
        .map(|i| {
            json!({
                "name": i.name(),
                "label": i.label(),
                "short_label": i.short_label(),
                "kind": if i.is_share() { "rate" } else { "count" },
                "about": i.about(),
                "map": position(&MAP_INDICATORS, i),
                "panel": position(&PANEL_FIGURES, i),
            })
        })
        .collect();
    let flows: Vec<Value> = crate::aggregate::Flow::ALL
        .iter()
        .map(|f| json!({ "name": format!("transition_{}", f.name()), "label": f.label() }))
        .collect();
    let methods: Vec<Value> = [
        Method::Ckmeans,
        Method::Quantile,
        Method::EqualInterval,
        Method::Pretty,
    ]
    .iter()
    .map(|m| json!({ "name": m.as_str(), "label": method_label(m), "about": method_about(m) }))
    .collect();
    Json(json!({ "fields": fields, "flows": flows, "methods": methods }))
}

/// Suggestions returned by default.
const DEFAULT_SUGGESTIONS: usize = 10;

/// The query of `/api/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// A name or code.
    q: Option<String>,
    /// Most suggestions.
    limit: Option<Bounded<1, 100>>,
}

/// `GET /api/search?q=&limit=`: units whose name or code matches, best first (exact name,
/// then names starting with the query, then containing it; kabupaten before kecamatan before
/// desa), each with the names of its parents to tell namesakes apart.
pub async fn search(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = q.q.as_deref().map(str::trim).unwrap_or("");
    if query.is_empty() {
        return Err(ApiError::bad_request("q: a name or code to look for"));
    }
    let limit = q.limit.map_or(DEFAULT_SUGGESTIONS, |l| l.0);
    let snap = st.live.snapshot();
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let by_code = !digits.is_empty() && query.chars().all(|c| c.is_ascii_digit() || c == '.');
    let mut hits: Vec<(u8, u8, &str, u32)> = Vec::new();
    let wanted: HashMap<Level, String> = [Level::Kabupaten, Level::Kecamatan, Level::Desa]
        .into_iter()
        .map(|l| (l, normalize_name(query, l)))
        .collect();
    for u in 0..snap.units().len() as u32 {
        let info = &snap.unit(u).info;
        let Some(want) = wanted.get(&info.level) else {
            continue;
        };
        let rank = if by_code {
            info.kode.digits().starts_with(&digits).then_some(1)
        } else if want.is_empty() {
            None
        } else {
            let name = normalize_name(&info.nama, info.level);
            if name == *want {
                Some(0)
            } else if name.starts_with(want.as_str()) {
                Some(1)
            } else if name.contains(want.as_str()) {
                Some(2)
            } else {
                None
            }
        };
        if let Some(rank) = rank {
            let depth = info.level as u8;
            hits.push((rank, depth, info.nama.as_str(), u));
        }
    }
    hits.sort();
    // A typo finds nothing that starts with it: offer the closest names instead.
    let did_you_mean = if by_code || hits.iter().any(|h| h.0 <= 1) {
        Vec::new()
    } else {
        close_names(&snap, query)
    };
    let results: Vec<Value> = hits
        .iter()
        .take(limit)
        .map(|&(_, _, _, u)| {
            let info = &snap.unit(u).info;
            let parents: Vec<Value> = snap
                .parents(u)
                .into_iter()
                .filter(|&p| snap.unit(p).info.level != Level::Provinsi)
                .map(|p| {
                    let pi = &snap.unit(p).info;
                    json!({ "kode": pi.kode.to_string(), "nama": pi.nama, "level": pi.level.as_str() })
                })
                .collect();
            json!({
                "kode": info.kode.to_string(),
                "nama": info.nama,
                "level": info.level.as_str(),
                "jenis": info.jenis.as_str(),
                "bbox": info.bbox,
                "parents": parents,
            })
        })
        .collect();
    Ok(Json(
        json!({ "query": query, "results": results, "did_you_mean": did_you_mean }),
    ))
}

/// How similar (1 − edits / length) a place name must be to a query to be offered for it.
const CLOSE_NAME_MIN: f64 = 0.75;
/// Queries shorter than this (letters and digits) get no "Maksud Anda …?".
const CLOSE_NAME_MIN_LEN: usize = 4;
/// Most names offered.
const CLOSE_NAMES: usize = 3;

/// The place names closest to a query that matched nothing (`Tengarong` → `Tenggarong`,
/// `Sangata` → `Sangatta`, `Balikpapn` → `Balikpapan`), most similar first and, as equals,
/// the larger unit's name first: every run of as many words as the query in each unit's name
/// is compared, so one mistyped word finds the kecamatan and desa it starts.
fn close_names(snap: &crate::aggregate::Snapshot, query: &str) -> Vec<String> {
    let wanted = words(query);
    let squashed: String = wanted.concat();
    if squashed.chars().count() < CLOSE_NAME_MIN_LEN {
        return Vec::new();
    }
    // Best (score, depth) per name offered.
    let mut best: HashMap<String, (f64, u8)> = HashMap::new();
    for u in 0..snap.units().len() as u32 {
        let info = &snap.unit(u).info;
        if info.level == Level::Provinsi {
            continue;
        }
        let name = words(&info.nama);
        if name.is_empty() {
            continue;
        }
        for run in name.windows(wanted.len().min(name.len())) {
            let score = similarity(&squashed, &run.concat());
            if score < CLOSE_NAME_MIN {
                continue;
            }
            let text = run
                .iter()
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" ");
            let depth = info.level as u8;
            let entry = best.entry(text).or_insert((score, depth));
            if score > entry.0 || (score == entry.0 && depth < entry.1) {
                *entry = (score, depth);
            }
        }
    }
    let mut ranked: Vec<(String, (f64, u8))> = best.into_iter().collect();
    ranked.sort_by(|a, b| {
        b.1 .0
            .total_cmp(&a.1 .0)
            .then(a.1 .1.cmp(&b.1 .1))
            .then(a.0.cmp(&b.0))
    });
    ranked
        .into_iter()
        .take(CLOSE_NAMES)
        .map(|(text, _)| text)
        .collect()
}
