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
    /// Where it stands in the verval round, who uploaded it and for which area.
    pub state: BatchState,
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
    /// Where it stands in the verval round.
    #[serde(flatten)]
    pub state: BatchState,
}

impl BatchInfo {
    /// Whether its households count in the period's indicators, tiles and exports.
    pub fn counts(&self) -> bool {
        self.state.status.counts()
    }
}

/// Where a batch stands: an operator's upload is a draft until submitted, then accepted or
/// returned by the province; imports by admins and from the command line are accepted at once.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    serde::Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum BatchStatus {
    /// Uploaded by an operator, not yet submitted: visible to its area and to admins only.
    #[serde(rename = "draf")]
    #[strum(serialize = "draf")]
    Draft,
    /// Submitted to the province, waiting for its decision.
    #[serde(rename = "diserahkan")]
    #[strum(serialize = "diserahkan")]
    Submitted,
    /// Returned by the province with a note; a new upload of the same area replaces it.
    #[serde(rename = "dikembalikan")]
    #[strum(serialize = "dikembalikan")]
    Returned,
    /// Accepted: counts in the indicators.
    #[default]
    #[serde(rename = "diterima")]
    #[strum(serialize = "diterima")]
    Accepted,
}

impl BatchStatus {
    /// The status as stored and shown (`draf`, `diserahkan`, `dikembalikan`, `diterima`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether households of a batch in this status count in the indicators.
    pub fn counts(self) -> bool {
        self == BatchStatus::Accepted
    }
}

/// A batch's place in the verval round: status, who uploaded it for which area, who
/// submitted and who decided, and the province's note when it was returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchState {
    /// Status.
    pub status: BatchStatus,
    /// The user who uploaded it (`None`: the command line or an older store).
    pub owner: Option<String>,
    /// The units the upload was limited to (the operator's scope, e.g. `64.72`), comma
    /// separated; `None` for an import not limited to an area.
    pub area: Option<String>,
    /// Who submitted it.
    pub submitted_by: Option<String>,
    /// When (RFC 3339).
    pub submitted_at: Option<String>,
    /// Who accepted or returned it.
    pub decided_by: Option<String>,
    /// When (RFC 3339).
    pub decided_at: Option<String>,
    /// The province's note when returning it.
    pub note: Option<String>,
}

/// A step of a batch through the verval round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Transition {
    /// The operator sends the draft to the province.
    Submit,
    /// The province accepts it: it counts from now on.
    Accept,
    /// The province returns it to the operator with a note.
    Return,
}

/// Why a step is not possible from where a batch stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("batch is {from}: it cannot be {wanted}; {hint}")]
pub struct TransitionRefused {
    /// The batch's status.
    pub from: BatchStatus,
    /// What was asked, in words.
    pub wanted: &'static str,
    /// What can be done instead.
    pub hint: &'static str,
}

impl BatchState {
    /// The state after `step` by `by` at `at` (RFC 3339), or why it cannot be taken: a draft
    /// (or a returned batch being sent again) is submitted; only a submitted batch is accepted
    /// or returned.
    pub fn after(
        &self,
        step: Transition,
        by: &str,
        at: &str,
        note: Option<String>,
    ) -> Result<BatchState, TransitionRefused> {
        use BatchStatus::{Accepted, Draft, Returned, Submitted};
        let refused = |wanted, hint| TransitionRefused {
            from: self.status,
            wanted,
            hint,
        };
        let mut next = self.clone();
        match (step, self.status) {
            (Transition::Submit, Draft | Returned) => {
                next.status = Submitted;
                next.submitted_by = Some(by.to_string());
                next.submitted_at = Some(at.to_string());
                next.decided_by = None;
                next.decided_at = None;
            }
            (Transition::Submit, _) => {
                return Err(refused(
                    "submitted",
                    "only a draft or a returned batch is submitted",
                ))
            }
            (Transition::Accept | Transition::Return, Submitted) => {
                next.status = if step == Transition::Accept {
                    Accepted
                } else {
                    Returned
                };
                next.decided_by = Some(by.to_string());
                next.decided_at = Some(at.to_string());
                next.note = note;
            }
            (Transition::Accept, _) => {
                return Err(refused("accepted", "only a submitted batch is accepted"))
            }
            (Transition::Return, _) => {
                return Err(refused("returned", "only a submitted batch is returned"))
            }
        }
        Ok(next)
    }
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
