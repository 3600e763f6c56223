//! The immutable in-memory snapshot the server reads: units, the desa grid, households in a
//! compact form, and the indicators of every unit in every period.

use std::collections::HashMap;

use geo::MultiPolygon;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::Serialize;

use super::indicators::{Contribution, Count, Counts};
use super::DEFAULT_CELLS_PER_DESA;
use crate::index::DesaGrid;
use crate::model::{
    Denominators, DesilScale, Flags, HouseholdFacts, Period, Programs, Quality, SourceFormat,
};
use crate::region::{province_name, Kode, Level, Region, RegionInfo};

/// No unit.
const NO_UNIT: u32 = u32::MAX;
/// `bits` of a record: the source ranks desil 1–10.
const BIT_SCALE_TEN: u8 = 1;
/// The source marks the household extreme poor.
const BIT_EXTREME: u8 = 2;
/// A duplicate of a household counted elsewhere.
const BIT_DUPLICATE: u8 = 4;
/// The geocode chose a desa that is not among the current boundaries.
const BIT_DESA_GONE: u8 = 8;
/// Member count not stated.
const MEMBERS_UNKNOWN: u16 = u16::MAX;

/// One household as the snapshot keeps it: 28 bytes, no names, no identity numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HouseholdRecord {
    /// Longitude of its point (GPS or approximate), NaN without one. `f32` keeps ~1 m, well
    /// below GPS accuracy.
    pub lon: f32,
    /// Latitude, NaN without a point.
    pub lat: f32,
    unit: u32,
    batch: u16,
    members: u16,
    programs_known: u16,
    programs_receives: u16,
    flags: u16,
    desil: u8,
    bits: u8,
    quality: u8,
}

impl HouseholdRecord {
    /// The unit the household is counted in (set when the snapshot is finished), `None` for
    /// duplicates and households not placed.
    pub fn unit(&self) -> Option<u32> {
        (self.unit != NO_UNIT).then_some(self.unit)
    }

    /// The index of the household's batch in [`Snapshot::batches`].
    pub fn batch_index(&self) -> usize {
        usize::from(self.batch)
    }

    /// The desil, when stated.
    pub fn desil(&self) -> Option<u8> {
        (self.desil > 0).then_some(self.desil)
    }

    /// How the household was placed (`None`: never geocoded).
    pub fn quality(&self) -> Option<Quality> {
        (self.quality > 0).then(|| Quality::ALL[usize::from(self.quality - 1)])
    }

    /// Programme receipt as the source states it.
    pub fn programs(&self) -> Programs {
        Programs {
            known: self.programs_known,
            receives: self.programs_receives,
        }
    }

    /// The member count, when stated.
    pub fn members(&self) -> Option<u16> {
        (self.members != MEMBERS_UNKNOWN).then_some(self.members)
    }

    /// Whether the record has a point.
    pub fn has_point(&self) -> bool {
        !self.lon.is_nan()
    }

    fn contribution(&self) -> Contribution {
        let quality = (self.quality > 0).then(|| Quality::ALL[usize::from(self.quality - 1)]);
        let flags = Flags(self.flags);
        Contribution {
            members: self.members(),
            desil: self.desil(),
            scale: Some(if self.bits & BIT_SCALE_TEN != 0 {
                DesilScale::Ten
            } else {
                DesilScale::Four
            }),
            extreme_poor: self.bits & BIT_EXTREME != 0,
            programs: Programs {
                known: self.programs_known,
                receives: self.programs_receives,
            },
            quality,
            flagged: !flags.is_empty(),
            gps_mismatch: Contribution::mismatch_in(flags),
        }
    }
}

/// An administrative unit of the snapshot.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Code and name.
    pub info: RegionInfo,
    /// Index of the nearest loaded ancestor.
    pub parent: Option<u32>,
    /// Boundary (empty for a unit known only from its children's codes).
    pub geometry: MultiPolygon<f64>,
}

/// A batch as the snapshot counted it. Always `households = duplicates + counted + not_placed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Batch id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Source format.
    pub source: SourceFormat,
    /// Period.
    pub period: Period,
    /// Where its households were counted.
    #[serde(flatten)]
    pub tally: BatchTally,
}

impl BatchReport {
    /// Whether the batch's households are all accounted for.
    pub fn reconciles(&self) -> bool {
        self.tally.reconciles()
    }
}

/// Where the households of a batch were counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchTally {
    /// Households stored in the batch.
    pub households: u64,
    /// Duplicates of households counted elsewhere (not counted again).
    pub duplicates: u64,
    /// Counted in a desa.
    pub counted_desa: u64,
    /// Counted at the kecamatan only (`desa_unknown`).
    pub counted_kecamatan: u64,
    /// Counted at the kabupaten/kota only.
    pub counted_kabupaten: u64,
    /// Not placed: ambiguous, unmatched, not geocoded, or its desa is gone and its point lies
    /// in no current desa.
    pub not_placed: u64,
    /// Of those: imported before any regions were loaded (never geocoded).
    pub not_geocoded: u64,
    /// Counted in the desa containing their point because the desa chosen at import is no
    /// longer among the boundaries.
    pub relocated: u64,
    /// Counted in their chosen desa although their point lies in another one.
    pub point_elsewhere: u64,
}

impl BatchTally {
    /// Households counted in some unit.
    pub fn counted(&self) -> u64 {
        self.counted_desa + self.counted_kecamatan + self.counted_kabupaten
    }

    /// Whether the batch's households are all accounted for.
    pub fn reconciles(&self) -> bool {
        self.households == self.duplicates + self.counted() + self.not_placed
    }

    fn merge(&mut self, o: &BatchTally) {
        self.households += o.households;
        self.duplicates += o.duplicates;
        self.counted_desa += o.counted_desa;
        self.counted_kecamatan += o.counted_kecamatan;
        self.counted_kabupaten += o.counted_kabupaten;
        self.not_placed += o.not_placed;
        self.not_geocoded += o.not_geocoded;
        self.relocated += o.relocated;
        self.point_elsewhere += o.point_elsewhere;
    }
}

/// A batch as the snapshot builder needs it.
#[derive(Debug, Clone)]
pub struct BatchMeta {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Source.
    pub source: SourceFormat,
    /// Period.
    pub period: Period,
}

/// The indicators of all units in one period.
#[derive(Debug, Clone)]
pub struct PeriodIndicators {
    /// The period.
    pub period: Period,
    counts: Vec<Counts>,
    covered: Vec<bool>,
}

impl PeriodIndicators {
    /// The counts of unit `u`, `None` when no source of the period covers it ("no data").
    pub fn counts(&self, u: u32) -> Option<&Counts> {
        let u = u as usize;
        self.covered[u].then(|| &self.counts[u])
    }
}

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
    /// `batches`, with a desa grid of [`DEFAULT_CELLS_PER_DESA`] cells per desa.
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
        let batch_index = batches
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i as u16))
            .collect();
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
            grid_seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// Sets the denominators (households and population per unit code).
    pub fn denominators(mut self, d: HashMap<Kode, Denominators>) -> SnapshotBuilder {
        self.denominators = d;
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
        let Some(&batch) = self.batch_index.get(&f.batch_id) else {
            return;
        };
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
        if f.extreme_poor == Some(true) {
            bits |= BIT_EXTREME;
        }
        if f.duplicate {
            bits |= BIT_DUPLICATE;
        }
        if f.desa.is_some() && unit == NO_UNIT {
            bits |= BIT_DESA_GONE;
        }
        self.records.push(HouseholdRecord {
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

    /// Locates every household, counts the indicators of every unit in every period on
    /// `threads` threads, and returns the snapshot.
    pub fn finish(mut self, generation: u64, dataset: Option<String>, threads: usize) -> Snapshot {
        let started = std::time::Instant::now();
        let (grid, desa_units) = (self.grid, self.desa_units);
        let mut periods: Vec<Period> = self.batches.iter().map(|b| b.period).collect();
        periods.sort();
        periods.dedup();
        let batch_period: Vec<usize> = self
            .batches
            .iter()
            .map(|b| periods.binary_search(&b.period).unwrap_or(0))
            .collect();
        let counter = Counter {
            units: &self.units,
            grid: &grid,
            desa_units: &desa_units,
            batch_period: &batch_period,
            periods: periods.len(),
        };
        let (mut counts, tallies) = counter.count_all(&mut self.records, threads);
        let counted = started.elapsed().as_secs_f64();
        let groups = group_by_unit(&mut self.records, self.units.len());
        let point_index = point_index(&self.records, &groups);
        let indexed = started.elapsed().as_secs_f64() - counted;
        let reports = self
            .batches
            .iter()
            .zip(tallies)
            .map(|(b, tally)| BatchReport {
                id: b.id,
                file_name: b.file_name.clone(),
                source: b.source,
                period: b.period,
                tally,
            })
            .collect();
        let parents: Vec<Option<u32>> = self.units.iter().map(|u| u.parent).collect();
        let periods = periods
            .into_iter()
            .zip(counts.iter_mut())
            .map(|(period, counts)| {
                roll_up(counts, &parents);
                PeriodIndicators {
                    period,
                    covered: coverage(&self.units, counts),
                    counts: std::mem::take(counts),
                }
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
            units: self.units,
            index: self.index,
            grid,
            desa_units,
            households: self.records,
            periods,
            denominators,
            batches: reports,
            groups,
            point_index,
        }
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

/// Sorts `records` by their `unit` in place (American flag sort: one counting pass, then each
/// record swapped straight into its group), so the households of a unit are contiguous, and
/// returns where each group starts (`n_units + 2` offsets; group `n_units` holds the
/// households counted nowhere). Records mostly arrive grouped already (exports are sorted by
/// region), so few swaps happen. Hand-written: the standard sorts need `n log n` comparisons
/// or a second buffer as large as the records.
fn group_by_unit(records: &mut [HouseholdRecord], n_units: usize) -> Vec<usize> {
    let key = |r: &HouseholdRecord| (r.unit as usize).min(n_units);
    let mut starts = vec![0usize; n_units + 2];
    for r in records.iter() {
        starts[key(r) + 1] += 1;
    }
    for k in 0..=n_units {
        starts[k + 1] += starts[k];
    }
    let mut next = starts.clone();
    for group in 0..=n_units {
        while next[group] < starts[group + 1] {
            let i = next[group];
            let k = key(&records[i]);
            if k == group {
                next[group] += 1;
            } else {
                records.swap(i, next[k]);
                next[k] += 1;
            }
        }
    }
    starts
}

/// An R-tree over the bounding boxes of each unit's household points: a bbox query visits the
/// groups whose box it meets and tests their points. One entry per unit instead of one per
/// household keeps it small at national scale (a point-per-entry rstar tree of 25 M
/// households took 12 s and 70 bytes per household).
fn point_index(
    records: &[HouseholdRecord],
    groups: &[usize],
) -> RTree<GeomWithData<Rectangle<[f32; 2]>, u32>> {
    let n_units = groups.len() - 2;
    let boxes = (0..n_units)
        .filter_map(|g| {
            let mut pts = records[groups[g]..groups[g + 1]]
                .iter()
                .filter(|h| h.has_point());
            let first = pts.next()?;
            let (mut lo, mut hi) = ([first.lon, first.lat], [first.lon, first.lat]);
            for h in pts {
                lo = [lo[0].min(h.lon), lo[1].min(h.lat)];
                hi = [hi[0].max(h.lon), hi[1].max(h.lat)];
            }
            Some(GeomWithData::new(Rectangle::from_corners(lo, hi), g as u32))
        })
        .collect();
    RTree::bulk_load(boxes)
}

/// The most cells a grid gets: 4 M cells (16 MiB, plus the edge lists of the cells crossed by
/// outlines: ~270 MiB for 84,000 desa). A province gets ~4,000 cells per desa, the whole
/// country ~50: measured on 84,000 synthetic desa, 64 cells per desa counted as fast as 256
/// with half the memory (`benches/national.rs`).
const MAX_GRID_CELLS: usize = 1 << 22;

/// Counts households into per-period, per-unit counts.
struct Counter<'a> {
    units: &'a [Unit],
    grid: &'a DesaGrid,
    desa_units: &'a [u32],
    batch_period: &'a [usize],
    periods: usize,
}

/// Counts per period, per unit.
type PeriodCounts = Vec<Vec<Counts>>;

impl Counter<'_> {
    /// Counts every record, and sets each record's `unit` to the unit it is counted in
    /// (`NO_UNIT` for duplicates and households not placed).
    fn count_all(
        &self,
        records: &mut [HouseholdRecord],
        threads: usize,
    ) -> (PeriodCounts, Vec<BatchTally>) {
        let part = records.len().div_ceil(threads.max(1)).max(1);
        let partials: Vec<(PeriodCounts, Vec<BatchTally>)> = std::thread::scope(|s| {
            let handles: Vec<_> = records
                .chunks_mut(part)
                .map(|chunk| s.spawn(move || self.count_part(chunk)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("counting thread panicked"))
                .collect()
        });
        let mut counts = vec![vec![Counts::ZERO; self.units.len()]; self.periods];
        let mut reports = vec![BatchTally::default(); self.batch_period.len()];
        for (c, r) in partials {
            for (total, part) in counts.iter_mut().zip(&c) {
                for (a, b) in total.iter_mut().zip(part) {
                    a.add(b);
                }
            }
            for (a, b) in reports.iter_mut().zip(&r) {
                a.merge(b);
            }
        }
        (counts, reports)
    }

    fn count_part(&self, records: &mut [HouseholdRecord]) -> (PeriodCounts, Vec<BatchTally>) {
        let mut counts = vec![vec![Counts::ZERO; self.units.len()]; self.periods];
        let mut reports = vec![BatchTally::default(); self.batch_period.len()];
        for r in records {
            let report = &mut reports[usize::from(r.batch)];
            report.households += 1;
            if r.bits & BIT_DUPLICATE != 0 {
                report.duplicates += 1;
                r.unit = NO_UNIT;
                continue;
            }
            let Some((target, elsewhere)) = self.place(r, report) else {
                report.not_placed += 1;
                report.not_geocoded += u64::from(r.quality == 0);
                r.unit = NO_UNIT;
                continue;
            };
            r.unit = target;
            let c = &mut counts[self.batch_period[usize::from(r.batch)]][target as usize];
            r.contribution().add_to(c);
            match self.units[target as usize].info.level {
                Level::Desa => report.counted_desa += 1,
                Level::Kecamatan => {
                    report.counted_kecamatan += 1;
                    c[Count::DesaUnknown] += 1;
                }
                _ => {
                    report.counted_kabupaten += 1;
                    c[Count::DesaUnknown] += 1;
                    c[Count::KecamatanUnknown] += 1;
                }
            }
            if elsewhere {
                report.point_elsewhere += 1;
                c[Count::PointElsewhere] += 1;
            }
        }
        (counts, reports)
    }

    /// The unit a household is counted in, and whether its point lies in another desa.
    ///
    /// The rule: a household counts in the unit its geocode chose (the geocoder already
    /// weighed its code, names and GPS, and a GPS point that contradicts them is flagged
    /// `gps_mismatch`). Its point is located in the current desa outlines: when the chosen
    /// desa is no longer among them, the desa containing the point counts it (`relocated`);
    /// when the point lies in another desa, the chosen one still counts it
    /// (`point_elsewhere`). A point on a shared edge, or where overlapping outlines both
    /// contain it, belongs to the chosen desa.
    fn place(&self, r: &HouseholdRecord, report: &mut BatchTally) -> Option<(u32, bool)> {
        let quality = (r.quality > 0).then(|| Quality::ALL[usize::from(r.quality - 1)]);
        if !quality.is_some_and(|q| q.has_desa() || q.is_area()) {
            return None;
        }
        let mut located = NO_UNIT;
        let mut holds_chosen = false;
        if r.has_point() {
            self.grid
                .containing(f64::from(r.lon), f64::from(r.lat), |id| {
                    let u = self.desa_units[id as usize];
                    holds_chosen |= u == r.unit;
                    if located == NO_UNIT {
                        located = u;
                    }
                });
        }
        if r.unit != NO_UNIT {
            let elsewhere = self.units[r.unit as usize].info.level == Level::Desa
                && located != NO_UNIT
                && !holds_chosen;
            return Some((r.unit, elsewhere));
        }
        if r.bits & BIT_DESA_GONE != 0 && located != NO_UNIT {
            report.relocated += 1;
            return Some((located, false));
        }
        None
    }
}

/// Adds every unit's counts into its ancestors' (units are sorted parents first).
fn roll_up(counts: &mut [Counts], parents: &[Option<u32>]) {
    for u in (0..counts.len()).rev() {
        if let Some(p) = parents[u] {
            let child = counts[u];
            counts[p as usize].add(&child);
        }
    }
}

/// Which units a period covers: every unit inside a kabupaten/kota where some household of
/// the period is counted. A file for one kota says nothing about its neighbours, so their
/// units are "no data", not zero.
fn coverage(units: &[Unit], counts: &[Counts]) -> Vec<bool> {
    let kab_of = |u: &Unit| u.info.kode.ancestor(Level::Kabupaten);
    let covered_kab: std::collections::HashSet<Kode> = units
        .iter()
        .zip(counts)
        .filter(|(u, c)| u.info.level == Level::Kabupaten && c[Count::Households] > 0)
        .map(|(u, _)| u.info.kode)
        .collect();
    units
        .iter()
        .zip(counts)
        .map(|(u, c)| match u.info.level {
            Level::Provinsi => c[Count::Households] > 0,
            _ => kab_of(u).is_some_and(|k| covered_kab.contains(&k)),
        })
        .collect()
}

/// Each unit's denominators: its own from the file, else the sum of its children's when
/// every child has one, else unknown.
fn roll_up_denominators(units: &[Unit], given: &HashMap<Kode, Denominators>) -> Vec<Denominators> {
    let mut out: Vec<Denominators> = units
        .iter()
        .map(|u| given.get(&u.info.kode).copied().unwrap_or_default())
        .collect();
    // Sum of children's values, `None` as soon as one child lacks it.
    let mut sums: Vec<(Option<u64>, Option<u64>, bool)> =
        vec![(Some(0), Some(0), false); units.len()];
    for u in (0..units.len()).rev() {
        if sums[u].2 {
            let (h, p, _) = sums[u];
            out[u].households = out[u].households.or(h);
            out[u].population = out[u].population.or(p);
        }
        if let Some(parent) = units[u].parent {
            let s = &mut sums[parent as usize];
            s.0 = s.0.zip(out[u].households).map(|(a, b)| a + b);
            s.1 = s.1.zip(out[u].population).map(|(a, b)| a + b);
            s.2 = true;
        }
    }
    out
}

/// What the server reads: immutable once built, swapped whole.
pub struct Snapshot {
    /// The store generation it was built from.
    pub generation: u64,
    /// `synthetic` for the demo province.
    pub dataset: Option<String>,
    units: Vec<Unit>,
    index: HashMap<Kode, u32>,
    grid: DesaGrid,
    desa_units: Vec<u32>,
    households: Vec<HouseholdRecord>,
    periods: Vec<PeriodIndicators>,
    denominators: Vec<Denominators>,
    batches: Vec<BatchReport>,
    /// Where each unit's households start in `households` (by unit index; the last group
    /// holds those counted nowhere).
    groups: Vec<usize>,
    point_index: RTree<GeomWithData<Rectangle<[f32; 2]>, u32>>,
    /// How long the build took.
    pub timings: BuildTimings,
}

impl Snapshot {
    /// An empty snapshot (no regions, no households).
    pub fn empty() -> Snapshot {
        SnapshotBuilder::new(Vec::new(), Vec::new()).finish(0, None, 1)
    }

    /// All units, sorted by code.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The index of the unit with code `kode`.
    pub fn unit_index(&self, kode: Kode) -> Option<u32> {
        self.index.get(&kode).copied()
    }

    /// The unit at `u`.
    pub fn unit(&self, u: u32) -> &Unit {
        &self.units[u as usize]
    }

    /// Indexes of the units strictly inside `u` (any depth), in code order.
    pub fn descendants(&self, u: u32) -> std::ops::Range<u32> {
        let kode = self.units[u as usize].info.kode;
        let start = u + 1;
        let len = self.units[start as usize..].partition_point(|x| x.info.kode.is_within(&kode));
        start..start + len as u32
    }

    /// The box covering the boxes of `units`, `None` when none has one.
    pub fn bbox_of(&self, units: impl IntoIterator<Item = u32>) -> Option<[f64; 4]> {
        units
            .into_iter()
            .filter_map(|u| self.unit(u).info.bbox)
            .reduce(|a, b| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            })
    }

    /// The direct children of `u` (units whose nearest loaded ancestor is `u`).
    pub fn children(&self, u: u32) -> Vec<u32> {
        self.descendants(u)
            .filter(|&c| self.units[c as usize].parent == Some(u))
            .collect()
    }

    /// Ancestors of `u`, top down.
    pub fn parents(&self, u: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut p = self.units[u as usize].parent;
        while let Some(x) = p {
            out.push(x);
            p = self.units[x as usize].parent;
        }
        out.reverse();
        out
    }

    /// The periods with data, oldest first.
    pub fn periods(&self) -> &[PeriodIndicators] {
        &self.periods
    }

    /// The indicators of `period`, or of the latest period when `None`.
    pub fn period(&self, period: Option<Period>) -> Option<&PeriodIndicators> {
        match period {
            Some(p) => self.periods.iter().find(|x| x.period == p),
            None => self.periods.last(),
        }
    }

    /// The denominators of unit `u` (own, or summed from its children).
    pub fn denominators(&self, u: u32) -> &Denominators {
        &self.denominators[u as usize]
    }

    /// How every batch was counted.
    pub fn batches(&self) -> &[BatchReport] {
        &self.batches
    }

    /// The ids of the batches of `period`.
    pub fn batch_ids_of(&self, period: Period) -> Vec<i64> {
        self.batches
            .iter()
            .filter(|b| b.period == period)
            .map(|b| b.id)
            .collect()
    }

    /// The households, grouped by the unit they are counted in (in unit order; those counted
    /// nowhere last).
    pub fn households(&self) -> &[HouseholdRecord] {
        &self.households
    }

    /// The desa grid over the current desa outlines.
    pub fn grid(&self) -> &DesaGrid {
        &self.grid
    }

    /// The unit index of the desa the grid calls `id`.
    pub fn desa_unit(&self, id: u32) -> u32 {
        self.desa_units[id as usize]
    }

    /// Indexes (into [`Snapshot::households`]) of the counted households whose point lies in
    /// `[min_lon, min_lat, max_lon, max_lat]`, ascending.
    pub fn households_in(&self, bbox: [f64; 4]) -> Vec<u32> {
        let [x0, y0, x1, y1] = bbox.map(|v| v as f32);
        let env = AABB::from_corners([x0, y0], [x1, y1]);
        let mut out = Vec::new();
        for group in self.point_index.locate_in_envelope_intersecting(&env) {
            let g = group.data as usize;
            for i in self.groups[g]..self.groups[g + 1] {
                let h = &self.households[i];
                if h.lon >= x0 && h.lon <= x1 && h.lat >= y0 && h.lat <= y1 {
                    out.push(i as u32);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The households counted in unit `u` (contiguous in [`Snapshot::households`]).
    pub fn households_of(&self, u: u32) -> &[HouseholdRecord] {
        let u = u as usize;
        &self.households[self.groups[u]..self.groups[u + 1]]
    }
}
