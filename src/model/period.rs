//! The data period of a household list: a month, written `YYYY-MM`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A data period (`2024-12`): the month a household list describes. DTSEN is re-ranked every
/// quarter and P3KE and DTKS exports carry their own dates, so every batch names its period and
/// every figure is of one period. Years 1900–2100.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    month: u8,
}

/// Text that is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("period `{0}` is not of the form YYYY-MM (e.g. 2024-12)")]
pub struct BadPeriod(pub String);

impl Period {
    /// The period of `year` and `month` (1–12), if it is one Lentera accepts.
    pub fn new(year: u16, month: u8) -> Option<Period> {
        ((1900..=2100).contains(&year) && (1..=12).contains(&month))
            .then_some(Period { year, month })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }
}

impl FromStr for Period {
    type Err = BadPeriod;
    fn from_str(s: &str) -> Result<Period, BadPeriod> {
        let bad = || BadPeriod(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        Period::new(year, month).ok_or_else(bad)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Debug for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Period({self})")
    }
}

impl PartialEq<str> for Period {
    fn eq(&self, other: &str) -> bool {
        other.parse() == Ok(*self)
    }
}

impl PartialEq<&str> for Period {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_once_and_print_the_same() {
        let p: Period = "2024-12".parse().unwrap();
        assert_eq!((p.year(), p.month()), (2024, 12));
        assert_eq!(p.to_string(), "2024-12");
        assert_eq!(p, "2024-12");
        for bad in [
            "2024-13", "24-12", "2024/12", "2024-1", "1899-12", "2024-00", "+024-12", "",
        ] {
            let err = bad.parse::<Period>().unwrap_err();
            assert!(err.to_string().contains("YYYY-MM"), "{bad}: {err}");
        }
        assert!("2024-03".parse::<Period>().unwrap() < "2024-12".parse().unwrap());
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"2024-12\"");
        assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Period>("\"2024-13\"").is_err());
    }
}
