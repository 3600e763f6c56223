//! The denominators file: all households and population per unit, for rates.

use std::collections::HashMap;
use std::path::Path;

use crate::model::Denominators;
use crate::region::Kode;

/// Errors of reading a denominators file.
#[derive(Debug, thiserror::Error)]
pub enum DenominatorError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{path}, line {line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// Why, in words.
        reason: String,
    },
}

/// Reads a denominators file: CSV with the columns `kode,households,population` (Kemendagri
/// codes at any level; an empty cell is unknown, not zero).
pub fn read_denominators(path: &Path) -> Result<HashMap<Kode, Denominators>, DenominatorError> {
    let name = path.display().to_string();
    let line_err = |line: u64, reason: String| DenominatorError::Line {
        path: name.clone(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| DenominatorError::Io {
            path: name.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let headers = reader
        .headers()
        .map_err(|e| line_err(1, e.to_string()))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (Some(k), Some(hh), Some(pop)) = (col("kode"), col("households"), col("population")) else {
        return Err(line_err(
            1,
            "the header must name the columns kode, households and population".into(),
        ));
    };
    let mut out = HashMap::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| line_err(line, e.to_string()))?;
        let kode = Kode::parse(rec.get(k).unwrap_or(""))
            .map_err(|e| line_err(line, format!("kode: {e}")))?;
        let number = |c: usize, what: &str| -> Result<Option<u64>, DenominatorError> {
            let v = rec.get(c).unwrap_or("").replace(['.', ' '], "");
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<u64>()
                .map(Some)
                .map_err(|_| line_err(line, format!("{what} `{v}` is not a whole number")))
        };
        let d = Denominators {
            households: number(hh, "households")?,
            population: number(pop, "population")?,
        };
        if out.insert(kode, d).is_some() {
            return Err(line_err(line, format!("code {kode} appears twice")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denominators_file_reads_codes_at_any_level_and_refuses_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.csv");
        std::fs::write(
            &ok,
            "kode,households,population\n64.72,\"250.000\",850000\n6472011004,,3200\n",
        )
        .unwrap();
        let d = read_denominators(&ok).unwrap();
        assert_eq!(d[&Kode::parse("64.72").unwrap()].households, Some(250_000));
        assert_eq!(d[&Kode::parse("64.72.01.1004").unwrap()].households, None);
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "kode,households,population\n64.72,many,1\n").unwrap();
        let e = read_denominators(&bad).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("many"), "{e}");
    }
}
