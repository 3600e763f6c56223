//! Aggregation: households counted into desa and summed up to kecamatan, kabupaten/kota and
//! province, per period, in an immutable [`Snapshot`] that the server swaps whole.
//!
//! The counting rule (which unit a household counts in) is documented on
//! `count::Counter::place`, and in `ARCHITECTURE.md`.

mod builder;
mod count;
pub mod goals;
mod households;
mod increment;
pub mod indicators;
mod points;
mod programs;
mod record;
mod snapshot;
mod sources;
mod targeting;
mod transitions;

use crate::model::BatchInfo;

pub use builder::{BuildTimings, SnapshotBuilder};
pub use households::Households;
pub use increment::NotAddable;
pub use indicators::{
    Change, Count, Counts, Described, Field, Indicator, Rate, Side, Stated, UnknownIndicator,
};
pub use programs::{Measure, ProgramIndex, ProgramTally};
pub use record::{BatchMeta, BatchReport, BatchTally, HouseholdRecord};
pub use snapshot::{Disclosure, PeriodIndicators, Snapshot, Unit};
pub use sources::SourceShare;
pub use targeting::{Criteria, FollowUp, FollowUpUnit, RankedUnit, Ranking, Target, TargetError};
pub use transitions::{Flow, Transitions};

/// Grid cells per desa, on average (4 bytes each).
pub const DEFAULT_CELLS_PER_DESA: usize = 4096;

impl From<BatchInfo> for BatchMeta {
    fn from(b: BatchInfo) -> BatchMeta {
        BatchMeta {
            id: b.id,
            file_name: b.file_name,
            source: b.source,
            period: b.period,
            imported_at: b.imported_at,
        }
    }
}

#[cfg(test)]
mod tests;
