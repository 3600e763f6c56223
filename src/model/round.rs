//! Verval rounds: a period the province collects verified lists for, with a deadline and
//! the kabupaten/kota expected to deliver.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::period::Period;
use crate::region::{Kode, Level};

/// A verval round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Round {
    /// The data period the round collects.
    pub period: Period,
    /// The last day of delivery, `YYYY-MM-DD` (deliveries stay possible after it; the status
    /// shows them late).
    pub deadline: String,
    /// The kabupaten/kota expected to deliver.
    pub expected: Vec<Kode>,
    /// Who opened it.
    pub opened_by: String,
    /// When (RFC 3339).
    pub opened_at: String,
    /// Who closed it; uploads are refused once it is closed.
    pub closed_by: Option<String>,
    /// When (RFC 3339).
    pub closed_at: Option<String>,
}

/// Why a round cannot be opened as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRound {
    /// The deadline is not a calendar date.
    #[error("deadline `{0}` is not a date in the form YYYY-MM-DD (e.g. 2026-04-30)")]
    Deadline(String),
    /// An expected unit is not a kabupaten/kota.
    #[error("{0} is not a kabupaten/kota code: a round expects kabupaten/kota (e.g. 64.72)")]
    NotKabupaten(Kode),
}

impl Round {
    /// Checks the deadline's form and that every expected unit is a kabupaten/kota; the
    /// list is sorted and repeats dropped.
    pub fn checked(mut self) -> Result<Round, BadRound> {
        if deadline_end(&self.deadline).is_none() {
            return Err(BadRound::Deadline(self.deadline));
        }
        if let Some(k) = self.expected.iter().find(|k| k.level() != Level::Kabupaten) {
            return Err(BadRound::NotKabupaten(*k));
        }
        self.expected.sort_unstable();
        self.expected.dedup();
        Ok(self)
    }

    /// Whether the round is still open for uploads.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// Whole days from `now` to the end of the deadline day (UTC), negative once it has
    /// passed: 0 on the deadline day itself.
    pub fn days_left(&self, now: SystemTime) -> Option<i64> {
        let end = deadline_end(&self.deadline)?;
        let day = 86_400;
        Some(match end.duration_since(now) {
            Ok(left) => (left.as_secs() / day) as i64,
            Err(past) => -(past.duration().as_secs().div_ceil(day) as i64),
        })
    }
}

/// The last second of a `YYYY-MM-DD` day, UTC; `None` when it is not a date.
fn deadline_end(date: &str) -> Option<SystemTime> {
    let well_formed = date.len() == 10
        && date.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !well_formed {
        return None;
    }
    let start = humantime::parse_rfc3339(&format!("{date}T00:00:00Z")).ok()?;
    Some(start + Duration::from_secs(86_399))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(deadline: &str, expected: &[&str]) -> Round {
        Round {
            period: "2026-03".parse().unwrap(),
            deadline: deadline.into(),
            expected: expected.iter().map(|k| k.parse().unwrap()).collect(),
            opened_by: "admin".into(),
            opened_at: "2026-03-01T00:00:00.000Z".into(),
            closed_by: None,
            closed_at: None,
        }
    }

    #[test]
    fn deadlines_and_expected_units_are_checked() {
        let r = round("2026-04-30", &["64.72", "64.01", "64.72"])
            .checked()
            .unwrap();
        assert_eq!(r.expected.len(), 2);
        assert_eq!(r.expected[0].to_string(), "64.01");
        for bad in ["2026-02-30", "30-04-2026", "2026-4-30", "2026-04-30x", ""] {
            assert!(
                matches!(round(bad, &[]).checked(), Err(BadRound::Deadline(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            round("2026-04-30", &["64.72.01"]).checked(),
            Err(BadRound::NotKabupaten(_))
        ));
    }

    #[test]
    fn days_left_count_to_the_end_of_the_deadline_day() {
        let r = round("2026-04-30", &[]);
        let at = |s: &str| humantime::parse_rfc3339(s).unwrap();
        assert_eq!(r.days_left(at("2026-04-30T12:00:00Z")), Some(0));
        assert_eq!(r.days_left(at("2026-04-28T12:00:00Z")), Some(2));
        assert_eq!(r.days_left(at("2026-05-01T00:00:01Z")), Some(-1));
        assert_eq!(r.days_left(at("2026-05-03T00:00:01Z")), Some(-3));
    }
}
