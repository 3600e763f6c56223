//! `GET /api/map.png`: the choropleth as a picture for a slide, a printed report or a chat
//! group — the very classes and colours of `/api/choropleth` for the same parameters, the
//! outlines of the parent level, names, the legend with counts and "Tidak ada data", title,
//! period, sources, scale bar, north arrow and the date ([`crate::render`]). The same
//! public/household rules as every other route: aggregates only, small cells hidden for
//! whoever may not see them.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Caller;
use super::choropleth::{
    build, classing, method_label, selection_query, Breaks, ClassCount, Selection, SelectionParams,
    Shown, FEW_COLOR, NO_DATA_LABEL,
};
use super::query::parsed;
use super::query::ApiQuery;
use super::{ApiError, AppState};
use crate::choropleth::{Method, Palette, NO_DATA_COLOR};
use crate::model::Period;
use crate::region::{Kode, Level};
use crate::render::{Area, LegendRow, MapImage, RenderError};
use crate::tiles::mercator::to_world;

/// Default picture size, pixels.
const DEFAULT_SIZE: (u32, u32) = (1200, 800);
/// Longest title, characters.
const MAX_TITLE: usize = 160;

selection_query! {
    /// The query of `/api/map.png`.
    MapQuery {
        #[serde(default, deserialize_with = "parsed")]
        method: Option<Method>,
        classes: Option<ClassCount>,
        #[serde(default, deserialize_with = "parsed")]
        palette: Option<Palette>,
        #[serde(default, deserialize_with = "parsed")]
        breaks: Option<Breaks>,
        #[serde(default, deserialize_with = "parsed")]
        width: Option<u32>,
        #[serde(default, deserialize_with = "parsed")]
        height: Option<u32>,
        #[serde(default, deserialize_with = "parsed")]
        scale: Option<u8>,
        title: Option<String>,
        #[serde(default, deserialize_with = "parsed")]
        labels: Option<bool>,
    }
}

/// The noun of a level's units in a count ("12 desa").
fn noun(level: Level) -> &'static str {
    match level {
        Level::Provinsi => "provinsi",
        Level::Kabupaten => "kabupaten/kota",
        Level::Kecamatan => "kecamatan",
        Level::Desa => "desa/kelurahan",
    }
}

/// `GET /api/map.png?level=&indicator=&period=&base=&parent=&method=&classes=&palette=&breaks=&width=&height=&scale=&title=&labels=`
pub async fn map_png(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<MapQuery>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let (width, height) = (
        q.width.unwrap_or(DEFAULT_SIZE.0),
        q.height.unwrap_or(DEFAULT_SIZE.1),
    );
    let scale = f32::from(q.scale.unwrap_or(1));
    let size_error = || ApiError::bad_request(RenderError::Size.to_string());
    let side = crate::render::MIN_SIDE..=crate::render::MAX_SIDE;
    if !side.contains(&width) || !side.contains(&height) || !(scale == 1.0 || scale == 2.0) {
        return Err(size_error());
    }
    if q.title
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TITLE)
    {
        return Err(ApiError::bad_request(format!(
            "the title is at most {MAX_TITLE} characters"
        )));
    }
    let tiles = st.live.tiles();
    let snap = tiles.snapshot().clone();
    let sel = Selection::new(
        &snap,
        q.selection(),
        Level::Kabupaten,
        caller.disclosure(&st.auth.config),
    )?;
    let synthetic = is_synthetic(&st).await;
    let (method, k, palette) = classing(
        q.method.clone(),
        q.breaks.clone(),
        q.classes,
        q.palette,
        &sel,
    );
    let img = picture(
        &tiles,
        &sel,
        &PictureOptions {
            method,
            classes: k,
            palette,
            width,
            height,
            scale,
            title: q.title.clone(),
            labels: q.labels.unwrap_or(true),
            synthetic,
        },
    )?;
    let frame = crate::render::frame(&img)
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .map(|v| format!("{v:.9}"))
        .join(",");
    let png = draw(&st, img).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=60"),
            ),
            (
                header::HeaderName::from_static("x-map-frame"),
                HeaderValue::from_str(&frame).map_err(ApiError::internal)?,
            ),
        ],
        png,
    )
        .into_response())
}

/// Whether the store holds the demo's synthetic province (pictures and documents say so).
pub(crate) async fn is_synthetic(st: &AppState) -> bool {
    st.live
        .store()
        .get_meta("dataset")
        .await
        .ok()
        .flatten()
        .as_deref()
        == Some("synthetic")
}

/// Draws `img` to PNG off the async workers.
pub(crate) async fn draw(st: &AppState, img: MapImage) -> Result<Vec<u8>, ApiError> {
    let fonts = st.map_fonts.clone();
    tokio::task::spawn_blocking(move || crate::render::render_png(&img, fonts))
        .await
        .map_err(|e| ApiError::internal(format!("map drawing stopped: {e}")))?
        .map_err(|e| match e {
            RenderError::Draw(_) => ApiError::internal(e),
            _ => ApiError::bad_request(e.to_string()),
        })
}

/// How a picture is drawn besides what it selects.
pub(crate) struct PictureOptions {
    pub method: Method,
    pub classes: usize,
    pub palette: Palette,
    pub width: u32,
    pub height: u32,
    pub scale: f32,
    pub title: Option<String>,
    pub labels: bool,
    /// Whether the data is the demo's synthetic province (said on the picture).
    pub synthetic: bool,
}

/// The picture of the units `sel` selects, classified as `/api/choropleth` does.
pub(crate) fn picture(
    tiles: &crate::tiles::TileSet,
    sel: &Selection<'_>,
    opts: &PictureOptions,
) -> Result<MapImage, ApiError> {
    let snap = tiles.snapshot();
    let PictureOptions {
        method,
        classes: k,
        palette,
        width,
        height,
        scale,
        ..
    } = opts;
    let (width, height, scale, k) = (*width, *height, *scale, *k);
    let c = build(sel, method, k, *palette).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let level = sel.level;
    let kind = sel.shown.kind();

    // Legend: the classes with their counts, then the units without a class.
    let present = c.classified();
    let counts = c.classes.counts(&present);
    let mut legend: Vec<LegendRow> = c
        .labels(kind)
        .into_iter()
        .zip(&c.colors)
        .zip(counts)
        .map(|((label, color), n)| LegendRow {
            color: color.clone(),
            label,
            count: format!("{n} {}", noun(level)),
        })
        .collect();
    let few = c.values.iter().filter(|(_, _, few)| *few).count();
    let suppressed = c
        .values
        .iter()
        .filter(|(u, _, _)| sel.suppressed(*u))
        .count();
    if few > 0 {
        legend.push(LegendRow {
            color: FEW_COLOR.into(),
            label: format!(
                "Terlalu sedikit data (< {} rumah tangga)",
                sel.min_households
            ),
            count: format!("{few} {}", noun(level)),
        });
    }
    if suppressed > 0 {
        let label = sel.period.as_ref().map_or_else(String::new, |p| {
            format!("{} rumah tangga (disembunyikan)", p.disclosure().label())
        });
        legend.push(LegendRow {
            color: NO_DATA_COLOR.into(),
            label,
            count: format!("{suppressed} {}", noun(level)),
        });
    }
    legend.push(LegendRow {
        color: NO_DATA_COLOR.into(),
        label: NO_DATA_LABEL.into(),
        count: format!(
            "{} {}",
            c.values.len() - present.len() - few - suppressed,
            noun(level)
        ),
    });

    // The zoom whose simplified outlines are finer than half a pixel at this size.
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for (u, _, _) in &c.values {
        if let Some(b) = snap.unit(*u).info.bbox {
            let (x0, y1) = to_world(b[0], b[1]);
            let (x1, y0) = to_world(b[2], b[3]);
            lo = [lo[0].min(x0), lo[1].min(y0)];
            hi = [hi[0].max(x1), hi[1].max(y1)];
        }
    }
    if lo[0] > hi[0] {
        return Err(ApiError::not_found(RenderError::Empty.to_string()));
    }
    let px_per_world = (f64::from(width) * f64::from(scale) / (hi[0] - lo[0]).max(1e-12))
        .min(f64::from(height) * f64::from(scale) / (hi[1] - lo[1]).max(1e-12));
    let z = (px_per_world / 1024.0).log2().ceil().clamp(0.0, 14.0) as u8;

    let labels = opts.labels;
    let outlines = tiles.outlines(level, z);
    let by_unit: std::collections::HashMap<u32, &crate::tiles::UnitOutline<'_>> =
        outlines.iter().map(|o| (o.unit, o)).collect();
    let mut areas: Vec<(u32, Area)> = c
        .values
        .iter()
        .filter_map(|&(u, v, is_few)| {
            let o = by_unit.get(&u)?;
            let fill = match c.class_of(v, is_few) {
                Some(class) => c
                    .colors
                    .get(class)
                    .cloned()
                    .unwrap_or_else(|| NO_DATA_COLOR.into()),
                None if is_few => FEW_COLOR.into(),
                None => NO_DATA_COLOR.into(),
            };
            let label = o
                .label
                .filter(|_| labels)
                .map(|at| (snap.unit(u).info.short_name().to_string(), at));
            Some((
                o.rank,
                Area {
                    polygons: o.polygons.to_vec(),
                    fill,
                    label,
                },
            ))
        })
        .collect();
    // Larger units first: their names win where names would overlap.
    areas.sort_by_key(|(rank, _)| *rank);

    // The parent level's borders and the selection's edge, drawn along the units' own
    // outlines as the tiles' border layer is (`tiles::borders`).
    let drawn: std::collections::HashSet<u32> = c.values.iter().map(|&(u, _, _)| u).collect();
    let rings: Vec<Vec<[f64; 2]>> = tiles
        .parent_borders(level, z)
        .into_iter()
        .filter(|b| b.units.iter().any(|u| drawn.contains(u)))
        .map(|b| b.line)
        .collect();

    let period = sel.period.as_ref().map(|p| p.period);
    let area_name = sel.parent.map(|p| snap.unit(p).info.full_name());
    let indicator_label = sel.shown.label();
    let title = opts.title.clone().unwrap_or_else(|| match &area_name {
        Some(a) => format!("{indicator_label} — {a}"),
        None => indicator_label.clone(),
    });
    let mut subtitle = format!(
        "Per {} · periode {}",
        noun(level),
        period.map_or_else(|| "—".to_string(), |p| p.to_string())
    );
    if let Some(b) = sel.base.as_ref() {
        subtitle.push_str(&format!(" dibanding {}", b.period));
    }
    subtitle.push_str(&format!(
        " · {} · {} kelas",
        method_label(method),
        c.classes.len()
    ));
    let mut sources: Vec<String> = snap
        .batches()
        .iter()
        .filter(|b| Some(b.period) == period)
        .map(|b| b.source.as_str().to_uppercase())
        .collect();
    sources.sort();
    sources.dedup();
    let mut notes = vec![format!(
        "Sumber: {}",
        if sources.is_empty() {
            "tidak ada data".to_string()
        } else {
            sources.join(", ")
        }
    )];
    if opts.synthetic {
        notes.push("Data sintetis (demo): bukan data sebenarnya.".into());
    }
    let today = crate::model::account::now()
        .chars()
        .take(10)
        .collect::<String>();
    let img = MapImage {
        width,
        height,
        scale,
        title,
        subtitle,
        areas: areas.into_iter().map(|(_, a)| a).collect(),
        outlines: rings,
        legend_title: indicator_label,
        legend,
        notes,
        footer: format!("Dibuat {today} dengan Lentera · angka agregat rumah tangga BNBA"),
    };
    Ok(img)
}
