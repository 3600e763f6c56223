//! Household batches: one imported file, what it counted, and the [`BatchSink`] an import
//! hands its households to.

use serde::Serialize;

use super::household::{Household, Reject, SourceFormat};
use super::period::Period;

/// A household batch about to be written.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// File name (without directories).
    pub file_name: String,
    /// SHA-256 of the file, hex; `None` while it is being hashed, in which case the importer
    /// calls [`BatchSink::file_hash`] before [`BatchSink::finish`].
    pub sha256: Option<String>,
    /// Source format.
    pub source: SourceFormat,
    /// Data period.
    pub period: Period,
    /// How the file was read (sheet, delimiter, encoding).
    pub input: String,
}

/// Final counts of a batch. `rows_read = rows_accepted + rows_rejected` always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    /// Data rows read (blank rows not counted).
    pub rows_read: u64,
    /// Rows that went into households.
    pub rows_accepted: u64,
    /// Rows refused, each with at least one reject line.
    pub rows_rejected: u64,
    /// Blank rows skipped.
    pub blank_rows: u64,
    /// Households written.
    pub households: u64,
    /// Households repeating one earlier in the same batch.
    pub duplicates_in_batch: u64,
}

/// A stored batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchInfo {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Source format.
    pub source: SourceFormat,
    /// Period.
    pub period: Period,
    /// How the file was read.
    pub input: String,
    /// Counts.
    pub counts: BatchCounts,
    /// Households already present in another batch of the same period.
    pub duplicates_other: u64,
    /// When, ISO 8601.
    pub imported_at: String,
}

/// A household as stored, with its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHousehold {
    /// Id.
    pub id: i64,
    /// Batch id.
    pub batch_id: i64,
    /// Period.
    pub period: Period,
    /// Source format.
    pub source: SourceFormat,
    /// The household.
    pub household: Household,
}

/// Where a household import hands what it reads, in file order: a store writing the batch,
/// or a writer of geocoding results. The importer does not know which; it calls
/// [`file_hash`](BatchSink::file_hash) once the file is hashed (if it hashes it),
/// [`chunk`](BatchSink::chunk) for every few thousand households and
/// [`finish`](BatchSink::finish) at the end of a file that had data rows. An error from the
/// sink stops the import at once and is returned to the caller.
pub trait BatchSink {
    /// Why the sink cannot go on.
    type Error;

    /// The SHA-256 of the file, hex, once it is known (see [`NewBatch::sha256`]); a store
    /// that holds a batch of the same file refuses here.
    fn file_hash(&mut self, sha256: &str) -> Result<(), Self::Error>;

    /// Validated households and the rejects of the same rows, in file order.
    fn chunk(
        &mut self,
        households: Vec<Household>,
        rejects: Vec<Reject>,
    ) -> Result<(), Self::Error>;

    /// The end of the file: every household has been handed over; these are the counts.
    fn finish(&mut self, counts: BatchCounts) -> Result<(), Self::Error>;
}

/// Keeps the households handed over, for tools that read a file whole (rejects and counts are
/// dropped).
impl BatchSink for Vec<Household> {
    type Error = std::convert::Infallible;

    fn file_hash(&mut self, _sha256: &str) -> Result<(), Self::Error> {
        Ok(())
    }

    fn chunk(
        &mut self,
        households: Vec<Household>,
        _rejects: Vec<Reject>,
    ) -> Result<(), Self::Error> {
        self.extend(households);
        Ok(())
    }

    fn finish(&mut self, _counts: BatchCounts) -> Result<(), Self::Error> {
        Ok(())
    }
}
