//! Aggregation: households counted into desa and summed up to kecamatan, kabupaten/kota and
//! province, per period, in an immutable [`Snapshot`] that the server swaps whole.
//!
//! The counting rule (which unit a household counts in) is documented on
//! `snapshot::Counter::place`, and in `ARCHITECTURE.md`.

pub mod indicators;
pub mod snapshot;

use std::collections::HashMap;
use std::path::Path;

use crate::geocode::{Flags, Geocode, Quality};
use crate::ingest::households::model::{DesilScale, Household, Programs};
use crate::region::{Kode, Level};
use crate::store::{Store, StoreError};

pub use indicators::{Counts, Denominators, COUNTS, RATES};
pub use snapshot::{BatchMeta, BatchReport, HouseholdRecord, Snapshot, SnapshotBuilder, Unit};

/// Grid cells per desa, on average (4 bytes each).
pub const DEFAULT_CELLS_PER_DESA: usize = 4096;

/// What aggregation needs of one stored household: no names, no identity numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HouseholdFacts {
    /// Its batch.
    pub batch_id: i64,
    /// The desa the geocoder chose.
    pub desa: Option<Kode>,
    /// The smallest unit the geocoder knows (the desa, or a kecamatan/kabupaten).
    pub unit: Option<Kode>,
    /// Its point (GPS or approximate).
    pub point: Option<(f64, f64)>,
    /// How it was placed; `None` when never geocoded.
    pub quality: Option<Quality>,
    /// Geocoding flags.
    pub flags: Flags,
    /// Members.
    pub members: Option<u32>,
    /// Desil.
    pub desil: Option<u8>,
    /// Desil scale.
    pub scale: Option<DesilScale>,
    /// Extreme poor as stated.
    pub extreme_poor: Option<bool>,
    /// Programmes.
    pub programs: Programs,
    /// A duplicate of a household counted elsewhere.
    pub duplicate: bool,
}

impl HouseholdFacts {
    /// The facts of a stored household.
    pub fn of(batch_id: i64, h: &Household) -> HouseholdFacts {
        HouseholdFacts {
            batch_id,
            members: h.members,
            desil: h.desil,
            scale: h.desil_scale,
            extreme_poor: h.extreme_poor,
            programs: h.programs,
            duplicate: h.duplicate_of.is_some(),
            ..Default::default()
        }
        .placed(h.geocode.as_ref())
    }

    /// These facts with the desa, unit, point, quality and flags of `geocode`.
    pub fn placed(self, geocode: Option<&Geocode>) -> HouseholdFacts {
        HouseholdFacts {
            desa: geocode.and_then(|g| g.kode_desa),
            unit: geocode.and_then(|g| g.unit),
            point: geocode.and_then(|g| g.point),
            quality: geocode.map(|g| g.quality),
            flags: geocode.map(|g| g.flags).unwrap_or_default(),
            ..self
        }
    }
}

impl From<crate::store::BatchInfo> for BatchMeta {
    fn from(b: crate::store::BatchInfo) -> BatchMeta {
        BatchMeta {
            id: b.id,
            file_name: b.file_name,
            source: b.source,
            period: b.period,
        }
    }
}

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

/// Reads everything a snapshot needs from `store` and builds it on `threads` threads.
pub async fn load_snapshot(store: &dyn Store, threads: usize) -> Result<Snapshot, StoreError> {
    let generation = store.generation().await?;
    let dataset = store.get_meta("dataset").await?;
    let mut regions = Vec::new();
    for level in Level::ALL {
        regions.extend(store.regions(level).await?);
    }
    let batches = store
        .batches()
        .await?
        .into_iter()
        .map(BatchMeta::from)
        .collect();
    let denominators = store.denominators().await?;
    let facts = store.household_facts().await?;
    tokio::task::spawn_blocking(move || {
        let mut builder = SnapshotBuilder::new(regions, batches).denominators(denominators);
        builder.reserve(facts.len());
        for f in &facts {
            builder.push(f);
        }
        drop(facts);
        builder.finish(generation, dataset, threads)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))
}

#[cfg(test)]
mod tests;
