//! Targets and trends: a goal is a value an indicator should reach by a year ("no extreme
//! poverty by 2026": `extreme_poor_rate` 0 by 2026) for a unit and everything inside it; a
//! trend is an indicator of one unit across every period loaded, as a reader may see it.

use serde::{Deserialize, Serialize};

use super::indicators::Indicator;
use super::snapshot::{Disclosure, Snapshot};
use crate::model::Period;
use crate::region::Kode;

/// The latest year a goal may name.
const LAST_YEAR: u16 = 2100;
/// The earliest year a goal may name.
const FIRST_YEAR: u16 = 2000;

/// A target value of an indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// The indicator.
    pub indicator: Indicator,
    /// The value to reach, in the indicator's own unit (a share 0–1 for a rate).
    pub value: f64,
    /// The year by which.
    pub year: u16,
    /// The unit it is set for (it holds for every unit inside too); `None`: everywhere.
    pub unit: Option<Kode>,
}

/// A goal that cannot be set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GoalError {
    /// The value is not a number the indicator can take.
    #[error("the target value of {indicator} must be {expected}, not {value}")]
    Value {
        /// The indicator's name.
        indicator: &'static str,
        /// What it may be.
        expected: &'static str,
        /// What was given.
        value: String,
    },
    /// The year is out of range.
    #[error("the target year must be between {FIRST_YEAR} and {LAST_YEAR}, not {0}")]
    Year(u16),
    /// A stored goal could not be read.
    #[error("the stored goals are damaged ({0}); set them again with `lentera goals set`")]
    Stored(String),
}

/// A goal as it is stored and served.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GoalRecord {
    indicator: String,
    value: f64,
    year: u16,
    unit: Option<String>,
}

impl Goal {
    /// A checked goal: a rate's value is a share from 0 to 1, a count's a whole number of
    /// at least 0; the year 2000–2100.
    pub fn new(
        indicator: Indicator,
        value: f64,
        year: u16,
        unit: Option<Kode>,
    ) -> Result<Goal, GoalError> {
        let ok = if indicator.is_share() {
            (0.0..=1.0).contains(&value)
        } else {
            value.is_finite() && value >= 0.0 && value.fract() == 0.0
        };
        if !ok {
            return Err(GoalError::Value {
                indicator: indicator.name(),
                expected: if indicator.is_share() {
                    "a percentage from 0 to 100"
                } else {
                    "a whole number of households or people, 0 or more"
                },
                value: value.to_string(),
            });
        }
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(GoalError::Year(year));
        }
        Ok(Goal {
            indicator,
            value,
            year,
            unit,
        })
    }

    /// Whether the goal holds for the unit `kode` (set for it, for a unit containing it, or
    /// everywhere).
    pub fn applies_to(&self, kode: Kode) -> bool {
        self.unit.is_none_or(|u| kode.is_within(&u))
    }

    /// As JSON for the API: the value in the indicator's unit and, for a rate, in percent.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "indicator": self.indicator.name(),
            "label": self.indicator.label(),
            "value": self.value,
            "percent": self.indicator.is_share().then_some(self.value * 100.0),
            "year": self.year,
            "unit": self.unit.map(|k| k.to_string()),
        })
    }
}

/// The goals as stored (a JSON list).
pub fn goals_to_text(goals: &[Goal]) -> String {
    let records: Vec<GoalRecord> = goals
        .iter()
        .map(|g| GoalRecord {
            indicator: g.indicator.name().to_string(),
            value: g.value,
            year: g.year,
            unit: g.unit.map(|k| k.to_string()),
        })
        .collect();
    serde_json::to_string(&records).unwrap_or_else(|_| "[]".into())
}

/// The goals from their stored text.
pub fn goals_from_text(text: &str) -> Result<Vec<Goal>, GoalError> {
    let records: Vec<GoalRecord> =
        serde_json::from_str(text).map_err(|e| GoalError::Stored(e.to_string()))?;
    records
        .into_iter()
        .map(|r| {
            let indicator = r
                .indicator
                .parse::<Indicator>()
                .map_err(|e| GoalError::Stored(e.to_string()))?;
            let unit = r
                .unit
                .map(|u| Kode::parse(&u).map_err(|e| GoalError::Stored(e.to_string())))
                .transpose()?;
            Goal::new(indicator, r.value, r.year, unit)
        })
        .collect()
}

/// `goals` with `goal` set: it replaces a goal of the same indicator, unit and year.
pub fn with_goal(mut goals: Vec<Goal>, goal: Goal) -> Vec<Goal> {
    goals
        .retain(|g| !(g.indicator == goal.indicator && g.unit == goal.unit && g.year == goal.year));
    goals.push(goal);
    sort_goals(&mut goals);
    goals
}

/// Goals in a stable order: by indicator name, unit (everywhere first), year.
pub fn sort_goals(goals: &mut [Goal]) {
    goals.sort_by(|a, b| {
        (a.indicator.name(), a.unit, a.year).cmp(&(b.indicator.name(), b.unit, b.year))
    });
}

/// The goal of `indicator` that holds for `kode`: the one set for the closest unit (its own,
/// then its parents', then everywhere), and of those the earliest year. A rate's goal holds
/// inside its unit; a count's only for its own unit (a province's 5,000 households are no
/// target for one desa), unless it is zero.
pub fn goal_for(goals: &[Goal], indicator: Indicator, kode: Kode) -> Option<&Goal> {
    goals
        .iter()
        .filter(|g| g.indicator == indicator && g.applies_to(kode))
        .filter(|g| g.indicator.is_share() || g.value == 0.0 || g.unit == Some(kode))
        .min_by_key(|g| {
            // Deeper units are closer: the code's level counts down.
            let depth = g.unit.map_or(0, |u| u.level() as u8 + 1);
            (std::cmp::Reverse(depth), g.year)
        })
}

/// One period of a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The period.
    pub period: Period,
    /// The value; `None` where no source of the period covers the unit, where the
    /// denominator is unknown, or where it is hidden.
    pub value: Option<f64>,
    /// Whether the value is hidden because so few households would single out a family.
    pub suppressed: bool,
}

/// `indicator` of unit `u` in every period, as a reader under `disclosure` sees it.
pub fn trend(
    snap: &Snapshot,
    u: u32,
    indicator: Indicator,
    disclosure: Disclosure,
) -> Vec<TrendPoint> {
    let den = snap.denominators(u);
    snap.periods()
        .iter()
        .map(|p| {
            let p = p.disclosed(disclosure);
            TrendPoint {
                period: p.period,
                value: indicator.value(p.counts(u), den),
                suppressed: p.suppressed(u),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::indicators::{Count, Rate};

    fn kode(s: &str) -> Kode {
        Kode::parse(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn the_closest_goal_holds() {
        let rate = Indicator::Rate(Rate::ExtremePoorRate);
        let goals = vec![
            Goal::new(rate, 0.0, 2026, None).unwrap_or_else(|e| unreachable!("{e}")),
            Goal::new(rate, 0.01, 2026, Some(kode("64"))).unwrap_or_else(|e| unreachable!("{e}")),
            Goal::new(rate, 0.02, 2027, Some(kode("64.72")))
                .unwrap_or_else(|e| unreachable!("{e}")),
        ];
        let value = |k: &str| goal_for(&goals, rate, kode(k)).map(|g| g.value);
        assert_eq!(value("64.72.01.1001"), Some(0.02));
        assert_eq!(value("64.01"), Some(0.01));
        assert_eq!(value("63.01"), Some(0.0));
        assert_eq!(
            goal_for(&goals, Indicator::Count(Count::Desil1), kode("64")),
            None
        );
        let count = Indicator::Count(Count::Desil1);
        let counts = vec![
            Goal::new(count, 500.0, 2026, Some(kode("64"))).unwrap_or_else(|e| unreachable!("{e}")),
            Goal::new(count, 0.0, 2030, Some(kode("64"))).unwrap_or_else(|e| unreachable!("{e}")),
        ];
        let year = |k: &str| goal_for(&counts, count, kode(k)).map(|g| g.year);
        assert_eq!(year("64"), Some(2026));
        assert_eq!(year("64.72"), Some(2030), "only a zero count holds inside");
        let text = goals_to_text(&goals);
        assert_eq!(goals_from_text(&text), Ok(goals));
    }

    #[test]
    fn impossible_goals_are_refused_in_words() {
        let rate = Indicator::Rate(Rate::Desil1Rate);
        let count = Indicator::Count(Count::Desil1);
        assert!(Goal::new(rate, 1.5, 2026, None).is_err());
        assert!(Goal::new(rate, f64::NAN, 2026, None).is_err());
        assert!(Goal::new(count, 2.5, 2026, None).is_err());
        assert!(Goal::new(count, -1.0, 2026, None).is_err());
        let year = Goal::new(count, 0.0, 1999, None)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            year.as_deref(),
            Some("the target year must be between 2000 and 2100, not 1999")
        );
        assert!(goals_from_text("{").is_err());
    }
}
