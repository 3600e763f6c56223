//! Importing a household file into a store as one batch.

use std::path::Path;
use std::sync::Arc;

use crate::geocode::Geocoder;
use crate::ingest::households::privacy::{self, Secret};
use crate::ingest::households::reader::{InputInfo, ReadError};
use crate::ingest::households::{FeedError, FileOptions, HouseholdFile, HouseholdFileError};
use crate::model::{BatchInfo, BatchState, GeocodeSummary, NewBatch, Period, SourceFormat};
use crate::region::crosswalk::Crosswalk;
use crate::region::Level;
use crate::store::{Store, StoreError};

/// Metadata key of the secret's fingerprint.
const SECRET_FINGERPRINT_KEY: &str = "secret_fingerprint";

/// What `lentera households import` takes: how to read the file, and the period it describes.
#[derive(Debug, Clone)]
pub struct HouseholdImportOptions {
    /// How to read the file.
    pub file: FileOptions,
    /// The data period.
    pub period: Period,
    /// Where the batch starts in its round (accepted for imports by admins and the command
    /// line, a draft for an operator's upload) and who uploaded it for which area.
    pub state: BatchState,
    /// The name to keep for the file (an upload's own name; the file's name when `None`).
    pub file_name: Option<String>,
}

/// What an import did.
#[derive(Debug)]
pub enum HouseholdImport {
    /// The same file (by SHA-256) was imported before; nothing was done.
    AlreadyImported(BatchInfo),
    /// A new batch.
    Imported {
        /// The stored batch with its counts.
        batch: BatchInfo,
        /// How the file was read.
        input: InputInfo,
        /// The format read.
        format: SourceFormat,
        /// How the households were geocoded (`None` without desa boundaries in the store).
        geocoded: Option<GeocodeSummary>,
        /// Rows refused because their household lies outside the uploader's area.
        outside_area: u64,
    },
}

/// Errors that stop a household import. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum HouseholdImportError {
    /// The file cannot be read.
    #[error(transparent)]
    File(#[from] HouseholdFileError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store was filled under another secret.
    #[error("{0} does not match the secret this store was filled with: identity hashes would not match earlier imports; use the same secret")]
    SecretMismatch(&'static str),
}

impl From<ReadError> for HouseholdImportError {
    fn from(e: ReadError) -> HouseholdImportError {
        HouseholdImportError::File(e.into())
    }
}

/// Imports one household file as a batch, geocoding each household with `geocoder` (the
/// regions of the store) when given. The rows are read and checked on helper threads while
/// the store writes the chunks already checked, in one transaction that is committed only
/// when the whole file has been read.
pub async fn import_households(
    store: &dyn Store,
    path: &Path,
    opts: &HouseholdImportOptions,
    secret: &Secret,
    geocoder: Option<Arc<Geocoder>>,
) -> Result<HouseholdImport, HouseholdImportError> {
    check_secret(store, secret).await?;
    let mut file = HouseholdFile::open(path, &opts.file)?.hash_while_reading();
    if let Some(name) = &opts.file_name {
        file.file_name.clone_from(name);
    }
    let batch = NewBatch {
        file_name: file.file_name.clone(),
        sha256: None,
        source: file.format,
        period: opts.period,
        input: file.input_text(),
        state: opts.state.clone(),
    };
    let (format, input, file_name) = (file.format, file.input.clone(), file.file_name.clone());
    let mut writer = store.begin_batch(batch).await?;
    let secret = secret.clone();
    let written = tokio::task::spawn_blocking(move || {
        let produced = match file.feed(secret, geocoder.as_deref(), &mut *writer) {
            Ok(produced) => produced,
            Err(e) => {
                writer.abandon();
                return Err(e);
            }
        };
        if produced.counts.rows_read == 0 {
            // Nothing to keep: the writer's transaction is rolled back.
            writer.abandon();
            return Ok((produced, None));
        }
        let batch = writer.commit().map_err(FeedError::Sink)?;
        Ok((produced, Some(batch)))
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?;
    let (produced, batch) = match written {
        Err(FeedError::Sink(StoreError::AlreadyImported(existing))) => {
            return Ok(HouseholdImport::AlreadyImported(*existing))
        }
        Err(FeedError::Sink(e)) => return Err(e.into()),
        Err(FeedError::Read(e)) => return Err(e.into()),
        Ok(written) => written,
    };
    let Some(batch) = batch else {
        return Err(HouseholdFileError::NoRows(file_name).into());
    };
    let geocoded = (produced.geocoded.households > 0).then_some(produced.geocoded);
    Ok(HouseholdImport::Imported {
        batch,
        input,
        format,
        geocoded,
        outside_area: produced.outside_area,
    })
}

/// Builds the geocoder over the regions and crosswalk in the store; `None` when no desa
/// are loaded (households are then stored without a desa).
pub async fn store_geocoder(store: &dyn Store) -> Result<Option<Arc<Geocoder>>, StoreError> {
    let mut regions = Vec::new();
    for level in [Level::Kabupaten, Level::Kecamatan, Level::Desa] {
        regions.extend(store.regions(level).await?);
    }
    if !regions.iter().any(|r| r.kode.level() == Level::Desa) {
        return Ok(None);
    }
    let known = regions.iter().map(|r| r.kode).collect();
    let crosswalk = Crosswalk::new(store.crosswalk().await?, known);
    Ok(Some(Arc::new(Geocoder::new(&regions, crosswalk))))
}

/// Keeps the fingerprint of the first secret a store is filled under, and refuses another:
/// identity hashes under two secrets would never match.
async fn check_secret(store: &dyn Store, secret: &Secret) -> Result<(), HouseholdImportError> {
    let fp = secret.fingerprint();
    match store.get_meta(SECRET_FINGERPRINT_KEY).await? {
        Some(stored) if stored != fp => {
            Err(HouseholdImportError::SecretMismatch(privacy::SECRET_ENV))
        }
        Some(_) => Ok(()),
        None => Ok(store.set_meta(SECRET_FINGERPRINT_KEY, &fp).await?),
    }
}
