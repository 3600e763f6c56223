//! `GET /api/targets`: units ranked by an indicator, as JSON, CSV or XLSX — the table a
//! RAT/RPKD planning meeting works from.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::choropleth::{selection_query, Selection, SelectionParams, Shown};
use super::query::{parsed, ApiQuery, Bounded};
use super::table::{number, Table, TableFormat};
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
    let name_at = |u: u32, level: Level| snap.ancestor_name(u, level).map(str::to_string);
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

/// The exported table (in Bahasa Indonesia: planners read it): rank, code, name, the names
/// of the parents a unit of the level has, the period (and base of a change), what the list
/// is ranked by, then the key figures it does not already show.
struct Export<'a> {
    level: Level,
    shown: &'a Shown,
    period: Option<Period>,
    base: Option<Period>,
}

impl Export<'_> {
    /// The key figures other than the one ranked by.
    fn figures(&self) -> impl Iterator<Item = (usize, Count)> + '_ {
        KEY_FIGURES
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, f)| *self.shown != Shown::Value(Indicator::Count(*f)))
    }

    fn headers(&self) -> Vec<String> {
        let mut h = vec!["Peringkat".to_string(), "Kode".into(), "Nama".into()];
        if self.level == Level::Desa {
            h.push("Kecamatan".into());
        }
        if self.level > Level::Kabupaten {
            h.push("Kabupaten/Kota".into());
        }
        h.push("Periode".into());
        if self.base.is_some() {
            h.push("Periode pembanding".into());
        }
        h.push(self.shown.label());
        h.extend(
            self.figures()
                .map(|(_, f)| Indicator::Count(f).label().to_string()),
        );
        h
    }

    fn cells(&self, t: &Target) -> Vec<String> {
        let mut row = vec![t.rank.to_string(), t.kode.clone(), t.nama.clone()];
        if self.level == Level::Desa {
            row.push(t.kecamatan.clone().unwrap_or_default());
        }
        if self.level > Level::Kabupaten {
            row.push(t.kabupaten.clone().unwrap_or_default());
        }
        row.push(self.period.map(|p| p.to_string()).unwrap_or_default());
        if let Some(base) = self.base {
            row.push(base.to_string());
        }
        row.push(number(t.value));
        row.extend(
            self.figures()
                .map(|(i, _)| t.figures[i].1.map(number).unwrap_or_default()),
        );
        row
    }
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

selection_query! {
    /// The query of `/api/targets`.
    TargetsQuery {
        top: Option<Bounded<1, MAX_TOP>>,
        order: Option<Order>,
        format: Option<TableFormat>,
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
    match q.format.unwrap_or_default() {
        TableFormat::Json => Ok(Json(serde_json::json!({
            "level": sel.level,
            "indicator": name,
            "period": sel.period.as_ref().map(|p| p.period),
            "parent": parent_kode,
            "targets": list,
        }))
        .into_response()),
        format => {
            let export = Export {
                level: sel.level,
                shown: &sel.shown,
                period: sel.period.as_ref().map(|p| p.period),
                base: sel.base.as_ref().map(|p| p.period),
            };
            Table {
                sheet: "Sasaran",
                headers: export.headers(),
                rows: list.iter().map(|t| export.cells(t)).collect(),
                text_columns: vec![1],
            }
            .download(format, &file)
        }
    }
}
