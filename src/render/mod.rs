//! Static pictures for reports: a choropleth map as an SVG document drawn to PNG by resvg
//! (tiny-skia underneath, text shaped with the same open fonts as the map's labels). The
//! picture is described in plain terms ([`MapImage`]: areas in Web Mercator world
//! coordinates with their fill, outlines, a legend, notes), so that whoever classifies the
//! units (the server, with the very classes of `/api/choropleth`) decides what is drawn and
//! this module only how.
//!
//! Hand-written SVG: it is a short text format resvg reads directly, and building it keeps
//! the drawing (paths, halos, legend) in one readable place.

pub mod pdf;

use std::fmt::Write as _;
use std::sync::Arc;

/// Widest or tallest picture, pixels (before `scale`).
pub const MAX_SIDE: u32 = 4000;
/// Smallest side, pixels.
pub const MIN_SIDE: u32 = 200;
/// Width of the legend column, pixels.
const LEGEND_WIDTH: f64 = 250.0;
/// Height of the title band, pixels.
const TITLE_HEIGHT: f64 = 58.0;
/// Height of the footer band, pixels.
const FOOTER_HEIGHT: f64 = 34.0;
/// The font families, best first (the server's fonts; see `tiles::glyphs`).
const FONTS: &str = "'Noto Sans', 'DejaVu Sans', sans-serif";

/// One unit on the map.
#[derive(Debug, Clone)]
pub struct Area {
    /// Its polygons, each a list of closed rings (exterior first), in world coordinates
    /// (Web Mercator, 0–1).
    pub polygons: Vec<Vec<Vec<[f64; 2]>>>,
    /// Fill colour, `#rrggbb`.
    pub fill: String,
    /// Its name and where it goes (world coordinates), when names are drawn.
    pub label: Option<(String, [f64; 2])>,
}

/// One row of the legend.
#[derive(Debug, Clone)]
pub struct LegendRow {
    /// Colour, `#rrggbb`.
    pub color: String,
    /// What the colour means.
    pub label: String,
    /// How many units, with their noun ("12 desa").
    pub count: String,
}

/// A choropleth map picture.
#[derive(Debug, Clone)]
pub struct MapImage {
    /// Width in pixels (before `scale`).
    pub width: u32,
    /// Height in pixels (before `scale`).
    pub height: u32,
    /// 1 for a screen, 2 for print: every size is multiplied.
    pub scale: f32,
    /// Title.
    pub title: String,
    /// The line under it (indicator, period, method).
    pub subtitle: String,
    /// The units, drawn in order.
    pub areas: Vec<Area>,
    /// Lines drawn over the areas (the parent level's borders), each an open polyline.
    pub outlines: Vec<Vec<[f64; 2]>>,
    /// The legend's heading.
    pub legend_title: String,
    /// The legend's rows.
    pub legend: Vec<LegendRow>,
    /// Lines under the legend (sources, notes).
    pub notes: Vec<String>,
    /// The footer (generation date, data basis).
    pub footer: String,
}

/// Why a picture could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The size is out of range.
    #[error("width and height must be {MIN_SIDE}–{MAX_SIDE} pixels and scale 1 or 2")]
    Size,
    /// Nothing to draw.
    #[error("there is nothing to draw: no unit of the selection has a boundary")]
    Empty,
    /// resvg refused the document (a defect: the document is ours).
    #[error("cannot draw the map: {0}")]
    Draw(String),
}

/// A font database of the files in `paths` (files or directories), for the text.
pub fn font_database(paths: &[std::path::PathBuf]) -> Arc<resvg::usvg::fontdb::Database> {
    let mut db = resvg::usvg::fontdb::Database::new();
    for file in crate::tiles::glyphs::font_files(paths) {
        // A file that cannot be read is passed over, as the glyph server does.
        if let Ok(data) = std::fs::read(&file) {
            db.load_font_data(data);
        }
    }
    Arc::new(db)
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Where the map goes in the picture and how world coordinates become pixels.
struct Frame {
    x0: f64,
    y0: f64,
    k: f64,
    wx0: f64,
    wy0: f64,
}

impl Frame {
    fn px(&self, p: [f64; 2]) -> (f64, f64) {
        (
            self.x0 + (p[0] - self.wx0) * self.k,
            self.y0 + (p[1] - self.wy0) * self.k,
        )
    }
}

/// Where the map lies in the picture.
struct Layout {
    frame: Frame,
    /// The world box of the areas.
    lo: [f64; 2],
    hi: [f64; 2],
    /// The map's rectangle: x, y, width, height (pixels before `scale`).
    map: (f64, f64, f64, f64),
    legend_w: f64,
}

/// How world coordinates become pixels of the picture (before `scale`): pixel =
/// `(x0 + (wx - wx0) * k, y0 + (wy - wy0) * k)`, as `[x0, y0, k, wx0, wy0]`; a tool can
/// place its own points on the picture with it.
pub fn frame(img: &MapImage) -> Result<[f64; 5], RenderError> {
    let f = layout(img)?.frame;
    Ok([f.x0, f.y0, f.k, f.wx0, f.wy0])
}

fn layout(img: &MapImage) -> Result<Layout, RenderError> {
    if !(MIN_SIDE..=MAX_SIDE).contains(&img.width)
        || !(MIN_SIDE..=MAX_SIDE).contains(&img.height)
        || !(img.scale == 1.0 || img.scale == 2.0)
    {
        return Err(RenderError::Size);
    }
    let (w, h) = (f64::from(img.width), f64::from(img.height));
    // The world box of the areas.
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in img
        .areas
        .iter()
        .flat_map(|a| a.polygons.iter().flatten().flatten())
    {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    if lo[0] > hi[0] {
        return Err(RenderError::Empty);
    }
    let legend_w = if w >= 600.0 { LEGEND_WIDTH } else { 0.0 };
    let (mx, my) = (12.0, TITLE_HEIGHT);
    let (mw, mh) = (w - legend_w - 2.0 * mx, h - TITLE_HEIGHT - FOOTER_HEIGHT);
    let span = [(hi[0] - lo[0]).max(1e-12), (hi[1] - lo[1]).max(1e-12)];
    let k = (mw / span[0]).min(mh / span[1]);
    let frame = Frame {
        x0: mx + (mw - span[0] * k) / 2.0,
        y0: my + (mh - span[1] * k) / 2.0,
        k,
        wx0: lo[0],
        wy0: lo[1],
    };
    Ok(Layout {
        frame,
        lo,
        hi,
        map: (mx, my, mw, mh),
        legend_w,
    })
}

/// The picture as an SVG document (what [`render_png`] draws).
pub fn to_svg(img: &MapImage) -> Result<String, RenderError> {
    let Layout {
        frame,
        lo,
        hi,
        map: (mx, my, mw, mh),
        legend_w,
    } = layout(img)?;
    let (w, h) = (f64::from(img.width), f64::from(img.height));
    let s = f64::from(img.scale);
    let mut svg = String::with_capacity(1 << 20);
    // Writing to a String cannot fail.
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{pw}" height="{ph}" viewBox="0 0 {w} {h}" font-family="{FONTS}">"##,
        pw = (w * s).round(),
        ph = (h * s).round(),
    );
    let _ = write!(svg, r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##);
    let _ = write!(
        svg,
        r##"<rect x="{mx}" y="{my}" width="{mw}" height="{mh}" fill="#f4f1ea"/>"##
    );
    // The areas: filled, with a hairline between neighbours.
    for a in &img.areas {
        let d = path_of(&frame, a.polygons.iter().flatten(), true);
        if d.is_empty() {
            continue;
        }
        let _ = write!(
            svg,
            r##"<path d="{d}" fill="{}" fill-rule="evenodd" stroke="#ffffff" stroke-opacity="0.7" stroke-width="0.4" stroke-linejoin="round"/>"##,
            esc(&a.fill)
        );
    }
    // The parent level's outlines.
    if !img.outlines.is_empty() {
        let d = path_of(&frame, img.outlines.iter(), false);
        let _ = write!(
            svg,
            r##"<path d="{d}" fill="none" stroke="#2b2b2b" stroke-width="1.3" stroke-linejoin="round" stroke-linecap="round"/>"##
        );
    }
    labels(&mut svg, &frame, img, (mx, my, mw, mh));
    title_and_footer(&mut svg, img, w, h);
    if legend_w > 0.0 {
        legend(&mut svg, img, w - legend_w, TITLE_HEIGHT);
    }
    scale_bar_and_north(&mut svg, &frame, lo, hi, (mx, my, mw, mh));
    svg.push_str("</svg>");
    Ok(svg)
}

/// An SVG path of rings (closed) or lines in pixels, rounded to 0.1 px; rings under a
/// third of a pixel are left out.
fn path_of<'a>(
    frame: &Frame,
    rings: impl Iterator<Item = &'a Vec<[f64; 2]>>,
    closed: bool,
) -> String {
    let mut d = String::new();
    for ring in rings {
        let pts: Vec<(f64, f64)> = ring.iter().map(|&p| frame.px(p)).collect();
        let (mut lo, mut hi) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
        for &(x, y) in &pts {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        }
        let tiny = hi.0 - lo.0 < 0.3 && hi.1 - lo.1 < 0.3;
        if pts.len() < 2 || (closed && (pts.len() < 3 || tiny)) {
            continue;
        }
        for (i, (x, y)) in pts.iter().enumerate() {
            let _ = write!(d, "{}{:.1} {:.1}", if i == 0 { 'M' } else { 'L' }, x, y);
        }
        if closed {
            d.push('Z');
        }
    }
    d
}

/// The names, larger units first, each left out where it would overlap one already placed
/// or leave the map.
fn labels(svg: &mut String, frame: &Frame, img: &MapImage, (mx, my, mw, mh): (f64, f64, f64, f64)) {
    let size = 11.0;
    // The north arrow's and the scale bar's corners are taken.
    let mut placed: Vec<(f64, f64, f64, f64)> = vec![
        (mx + mw - 40.0, my, mx + mw, my + 58.0),
        (mx, my + mh - 40.0, mx + 230.0, my + mh),
    ];
    let _ = write!(
        svg,
        r##"<g font-size="{size}" text-anchor="middle" fill="#1c1c1c" stroke="#ffffff" stroke-width="2.6" stroke-linejoin="round" paint-order="stroke">"##
    );
    for a in &img.areas {
        let Some((name, at)) = &a.label else { continue };
        let (x, y) = frame.px(*at);
        let half = name.chars().count() as f64 * size * 0.3 + 2.0;
        let b = (x - half, y - size * 0.8, x + half, y + size * 0.4);
        let inside = b.0 >= mx && b.2 <= mx + mw && b.1 >= my && b.3 <= my + mh;
        let free = placed
            .iter()
            .all(|p| b.2 < p.0 || b.0 > p.2 || b.3 < p.1 || b.1 > p.3);
        if inside && free {
            placed.push(b);
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{:.1}">{}</text>"##,
                y + size * 0.35,
                esc(name)
            );
        }
    }
    svg.push_str("</g>");
}

fn title_and_footer(svg: &mut String, img: &MapImage, w: f64, h: f64) {
    let _ = write!(
        svg,
        r##"<text x="12" y="26" font-size="19" font-weight="bold" fill="#102a43">{}</text><text x="12" y="47" font-size="12.5" fill="#334e68">{}</text>"##,
        esc(&img.title),
        esc(&img.subtitle)
    );
    let _ = write!(
        svg,
        r##"<text x="12" y="{:.1}" font-size="10.5" fill="#52606d">{}</text>"##,
        h - 12.0,
        esc(&img.footer)
    );
    let _ = w;
}

fn legend(svg: &mut String, img: &MapImage, x: f64, y: f64) {
    let mut y = y + 6.0;
    // The heading, wrapped at ~30 characters.
    for line in wrap(&img.legend_title, 30) {
        y += 15.0;
        let _ = write!(
            svg,
            r##"<text x="{x}" y="{y:.1}" font-size="12.5" font-weight="bold" fill="#102a43">{}</text>"##,
            esc(&line)
        );
    }
    y += 8.0;
    for row in &img.legend {
        // A long label puts its count on the line below rather than under it.
        let label_w = row.label.chars().count() as f64 * 11.5 * 0.55;
        let count_w = row.count.chars().count() as f64 * 10.5 * 0.55;
        let below = 27.0 + label_w + 8.0 + count_w > LEGEND_WIDTH - 14.0;
        let count_y = if below { y + 24.5 } else { y + 11.5 };
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y:.1}" width="20" height="14" fill="{}" stroke="#9aa5b1" stroke-width="0.6"/><text x="{:.1}" y="{:.1}" font-size="11.5" fill="#1f2933">{}</text><text x="{:.1}" y="{:.1}" font-size="10.5" text-anchor="end" fill="#52606d">{}</text>"##,
            esc(&row.color),
            x + 27.0,
            y + 11.5,
            esc(&row.label),
            x + LEGEND_WIDTH - 14.0,
            count_y,
            esc(&row.count)
        );
        y += if below { 33.0 } else { 20.0 };
    }
    y += 6.0;
    for note in &img.notes {
        for line in wrap(note, 40) {
            y += 13.0;
            let _ = write!(
                svg,
                r##"<text x="{x}" y="{y:.1}" font-size="10" fill="#52606d">{}</text>"##,
                esc(&line)
            );
        }
        y += 4.0;
    }
}

/// Words of `s` in lines of at most `width` characters.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A scale bar (a round length near a fifth of the map's width, true at the map's middle
/// latitude) and a north arrow, in the map's lower left and upper right corners.
fn scale_bar_and_north(
    svg: &mut String,
    frame: &Frame,
    lo: [f64; 2],
    hi: [f64; 2],
    (mx, my, mw, mh): (f64, f64, f64, f64),
) {
    // Ground metres per world unit at the middle latitude.
    let wy = (lo[1] + hi[1]) / 2.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * wy)).sinh().atan();
    let metres_per_px = 40_075_016.686 * lat.cos() / frame.k;
    let target = metres_per_px * mw / 5.0;
    let mut len = 1.0;
    for step in (0..8).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e))) {
        if step <= target {
            len = step;
        }
    }
    let px = len / metres_per_px;
    let (x, y) = (mx + 14.0, my + mh - 16.0);
    let text = if len >= 1000.0 {
        format!("{} km", len / 1000.0)
    } else {
        format!("{len} m")
    };
    let _ = write!(
        svg,
        r##"<g><rect x="{:.1}" y="{:.1}" width="{:.1}" height="22" fill="#ffffff" fill-opacity="0.85"/><path d="M{x:.1} {y:.1}v5h{px:.1}v-5" fill="none" stroke="#1f2933" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="10.5" text-anchor="middle" fill="#1f2933">{text}</text></g>"##,
        x - 6.0,
        y - 14.0,
        px + 12.0,
        x + px / 2.0,
        y - 3.0
    );
    let (nx, ny) = (mx + mw - 24.0, my + 14.0);
    let _ = write!(
        svg,
        r##"<g><path d="M{nx:.1} {ny:.1}l9 24l-9 -6l-9 6z" fill="#1f2933"/><text x="{nx:.1}" y="{:.1}" font-size="11" font-weight="bold" text-anchor="middle" fill="#1f2933">U</text></g>"##,
        ny + 37.0
    );
}

/// Draws the picture to PNG with the fonts of `fonts`.
pub fn render_png(
    img: &MapImage,
    fonts: Arc<resvg::usvg::fontdb::Database>,
) -> Result<Vec<u8>, RenderError> {
    let svg = to_svg(img)?;
    let options = resvg::usvg::Options {
        fontdb: fonts,
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(&svg, &options)
        .map_err(|e| RenderError::Draw(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| RenderError::Draw("empty picture".into()))?;
    // The document's width and height are already `scale` times its view box.
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Draw(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, s: f64) -> Vec<Vec<Vec<[f64; 2]>>> {
        vec![vec![vec![
            [x, y],
            [x + s, y],
            [x + s, y + s],
            [x, y + s],
            [x, y],
        ]]]
    }

    #[test]
    fn areas_are_filled_with_their_colours() {
        let img = MapImage {
            width: 800,
            height: 500,
            scale: 1.0,
            title: "Peta <uji> & coba".into(),
            subtitle: "Periode 2025-09".into(),
            areas: vec![
                Area {
                    polygons: square(0.7, 0.5, 0.01),
                    fill: "#ff0000".into(),
                    label: None,
                },
                Area {
                    polygons: square(0.71, 0.5, 0.01),
                    fill: "#0000ff".into(),
                    label: None,
                },
            ],
            outlines: vec![],
            legend_title: "Uji".into(),
            legend: vec![],
            notes: vec![],
            footer: "Dibuat oleh Lentera".into(),
        };
        let svg = to_svg(&img).unwrap_or_default();
        assert!(svg.contains("Peta &lt;uji&gt; &amp; coba"));
        let png = render_png(&img, font_database(&[])).unwrap_or_default();
        let pixmap =
            resvg::tiny_skia::Pixmap::decode_png(&png).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((pixmap.width(), pixmap.height()), (800, 500));
        // The map part is 800 - 250 - 24 = 526 px wide for 0.02 world units: the red square
        // is the left half.
        let at = |x: u32, y: u32| {
            let c = pixmap.pixel(x, y).unwrap_or_else(|| unreachable!());
            (c.red(), c.green(), c.blue())
        };
        let mid_y = 58 + (500 - 58 - 34) / 2;
        assert_eq!(at(12 + 526 / 4, mid_y), (255, 0, 0));
        assert_eq!(at(12 + 3 * 526 / 4, mid_y), (0, 0, 255));
        let too_big = MapImage { width: 5000, ..img };
        assert!(matches!(to_svg(&too_big), Err(RenderError::Size)));
    }
}
