//! The kabupaten population and poverty figures generated households are spread by.

use std::collections::HashMap;
use std::path::Path;

use super::GenerateError;
use crate::region::Kode;

/// Population and poverty rate of a kabupaten/kota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KabupatenStats {
    /// Population.
    pub population: f64,
    /// Share of poor people, percent.
    pub poverty_pct: f64,
}

/// Reads `kode_kemendagri,…,penduduk_2025,persen_miskin_2024[,persen_miskin_2023]`; a missing
/// 2024 rate falls back to 2023, then to the province-wide mean.
pub fn read_kabupaten_stats(path: &Path) -> Result<HashMap<Kode, KabupatenStats>, GenerateError> {
    let bad = |m: String| GenerateError::Input(format!("{}: {m}", path.display()));
    let mut rdr = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let headers = rdr.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(c_kode), Some(c_pop), Some(c_pct)) = (
        col("kode_kemendagri"),
        col("penduduk_2025"),
        col("persen_miskin_2024"),
    ) else {
        return Err(bad(
            "needs kode_kemendagri, penduduk_2025, persen_miskin_2024".into(),
        ));
    };
    let c_old = col("persen_miskin_2023");
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let kode = Kode::parse(rec.get(c_kode).unwrap_or("")).map_err(|e| bad(e.to_string()))?;
        let population: f64 = rec
            .get(c_pop)
            .unwrap_or("")
            .parse()
            .map_err(|_| bad(format!("{kode}: population")))?;
        let pct = [Some(c_pct), c_old]
            .into_iter()
            .flatten()
            .find_map(|c| rec.get(c).and_then(|v| v.parse::<f64>().ok()));
        match pct {
            Some(p) => {
                out.insert(
                    kode,
                    KabupatenStats {
                        population,
                        poverty_pct: p,
                    },
                );
            }
            None => missing.push((kode, population)),
        }
    }
    let mean = if out.is_empty() {
        6.0
    } else {
        out.values().map(|s| s.poverty_pct).sum::<f64>() / out.len() as f64
    };
    for (kode, population) in missing {
        out.insert(
            kode,
            KabupatenStats {
                population,
                poverty_pct: mean,
            },
        );
    }
    Ok(out)
}
