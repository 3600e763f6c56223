//! The regional programmes agencies run (Dinas Sosial, Perumahan, Kesehatan…), their lists of
//! beneficiaries, and the target lists drawn from the data.
//!
//! A beneficiary list holds no identity number: each NIK and KK is hashed under the
//! installation secret the moment it is read, and only the first 8 bytes of that keyed hash
//! (the same [`Household::id_key`](super::Household::id_key) the snapshot matches households
//! with) are kept.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::period::Period;
use crate::region::Kode;

/// Whom a programme reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramKind {
    /// Households named in a list (NIK or KK per row).
    Household,
    /// Places: desa, kecamatan or kabupaten codes with amounts (a road, a clinic, a well).
    Location,
}

impl ProgramKind {
    /// Its name as stored and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgramKind::Household => "household",
            ProgramKind::Location => "location",
        }
    }

    /// Its label in Bahasa Indonesia.
    pub fn label(self) -> &'static str {
        match self {
            ProgramKind::Household => "bantuan rumah tangga",
            ProgramKind::Location => "bantuan wilayah",
        }
    }
}

impl FromStr for ProgramKind {
    type Err = BadProgram;
    fn from_str(s: &str) -> Result<ProgramKind, BadProgram> {
        match s.trim().to_ascii_lowercase().as_str() {
            "household" | "rumah_tangga" | "rumah-tangga" => Ok(ProgramKind::Household),
            "location" | "wilayah" => Ok(ProgramKind::Location),
            _ => Err(BadProgram::Kind(s.to_string())),
        }
    }
}

/// The desil range a programme is meant for, both ends included (`1-4`, or `1` alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DesilRange {
    /// Lowest desil.
    pub lo: u8,
    /// Highest desil.
    pub hi: u8,
}

impl DesilRange {
    /// Whether `desil` lies in the range.
    pub fn contains(self, desil: u8) -> bool {
        (self.lo..=self.hi).contains(&desil)
    }
}

impl FromStr for DesilRange {
    type Err = BadProgram;
    fn from_str(s: &str) -> Result<DesilRange, BadProgram> {
        let bad = || BadProgram::Desil(s.to_string());
        let t = s.trim();
        let (lo, hi) = match t.split_once(['-', '–']) {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (t, t),
        };
        let lo: u8 = lo.parse().map_err(|_| bad())?;
        let hi: u8 = hi.parse().map_err(|_| bad())?;
        if !(1..=10).contains(&lo) || !(1..=10).contains(&hi) || lo > hi {
            return Err(bad());
        }
        Ok(DesilRange { lo, hi })
    }
}

impl fmt::Display for DesilRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl Serialize for DesilRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DesilRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DesilRange, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a programme, a list or a target cannot be taken as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadProgram {
    /// No name, or one too long.
    #[error("a programme needs a name of 1 to 200 characters")]
    Name,
    /// No agency, or one too long.
    #[error("a programme needs the agency that runs it (1 to 200 characters, e.g. Dinas Sosial)")]
    Agency,
    /// A year outside 2000–2100.
    #[error("year {0} is not a programme year (2000 to 2100)")]
    Year(i64),
    /// Not `household` or `location`.
    #[error("kind `{0}` is unknown: use household or location")]
    Kind(String),
    /// Not a desil range.
    #[error("desil range `{0}` is not a range of desil 1 to 10 such as 1-4 or 1")]
    Desil(String),
    /// A negative or absurd amount.
    #[error("{0} must be a whole number of rupiah, 0 or more")]
    Amount(&'static str),
}

/// A programme as it is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProgram {
    /// Its name (`Bantuan Rumah Layak Huni`).
    pub name: String,
    /// The agency running it (`Dinas Perumahan`).
    pub agency: String,
    /// Budget year.
    pub year: i32,
    /// Households or places.
    pub kind: ProgramKind,
    /// The desil range it is meant for; `None`: every listed household.
    pub desil: Option<DesilRange>,
    /// Budget in rupiah.
    pub budget: Option<u64>,
    /// Cost per household (or per place) in rupiah.
    pub unit_cost: Option<u64>,
}

impl NewProgram {
    /// Checks name, agency and year; names are trimmed.
    pub fn checked(mut self) -> Result<NewProgram, BadProgram> {
        self.name = self.name.trim().to_string();
        self.agency = self.agency.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            return Err(BadProgram::Name);
        }
        if self.agency.is_empty() || self.agency.chars().count() > 200 {
            return Err(BadProgram::Agency);
        }
        if !(2000..=2100).contains(&self.year) {
            return Err(BadProgram::Year(i64::from(self.year)));
        }
        Ok(self)
    }
}

/// What was uploaded as a programme's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListInfo {
    /// The period whose households the list is matched to.
    pub period: Period,
    /// The file's name as uploaded.
    pub file_name: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows kept (a usable NIK/KK, or a known region code).
    pub rows_kept: u64,
    /// Rows refused (no usable number or code), with the reasons in the upload's report.
    pub rows_refused: u64,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When (RFC 3339).
    pub uploaded_at: String,
}

/// A registered programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramInfo {
    /// Id.
    pub id: i64,
    /// What was registered.
    #[serde(flatten)]
    pub program: NewProgram,
    /// Who registered it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Its current list, once one was uploaded.
    pub list: Option<ListInfo>,
}

/// One kept row of a list: a beneficiary household (its keys) or a place (its code), with an
/// amount when the file gives one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// Row number in the file (1-based, the header included).
    pub row: u64,
    /// [`Household::id_key`](super::Household::id_key) of the NIK's keyed hash.
    pub nik_key: Option<i64>,
    /// The same of the KK number.
    pub kk_key: Option<i64>,
    /// The region code the row names (the place itself for a location programme).
    pub kode: Option<Kode>,
    /// Amount in rupiah.
    pub amount: Option<f64>,
}

impl Serialize for Member {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            self.row,
            self.nik_key,
            self.kk_key,
            self.kode.map(|k| k.to_string()),
            self.amount,
        )
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Member, D::Error> {
        let (row, nik_key, kk_key, kode, amount): (
            u64,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<f64>,
        ) = Deserialize::deserialize(d)?;
        let kode = kode
            .map(|k| k.parse().map_err(serde::de::Error::custom))
            .transpose()?;
        Ok(Member {
            row,
            nik_key,
            kk_key,
            kode,
            amount,
        })
    }
}

/// Which programmes a targeting criterion looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coverage {
    /// One registered programme.
    Program(i64),
    /// Any regional programme with a list for the period.
    AnyRegional,
    /// Any programme: regional, or national as the source files state it (PKH, BPNT…).
    Any,
    /// One national programme as the source files state it.
    National(super::Program),
}

impl FromStr for Coverage {
    type Err = String;
    fn from_str(s: &str) -> Result<Coverage, String> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "any" | "semua" => Ok(Coverage::Any),
            "regional" | "daerah" => Ok(Coverage::AnyRegional),
            _ => {
                if let Ok(id) = t.parse::<i64>() {
                    return Ok(Coverage::Program(id));
                }
                t.parse::<super::Program>()
                    .map(Coverage::National)
                    .map_err(|_| {
                        format!(
                            "`{s}` names no programme: use a programme id, regional, any or a \
                             national programme (pkh, bpnt, pbi…)"
                        )
                    })
            }
        }
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Coverage::Program(id) => write!(f, "{id}"),
            Coverage::AnyRegional => f.write_str("regional"),
            Coverage::Any => f.write_str("any"),
            Coverage::National(p) => f.write_str(p.as_str()),
        }
    }
}

impl Serialize for Coverage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Coverage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Coverage, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A saved target list: the criteria it was built with and the households it named (their
/// keys and desa, no names, no numbers), to reopen and compare with later periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetList {
    /// Id (0 until stored).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The period it was built on.
    pub period: Period,
    /// The criteria, as the targeting API takes them (a query string).
    pub criteria: String,
    /// Who saved it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Households in it.
    pub households: u64,
}

/// One household of a saved target list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetMember {
    /// [`Household::id_key`](super::Household::id_key) of its head's NIK.
    pub nik_key: Option<i64>,
    /// The same of its KK.
    pub kk_key: Option<i64>,
    /// The desa (or smaller known unit) it was counted in.
    pub kode: Kode,
    /// Its desil then.
    pub desil: Option<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desil_ranges_parse_and_refuse_in_words() {
        assert_eq!("1-4".parse::<DesilRange>(), Ok(DesilRange { lo: 1, hi: 4 }));
        assert_eq!(" 2 ".parse::<DesilRange>(), Ok(DesilRange { lo: 2, hi: 2 }));
        assert_eq!("1–5".parse::<DesilRange>(), Ok(DesilRange { lo: 1, hi: 5 }));
        for bad in ["0-4", "4-1", "1-11", "x", ""] {
            let e = bad.parse::<DesilRange>().unwrap_err().to_string();
            assert!(e.contains("desil 1 to 10"), "{e}");
        }
        assert_eq!(DesilRange { lo: 1, hi: 4 }.to_string(), "1-4");
    }

    #[test]
    fn programmes_are_checked() {
        let p = NewProgram {
            name: "  Rehab RTLH ".into(),
            agency: "Dinas Perumahan".into(),
            year: 2026,
            kind: ProgramKind::Household,
            desil: None,
            budget: None,
            unit_cost: None,
        };
        assert_eq!(p.clone().checked().unwrap().name, "Rehab RTLH");
        let e = NewProgram {
            year: 1990,
            ..p.clone()
        }
        .checked()
        .unwrap_err();
        assert!(e.to_string().contains("1990"));
        assert!(NewProgram {
            agency: " ".into(),
            ..p
        }
        .checked()
        .is_err());
    }

    #[test]
    fn members_round_trip_as_compact_json() {
        let m = Member {
            row: 7,
            nik_key: Some(-5),
            kk_key: None,
            kode: Some("64.72.01.1001".parse().unwrap()),
            amount: Some(1.5e6),
        };
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(j, "[7,-5,null,\"64.72.01.1001\",1500000.0]");
        assert_eq!(serde_json::from_str::<Member>(&j).unwrap(), m);
    }

    #[test]
    fn coverage_names_parse() {
        assert_eq!("any".parse(), Ok(Coverage::Any));
        assert_eq!("regional".parse(), Ok(Coverage::AnyRegional));
        assert_eq!("12".parse(), Ok(Coverage::Program(12)));
        assert_eq!(
            "pkh".parse(),
            Ok(Coverage::National(super::super::Program::Pkh))
        );
        assert!("bansos".parse::<Coverage>().is_err());
    }
}
