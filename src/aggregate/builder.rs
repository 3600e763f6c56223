//! Building a snapshot: the desa grid first, then the households, then counting them.

use std::collections::HashMap;
use std::sync::Arc;

use geo::MultiPolygon;
use serde::Serialize;

use super::count::{coverage, roll_up, roll_up_denominators, Counter};
use super::households::Households;
use super::points::group_by_unit;
use super::programs::ProgramIndex;
use super::record::{
    key_prefix, BatchMeta, BatchReport, HouseholdRecord, BIT_DESA_GONE, BIT_DUPLICATE, BIT_EXTREME,
    BIT_EXTREME_STATED, BIT_SCALE_TEN, MEMBERS_UNKNOWN, NO_UNIT,
};
use super::snapshot::{PeriodIndicators, Snapshot, Unit};
use super::sources::sources_by_unit;
use super::DEFAULT_CELLS_PER_DESA;
use crate::index::DesaGrid;
use crate::model::{
    Denominators, DesilScale, Flag, HouseholdFacts, Member, Period, ProgramInfo, Quality,
};
use crate::region::{province_name, Kode, Level, Region};

/// Builds a [`Snapshot`]: units first, then households one by one, then [`finish`].
///
/// [`finish`]: SnapshotBuilder::finish
pub struct SnapshotBuilder {
    units: Vec<Unit>,
    index: HashMap<Kode, u32>,
    grid: DesaGrid,
    desa_units: Vec<u32>,
    batches: Vec<BatchMeta>,
    batch_index: HashMap<i64, u16>,
    records: Vec<HouseholdRecord>,
    denominators: HashMap<Kode, Denominators>,
    programs: ProgramIndex,
    grid_seconds: f64,
}

/// How long the phases of a snapshot build took, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BuildTimings {
    /// Building the desa grid.
    pub grid: f64,
    /// Placing and counting the households.
    pub count: f64,
    /// Grouping the households by unit and indexing the groups' points.
    pub points: f64,
    /// Summing desa up to the province, coverage and denominators.
    pub roll_up: f64,
}

impl SnapshotBuilder {
    /// Starts a snapshot over `regions` (any levels; missing ancestors are added by code) and
    /// `batches` (reported in the order they were stored), with a desa grid of [`DEFAULT_CELLS_PER_DESA`] cells per desa.
    pub fn new(regions: Vec<Region>, batches: Vec<BatchMeta>) -> SnapshotBuilder {
        Self::with_grid(regions, batches, DEFAULT_CELLS_PER_DESA)
    }

    /// Like [`SnapshotBuilder::new`] with `cells_per_desa` grid cells per desa on average
    /// (more cells: fewer exact tests, more memory). The grid is built here, before any
    /// household is added, so its working memory is gone when the households arrive.
    pub fn with_grid(
        regions: Vec<Region>,
        batches: Vec<BatchMeta>,
        cells_per_desa: usize,
    ) -> SnapshotBuilder {
        // In the order they were stored (by id), however they were given: a snapshot made
        // by adding batches to another orders them the same way, and the usual new batch,
        // the newest, goes last without moving the others.
        let mut batches = batches;
        batches.sort_by_key(|b| b.id);
        let mut by_kode: HashMap<Kode, Region> = regions.into_iter().map(|r| (r.kode, r)).collect();
        let missing: Vec<Kode> = by_kode
            .keys()
            .flat_map(|k| k.ancestors())
            .filter(|a| !by_kode.contains_key(a))
            .collect();
        for kode in missing {
            by_kode.entry(kode).or_insert_with(|| Region {
                kode,
                nama: province_name(kode)
                    .map(str::to_string)
                    .unwrap_or_else(|| kode.to_string()),
                geometry: MultiPolygon::new(Vec::new()),
            });
        }
        let mut regions: Vec<Region> = by_kode.into_values().collect();
        regions.sort_by_key(|r| r.kode);
        let index: HashMap<Kode, u32> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.kode, i as u32))
            .collect();
        let units: Vec<Unit> = regions
            .into_iter()
            .map(|r| Unit {
                info: r.info(),
                parent: r.kode.parent().and_then(|p| index.get(&p).copied()),
                geometry: r.geometry,
            })
            .collect();
        let batch_index = batch_indices(&batches);
        let started = std::time::Instant::now();
        let (grid, desa_units) = desa_grid(&units, cells_per_desa);
        SnapshotBuilder {
            units,
            index,
            grid,
            desa_units,
            batches,
            batch_index,
            records: Vec::new(),
            denominators: HashMap::new(),
            programs: ProgramIndex::default(),
            grid_seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// Sets the denominators (households and population per unit code).
    pub fn denominators(mut self, d: HashMap<Kode, Denominators>) -> SnapshotBuilder {
        self.denominators = d;
        self
    }

    /// Sets the regional programmes and their lists (set before any household is added):
    /// each household is matched to the lists of its period as it is added.
    pub fn programs(mut self, lists: Vec<(ProgramInfo, Vec<Member>)>) -> SnapshotBuilder {
        self.programs = ProgramIndex::new(lists);
        self
    }

    /// The desa grid.
    pub fn grid(&self) -> &DesaGrid {
        &self.grid
    }

    /// Reserves room for `n` more households.
    pub fn reserve(&mut self, n: usize) {
        self.records.reserve_exact(n);
    }

    /// Adds one household. Households of batches not given to [`SnapshotBuilder::new`] are
    /// ignored (they cannot be reported).
    pub fn push(&mut self, f: &HouseholdFacts) {
        let places = Places {
            index: &self.index,
            batch_index: &self.batch_index,
            batches: &self.batches,
        };
        places.push(f, &mut self.records, &mut self.programs);
    }

    /// Locates every household, counts the indicators of every unit in every period on
    /// `threads` threads, and returns the snapshot.
    pub fn finish(mut self, generation: u64, dataset: Option<String>, threads: usize) -> Snapshot {
        let started = std::time::Instant::now();
        let (grid, desa_units) = (self.grid, self.desa_units);
        let mut periods: Vec<Period> = self.batches.iter().map(|b| b.period).collect();
        periods.sort();
        periods.dedup();
        let batch_period = period_of_batches(&self.batches, &periods);
        let counter = Counter {
            units: &self.units,
            grid: &grid,
            desa_units: &desa_units,
            batch_period: &batch_period,
            periods: periods.len(),
        };
        let (mut counts, tallies) = counter.count_all(&mut self.records, threads);
        let counted = started.elapsed().as_secs_f64();
        let sources = sources_by_unit(&self.records, &self.units);
        let groups = group_by_unit(
            &mut self.records,
            &mut self.programs.of_record,
            self.units.len(),
        );
        self.programs.tally(
            &self.records,
            &self.units,
            &self.index,
            &periods,
            &batch_period,
            &mut counts,
        );
        let households = Households::grouped(self.records, groups);
        let indexed = started.elapsed().as_secs_f64() - counted;
        let reports = self
            .batches
            .iter()
            .zip(tallies)
            .map(|(b, tally)| BatchReport::new(b, tally))
            .collect();
        let parents: Vec<Option<u32>> = self.units.iter().map(|u| u.parent).collect();
        let periods = periods
            .into_iter()
            .zip(counts.iter_mut())
            .enumerate()
            .map(|(i, (period, counts))| {
                roll_up(counts, &parents);
                let covered = coverage(&self.units, counts);
                self.programs.finish_counts(i, counts);
                PeriodIndicators::new(period, std::mem::take(counts), covered)
            })
            .collect();
        let denominators = roll_up_denominators(&self.units, &self.denominators);
        let timings = BuildTimings {
            grid: self.grid_seconds,
            count: counted,
            points: indexed,
            roll_up: started.elapsed().as_secs_f64() - counted - indexed,
        };
        Snapshot {
            timings,
            generation,
            dataset,
            units: Arc::new(self.units),
            index: Arc::new(self.index),
            grid: Arc::new(grid),
            desa_units: Arc::new(desa_units),
            households,
            periods,
            denominators: Arc::new(denominators),
            batches: reports,
            sources,
            programs: self.programs,
            matchings: Default::default(),
        }
    }
}

/// Each batch's index in `batches`, by id.
pub(super) fn batch_indices(batches: &[BatchMeta]) -> HashMap<i64, u16> {
    batches
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id, i as u16))
        .collect()
}

/// The index in `periods` (sorted) of each batch's period.
pub(super) fn period_of_batches(batches: &[BatchMeta], periods: &[Period]) -> Vec<usize> {
    batches
        .iter()
        .map(|b| periods.binary_search(&b.period).unwrap_or(0))
        .collect()
}

/// What turns a household's stored facts into its record: the unit and batch indices.
pub(super) struct Places<'a> {
    pub(super) index: &'a HashMap<Kode, u32>,
    pub(super) batch_index: &'a HashMap<i64, u16>,
    pub(super) batches: &'a [BatchMeta],
}

impl Places<'_> {
    /// Adds household `f` to `records` (and the programmes it is on to `programs`), unless
    /// it counts nowhere whatever happens: a batch not known, or not found by the verval.
    pub(super) fn push(
        &self,
        f: &HouseholdFacts,
        records: &mut Vec<HouseholdRecord>,
        programs: &mut ProgramIndex,
    ) {
        let Some(&batch) = self.batch_index.get(&f.batch_id) else {
            return;
        };
        // A household the verval did not find counts nowhere.
        if f.flags.has(Flag::NotFound) {
            return;
        }
        let chosen = f.desa.or(f.unit);
        let unit = chosen
            .and_then(|k| self.index.get(&k).copied())
            .unwrap_or(NO_UNIT);
        let (lon, lat) = f
            .point
            .map_or((f32::NAN, f32::NAN), |(x, y)| (x as f32, y as f32));
        let mut bits = 0;
        if f.scale == Some(DesilScale::Ten) {
            bits |= BIT_SCALE_TEN;
        }
        if let Some(extreme) = f.extreme_poor {
            bits |= BIT_EXTREME_STATED | if extreme { BIT_EXTREME } else { 0 };
        }
        if f.duplicate {
            bits |= BIT_DUPLICATE;
        }
        if f.desa.is_some() && unit == NO_UNIT {
            bits |= BIT_DESA_GONE;
        }
        if programs.matches_households() {
            let period = self.batches[usize::from(batch)].period;
            programs.push(period, f.nik_key, f.kk_key);
        }
        records.push(HouseholdRecord {
            kk: key_prefix(f.kk_key),
            nik: key_prefix(f.nik_key),
            lon,
            lat,
            unit,
            batch,
            members: f.members.map_or(MEMBERS_UNKNOWN, |m| {
                m.min(u32::from(MEMBERS_UNKNOWN - 1)) as u16
            }),
            programs_known: f.programs.known,
            programs_receives: f.programs.receives,
            flags: f.flags.0,
            desil: f.desil.filter(|d| (1..=10).contains(d)).unwrap_or(0),
            bits,
            quality: f
                .quality
                .and_then(|q| Quality::ALL.iter().position(|x| *x == q))
                .map_or(0, |i| i as u8 + 1),
        });
    }
}

/// The grid over the units' desa outlines, and the unit index of each grid id.
fn desa_grid(units: &[Unit], cells_per_desa: usize) -> (DesaGrid, Vec<u32>) {
    let desa_units: Vec<u32> = (0..units.len() as u32)
        .filter(|&u| units[u as usize].info.level == Level::Desa)
        .filter(|&u| !units[u as usize].geometry.0.is_empty())
        .collect();
    let outlines: Vec<(Kode, MultiPolygon<f64>)> = desa_units
        .iter()
        .map(|&u| {
            let unit = &units[u as usize];
            (unit.info.kode, unit.geometry.clone())
        })
        .collect();
    let cells = (outlines.len() * cells_per_desa.max(1)).clamp(1 << 12, MAX_GRID_CELLS);
    (DesaGrid::new(&outlines, cells), desa_units)
}

/// The most cells a grid gets: 4 M cells (16 MiB, plus the edge lists of the cells crossed by
/// outlines: ~270 MiB for 84,000 desa). A province gets ~4,000 cells per desa, the whole
/// country ~50: measured on 84,000 synthetic desa, 64 cells per desa counted as fast as 256
/// with half the memory (`benches/national.rs`).
const MAX_GRID_CELLS: usize = 1 << 22;
