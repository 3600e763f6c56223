//! The BPS ↔ Kemendagri code crosswalk.
//!
//! BPS numbers villages `PPKK` + 3-digit kecamatan + 3-digit desa and uses other kabupaten
//! numbers than Kemendagri in some provinces (Kutai Barat is BPS 6402 but Kemendagri 64.07),
//! so a BPS code can only be turned into a Kemendagri one through a table. Rows that cannot
//! map, and targets that do not exist in the loaded boundaries, are reported: a lookup
//! never guesses.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::{Kode, Level};

/// A BPS region code: 2 (province), 4 (kabupaten), 7 (kecamatan) or 10 (desa) digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BpsKode(String);

impl BpsKode {
    /// Parses a BPS code, refusing anything but 2, 4, 7 or 10 digits.
    pub fn parse(s: &str) -> Result<BpsKode, String> {
        let s = s.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) || ![2, 4, 7, 10].contains(&s.len()) {
            return Err(format!("`{s}` is not a BPS code (2, 4, 7 or 10 digits)"));
        }
        Ok(BpsKode(s.to_string()))
    }

    /// The level the code names.
    pub fn level(&self) -> Level {
        match self.0.len() {
            2 => Level::Provinsi,
            4 => Level::Kabupaten,
            7 => Level::Kecamatan,
            _ => Level::Desa,
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One row of the crosswalk. `kode_kemendagri` is `None` where the source has no target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrosswalkEntry {
    /// BPS code.
    pub kode_bps: BpsKode,
    /// Name as BPS spells it.
    pub nama_bps: String,
    /// The Kemendagri code it maps to, if the table gives one.
    pub kode_kemendagri: Option<Kode>,
}

/// What a crosswalk lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum CrosswalkLookup {
    /// The BPS code maps to this Kemendagri code, which exists in the loaded boundaries.
    Mapped(Kode),
    /// The table maps it to a code absent from the loaded boundaries (e.g. renumbered since).
    TargetMissing(Kode),
    /// The table lists the code but gives no Kemendagri code.
    NoTarget,
    /// The code is not in the table.
    Unknown,
}

/// A problem found while loading a crosswalk file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrosswalkIssue {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// The BPS code as given.
    pub kode_bps: String,
    /// What is wrong, in plain words.
    pub problem: String,
}

/// A loaded crosswalk and the rows it could not use.
#[derive(Debug, Default, Clone)]
pub struct Crosswalk {
    entries: BTreeMap<BpsKode, CrosswalkEntry>,
    known: HashSet<Kode>,
}

/// The outcome of reading a crosswalk file.
#[derive(Debug, Default)]
pub struct CrosswalkLoad {
    /// The rows that parsed, including those without a target.
    pub entries: Vec<CrosswalkEntry>,
    /// Rows that were refused or cannot map.
    pub issues: Vec<CrosswalkIssue>,
}

/// Errors that stop a crosswalk file from being read at all.
#[derive(Debug, thiserror::Error)]
pub enum CrosswalkError {
    /// The CSV could not be read.
    #[error("crosswalk CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Required columns are missing.
    #[error("crosswalk CSV needs the columns kode_bps, nama_bps, kode_kemendagri; found: {0}")]
    Columns(String),
}

/// Reads a crosswalk CSV (`kode_bps,nama_bps,kode_kemendagri`), keeping every row it can and
/// reporting each row it cannot use.
///
/// ```
/// use lentera::region::crosswalk::{read_crosswalk, BpsKode, Crosswalk, CrosswalkLookup};
/// use lentera::region::Kode;
///
/// let csv = "kode_bps,nama_bps,kode_kemendagri\n6402,KUTAI BARAT,64.07\n6499,LAMA,\n";
/// let load = read_crosswalk(csv.as_bytes()).unwrap();
/// assert_eq!(load.issues.len(), 1); // 6499 has no Kemendagri code
/// let known = [Kode::parse("64.07").unwrap()].into_iter().collect();
/// let cw = Crosswalk::new(load.entries, known);
/// let kubar = BpsKode::parse("6402").unwrap();
/// assert_eq!(cw.lookup(&kubar), CrosswalkLookup::Mapped(Kode::parse("64.07").unwrap()));
/// ```
pub fn read_crosswalk(reader: impl Read) -> Result<CrosswalkLoad, CrosswalkError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    let (Some(c_bps), Some(c_nama), Some(c_kmd)) =
        (col("kode_bps"), col("nama_bps"), col("kode_kemendagri"))
    else {
        return Err(CrosswalkError::Columns(
            headers.iter().collect::<Vec<_>>().join(", "),
        ));
    };
    let mut out = CrosswalkLoad::default();
    let mut seen = HashSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec?;
        let field = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
        let raw_bps = field(c_bps);
        let issue = |problem: String| CrosswalkIssue {
            line,
            kode_bps: raw_bps.clone(),
            problem,
        };
        let kode_bps = match BpsKode::parse(&raw_bps) {
            Ok(k) => k,
            Err(e) => {
                out.issues.push(issue(e));
                continue;
            }
        };
        if !seen.insert(kode_bps.clone()) {
            out.issues
                .push(issue("BPS code listed twice; the first row is kept".into()));
            continue;
        }
        let raw_kmd = field(c_kmd);
        let kode_kemendagri = if raw_kmd.is_empty() {
            out.issues
                .push(issue("no Kemendagri code given: cannot be mapped".into()));
            None
        } else {
            match Kode::parse(&raw_kmd) {
                Ok(k) if k.level() == kode_bps.level() => Some(k),
                Ok(k) => {
                    out.issues.push(issue(format!(
                        "BPS {} code mapped to Kemendagri {} code {k}: levels differ, row not used",
                        kode_bps.level(),
                        k.level()
                    )));
                    continue;
                }
                Err(e) => {
                    out.issues.push(issue(format!("Kemendagri code: {e}")));
                    continue;
                }
            }
        };
        out.entries.push(CrosswalkEntry {
            kode_bps,
            nama_bps: field(c_nama),
            kode_kemendagri,
        });
    }
    Ok(out)
}

impl Crosswalk {
    /// Builds a crosswalk over `entries`, checking targets against the `known` region codes.
    pub fn new(entries: Vec<CrosswalkEntry>, known: HashSet<Kode>) -> Crosswalk {
        Crosswalk {
            entries: entries
                .into_iter()
                .map(|e| (e.kode_bps.clone(), e))
                .collect(),
            known,
        }
    }

    /// Looks a BPS code up.
    pub fn lookup(&self, bps: &BpsKode) -> CrosswalkLookup {
        match self.entries.get(bps) {
            None => CrosswalkLookup::Unknown,
            Some(CrosswalkEntry {
                kode_kemendagri: None,
                ..
            }) => CrosswalkLookup::NoTarget,
            Some(CrosswalkEntry {
                kode_kemendagri: Some(k),
                ..
            }) if self.known.contains(k) => CrosswalkLookup::Mapped(*k),
            Some(CrosswalkEntry {
                kode_kemendagri: Some(k),
                ..
            }) => CrosswalkLookup::TargetMissing(*k),
        }
    }

    /// Entries whose Kemendagri target is not among the loaded boundaries.
    pub fn missing_targets(&self) -> Vec<&CrosswalkEntry> {
        self.entries
            .values()
            .filter(|e| e.kode_kemendagri.is_some_and(|k| !self.known.contains(&k)))
            .collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the crosswalk is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "kode_bps,nama_bps,kode_kemendagri\n\
        64,KALIMANTAN TIMUR,64\n\
        6402,KUTAI BARAT,64.07\n\
        6402010,BONGAN,64.07.01\n\
        6402010001,MUARA GUSIK,\n\
        6402010002,DEAH BEKAMBAN,64.07.01.2099\n\
        6402010003,X,64.07.01\n\
        64020100x4,Y,64.07.01.2001\n\
        6402,KUTAI BARAT AGAIN,64.07\n";

    #[test]
    fn every_unusable_row_is_reported_with_its_line() {
        let load = read_crosswalk(SAMPLE.as_bytes()).unwrap();
        assert_eq!(load.entries.len(), 5);
        let lines: Vec<usize> = load.issues.iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![5, 7, 8, 9]);
        assert!(load.issues[0].problem.contains("no Kemendagri code"));
        assert!(load.issues[1].problem.contains("levels differ"));
        assert!(load.issues[2].problem.contains("not a BPS code"));
        assert!(load.issues[3].problem.contains("twice"));
    }

    #[test]
    fn lookups_never_guess() {
        let load = read_crosswalk(SAMPLE.as_bytes()).unwrap();
        let known: HashSet<Kode> = ["64", "64.07", "64.07.01"]
            .iter()
            .map(|s| Kode::parse(s).unwrap())
            .collect();
        let cw = Crosswalk::new(load.entries, known);
        let b = |s| BpsKode::parse(s).unwrap();
        assert_eq!(
            cw.lookup(&b("6402")),
            CrosswalkLookup::Mapped("64.07".parse().unwrap())
        );
        assert_eq!(cw.lookup(&b("6402010001")), CrosswalkLookup::NoTarget);
        assert_eq!(
            cw.lookup(&b("6402010002")),
            CrosswalkLookup::TargetMissing("64.07.01.2099".parse().unwrap())
        );
        assert_eq!(cw.lookup(&b("6499")), CrosswalkLookup::Unknown);
        assert_eq!(cw.missing_targets().len(), 1);
    }

    #[test]
    fn missing_columns_is_an_error() {
        let err = read_crosswalk("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("kode_bps"));
    }
}
