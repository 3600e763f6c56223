//! The immutable in-memory snapshot the server reads: units, the desa grid, households in a
//! compact form, and the indicators of every unit in every period.

use std::collections::HashMap;
use std::sync::Arc;

use super::builder::{BuildTimings, SnapshotBuilder};
use super::households::Households;
use super::indicators::{Count, Counts};
use super::programs::ProgramIndex;
use super::record::{BatchReport, HouseholdRecord};
use super::sources::{SourceShare, UnitSources};
use super::transitions::MatchingCache;
use crate::index::DesaGrid;
use crate::model::{Denominators, Period};
use crate::region::{Kode, RegionInfo};
use geo::MultiPolygon;

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

/// The indicators of all units in one period.
///
/// Cloning is cheap (the counts are shared): a [`Disclosure`] is applied to a clone.
#[derive(Debug, Clone)]
pub struct PeriodIndicators {
    /// The period.
    pub period: Period,
    pub(super) counts: Arc<[Counts]>,
    pub(super) covered: Arc<[bool]>,
    pub(super) disclosure: Disclosure,
}

impl PeriodIndicators {
    pub(super) fn new(period: Period, counts: Vec<Counts>, covered: Vec<bool>) -> Self {
        PeriodIndicators {
            period,
            counts: counts.into(),
            covered: covered.into(),
            disclosure: Disclosure::EXACT,
        }
    }

    /// The counts of unit `u`, `None` when no source of the period covers it ("no data") or
    /// when the disclosure rule hides them ([`PeriodIndicators::suppressed`]).
    pub fn counts(&self, u: u32) -> Option<&Counts> {
        let u = u as usize;
        (self.covered[u] && !self.disclosure.hides(&self.counts[u])).then(|| &self.counts[u])
    }

    /// Whether unit `u` has data that the disclosure rule hides: so few households that a
    /// figure could single out a family.
    pub fn suppressed(&self, u: u32) -> bool {
        let u = u as usize;
        self.covered[u] && self.disclosure.hides(&self.counts[u])
    }

    /// These indicators as a reader under `disclosure` sees them.
    pub fn disclosed(&self, disclosure: Disclosure) -> PeriodIndicators {
        PeriodIndicators {
            disclosure,
            ..self.clone()
        }
    }

    /// The disclosure rule applied.
    pub fn disclosure(&self) -> Disclosure {
        self.disclosure
    }
}

/// Which aggregates a reader may see exactly. Public readers (anonymous visitors, viewers)
/// do not see the figures of a unit with 1 to `suppress_upto` households: "3 households in
/// desil 1" in a dusun of three families names them. Logged-in operators, analysts and
/// admins see exact counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Disclosure {
    /// Units with 1 up to this many households are hidden (0: nothing is hidden).
    pub suppress_upto: u64,
}

impl Disclosure {
    /// Every figure exact.
    pub const EXACT: Disclosure = Disclosure { suppress_upto: 0 };

    /// The default for public readers: 1 to 4 households are hidden ("< 5").
    pub const PUBLIC: Disclosure = Disclosure { suppress_upto: 4 };

    /// Whether a unit with these counts is hidden.
    pub fn hides(self, counts: &Counts) -> bool {
        let n = counts[Count::Households];
        n >= 1 && n <= self.suppress_upto
    }

    /// How the page labels a hidden figure (`< 5`).
    pub fn label(self) -> String {
        format!("< {}", self.suppress_upto + 1)
    }
}

/// What the server reads: immutable once built, swapped whole.
pub struct Snapshot {
    /// The store generation it was built from.
    pub generation: u64,
    /// `synthetic` for the demo province.
    pub dataset: Option<String>,
    // What does not change with households is shared with the snapshots made from this one
    // by adding batches (`Snapshot::with_batches`).
    pub(super) units: Arc<Vec<Unit>>,
    pub(super) index: Arc<HashMap<Kode, u32>>,
    pub(super) grid: Arc<DesaGrid>,
    pub(super) desa_units: Arc<Vec<u32>>,
    pub(super) households: Households,
    pub(super) periods: Vec<PeriodIndicators>,
    pub(super) denominators: Arc<Vec<Denominators>>,
    pub(super) batches: Vec<BatchReport>,
    pub(super) sources: UnitSources,
    pub(super) programs: ProgramIndex,
    /// Households matched across pairs of periods, as requests asked for them.
    pub(super) matchings: MatchingCache,
    /// How long the build took.
    pub timings: BuildTimings,
}

impl Snapshot {
    /// An empty snapshot (no regions, no households).
    pub fn empty() -> Snapshot {
        SnapshotBuilder::new(Vec::new(), Vec::new()).finish(0, None, 1)
    }

    /// Whether `other` has the very units of this snapshot (one was made from the other by
    /// adding batches), so that what is drawn from their outlines can be shared.
    pub fn same_units(&self, other: &Snapshot) -> bool {
        Arc::ptr_eq(&self.units, &other.units)
    }

    /// The regional programmes and what their lists reach.
    pub fn programs(&self) -> &ProgramIndex {
        &self.programs
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

    /// The name of `u`'s ancestor at `level` (not `u` itself), when one is loaded.
    pub fn ancestor_name(&self, u: u32, level: crate::region::Level) -> Option<&str> {
        self.parents(u)
            .into_iter()
            .find(|&p| self.unit(p).info.level == level)
            .map(|p| self.unit(p).info.nama.as_str())
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

    /// The households, by index (the index [`Snapshot::households_in`] gives).
    pub fn households(&self) -> &Households {
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
        self.households.in_box(bbox.map(|v| v as f32))
    }

    /// The households counted in unit `u`.
    pub fn households_of(&self, u: u32) -> impl Iterator<Item = &HouseholdRecord> + '_ {
        self.households.of_unit(u).map(|(_, h)| h)
    }

    /// The batches of `period` counted in unit `u` (or inside it), with what each brings.
    pub fn sources_of(
        &self,
        u: u32,
        period: Period,
    ) -> impl Iterator<Item = (&BatchReport, &SourceShare)> {
        self.sources[u as usize]
            .iter()
            .map(|(b, share)| (&self.batches[usize::from(*b)], share))
            .filter(move |(b, _)| b.period == period)
    }
}
