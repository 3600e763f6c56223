//! A snapshot with more batches, made from the previous one without reading or counting its
//! households again: the national answer to an import (25 M households held, one batch of a
//! kabupaten added) that a full rebuild would take a minute to give.
//!
//! Counts are sums, so the new batches' households are placed and counted on their own and
//! added to the previous counts; only what depends on the whole period (coverage and the
//! fields covered units state) is worked out again, over units rather than households. The
//! new households make a run of their own beside the old runs, which are shared, not copied
//! (see `households`).

use std::collections::HashMap;

use super::builder::{batch_indices, period_of_batches, Places};
use super::count::{coverage, roll_up, Counter};
use super::indicators::{Count, Counts};
use super::points::group_by_unit;
use super::record::{BatchMeta, BatchReport};
use super::snapshot::{PeriodIndicators, Snapshot};
use super::sources::sources_by_unit;
use super::BuildTimings;
use crate::model::{HouseholdFacts, Period};

/// Why batches cannot be added to a snapshot in place: the store must be read again whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAddable {
    /// The batch is in the snapshot already.
    #[error("batch {0} is counted already")]
    Known(i64),
    /// A period earlier than the snapshot's latest would renumber its periods.
    #[error("period {0} comes before the latest period counted")]
    EarlierPeriod(Period),
    /// A programme's list is for the batch's period: its matches need every household.
    #[error("a programme list is for period {0}")]
    ProgramList(Period),
    /// More batches than a record can name.
    #[error("too many batches for one snapshot")]
    TooManyBatches,
}

impl Snapshot {
    /// This snapshot with `batches` added (their households `facts`, as a full build would
    /// be given them), as generation `generation`: the same figures, sources, reports and
    /// household groups as building the whole store again, in the time of counting the new
    /// households.
    ///
    /// Refused (see [`NotAddable`]) for a batch already counted, a period earlier than the
    /// latest counted one, or a period a programme list is for.
    pub fn with_batches(
        &self,
        batches: Vec<BatchMeta>,
        facts: &[HouseholdFacts],
        generation: u64,
        threads: usize,
    ) -> Result<Snapshot, NotAddable> {
        let started = std::time::Instant::now();
        let old_periods: Vec<Period> = self.periods.iter().map(|p| p.period).collect();
        let latest = old_periods.last().copied();
        let mut added: Vec<Period> = Vec::new();
        for b in &batches {
            if self.batches.iter().any(|r| r.id == b.id) {
                return Err(NotAddable::Known(b.id));
            }
            if !old_periods.contains(&b.period) {
                if latest.is_some_and(|l| b.period < l) {
                    return Err(NotAddable::EarlierPeriod(b.period));
                }
                added.push(b.period);
            }
            if self
                .programs
                .tallies()
                .iter()
                .any(|t| t.list_period() == Some(b.period))
            {
                return Err(NotAddable::ProgramList(b.period));
            }
        }
        added.sort();
        added.dedup();
        let periods: Vec<Period> = old_periods.iter().chain(&added).copied().collect();
        let new_ids: Vec<i64> = batches.iter().map(|b| b.id).collect();
        let mut all: Vec<BatchMeta> = self
            .batches
            .iter()
            .map(BatchMeta::from)
            .chain(batches)
            .collect();
        if all.len() >= usize::from(u16::MAX) {
            return Err(NotAddable::TooManyBatches);
        }
        // By id, as a full build orders them: a batch stored before one counted already (a
        // draft accepted late) moves the indices after it.
        all.sort_by_key(|b| b.id);
        let batch_index = batch_indices(&all);
        let moved: Vec<u16> = self.batches.iter().map(|r| batch_index[&r.id]).collect();
        let is_new: Vec<bool> = all.iter().map(|b| new_ids.contains(&b.id)).collect();
        let batch_period = period_of_batches(&all, &periods);

        // The new households, placed and counted on their own.
        let places = Places {
            index: &self.index,
            batch_index: &batch_index,
            batches: &all,
        };
        let mut programs = self.programs.clone();
        let mut records = Vec::with_capacity(facts.len());
        for f in facts {
            places.push(f, &mut records, &mut programs);
        }
        let counter = Counter {
            units: &self.units,
            grid: &self.grid,
            desa_units: &self.desa_units,
            batch_period: &batch_period,
            periods: periods.len(),
        };
        let (mut counts, tallies) = counter.count_all(&mut records, threads);
        let counted = started.elapsed().as_secs_f64();

        let new_sources = sources_by_unit(&records, &self.units);
        let sources = self
            .sources
            .iter()
            .zip(new_sources)
            .map(|(old, new)| {
                let mut list: Vec<_> = old
                    .iter()
                    .map(|&(b, share)| (moved[usize::from(b)], share))
                    .chain(new)
                    .collect();
                list.sort_unstable_by_key(|(b, _)| *b);
                list
            })
            .collect();
        let n_units = self.units.len();
        let old_len = self.households.len();
        let paired = programs.of_record.len() == old_len + records.len();
        let mut new_programs = if paired {
            programs.of_record.split_off(old_len)
        } else {
            Vec::new()
        };
        let new_groups = group_by_unit(&mut records, &mut new_programs, n_units);
        programs.of_record.append(&mut new_programs);
        let households =
            self.households
                .with_run(records, new_groups, &moved, &mut programs.of_record);
        let indexed = started.elapsed().as_secs_f64() - counted;

        let old_reports: HashMap<i64, &BatchReport> =
            self.batches.iter().map(|r| (r.id, r)).collect();
        let reports: Vec<BatchReport> = all
            .iter()
            .zip(tallies)
            .map(|(b, tally)| match old_reports.get(&b.id) {
                Some(&old) => old.clone(),
                None => BatchReport::new(b, tally),
            })
            .collect();
        let parents: Vec<Option<u32>> = self.units.iter().map(|u| u.parent).collect();
        let touched: Vec<usize> = all
            .iter()
            .zip(&is_new)
            .filter(|(_, &new)| new)
            .filter_map(|(b, _)| periods.binary_search(&b.period).ok())
            .collect();
        let period_indicators = periods
            .iter()
            .enumerate()
            .map(|(i, &period)| {
                let old = self.periods.get(i);
                if !touched.contains(&i) {
                    if let Some(old) = old {
                        return old.clone();
                    }
                }
                let mut sum = std::mem::take(&mut counts[i]);
                roll_up(&mut sum, &parents);
                if let Some(old) = old {
                    add_counted(&mut sum, &old.counts);
                }
                let covered = coverage(&self.units, &mut sum);
                programs.finish_counts(i, &mut sum);
                PeriodIndicators::new(period, sum, covered)
            })
            .collect();
        let timings = BuildTimings {
            grid: 0.0,
            count: counted,
            points: indexed,
            roll_up: started.elapsed().as_secs_f64() - counted - indexed,
        };
        Ok(Snapshot {
            generation,
            dataset: self.dataset.clone(),
            units: self.units.clone(),
            index: self.index.clone(),
            grid: self.grid.clone(),
            desa_units: self.desa_units.clone(),
            households,
            periods: period_indicators,
            denominators: self.denominators.clone(),
            batches: reports,
            sources,
            programs,
            matchings: Default::default(),
            timings,
        })
    }
}

/// Adds a period's final counts to `sum`: a unit without households holds only what coverage
/// gave it (the fields its kabupaten states), which is worked out again over the sum.
fn add_counted(sum: &mut [Counts], counted: &[Counts]) {
    for (s, c) in sum.iter_mut().zip(counted) {
        if c[Count::Households] > 0 {
            s.add(c);
        }
    }
}
