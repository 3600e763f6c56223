//! `GET /api/targets`: units ranked by an indicator, as JSON, CSV or XLSX — the table a
//! RAT/RPKD planning meeting works from.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::choropleth::{selection_query, Selection, SelectionParams, Shown};
use super::query::{parsed, ApiQuery, Bounded};
use super::{ApiError, AppState};
use crate::aggregate::{Count, Described, Indicator};
use crate::model::Period;
use crate::region::{Kode, Level};

/// Default list length.
pub const DEFAULT_TOP: usize = 20;
/// Longest list.
pub const MAX_TOP: usize = 100_000;
/// Figures every row carries besides the ranking indicator.
const KEY_FIGURES: [Count; 5] = [
    Count::Households,
    Count::Desil1,
    Count::Desil1To4,
    Count::Desil1NoPkh,
    Count::People,
];

/// One ranked unit.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Rank, from 1.
    pub rank: usize,
    /// Code.
    pub kode: String,
    /// Name.
    pub nama: String,
    /// Kecamatan name (for desa).
    pub kecamatan: Option<String>,
    /// Kabupaten/kota name.
    pub kabupaten: Option<String>,
    /// The ranking indicator's value.
    pub value: f64,
    /// Key figures (`None`: no data).
    pub figures: Vec<(String, Option<f64>)>,
}

/// Ranks the selected units, highest value first (lowest first with `ascending`); units
/// without data are left out, and so are rates over fewer than the selection's
/// `min_households` households (`min_households=0` ranks them too); ties go to the lower code.
pub fn rank(sel: &Selection<'_>, ascending: bool, top: usize) -> Vec<Target> {
    let snap = sel.snap;
    let mut scored: Vec<(u32, f64)> = sel
        .values()
        .into_iter()
        .filter(|(u, _)| !sel.few(*u))
        .filter_map(|(u, v)| v.map(|v| (u, v)))
        .collect();
    scored.sort_by(|a, b| {
        let by_value = if ascending {
            a.1.total_cmp(&b.1)
        } else {
            b.1.total_cmp(&a.1)
        };
        // Units are in code order, so the lower index is the lower code.
        by_value.then(a.0.cmp(&b.0))
    });
    scored.truncate(top);
    let name_at = |u: u32, level: Level| {
        snap.parents(u)
            .into_iter()
            .find(|&p| snap.unit(p).info.level == level)
            .map(|p| snap.unit(p).info.nama.clone())
    };
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (u, value))| {
            let info = &snap.unit(u).info;
            let counts = sel.period.as_ref().and_then(|p| p.counts(u));
            Target {
                rank: i + 1,
                kode: info.kode.to_string(),
                nama: info.nama.clone(),
                kecamatan: name_at(u, Level::Kecamatan),
                kabupaten: name_at(u, Level::Kabupaten),
                value,
                figures: KEY_FIGURES
                    .iter()
                    .map(|&f| {
                        let value = Indicator::Count(f).value(counts, snap.denominators(u));
                        (f.name().to_string(), value)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Column headers of the exported table (in Bahasa Indonesia: planners read it).
fn headers(indicator: &str) -> Vec<String> {
    let mut h: Vec<String> = ["peringkat", "kode", "nama", "kecamatan", "kabupaten_kota"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.push(indicator.to_string());
    h.extend(KEY_FIGURES.iter().map(|f| f.name().to_string()));
    h
}

fn cells(t: &Target) -> Vec<String> {
    let num = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            v.to_string()
        }
    };
    let mut row = vec![
        t.rank.to_string(),
        t.kode.clone(),
        t.nama.clone(),
        t.kecamatan.clone().unwrap_or_default(),
        t.kabupaten.clone().unwrap_or_default(),
        num(t.value),
    ];
    row.extend(
        t.figures
            .iter()
            .map(|(_, v)| v.map(num).unwrap_or_default()),
    );
    row
}

fn to_csv(indicator: &str, targets: &[Target]) -> Result<Vec<u8>, csv::Error> {
    let mut w = crate::model::sheet::SheetCsv::from_writer(Vec::new());
    w.write_record(headers(indicator))?;
    for t in targets {
        w.write_record(cells(t))?;
    }
    w.into_inner().map_err(csv::Error::from)
}

fn to_xlsx(indicator: &str, targets: &[Target]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("Sasaran")?;
    for (c, h) in headers(indicator).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (r, t) in targets.iter().enumerate() {
        let r = r as u32 + 1;
        let row = cells(t);
        for (c, v) in row.iter().enumerate() {
            match v.parse::<f64>() {
                Ok(n) if c != 1 => sheet.write_number(r, c as u16, n)?,
                _ => sheet.write_string(r, c as u16, v)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    book.save_to_buffer()
}

/// The order of a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Highest first.
    #[default]
    Desc,
    /// Lowest first.
    Asc,
}

/// The formats of a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetFormat {
    /// JSON.
    #[default]
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

selection_query! {
    /// The query of `/api/targets`.
    TargetsQuery {
        top: Option<Bounded<1, MAX_TOP>>,
        order: Option<Order>,
        format: Option<TargetFormat>,
    }
}

/// `GET /api/targets?level=&parent=&indicator=&top=&order=&period=&base=&format=json|csv|xlsx`
pub async fn targets(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<TargetsQuery>,
    caller: super::auth::Caller,
) -> Result<Response, ApiError> {
    let snap = st.live.snapshot();
    let sel = Selection::new(
        &snap,
        q.selection(),
        Level::Desa,
        caller.disclosure(&st.auth.config),
    )?;
    let name = sel.shown.name();
    let name = name.as_str();
    let top = q.top.map_or(DEFAULT_TOP, |t| t.0);
    let list = rank(&sel, q.order == Some(Order::Asc), top);
    let parent_kode = sel.parent.map(|p| snap.unit(p).info.kode);
    let file = format!(
        "sasaran-{}-{}{}",
        sel.level.as_str(),
        name,
        parent_kode.map(|k| format!("-{k}")).unwrap_or_default()
    );
    let disposition = |ext: &str| format!("attachment; filename=\"{file}.{ext}\"");
    match q.format.unwrap_or_default() {
        TargetFormat::Json => Ok(Json(serde_json::json!({
            "level": sel.level,
            "indicator": name,
            "period": sel.period.as_ref().map(|p| p.period),
            "parent": parent_kode,
            "targets": list,
        }))
        .into_response()),
        TargetFormat::Csv => {
            let bytes = to_csv(name, &list).map_err(ApiError::internal)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition("csv")),
                ],
                bytes,
            )
                .into_response())
        }
        TargetFormat::Xlsx => {
            let bytes = to_xlsx(name, &list).map_err(ApiError::internal)?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (header::CONTENT_DISPOSITION, disposition("xlsx")),
                ],
                bytes,
            )
                .into_response())
        }
    }
}
