//! What happened to households between two periods: matched by the prefixes of their keyed
//! KK and NIK hashes (never by anything in clear), counted per unit of one level.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use serde::Serialize;

use super::record::{KeyPrefix, NO_UNIT};
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

/// Which household of the base period each household of the period is: computed once per
/// pair of periods (the slow part, hashing every key of both) and kept by the snapshot for
/// the next requests, whatever level they count at.
#[derive(Debug, Default)]
pub(super) struct Matching {
    /// Counted households of the period (indexes into the snapshot's households).
    now: Vec<u32>,
    /// Counted households of the base period.
    before: Vec<u32>,
    /// For each of `now`, its index in `before`, or [`UNMATCHED`].
    partner: Vec<u32>,
}

const UNMATCHED: u32 = u32::MAX;

/// Matchings kept per snapshot (each 12 bytes per household of its periods).
const KEPT_MATCHINGS: usize = 4;

/// The matchings a snapshot has computed, newest last.
pub(super) type MatchingCache = std::sync::Mutex<Vec<((Period, Period), Arc<Matching>)>>;

impl Snapshot {
    /// Per unit (by unit index; zero except for units of `level`), the flows from `base` to
    /// `period`. Households not counted in a unit (duplicates, not placed) take no part; one
    /// counted above `level` (its desa unknown) has left every unit of the level or moved
    /// out of it. A household of the period matches at most one of the base (the first by
    /// KK, else by NIK), and each household of the base is matched at most once.
    pub fn transitions(&self, period: Period, base: Period, level: Level) -> Vec<Transitions> {
        let m = self.matching(period, base);
        let at_level = self.ancestors_at(level);
        let at = |i: u32| at_level[self.households[i as usize].unit as usize];
        let mut out = vec![Transitions::default(); self.units.len() + 1];
        // Households outside every unit of the level are counted in a slot past the units.
        let slot = |u: u32| {
            if u == NO_UNIT {
                self.units.len()
            } else {
                u as usize
            }
        };
        let mut used = vec![false; m.before.len()];
        for (&i, &p) in m.now.iter().zip(&m.partner) {
            let here = slot(at(i));
            let t = &mut out[here];
            t.households += 1;
            if p == UNMATCHED {
                t.entered += 1;
                continue;
            }
            used[p as usize] = true;
            let b = m.before[p as usize];
            let there = slot(at(b));
            t.matched += 1;
            if there == here {
                t.stayed += 1;
            } else {
                t.moved_in += 1;
            }
            let (r0, r1) = (&self.households[b as usize], &self.households[i as usize]);
            if let (Some(d0), Some(d1)) = (r0.desil(), r1.desil()) {
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
                out[there].moved_out += 1;
            }
        }
        for (&b, &matched) in m.before.iter().zip(&used) {
            let t = &mut out[slot(at(b))];
            t.base_households += 1;
            t.left += u64::from(!matched);
        }
        out.truncate(self.units.len());
        out
    }

    /// The matching of `period` against `base`, from the cache or computed now.
    fn matching(&self, period: Period, base: Period) -> Arc<Matching> {
        let key = (period, base);
        let cache = |c: &MatchingCache| {
            c.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, m)| m.clone())
        };
        if let Some(m) = cache(&self.matchings) {
            return m;
        }
        let m = Arc::new(self.match_periods(period, base));
        let mut kept = self
            .matchings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= KEPT_MATCHINGS {
            kept.remove(0);
        }
        kept.push((key, m.clone()));
        m
    }

    fn match_periods(&self, period: Period, base: Period) -> Matching {
        // Which of two households sharing a key is matched depends on the order they are
        // taken in, which must not depend on how the records are stored (one run from a full
        // build, or several after batches were added). Without shared keys (the usual case:
        // keys are hashes of identity numbers, duplicates count nowhere) any order gives the
        // same matching, so the stored order is tried first.
        let stored = |p: Period| -> Vec<u32> {
            let batches = self.batches_of(p);
            (0..)
                .zip(self.households.iter())
                .filter(|(_, r)| r.unit != NO_UNIT && batches[usize::from(r.batch)])
                .map(|(i, _)| i)
                .collect()
        };
        if let Some(m) = self.match_in(stored(base), stored(period), true) {
            return m;
        }
        // Unit by unit, and inside a unit by what each record holds.
        let canonical = |p: Period| -> Vec<u32> {
            let batches = self.batches_of(p);
            let mut out = Vec::new();
            let mut keyed: Vec<(u128, u32)> = Vec::new();
            for u in 0..self.units.len() as u32 {
                keyed.clear();
                keyed.extend(
                    self.households
                        .of_unit(u)
                        .filter(|(_, r)| batches[usize::from(r.batch)])
                        .map(|(i, r)| (r.order_key(), i as u32)),
                );
                // The packed key settles almost every pair without looking up the records.
                keyed.sort_unstable_by(|a, b| {
                    a.0.cmp(&b.0).then_with(|| {
                        let (x, y) = (
                            &self.households[a.1 as usize],
                            &self.households[b.1 as usize],
                        );
                        x.content().cmp(&y.content())
                    })
                });
                out.extend(keyed.iter().map(|&(_, i)| i));
            }
            out
        };
        // Never `None` when shared keys are allowed.
        self.match_in(canonical(base), canonical(period), false)
            .unwrap_or_default()
    }

    /// Whether each batch is of period `p`.
    fn batches_of(&self, p: Period) -> Vec<bool> {
        self.batches.iter().map(|b| b.period == p).collect()
    }

    /// Matches `now` against `before`, each household taken in the order given. With
    /// `only_if_unshared`, `None` as soon as the order could matter: two households of
    /// `before` share a key, or a household of `now` finds one already matched.
    fn match_in(
        &self,
        before: Vec<u32>,
        now: Vec<u32>,
        only_if_unshared: bool,
    ) -> Option<Matching> {
        let none: KeyPrefix = [0; 5];
        // The keys are prefixes of keyed hashes, already uniform: a fast hasher is enough.
        let mut by_kk: HashMap<KeyPrefix, u32> = HashMap::with_capacity(before.len());
        let mut by_nik: HashMap<KeyPrefix, u32> = HashMap::with_capacity(before.len());
        for (i, &b) in before.iter().enumerate() {
            let r = &self.households[b as usize];
            for (key, map) in [(r.kk, &mut by_kk), (r.nik, &mut by_nik)] {
                if key == none {
                    continue;
                }
                match map.entry(key) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(i as u32);
                    }
                    std::collections::hash_map::Entry::Occupied(_) if only_if_unshared => {
                        return None;
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                }
            }
        }
        let mut used = vec![false; before.len()];
        let mut partner = Vec::with_capacity(now.len());
        for &i in &now {
            let r = &self.households[i as usize];
            let mut found = None;
            for (key, map) in [(r.kk, &by_kk), (r.nik, &by_nik)] {
                let Some(&p) = map.get(&key).filter(|_| key != none) else {
                    continue;
                };
                if !used[p as usize] {
                    found = Some(p);
                    break;
                }
                if only_if_unshared {
                    return None;
                }
            }
            partner.push(match found {
                Some(p) => {
                    used[p as usize] = true;
                    p
                }
                None => UNMATCHED,
            });
        }
        Some(Matching {
            now,
            before,
            partner,
        })
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
