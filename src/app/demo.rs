//! The demo's synthetic households, generated and imported into a store.

use crate::demo::{synthetic_denominators, synthetic_stats, DEMO_FILES, DEMO_SECRET};
use crate::generate::{write_households, GenerateError, GenerateOptions, OutputEncoding};
use crate::ingest::households::privacy::{Secret, SecretError};
use crate::ingest::households::FileOptions;
use crate::model::BadPeriod;
use crate::region::Level;
use crate::store::{Store, StoreError};

use super::households::{
    import_households, store_geocoder, HouseholdImportError, HouseholdImportOptions,
};

/// Why the demo households could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The generator failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The import failed.
    #[error(transparent)]
    Import(#[from] HouseholdImportError),
    /// The demo secret was refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A demo period is wrong.
    #[error(transparent)]
    Period(#[from] BadPeriod),
    /// No temporary directory.
    #[error("cannot create a temporary directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Generates the demo's synthetic household files ([`DEMO_FILES`]) for the stored regions,
/// imports them (geocoded against those regions) and stores the demo denominators.
pub async fn load_demo_households(store: &dyn Store, seed: u64) -> Result<(), DemoError> {
    let mut regions = Vec::new();
    for level in Level::ALL {
        regions.extend(store.regions(level).await?);
    }
    let stats = synthetic_stats(&regions, seed);
    let secret = Secret::new(DEMO_SECRET.as_bytes().to_vec())?;
    let geocoder = store_geocoder(store).await?;
    let dir = tempfile::tempdir()?;
    for (i, (format, period, count)) in DEMO_FILES.into_iter().enumerate() {
        let path = dir.path().join(format!("demo-{format}-{period}.csv"));
        let opts = GenerateOptions {
            format,
            count,
            seed: seed + i as u64,
            delimiter: b',',
            encoding: OutputEncoding::Utf8,
        };
        write_households(&regions, &[], &stats, &opts, &path, None)?;
        let import_opts = HouseholdImportOptions {
            file: FileOptions {
                format: Some(format),
                ..FileOptions::default()
            },
            period: period.parse()?,
            state: Default::default(),
            file_name: None,
        };
        import_households(store, &path, &import_opts, &secret, geocoder.clone()).await?;
    }
    store
        .replace_denominators(&synthetic_denominators(&stats))
        .await?;
    Ok(())
}
