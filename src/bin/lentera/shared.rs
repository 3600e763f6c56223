//! Helpers several commands share: the snapshot, the regions and crosswalk to work with, the
//! reject report.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::args::RegionSource;
use lentera::aggregate::{PeriodIndicators, Snapshot};
use lentera::app::load_snapshot;
use lentera::ingest::boundaries::regions_from_files;
use lentera::model::sheet::SheetCsv;
use lentera::model::{Period, Reject};
use lentera::region::crosswalk::{read_crosswalk, CrosswalkEntry};
use lentera::region::{Level, Region};
use lentera::store::Store;

/// The snapshot of the store, built on every core.
pub async fn snapshot(store: &dyn Store) -> Result<Snapshot> {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    Ok(load_snapshot(store, threads).await?)
}

/// The indicators of `period` (the latest with data when `None`); an error in words when
/// the period has no data.
pub fn period_of(snap: &Snapshot, period: Option<Period>) -> Result<Option<&PeriodIndicators>> {
    match period {
        None => Ok(snap.period(None)),
        Some(p) => snap
            .period(Some(p))
            .map(Some)
            .with_context(|| format!("no data for period {p}")),
    }
}

impl RegionSource {
    /// The regions of the files given, or of the store (every level), and the crosswalk of the
    /// file given, or of the store.
    pub async fn load(&self, store: &dyn Store) -> Result<(Vec<Region>, Vec<CrosswalkEntry>)> {
        let regions = if self.regions.is_empty() {
            let mut all = Vec::new();
            for level in Level::ALL {
                all.extend(store.regions(level).await?);
            }
            all
        } else {
            regions_from_files(&self.regions)?
        };
        let crosswalk = match &self.crosswalk {
            Some(p) => {
                let f = std::fs::File::open(p).with_context(|| format!("{}", p.display()))?;
                read_crosswalk(f)
                    .with_context(|| format!("{}", p.display()))?
                    .entries
            }
            None => store.crosswalk().await?,
        };
        Ok((regions, crosswalk))
    }
}

/// Writes a reject report (or the rows of a review file that could not be used) as CSV.
pub fn write_rejects_to(w: impl Write, rejects: &[Reject]) -> Result<()> {
    let mut w = SheetCsv::from_writer(w);
    w.write_record(["row", "column", "value", "reason"])?;
    for r in rejects {
        w.write_record([r.row.to_string().as_str(), &r.column, &r.value, &r.reason])?;
    }
    w.flush()?;
    Ok(())
}

/// Writes a reject report to `path`, creating its directory.
pub fn write_rejects(path: &Path, rejects: &[Reject]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    let f = std::fs::File::create(path).with_context(|| format!("{}", path.display()))?;
    write_rejects_to(f, rejects)
}
