//! Counting: each household into the unit it counts in, desa summed up to the province,
//! coverage and denominators.

use std::collections::HashMap;

use super::indicators::{Count, Counts, Stated};
use super::record::{BatchTally, HouseholdRecord, BIT_DESA_GONE, BIT_DUPLICATE, NO_UNIT};
use super::snapshot::Unit;
use crate::index::DesaGrid;
use crate::model::{Denominators, Quality};
use crate::region::{Kode, Level};

/// Counts households into per-period, per-unit counts.
pub(super) struct Counter<'a> {
    pub(super) units: &'a [Unit],
    pub(super) grid: &'a DesaGrid,
    pub(super) desa_units: &'a [u32],
    pub(super) batch_period: &'a [usize],
    pub(super) periods: usize,
}

/// Counts per period, per unit.
pub(super) type PeriodCounts = Vec<Vec<Counts>>;

impl Counter<'_> {
    /// Counts every record, and sets each record's `unit` to the unit it is counted in
    /// (`NO_UNIT` for duplicates and households not placed).
    pub(super) fn count_all(
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
            crate::index::joined(handles)
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
            let contribution = r.contribution();
            report.states = report.states.with(contribution.stated());
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
            contribution.add_to(c);
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
        let placed = place(
            self.units,
            self.grid,
            self.desa_units,
            r.quality(),
            r.unit,
            r.bits & BIT_DESA_GONE != 0,
            r.has_point().then_some((r.lon, r.lat)),
        )?;
        report.relocated += u64::from(placed.relocated);
        Some((placed.unit, placed.elsewhere))
    }
}

/// Where a household is counted ([`Counter::place`]'s rule).
pub(super) struct Placed {
    /// The unit.
    pub(super) unit: u32,
    /// Its point lies in another desa than the chosen one.
    pub(super) elsewhere: bool,
    /// Its chosen desa is gone and its point's desa counts it.
    pub(super) relocated: bool,
}

/// The unit a household placed with `quality` in `unit` (`NO_UNIT` when its choice is not
/// among the units; `desa_gone` when that choice was a desa) and with `point` is counted in.
pub(super) fn place(
    units: &[Unit],
    grid: &DesaGrid,
    desa_units: &[u32],
    quality: Option<Quality>,
    unit: u32,
    desa_gone: bool,
    point: Option<(f32, f32)>,
) -> Option<Placed> {
    if !quality.is_some_and(|q| q.has_desa() || q.is_area()) {
        return None;
    }
    let mut located = NO_UNIT;
    let mut holds_chosen = false;
    if let Some((lon, lat)) = point {
        grid.containing(f64::from(lon), f64::from(lat), |id| {
            let u = desa_units[id as usize];
            holds_chosen |= u == unit;
            if located == NO_UNIT {
                located = u;
            }
        });
    }
    if unit != NO_UNIT {
        let elsewhere =
            units[unit as usize].info.level == Level::Desa && located != NO_UNIT && !holds_chosen;
        return Some(Placed {
            unit,
            elsewhere,
            relocated: false,
        });
    }
    (desa_gone && located != NO_UNIT).then_some(Placed {
        unit: located,
        elsewhere: false,
        relocated: true,
    })
}

/// Adds every unit's counts into its ancestors' (units are sorted parents first).
pub(super) fn roll_up(counts: &mut [Counts], parents: &[Option<u32>]) {
    for u in (0..counts.len()).rev() {
        if let Some(p) = parents[u] {
            let child = counts[u];
            counts[p as usize].add(&child);
        }
    }
}

/// Which units a period covers: every unit inside a kabupaten/kota where some household of
/// the period is counted. A file for one kota says nothing about its neighbours, so their
/// units are "no data", not zero. A covered unit without households takes the fields its
/// kabupaten/kota states: a desa with no listed household in a P3KE period has 0 households
/// in desil 1, while in a DTKS period (no desil) its desil 1 is "no data".
pub(super) fn coverage(units: &[Unit], counts: &mut [Counts]) -> Vec<bool> {
    let kab_of = |u: &Unit| u.info.kode.ancestor(Level::Kabupaten);
    let covered_kab: HashMap<Kode, Stated> = units
        .iter()
        .zip(counts.iter())
        .filter(|(u, c)| u.info.level == Level::Kabupaten && c[Count::Households] > 0)
        .map(|(u, c)| (u.info.kode, c.stated()))
        .collect();
    units
        .iter()
        .zip(counts.iter_mut())
        .map(|(u, c)| match u.info.level {
            Level::Provinsi => c[Count::Households] > 0,
            _ => match kab_of(u).and_then(|k| covered_kab.get(&k)) {
                Some(&stated) => {
                    if c[Count::Households] == 0 {
                        c.set_stated(stated);
                    }
                    true
                }
                None => false,
            },
        })
        .collect()
}

/// Each unit's denominators: its own from the file, else the sum of its children's when
/// every child has one, else unknown.
pub(super) fn roll_up_denominators(
    units: &[Unit],
    given: &HashMap<Kode, Denominators>,
) -> Vec<Denominators> {
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
