//! What happened to households between two periods: matched by the 64-bit prefixes of their
//! keyed KK and NIK hashes (never by anything in clear), counted per unit of one level.

use std::collections::HashMap;

use serde::Serialize;

use super::record::{HouseholdRecord, NO_UNIT};
use super::snapshot::Snapshot;
use crate::model::Period;
use crate::region::Level;

/// The flows of one unit between a base period and a period. Always
/// `households = stayed + moved_in + entered` and `base_households = stayed + moved_out + left`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Transitions {
    /// Households counted in the unit in the period.
    pub households: u64,
    /// Households counted in the unit in the base period.
    pub base_households: u64,
    /// Households of the period found in the base period (anywhere): `stayed + moved_in`.
    pub matched: u64,
    /// Matched households counted in the unit in both periods.
    pub stayed: u64,
    /// In the period only.
    pub entered: u64,
    /// In the base period only.
    pub left: u64,
    /// Matched, counted here now and in another unit of the level before.
    pub moved_in: u64,
    /// Matched, counted here before and in another unit of the level now.
    pub moved_out: u64,
    /// Matched households of the unit with a desil in both periods.
    pub desil_both: u64,
    /// Of those, in a lower (poorer) desil now.
    pub desil_down: u64,
    /// In the same desil.
    pub desil_same: u64,
    /// In a higher desil now.
    pub desil_up: u64,
    /// In desil 1 before and not now.
    pub left_desil_1: u64,
    /// In desil 1 now and not before.
    pub entered_desil_1: u64,
}

/// One figure of [`Transitions`], drawable on the map with a base period
/// (`transition_entered`, …).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[strum(serialize_all = "snake_case")]
pub enum Flow {
    /// Matched households counted here in both periods.
    #[strum(message = "Tetap di wilayah ini")]
    Stayed,
    /// In the period only.
    #[strum(message = "Baru masuk daftar")]
    Entered,
    /// In the base period only.
    #[strum(message = "Keluar dari daftar")]
    Left,
    /// Moved here from another unit.
    #[strum(message = "Pindah ke sini")]
    MovedIn,
    /// Moved from here to another unit.
    #[strum(message = "Pindah dari sini")]
    MovedOut,
    /// Matched, in a lower desil now.
    #[strum(message = "Desil turun (lebih miskin)")]
    DesilDown,
    /// Matched, in a higher desil now.
    #[strum(message = "Desil naik")]
    DesilUp,
    /// In desil 1 before and not now.
    #[strum(serialize = "left_desil_1", message = "Keluar dari desil 1")]
    LeftDesil1,
    /// In desil 1 now and not before.
    #[strum(serialize = "entered_desil_1", message = "Masuk desil 1")]
    EnteredDesil1,
}

impl Flow {
    /// Every flow drawable on the map.
    pub const ALL: &'static [Flow] = <Flow as strum::VariantArray>::VARIANTS;

    /// Its field name in `/api/transitions`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Its label in Bahasa Indonesia.
    pub fn label(self) -> &'static str {
        strum::EnumMessage::get_message(&self).unwrap_or_default()
    }
}

impl Transitions {
    /// The value of `flow`.
    pub fn get(&self, flow: Flow) -> u64 {
        match flow {
            Flow::Stayed => self.stayed,
            Flow::Entered => self.entered,
            Flow::Left => self.left,
            Flow::MovedIn => self.moved_in,
            Flow::MovedOut => self.moved_out,
            Flow::DesilDown => self.desil_down,
            Flow::DesilUp => self.desil_up,
            Flow::LeftDesil1 => self.left_desil_1,
            Flow::EnteredDesil1 => self.entered_desil_1,
        }
    }
}

impl Snapshot {
    /// Per unit of `level` (by unit index), the flows from `base` to `period`. Households
    /// not counted in a unit of the level (duplicates, not placed, known only above it) take
    /// no part; a household of the period matches at most one of the base (the first by KK,
    /// else by NIK), and each household of the base is matched at most once.
    pub fn transitions(
        &self,
        period: Period,
        base: Period,
        level: Level,
    ) -> HashMap<u32, Transitions> {
        let at_level = self.ancestors_at(level);
        let of_period = |p: Period| -> Vec<&HouseholdRecord> {
            let batches: Vec<bool> = self.batches.iter().map(|b| b.period == p).collect();
            self.households
                .iter()
                .filter(|r| r.unit != NO_UNIT && batches[usize::from(r.batch)])
                .filter(|r| at_level[r.unit as usize] != NO_UNIT)
                .collect()
        };
        let before = of_period(base);
        let now = of_period(period);
        let mut by_kk: HashMap<i64, usize> = HashMap::with_capacity(before.len());
        let mut by_nik: HashMap<i64, usize> = HashMap::with_capacity(before.len());
        for (i, r) in before.iter().enumerate() {
            if r.kk != 0 {
                by_kk.entry(r.kk).or_insert(i);
            }
            if r.nik != 0 {
                by_nik.entry(r.nik).or_insert(i);
            }
        }
        let mut used = vec![false; before.len()];
        let mut out: HashMap<u32, Transitions> = HashMap::new();
        for r in &now {
            let here = at_level[r.unit as usize];
            let found = [(r.kk, &by_kk), (r.nik, &by_nik)]
                .into_iter()
                .filter(|(k, _)| *k != 0)
                .find_map(|(k, map)| map.get(&k).copied().filter(|&i| !used[i]));
            let t = out.entry(here).or_default();
            t.households += 1;
            let Some(i) = found else {
                t.entered += 1;
                continue;
            };
            used[i] = true;
            let b = before[i];
            let there = at_level[b.unit as usize];
            t.matched += 1;
            if there == here {
                t.stayed += 1;
            } else {
                t.moved_in += 1;
            }
            if let (Some(d0), Some(d1)) = (b.desil(), r.desil()) {
                t.desil_both += 1;
                match d1.cmp(&d0) {
                    std::cmp::Ordering::Less => t.desil_down += 1,
                    std::cmp::Ordering::Equal => t.desil_same += 1,
                    std::cmp::Ordering::Greater => t.desil_up += 1,
                }
                t.left_desil_1 += u64::from(d0 == 1 && d1 != 1);
                t.entered_desil_1 += u64::from(d1 == 1 && d0 != 1);
            }
            if there != here {
                out.entry(there).or_default().moved_out += 1;
            }
        }
        for (i, b) in before.iter().enumerate() {
            let t = out.entry(at_level[b.unit as usize]).or_default();
            t.base_households += 1;
            if !used[i] {
                t.left += 1;
            }
        }
        out
    }

    /// For every unit, its ancestor (or itself) at `level`, `NO_UNIT` when it has none.
    fn ancestors_at(&self, level: Level) -> Vec<u32> {
        let mut out = vec![NO_UNIT; self.units.len()];
        for (u, unit) in self.units.iter().enumerate() {
            out[u] = if unit.info.level == level {
                u as u32
            } else {
                unit.parent.map_or(NO_UNIT, |p| out[p as usize])
            };
        }
        out
    }
}
