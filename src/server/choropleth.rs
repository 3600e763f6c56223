//! `GET /api/choropleth`: class breaks, colours, counts and legend labels of one indicator at
//! one level, over every unit of the level (never a sample).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::{parse_kode, parse_level, ApiError, AppState};
use crate::aggregate::indicators::{change, is_indicator, value_by_name};
use crate::aggregate::snapshot::PeriodIndicators;
use crate::aggregate::{Snapshot, RATES};
use crate::choropleth::{classify, labels, Classes, Method, Palette, ValueKind, NO_DATA_COLOR};
use crate::region::Level;

/// Default number of classes.
pub const DEFAULT_CLASSES: usize = 5;
/// Legend label of units without data.
pub const NO_DATA_LABEL: &str = "Tidak ada data";

/// What a choropleth shows: an indicator, or its change since a base period.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The indicator's name.
    pub indicator: String,
    /// `None`: the value; `Some(false)`: absolute change; `Some(true)`: relative change.
    pub change: Option<bool>,
}

impl Shown {
    /// Parses `desil_1`, `desil_1_change` or `desil_1_change_rel`.
    pub fn parse(name: &str) -> Option<Shown> {
        let (base, change) = if let Some(b) = name.strip_suffix("_change_rel") {
            (b, Some(true))
        } else if let Some(b) = name.strip_suffix("_change") {
            (b, Some(false))
        } else {
            (name, None)
        };
        is_indicator(base).then(|| Shown {
            indicator: base.to_string(),
            change,
        })
    }

    /// How the values read.
    pub fn kind(&self) -> ValueKind {
        let is_rate = RATES.iter().any(|r| r.name == self.indicator);
        if self.change == Some(true) || (is_rate && self.change.is_none()) {
            ValueKind::Share
        } else {
            ValueKind::Count
        }
    }

    /// The value of unit `u`, `None` for no data.
    pub fn value(
        &self,
        snap: &Snapshot,
        u: u32,
        period: Option<&PeriodIndicators>,
        base: Option<&PeriodIndicators>,
    ) -> Option<f64> {
        let den = snap.denominators(u);
        let now = value_by_name(&self.indicator, period.and_then(|p| p.counts(u)), den);
        match self.change {
            None => now,
            Some(relative) => {
                let before = value_by_name(&self.indicator, base.and_then(|p| p.counts(u)), den);
                let (abs, rel) = change(before, now);
                if relative {
                    rel
                } else {
                    abs
                }
            }
        }
    }
}

/// Which values a request is about: an indicator (or its change) at one level, inside a
/// parent unit or everywhere, in one period.
pub struct Selection<'a> {
    /// The snapshot.
    pub snap: &'a Snapshot,
    /// The level of the units.
    pub level: Level,
    /// Only units inside this one.
    pub parent: Option<u32>,
    /// The indicator.
    pub shown: Shown,
    /// The period.
    pub period: Option<&'a PeriodIndicators>,
    /// The base period of a change.
    pub base: Option<&'a PeriodIndicators>,
}

impl<'a> Selection<'a> {
    /// Reads `level` (default `default_level`), `indicator` (default `desil_1`), `parent`,
    /// `period` and `base` from a query.
    pub fn from_query(
        snap: &'a Snapshot,
        q: &HashMap<String, String>,
        default_level: Level,
    ) -> Result<Selection<'a>, ApiError> {
        let level = parse_level(q)?.unwrap_or(default_level);
        let name = q.get("indicator").map(String::as_str).unwrap_or("desil_1");
        let shown = Shown::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown indicator `{name}` (see /api/openapi.json; add _change or _change_rel with base=)"
            ))
        })?;
        let (period, base) = super::indicators::periods(snap, q)?;
        if shown.change.is_some() && base.is_none() {
            return Err(ApiError::bad_request(
                "a change needs a base period: base=YYYY-MM",
            ));
        }
        let parent =
            match q.get("parent").filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => {
                    let kode = parse_kode(s)?;
                    Some(snap.unit_index(kode).ok_or_else(|| {
                        ApiError::not_found(format!("no region with code {kode}"))
                    })?)
                }
            };
        Ok(Selection {
            snap,
            level,
            parent,
            shown,
            period,
            base,
        })
    }

    /// The name of what is shown (`desil_1`, `desil_1_change`…).
    pub fn name(&self) -> String {
        match self.shown.change {
            None => self.shown.indicator.clone(),
            Some(false) => format!("{}_change", self.shown.indicator),
            Some(true) => format!("{}_change_rel", self.shown.indicator),
        }
    }

    /// Every selected unit with its value (`None`: no data), in code order.
    pub fn values(&self) -> Vec<(u32, Option<f64>)> {
        let units: Vec<u32> = match self.parent {
            Some(p) => self.snap.descendants(p).collect(),
            None => (0..self.snap.units().len() as u32).collect(),
        };
        units
            .into_iter()
            .filter(|&u| self.snap.unit(u).info.level == self.level)
            .map(|u| (u, self.shown.value(self.snap, u, self.period, self.base)))
            .collect()
    }
}

/// A classified indicator over the units of a level.
pub struct Choropleth {
    /// Units and their values (`None`: no data).
    pub values: Vec<(u32, Option<f64>)>,
    /// The classes.
    pub classes: Classes,
    /// One colour per class.
    pub colors: Vec<String>,
}

/// Classifies the selected values into `k` classes by `method`, coloured by `palette`.
pub fn build(
    sel: &Selection<'_>,
    method: &Method,
    k: usize,
    palette: Palette,
) -> Result<Choropleth, crate::choropleth::ClassifyError> {
    let values = sel.values();
    let present: Vec<f64> = values.iter().filter_map(|(_, v)| *v).collect();
    let classes = classify(&present, method, k)?;
    let colors = palette.colors_for(classes.len());
    Ok(Choropleth {
        values,
        classes,
        colors,
    })
}

/// `GET /api/choropleth?level=&indicator=&method=&classes=&palette=&period=&base=&breaks=&parent=`
pub async fn choropleth(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let sel = Selection::from_query(&snap, &q, Level::Kabupaten)?;
    let mut method: Method = q
        .get("method")
        .map(|m| m.parse())
        .transpose()
        .map_err(|e: crate::choropleth::ClassifyError| ApiError::bad_request(e.to_string()))?
        .unwrap_or(Method::Ckmeans);
    if method == Method::Manual(Vec::new()) {
        let breaks: Result<Vec<f64>, _> = q
            .get("breaks")
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<f64>())
            .collect();
        method = Method::Manual(breaks.map_err(|_| {
            ApiError::bad_request("breaks must be numbers separated by commas, e.g. 10,50,100")
        })?);
    }
    let k = match q.get("classes") {
        None => DEFAULT_CLASSES,
        Some(c) => c
            .parse()
            .map_err(|_| ApiError::bad_request("classes must be a number 3–9"))?,
    };
    let palette = match q.get("palette") {
        Some(p) => p
            .parse()
            .map_err(|e: crate::choropleth::ClassifyError| ApiError::bad_request(e.to_string()))?,
        None if sel.shown.change.is_some() => Palette::diverging(),
        None => Palette::sequential(),
    };
    let c = build(&sel, &method, k, palette).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let present: Vec<f64> = c.values.iter().filter_map(|(_, v)| *v).collect();
    let units: Vec<Value> = c
        .values
        .iter()
        .map(|(u, v)| {
            json!({
                "kode": snap.unit(*u).info.kode,
                "value": v,
                "class": v.map(|v| c.classes.class_of(v)),
            })
        })
        .collect();
    Ok(Json(json!({
        "level": sel.level,
        "indicator": sel.name(),
        "period": sel.period.map(|p| &p.period),
        "base_period": sel.base.map(|p| &p.period),
        "method": method.as_str(),
        "palette": palette.name(),
        "classes": c.classes.len(),
        "breaks": c.classes.bounds,
        "colors": c.colors,
        "counts": c.classes.counts(&present),
        "labels": labels(&c.classes, sel.shown.kind()),
        "no_data": c.values.len() - present.len(),
        "no_data_color": NO_DATA_COLOR,
        "no_data_label": NO_DATA_LABEL,
        "units": units,
    })))
}
