//! Importing boundary files into a store.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::ingest::boundaries::{check_files, BoundaryError, ImportOptions, PreparedImport};
use crate::region::Kode;
use crate::store::{ImportRecord, ReplaceSummary, Store, StoreError};

/// What a boundary import did.
#[derive(Debug)]
pub struct ImportOutcome {
    /// The checked import.
    pub prepared: PreparedImport,
    /// What the store replaced, `None` for a dry run.
    pub stored: Option<ReplaceSummary>,
}

/// Why a boundary import stopped. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryImportError {
    /// The files cannot be read, or features were refused.
    #[error(transparent)]
    Files(#[from] BoundaryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads, checks and stores boundary files in one transaction: when any file is unreadable
/// or any feature refused (without `skip_invalid`), nothing is written; a dry run writes
/// nothing either.
pub async fn import_boundaries(
    store: &dyn Store,
    paths: &[PathBuf],
    opts: &ImportOptions,
) -> Result<ImportOutcome, BoundaryImportError> {
    let existing: HashSet<Kode> = store.region_codes().await?.into_iter().collect();
    let prepared = check_files(paths, opts, &existing)?;
    if opts.dry_run {
        return Ok(ImportOutcome {
            prepared,
            stored: None,
        });
    }
    let record = ImportRecord {
        sources: prepared.sources.clone(),
        features_read: prepared.features_read,
        refused: prepared.refused(),
        issues: serde_json::to_string(&prepared.issues).unwrap_or_default(),
    };
    let stored = store.replace_regions(&prepared.regions, &record).await?;
    Ok(ImportOutcome {
        prepared,
        stored: Some(stored),
    })
}
