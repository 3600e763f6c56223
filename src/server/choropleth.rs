//! `GET /api/choropleth`: class breaks, colours, counts and legend labels of one indicator at
//! one level, over every unit of the level (never a sample).

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::indicators::{periods, unit_of};
use super::query::{parsed, ApiQuery, Bounded};
use super::{ApiError, AppState};
use crate::aggregate::indicators::Side;
use crate::aggregate::indicators::DEFAULT_MIN_HOUSEHOLDS;
use crate::aggregate::Disclosure;
use crate::aggregate::{
    Flow, Indicator, Measure, PeriodIndicators, Snapshot, Transitions, UnknownIndicator,
};
use crate::choropleth::{
    classify, classify_change, labels, Classes, ClassifyError, Method, Palette, Side as ChangeSide,
    ValueKind, MAX_CLASSES, MIN_CLASSES, NO_DATA_COLOR,
};
use crate::model::Period;
use crate::region::{Kode, Level};

/// Default number of classes.
pub const DEFAULT_CLASSES: usize = 5;
/// Legend label of units without data.
pub const NO_DATA_LABEL: &str = "Tidak ada data";

/// What a choropleth shows: an indicator, its change since a base period, or a flow of
/// households between the base period and the period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// The indicator's value (`desil_1`).
    Value(Indicator),
    /// Its change (`desil_1_change`, relative: `desil_1_change_rel`).
    Change {
        /// The indicator.
        indicator: Indicator,
        /// Relative to the base value rather than absolute.
        relative: bool,
    },
    /// Households of a flow (`transition_entered`), as `/api/transitions` counts them.
    Flow(Flow),
    /// A figure of one regional programme (`program_3_uncovered`), in its list's period.
    Program {
        /// The programme's id.
        id: i64,
        /// The figure.
        measure: Measure,
    },
}

/// The prefix of a programme figure's name.
const PROGRAM_PREFIX: &str = "program_";

/// The prefix of a flow's name.
const FLOW_PREFIX: &str = "transition_";

impl FromStr for Shown {
    type Err = String;

    /// Parses `desil_1`, `desil_1_change`, `desil_1_change_rel` or `transition_entered`.
    fn from_str(name: &str) -> Result<Shown, String> {
        if let Some((id, measure)) = name
            .strip_prefix(PROGRAM_PREFIX)
            .and_then(|rest| rest.split_once('_'))
        {
            if let Ok(id) = id.parse::<i64>() {
                return Ok(Shown::Program {
                    id,
                    measure: measure.parse()?,
                });
            }
        }
        if let Some(flow) = name.strip_prefix(FLOW_PREFIX) {
            return flow.parse().map(Shown::Flow).map_err(|_| {
                let names: Vec<String> = Flow::ALL
                    .iter()
                    .map(|f| format!("{FLOW_PREFIX}{}", f.name()))
                    .collect();
                format!("unknown flow `{name}`: {}", names.join(", "))
            });
        }
        let (base, change) = if let Some(b) = name.strip_suffix("_change_rel") {
            (b, Some(true))
        } else if let Some(b) = name.strip_suffix("_change") {
            (b, Some(false))
        } else {
            (name, None)
        };
        let indicator = base.parse().map_err(|e: UnknownIndicator| {
            format!("{e}; for a change add _change or _change_rel to its name, with base=")
        })?;
        Ok(match change {
            None => Shown::Value(indicator),
            Some(relative) => Shown::Change {
                indicator,
                relative,
            },
        })
    }
}

impl Default for Shown {
    fn default() -> Shown {
        Shown::Value(Indicator::Count(crate::aggregate::Count::Desil1))
    }
}

impl Shown {
    /// How the values read: shares (a rate, its change in points, any relative change) or
    /// whole numbers (a count, its absolute change, a flow).
    pub fn kind(&self) -> ValueKind {
        match self {
            Shown::Value(i)
            | Shown::Change {
                indicator: i,
                relative: false,
            } if !i.is_share() => ValueKind::Count,
            Shown::Flow(_) => ValueKind::Count,
            Shown::Program { measure, .. } if !measure.is_share() => ValueKind::Count,
            _ => ValueKind::Share,
        }
    }

    /// The name of what is shown (`desil_1`, `desil_1_change`, `transition_entered`…).
    pub fn name(&self) -> String {
        match self {
            Shown::Value(i) => i.name().to_string(),
            Shown::Change {
                indicator,
                relative: false,
            } => format!("{indicator}_change"),
            Shown::Change {
                indicator,
                relative: true,
            } => format!("{indicator}_change_rel"),
            Shown::Flow(f) => format!("{FLOW_PREFIX}{}", f.name()),
            Shown::Program { id, measure } => format!("{PROGRAM_PREFIX}{id}_{}", measure.name()),
        }
    }

    /// What is shown, in Bahasa Indonesia (a legend title, a table's column).
    pub fn label(&self) -> String {
        match self {
            Shown::Value(i) => i.label().to_string(),
            Shown::Change {
                indicator,
                relative,
            } => format!(
                "Perubahan {}{}",
                indicator.label().to_lowercase(),
                if *relative { " (%)" } else { "" }
            ),
            Shown::Flow(f) => f.label().to_string(),
            Shown::Program { id, measure } => format!("{} (program {id})", measure.label()),
        }
    }

    /// The indicator shown or changed (`None` for a flow).
    pub fn indicator(&self) -> Option<Indicator> {
        match self {
            Shown::Value(i) | Shown::Change { indicator: i, .. } => Some(*i),
            Shown::Flow(_) | Shown::Program { .. } => None,
        }
    }

    /// Whether it needs a base period.
    pub fn needs_base(&self) -> bool {
        !matches!(self, Shown::Value(_) | Shown::Program { .. })
    }

    /// Whether it is a change, which diverges around zero.
    pub fn is_change(&self) -> bool {
        matches!(self, Shown::Change { .. })
    }
}

/// The parameters that select units and what is shown of them, as `/api/choropleth` and
/// `/api/targets` take them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectionParams {
    /// The level of the units.
    pub level: Option<Level>,
    /// Only units inside this one.
    pub parent: Option<Kode>,
    /// What is shown (default `desil_1`).
    pub indicator: Option<Shown>,
    /// The period (default the latest).
    pub period: Option<Period>,
    /// The base period of a change.
    pub base: Option<Period>,
    /// Rates over fewer households are "terlalu sedikit data" (default
    /// [`DEFAULT_MIN_HOUSEHOLDS`]).
    pub min_households: Option<u64>,
}

/// Defines a query struct holding the [`SelectionParams`] fields and `$extra` ones, refusing
/// any other parameter.
macro_rules! selection_query {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[serde(default, deserialize_with = "parsed")]
            level: Option<Level>,
            #[serde(default, deserialize_with = "parsed")]
            parent: Option<Kode>,
            #[serde(default, deserialize_with = "parsed")]
            indicator: Option<Shown>,
            #[serde(default, deserialize_with = "parsed")]
            period: Option<Period>,
            #[serde(default, deserialize_with = "parsed")]
            base: Option<Period>,
            #[serde(default, deserialize_with = "parsed")]
            min_households: Option<u64>,
            $($(#[$fmeta])* $field: $ty,)*
        }

        impl $name {
            /// The selection part of the query.
            pub fn selection(&self) -> SelectionParams {
                SelectionParams {
                    level: self.level,
                    parent: self.parent,
                    indicator: self.indicator,
                    period: self.period,
                    base: self.base,
                    min_households: self.min_households,
                }
            }
        }
    };
}
pub(crate) use selection_query;

/// Unit `u`'s side of a comparison in period `p`.
fn side_of(p: &PeriodIndicators, u: u32) -> Side<'_> {
    Side {
        period: p.period,
        counts: p.counts(u),
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
    /// The period, as the reader may see it.
    pub period: Option<PeriodIndicators>,
    /// The base period of a change, as the reader may see it.
    pub base: Option<PeriodIndicators>,
    /// Rates over fewer households are flagged.
    pub min_households: u64,
}

impl<'a> Selection<'a> {
    /// The selection `params` name in `snap` (level `default_level` when it names none):
    /// `404` for a unit or period without data, `400` for a change without a base period.
    pub fn new(
        snap: &'a Snapshot,
        params: SelectionParams,
        default_level: Level,
        disclosure: Disclosure,
    ) -> Result<Selection<'a>, ApiError> {
        let shown = params.indicator.unwrap_or_default();
        // A programme's figures are of its list's period.
        let list_period = match shown {
            Shown::Program { id, .. } => Some(
                snap.programs()
                    .by_id(id)
                    .ok_or_else(|| {
                        ApiError::not_found(format!("programme {id} is not registered"))
                    })?
                    .1
                    .list_period()
                    .ok_or_else(|| {
                        ApiError::not_found(format!("programme {id} has no list uploaded yet"))
                    })?,
            ),
            _ => None,
        };
        let (period, base) = periods(snap, params.period.or(list_period), params.base, disclosure)?;
        if shown.needs_base() && base.is_none() {
            return Err(ApiError::bad_request(format!(
                "{} needs a base period: base=YYYY-MM",
                shown.name()
            )));
        }
        Ok(Selection {
            snap,
            level: params.level.unwrap_or(default_level),
            parent: params.parent.map(|k| unit_of(snap, k)).transpose()?,
            shown,
            period,
            base,
            min_households: params.min_households.unwrap_or(DEFAULT_MIN_HOUSEHOLDS),
        })
    }

    /// Whether the value of unit `u` is a rate over fewer than `min_households` households
    /// (in either period of a change): shown as "terlalu sedikit data", not classified.
    pub fn few(&self, u: u32) -> bool {
        let Some(Indicator::Rate(rate)) = self.shown.indicator() else {
            return false;
        };
        let den = self.snap.denominators(u);
        let small = |p: Option<&PeriodIndicators>| {
            p.and_then(|p| p.counts(u))
                .is_some_and(|c| rate.base(c, den) < self.min_households)
        };
        small(self.period.as_ref()) || (self.shown.is_change() && small(self.base.as_ref()))
    }

    /// The value of unit `u` (`None`: no data); `flows` are the transitions of a flow shown.
    fn value(&self, u: u32, flows: Option<&[Transitions]>) -> Option<f64> {
        let den = self.snap.denominators(u);
        let counts = self.period.as_ref().and_then(|p| p.counts(u));
        match self.shown {
            Shown::Value(i) => i.value(counts, den),
            Shown::Change {
                indicator,
                relative,
            } => {
                let c = indicator.change(
                    side_of(self.period.as_ref()?, u),
                    side_of(self.base.as_ref()?, u),
                    den,
                );
                if relative {
                    c.rel
                } else {
                    c.abs
                }
            }
            // Where a period has no source covering the unit, no household entered or left.
            Shown::Flow(f) => {
                counts?;
                self.base.as_ref()?.counts(u)?;
                Some(flows?[u as usize].get(f) as f64)
            }
            Shown::Program { id, measure } => {
                let (_, tally) = self.snap.programs().by_id(id)?;
                let same = self.period.as_ref()?.period == tally.list_period()?;
                tally.value(measure, u, counts.filter(|_| same))
            }
        }
    }

    /// Whether the figures of unit `u` are hidden from this reader (in either period of a
    /// comparison).
    pub fn suppressed(&self, u: u32) -> bool {
        let hidden = |p: Option<&PeriodIndicators>| p.is_some_and(|p| p.suppressed(u));
        hidden(self.period.as_ref()) || (self.shown.needs_base() && hidden(self.base.as_ref()))
    }

    /// Why units have no value (or, for a change, no change): each reason with the number of
    /// units it holds for, most frequent first.
    pub fn no_data_reasons(&self, units: &[u32]) -> Vec<(String, usize)> {
        let mut reasons: HashMap<String, usize> = HashMap::new();
        for &u in units {
            let side = |p| side_of(p, u);
            let den = self.snap.denominators(u);
            if self.suppressed(u) {
                let label = self
                    .period
                    .as_ref()
                    .map_or_else(String::new, |p| p.disclosure().label());
                let r = format!(
                    "Disembunyikan: {label} rumah tangga, agar tidak menunjuk satu keluarga"
                );
                *reasons.entry(r).or_default() += 1;
                continue;
            }
            let reason = match (self.shown, self.period.as_ref(), self.base.as_ref()) {
                (Shown::Value(i), Some(now), _) => i.missing_reason(side(now), den),
                (Shown::Change { indicator, .. }, Some(now), Some(base)) => {
                    indicator.change(side(now), side(base), den).reason
                }
                (Shown::Program { .. }, Some(now), _) if self.value(u, None).is_none() => {
                    Some(if now.counts(u).is_none() {
                        format!("Tidak ada data periode {} di wilayah ini", now.period)
                    } else {
                        "Tidak ada data: sumber data tidak mencantumkan desil".to_string()
                    })
                }
                _ => None,
            };
            if let Some(r) = reason {
                *reasons.entry(r).or_default() += 1;
            }
        }
        let mut list: Vec<(String, usize)> = reasons.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list
    }

    /// Every selected unit with its value (`None`: no data), in code order.
    pub fn values(&self) -> Vec<(u32, Option<f64>)> {
        let flows = match (self.shown, self.period.as_ref(), self.base.as_ref()) {
            (Shown::Flow(_), Some(p), Some(b)) => {
                Some(self.snap.transitions(p.period, b.period, self.level))
            }
            _ => None,
        };
        let units: Vec<u32> = match self.parent {
            Some(p) => self.snap.descendants(p).collect(),
            None => (0..self.snap.units().len() as u32).collect(),
        };
        units
            .into_iter()
            .filter(|&u| self.snap.unit(u).info.level == self.level)
            .map(|u| (u, self.value(u, flows.as_deref())))
            .collect()
    }
}

/// A classified indicator over the units of a level.
pub struct Choropleth {
    /// Units, their values (`None`: no data) and whether they are too few households to
    /// trust (not classified).
    pub values: Vec<(u32, Option<f64>, bool)>,
    /// The classes.
    pub classes: Classes,
    /// One colour per class.
    pub colors: Vec<String>,
    /// For a change, the side of zero of each class.
    pub sides: Option<Vec<ChangeSide>>,
}

impl Choropleth {
    /// The classified values (units with data, not too few).
    pub fn classified(&self) -> Vec<f64> {
        self.values
            .iter()
            .filter(|(_, _, few)| !few)
            .filter_map(|(_, v, _)| *v)
            .collect()
    }

    /// The class of a unit's value (`None`: no data, or too few households).
    pub fn class_of(&self, v: Option<f64>, few: bool) -> Option<usize> {
        v.filter(|_| !few).map(|v| self.classes.class_of(v))
    }

    /// The legend labels.
    pub fn labels(&self, kind: ValueKind) -> Vec<String> {
        labels(&self.classes, kind, self.sides.as_deref())
    }
}

/// Classifies the selected values into `k` classes by `method`, coloured by `palette`; a
/// change diverges around zero ([`classify_change`]).
pub fn build(
    sel: &Selection<'_>,
    method: &Method,
    k: usize,
    palette: Palette,
) -> Result<Choropleth, ClassifyError> {
    let values: Vec<(u32, Option<f64>, bool)> = sel
        .values()
        .into_iter()
        .map(|(u, v)| (u, v, v.is_some() && sel.few(u)))
        .collect();
    let mut c = Choropleth {
        values,
        classes: Classes { bounds: Vec::new() },
        colors: Vec::new(),
        sides: None,
    };
    let present = c.classified();
    if sel.shown.is_change() {
        let (classes, sides) = classify_change(&present, method, k)?;
        c.colors = palette.diverging_colors(&sides);
        c.classes = classes;
        c.sides = Some(sides);
    } else {
        c.classes = classify(&present, method, k)?;
        c.colors = palette.colors_for(c.classes.len());
    }
    Ok(c)
}

/// Manual class breaks: numbers separated by commas.
#[derive(Debug, Clone, PartialEq)]
pub struct Breaks(pub Vec<f64>);

impl FromStr for Breaks {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Breaks, &'static str> {
        s.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<Vec<f64>>>()
            .map(Breaks)
            .ok_or("breaks must be numbers separated by commas, e.g. 10,50,100")
    }
}

/// The number of classes.
pub type ClassCount = Bounded<MIN_CLASSES, MAX_CLASSES>;

selection_query! {
    /// The query of `/api/choropleth`.
    ChoroplethQuery {
        #[serde(default, deserialize_with = "parsed")]
        method: Option<Method>,
        classes: Option<ClassCount>,
        #[serde(default, deserialize_with = "parsed")]
        palette: Option<Palette>,
        #[serde(default, deserialize_with = "parsed")]
        breaks: Option<Breaks>,
    }
}

/// The method (manual breaks filled in), number of classes and palette a query asks for,
/// with the defaults: Ckmeans, [`DEFAULT_CLASSES`], sequential (diverging for a change).
pub(crate) fn classing(
    method: Option<Method>,
    breaks: Option<Breaks>,
    classes: Option<ClassCount>,
    palette: Option<Palette>,
    sel: &Selection<'_>,
) -> (Method, usize, Palette) {
    let method = match method.unwrap_or(Method::Ckmeans) {
        Method::Manual(_) => Method::Manual(breaks.map(|b| b.0).unwrap_or_default()),
        other => other,
    };
    let palette = match palette {
        Some(p) => p,
        None if sel.shown.is_change() => Palette::diverging(),
        None => Palette::sequential(),
    };
    (method, classes.map_or(DEFAULT_CLASSES, |c| c.0), palette)
}

/// `GET /api/choropleth?level=&indicator=&method=&classes=&palette=&period=&base=&breaks=&parent=`
pub async fn choropleth(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<ChoroplethQuery>,
    caller: super::auth::Caller,
) -> Result<Json<Value>, ApiError> {
    let snap = st.live.snapshot();
    let sel = Selection::new(
        &snap,
        q.selection(),
        Level::Kabupaten,
        caller.disclosure(&st.auth.config),
    )?;
    let (method, k, palette) = classing(q.method, q.breaks, q.classes, q.palette, &sel);
    let c = build(&sel, &method, k, palette).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let present = c.classified();
    let few = c.values.iter().filter(|(_, _, few)| *few).count();
    let listed: Vec<u32> = c.values.iter().map(|(u, _, _)| *u).collect();
    let suppressed = listed.iter().filter(|&&u| sel.suppressed(u)).count();
    let reasons: Vec<Value> = sel
        .no_data_reasons(&listed)
        .into_iter()
        .map(|(reason, units)| json!({ "reason": reason, "units": units }))
        .collect();
    let units: Vec<Value> = c
        .values
        .iter()
        .map(|&(u, v, is_few)| {
            json!({
                "kode": snap.unit(u).info.kode,
                "value": v,
                "class": c.class_of(v, is_few),
                "few": is_few,
                "suppressed": sel.suppressed(u),
            })
        })
        .collect();
    Ok(Json(json!({
        "level": sel.level,
        "indicator": sel.shown.name(),
        "period": sel.period.as_ref().map(|p| p.period),
        "base_period": sel.base.as_ref().map(|p| p.period),
        "method": method.as_str(),
        "method_label": method_label(&method),
        "method_about": method_about(&method),
        "palette": palette.name(),
        "classes": c.classes.len(),
        "breaks": c.classes.bounds,
        "colors": c.colors,
        "sides": c.sides,
        "counts": c.classes.counts(&present),
        "labels": c.labels(sel.shown.kind()),
        "no_data": c.values.len() - present.len() - few - suppressed,
        "no_data_color": NO_DATA_COLOR,
        "no_data_label": NO_DATA_LABEL,
        "no_data_reasons": reasons,
        "few": few,
        "few_color": FEW_COLOR,
        "few_label": format!("Terlalu sedikit data (< {} rumah tangga)", sel.min_households),
        "min_households": sel.min_households,
        "suppressed": suppressed,
        "suppressed_label": sel
            .period
            .as_ref()
            .map(|p| format!("{} rumah tangga (disembunyikan)", p.disclosure().label())),
        "units": units,
    })))
}

/// Colour of units whose rate rests on too few households.
pub const FEW_COLOR: &str = "#efe6cf";

/// A method's name in Bahasa Indonesia, as the page's list shows it.
pub fn method_label(m: &Method) -> &'static str {
    match m {
        Method::Ckmeans => "Optimal (Ckmeans)",
        Method::Quantile => "Kuantil",
        Method::EqualInterval => "Interval sama",
        Method::Pretty => "Angka bulat",
        Method::Manual(_) => "Manual",
    }
}

/// What a method does, in plain Bahasa Indonesia (the legend's tooltip).
pub fn method_about(m: &Method) -> &'static str {
    match m {
        Method::Ckmeans => "Kelas alami: mengelompokkan nilai yang berdekatan, sehingga perbedaan di dalam satu kelas sekecil mungkin.",
        Method::Quantile => "Setiap kelas memuat jumlah wilayah yang kurang lebih sama.",
        Method::EqualInterval => "Setiap kelas sama lebar, dari nilai terkecil sampai terbesar.",
        Method::Pretty => "Batas kelas berupa angka bulat (1, 2 atau 5 × 10ⁿ).",
        Method::Manual(_) => "Batas kelas ditentukan sendiri.",
    }
}
