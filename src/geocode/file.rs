//! Geocoding a whole BNBA file without importing it (`lentera geocode`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::{Flag, Geocode, Geocoder, Quality};
use crate::ingest::households::model::Household;
use crate::ingest::households::privacy::Secret;
use crate::ingest::households::{HouseholdFile, HouseholdImportError, HouseholdImportOptions};
use crate::store::{BatchMessage, StoreError};

/// Columns of the geocoding output file.
pub const OUTPUT_COLUMNS: [&str; 8] = [
    "row",
    "source_id",
    "kode_desa",
    "quality",
    "flags",
    "lon",
    "lat",
    "candidates",
];

/// What geocoding a file found.
#[derive(Debug, Default, Clone)]
pub struct GeocodeSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows refused by validation (see the import's reject report).
    pub rows_rejected: u64,
    /// Households geocoded.
    pub households: u64,
    /// Households per quality.
    pub by_quality: BTreeMap<Quality, u64>,
    /// Households per flag.
    pub by_flag: BTreeMap<&'static str, u64>,
    /// Households not placed in a desa, or flagged: the review queue.
    pub needs_review: u64,
}

impl GeocodeSummary {
    /// Counts one result.
    pub fn add(&mut self, g: &Geocode) {
        self.households += 1;
        self.needs_review += u64::from(g.needs_review());
        *self.by_quality.entry(g.quality).or_default() += 1;
        for f in g.flags.iter() {
            *self.by_flag.entry(f.as_str()).or_default() += 1;
        }
    }
}

/// The output row of one household: `row,source_id,kode_desa,quality,flags,lon,lat,candidates`.
/// For `kecamatan_only`/`kabupaten_only` results `candidates` holds the unit known.
pub fn output_row(h: &Household, g: &Geocode) -> [String; 8] {
    let (lon, lat) = g
        .point
        .map(|(x, y)| (format!("{x:.6}"), format!("{y:.6}")))
        .unwrap_or_default();
    let candidates = if g.candidates.is_empty() && !g.quality.has_desa() {
        g.unit.map(|u| u.to_string()).unwrap_or_default()
    } else {
        g.candidates
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(";")
    };
    [
        h.source_row.to_string(),
        h.source_id.as_deref().unwrap_or_default().to_string(),
        g.kode_desa.map(|k| k.to_string()).unwrap_or_default(),
        g.quality.as_str().to_string(),
        g.flags.to_string(),
        lon,
        lat,
        candidates,
    ]
}

/// Reads a household file (any format the importer reads), geocodes every household and
/// writes one output row per household to `out`. Identity numbers are hashed with a
/// throw-away key and never written.
pub async fn geocode_file(
    path: &Path,
    opts: &HouseholdImportOptions,
    geocoder: Arc<Geocoder>,
    out: impl Write,
) -> Result<GeocodeSummary, HouseholdImportError> {
    let file = HouseholdFile::open(path, opts)?;
    let secret =
        Secret::new("lentera-geocode-throwaway-key").map_err(HouseholdImportError::from)?;
    let (mut rx, producing) = file.stream(secret, Some(geocoder), opts.progress);
    let mut w = csv::Writer::from_writer(out);
    let csv_err = |e: csv::Error| HouseholdImportError::Options(format!("writing output: {e}"));
    w.write_record(OUTPUT_COLUMNS).map_err(csv_err)?;
    let mut summary = GeocodeSummary::default();
    while let Some(msg) = rx.recv().await {
        match msg {
            BatchMessage::Chunk { households, .. } => {
                for h in &households {
                    let Some(g) = &h.geocode else { continue };
                    summary.add(g);
                    w.write_record(output_row(h, g)).map_err(csv_err)?;
                }
            }
            BatchMessage::FileHash(_) => {}
            BatchMessage::Finish(c) => {
                summary.rows_read = c.rows_read;
                summary.rows_rejected = c.rows_rejected;
            }
        }
    }
    w.flush()
        .map_err(|e| HouseholdImportError::Options(format!("writing output: {e}")))?;
    let produced = producing
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
    if produced.counts.rows_read == 0 {
        return Err(HouseholdImportError::NoRows(path.display().to_string()));
    }
    Ok(summary)
}

/// The flags in output order, for summaries.
pub fn flag_names() -> impl Iterator<Item = &'static str> {
    Flag::ALL.into_iter().map(|f| f.as_str())
}
