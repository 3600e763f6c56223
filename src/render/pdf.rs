//! A printable A4 profile of one unit, written with krilla (the PDF writer under typst): text
//! as text (searchable, copyable, read by `pdftotext`), fonts embedded (subset), the map as
//! a 2× PNG, the trend chart as vector paths.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::text::{Font, TextDirection};
use krilla::Document;

use super::RenderError;

/// A4 in points.
const PAGE: (f32, f32) = (595.0, 842.0);
/// Page margin, points.
const MARGIN: f32 = 42.0;

/// A trend chart: one indicator over the periods.
#[derive(Debug, Clone)]
pub struct TrendChart {
    /// What is drawn.
    pub label: String,
    /// The periods, in order.
    pub periods: Vec<String>,
    /// Each series: its name and its value per period (`None`: no data).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// The goal: its value and its text ("Target 2026: 0").
    pub goal: Option<(f64, String)>,
    /// How an axis value reads.
    pub format: fn(f64) -> String,
}

/// What a profile holds.
#[derive(Debug, Clone)]
pub struct Profile {
    /// "Profil Kemiskinan {nama}".
    pub title: String,
    /// Code, period, date.
    pub subtitle: String,
    /// Headline figures: label, value, change.
    pub headline: Vec<(String, String, String)>,
    /// The map of the unit's children (PNG) and its caption.
    pub map_png: Option<Vec<u8>>,
    /// The map's caption.
    pub map_caption: String,
    /// The trend.
    pub trend: Option<TrendChart>,
    /// The table's heading.
    pub table_title: String,
    /// The table's column headings.
    pub table_header: Vec<String>,
    /// The table's rows.
    pub table_rows: Vec<Vec<String>>,
    /// Coverage gaps: label and value.
    pub gaps: Vec<(String, String)>,
    /// Data sources, one line each.
    pub sources: Vec<String>,
    /// The footer of every page.
    pub footer: String,
}

const INK: (u8, u8, u8) = (0x1f, 0x29, 0x33);
const MUTED: (u8, u8, u8) = (0x52, 0x60, 0x6d);
const TREND: [(u8, u8, u8); 3] = [(0x1d, 0x4e, 0xd8), (0xd9, 0x77, 0x06), (0x6b, 0x72, 0x80)];

fn fill(c: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        ..Fill::default()
    }
}

fn stroke(c: (u8, u8, u8), width: f32, dash: Option<Vec<f32>>) -> Stroke {
    Stroke {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        width,
        dash: dash.map(|array| StrokeDash { array, offset: 0.0 }),
        opacity: NormalizedF32::ONE,
        ..Stroke::default()
    }
}

/// Writes pages top to bottom, starting a new page when the next block does not fit.
struct Writer<'a> {
    doc: Document,
    pages: Vec<Vec<Block<'a>>>,
}

/// One thing drawn on a page.
enum Block<'a> {
    Text {
        at: (f32, f32),
        size: f32,
        bold: bool,
        color: (u8, u8, u8),
        text: String,
    },
    Rule(f32),
    Image {
        at: (f32, f32),
        size: (f32, f32),
        png: &'a [u8],
    },
    Chart {
        at: (f32, f32),
        size: (f32, f32),
        chart: &'a TrendChart,
    },
}

/// The approximate width of text, points (for right-aligned numbers).
fn width_of(text: &str, size: f32) -> f32 {
    text.chars().count() as f32 * size * 0.52
}

/// Writes the profile as PDF with the fonts `regular` and `bold` (TrueType/OpenType data).
pub fn profile_pdf(p: &Profile, regular: Vec<u8>, bold: Vec<u8>) -> Result<Vec<u8>, RenderError> {
    let regular = Font::new(regular.into(), 0)
        .ok_or_else(|| RenderError::Draw("the regular font cannot be read".into()))?;
    let bold = Font::new(bold.into(), 0)
        .ok_or_else(|| RenderError::Draw("the bold font cannot be read".into()))?;
    let mut w = Writer {
        doc: Document::new(),
        pages: vec![Vec::new()],
    };
    let mut y = MARGIN;
    let text = |w: &mut Writer<'_>, y: f32, x: f32, size: f32, bold: bool, color, s: &str| {
        if let Some(page) = w.pages.last_mut() {
            page.push(Block::Text {
                at: (x, y),
                size,
                bold,
                color,
                text: s.to_string(),
            });
        }
    };
    let room = |w: &mut Writer<'_>, y: &mut f32, need: f32| {
        if *y + need > PAGE.1 - MARGIN - 20.0 {
            w.pages.push(Vec::new());
            *y = MARGIN;
        }
    };

    y += 20.0;
    text(&mut w, y, MARGIN, 18.0, true, INK, &p.title);
    y += 18.0;
    text(&mut w, y, MARGIN, 10.0, false, MUTED, &p.subtitle);
    y += 22.0;

    // Headline figures, three to a row.
    let col = (PAGE.0 - 2.0 * MARGIN) / 3.0;
    for row in p.headline.chunks(3) {
        room(&mut w, &mut y, 48.0);
        for (i, (label, value, change)) in row.iter().enumerate() {
            let x = MARGIN + col * i as f32;
            text(&mut w, y, x, 9.0, false, MUTED, label);
            text(&mut w, y + 17.0, x, 15.0, true, INK, value);
            text(&mut w, y + 30.0, x, 8.5, false, MUTED, change);
        }
        y += 46.0;
    }

    // The map.
    if let Some(png) = &p.map_png {
        let width = PAGE.0 - 2.0 * MARGIN;
        let height = width * 0.62;
        room(&mut w, &mut y, height + 20.0);
        if let Some(page) = w.pages.last_mut() {
            page.push(Block::Image {
                at: (MARGIN, y),
                size: (width, height),
                png,
            });
        }
        y += height + 12.0;
        text(&mut w, y, MARGIN, 8.5, false, MUTED, &p.map_caption);
        y += 16.0;
    }

    // The trend.
    if let Some(chart) = &p.trend {
        room(&mut w, &mut y, 190.0);
        text(
            &mut w,
            y + 10.0,
            MARGIN,
            12.0,
            true,
            INK,
            &format!("Tren: {}", chart.label),
        );
        y += 18.0;
        if let Some(page) = w.pages.last_mut() {
            page.push(Block::Chart {
                at: (MARGIN, y),
                size: (PAGE.0 - 2.0 * MARGIN, 130.0),
                chart,
            });
        }
        y += 140.0;
        let mut x = MARGIN;
        for (i, (name, _)) in chart.series.iter().enumerate() {
            text(
                &mut w,
                y,
                x + 14.0,
                8.5,
                false,
                TREND[i.min(2)],
                &format!("— {name}"),
            );
            x += width_of(name, 8.5) + 40.0;
        }
        y += 18.0;
    }

    // Coverage gaps.
    if !p.gaps.is_empty() {
        room(&mut w, &mut y, 20.0 + 14.0 * p.gaps.len() as f32);
        text(
            &mut w,
            y + 10.0,
            MARGIN,
            12.0,
            true,
            INK,
            "Kesenjangan cakupan",
        );
        y += 26.0;
        for (label, value) in &p.gaps {
            text(&mut w, y, MARGIN, 9.5, false, INK, label);
            text(
                &mut w,
                y,
                PAGE.0 - MARGIN - width_of(value, 9.5),
                9.5,
                true,
                INK,
                value,
            );
            y += 14.0;
        }
        y += 8.0;
    }

    // The table.
    room(&mut w, &mut y, 60.0);
    text(&mut w, y + 10.0, MARGIN, 12.0, true, INK, &p.table_title);
    y += 26.0;
    let widths = [0.07, 0.18, 0.37, 0.19, 0.19];
    let full = PAGE.0 - 2.0 * MARGIN;
    let header = |w: &mut Writer<'_>, y: f32| {
        let mut x = MARGIN;
        for (i, h) in p.table_header.iter().enumerate() {
            text(w, y, x, 8.5, true, MUTED, h);
            x += full * widths.get(i).copied().unwrap_or(0.15);
        }
        if let Some(page) = w.pages.last_mut() {
            page.push(Block::Rule(y + 4.0));
        }
    };
    header(&mut w, y);
    y += 15.0;
    for row in &p.table_rows {
        if y + 14.0 > PAGE.1 - MARGIN - 20.0 {
            w.pages.push(Vec::new());
            y = MARGIN + 10.0;
            header(&mut w, y);
            y += 15.0;
        }
        let mut x = MARGIN;
        for (i, cell) in row.iter().enumerate() {
            let cw = full * widths.get(i).copied().unwrap_or(0.15);
            // Numbers (the last two columns) right-aligned.
            let at = if i >= 3 {
                x + cw - 8.0 - width_of(cell, 9.0)
            } else {
                x
            };
            text(&mut w, y, at, 9.0, false, INK, cell);
            x += cw;
        }
        y += 13.5;
    }
    y += 10.0;

    // Sources.
    room(&mut w, &mut y, 20.0 + 12.0 * p.sources.len() as f32);
    text(&mut w, y + 10.0, MARGIN, 12.0, true, INK, "Sumber data");
    y += 26.0;
    for s in &p.sources {
        text(&mut w, y, MARGIN, 9.0, false, INK, s);
        y += 12.0;
    }

    let count = w.pages.len();
    let pages = std::mem::take(&mut w.pages);
    for (n, blocks) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE.0, PAGE.1)
            .ok_or_else(|| RenderError::Draw("page size".into()))?;
        let mut page = w.doc.start_page_with(settings);
        let mut surface = page.surface();
        let draw_text = |surface: &mut krilla::surface::Surface<'_>,
                         at: (f32, f32),
                         size,
                         is_bold: bool,
                         color,
                         s: &str| {
            surface.set_fill(Some(fill(color)));
            surface.draw_text(
                Point::from_xy(at.0, at.1),
                if is_bold {
                    bold.clone()
                } else {
                    regular.clone()
                },
                size,
                s,
                false,
                TextDirection::Auto,
            );
        };
        for b in blocks {
            match b {
                Block::Text {
                    at,
                    size,
                    bold: is_bold,
                    color,
                    text,
                } => draw_text(&mut surface, *at, *size, *is_bold, *color, text),
                Block::Rule(y) => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(MARGIN, *y);
                    pb.line_to(PAGE.0 - MARGIN, *y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(stroke((0x9a, 0xa5, 0xb1), 0.6, None)));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
                Block::Image { at, size, png } => {
                    let image = krilla::image::Image::from_png(png.to_vec().into(), true)
                        .map_err(RenderError::Draw)?;
                    let size = Size::from_wh(size.0, size.1)
                        .ok_or_else(|| RenderError::Draw("image size".into()))?;
                    surface.push_transform(&Transform::from_translate(at.0, at.1));
                    surface.draw_image(image, size);
                    surface.pop();
                }
                Block::Chart { at, size, chart } => {
                    draw_chart(&mut surface, *at, *size, chart, &regular);
                }
            }
        }
        draw_text(
            &mut surface,
            (MARGIN, PAGE.1 - MARGIN + 14.0),
            7.5,
            false,
            MUTED,
            &format!("{} · halaman {} dari {count}", p.footer, n + 1),
        );
        surface.finish();
        page.finish();
    }
    w.doc
        .finish()
        .map_err(|e| RenderError::Draw(format!("{e:?}")))
}

/// The trend chart: axis labels, grid, each series as a line with points (gaps where there
/// is no data), the goal as a red dashed line.
fn draw_chart(
    surface: &mut krilla::surface::Surface<'_>,
    (x0, y0): (f32, f32),
    (w, h): (f32, f32),
    chart: &TrendChart,
    font: &Font,
) {
    let (left, bottom) = (52.0, 16.0);
    let values: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .chain(chart.goal.as_ref().map(|g| g.0))
        .collect();
    let top = values.iter().copied().fold(0.0, f64::max);
    let y_max = if top > 0.0 { top * 1.12 } else { 1.0 };
    let n = chart.periods.len();
    let px = |i: usize| {
        x0 + left
            + if n <= 1 {
                (w - left) / 2.0
            } else {
                i as f32 * (w - left - 10.0) / (n - 1) as f32
            }
    };
    let py = |v: f64| y0 + (h - bottom) * (1.0 - (v / y_max) as f32);
    let label = |surface: &mut krilla::surface::Surface<'_>, x: f32, y: f32, s: &str, color| {
        surface.set_fill(Some(fill(color)));
        surface.draw_text(
            Point::from_xy(x, y),
            font.clone(),
            7.5,
            s,
            false,
            TextDirection::Auto,
        );
    };
    let line = |surface: &mut krilla::surface::Surface<'_>, pts: &[(f32, f32)], s: Stroke| {
        let mut pb = PathBuilder::new();
        for (i, &(x, y)) in pts.iter().enumerate() {
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        if let Some(path) = pb.finish() {
            surface.set_fill(None);
            surface.set_stroke(Some(s));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
    };
    for k in 0..=4 {
        let v = y_max * f64::from(k) / 4.0;
        line(
            surface,
            &[(x0 + left, py(v)), (x0 + w, py(v))],
            stroke((0xe4, 0xe7, 0xeb), 0.6, None),
        );
        let t = (chart.format)(v);
        label(
            surface,
            x0 + left - 4.0 - width_of(&t, 7.5),
            py(v) + 2.5,
            &t,
            MUTED,
        );
    }
    for (i, p) in chart.periods.iter().enumerate() {
        label(
            surface,
            px(i) - width_of(p, 7.5) / 2.0,
            y0 + h - 2.0,
            p,
            MUTED,
        );
    }
    if let Some((v, text)) = &chart.goal {
        line(
            surface,
            &[(x0 + left, py(*v)), (x0 + w, py(*v))],
            stroke((0xc8, 0x1e, 0x1e), 1.0, Some(vec![4.0, 2.5])),
        );
        label(
            surface,
            x0 + w - width_of(text, 7.5),
            py(*v) - 3.0,
            text,
            (0xc8, 0x1e, 0x1e),
        );
    }
    for (si, (_, values)) in chart.series.iter().enumerate() {
        let color = TREND[si.min(2)];
        let mut run: Vec<(f32, f32)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => run.push((px(i), py(*v))),
                None => {
                    if run.len() > 1 {
                        line(
                            surface,
                            &run,
                            stroke(color, if si == 0 { 2.0 } else { 1.2 }, None),
                        );
                    }
                    run.clear();
                }
            }
            if let Some(v) = v {
                let r = if si == 0 { 2.6 } else { 1.9 };
                let mut pb = PathBuilder::new();
                let (x, y) = (px(i), py(*v));
                pb.move_to(x - r, y);
                pb.line_to(x, y - r);
                pb.line_to(x + r, y);
                pb.line_to(x, y + r);
                pb.close();
                if let Some(path) = pb.finish() {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(color)));
                    surface.draw_path(&path);
                }
            }
        }
        if run.len() > 1 {
            line(
                surface,
                &run,
                stroke(color, if si == 0 { 2.0 } else { 1.2 }, None),
            );
        }
    }
}
