//! Targeting: the households a programme should reach next — criteria over the households of
//! one period, units ranked by how many of them (or what share) they hold, and a quota or
//! budget cut-off down the ranking.

use serde::Serialize;

use super::count::place;
use super::indicators::Count;
use super::record::{key_prefix, HouseholdRecord, KeyPrefix, BIT_DUPLICATE, NO_UNIT};
use super::snapshot::Snapshot;
use crate::model::{Coverage, Flag, HouseholdFacts, Period, Program, Programs, TargetMember};
use crate::region::{Kode, Level};

/// What a target is drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct Criteria {
    /// The period whose households are looked at.
    pub period: Period,
    /// Households up to this desil (those without a desil are never targeted).
    pub desil_max: u8,
    /// Only households not reached by these programmes.
    pub not_covered: Option<Coverage>,
    /// Only households inside this unit.
    pub area: Option<Kode>,
    /// The level units are ranked at.
    pub level: Level,
    /// Units with fewer households of the period than this are left out.
    pub min_households: u64,
    /// Rank by the share of a unit's households targeted rather than their number.
    pub by_share: bool,
    /// Households the programme can take (a budget divided by a unit cost); `None`: all.
    pub quota: Option<u64>,
}

/// Why a target cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No data of the period.
    #[error("no households of period {0} are loaded")]
    Period(Period),
    /// The area is no loaded unit.
    #[error("area {0} is not a loaded region")]
    Area(Kode),
    /// A programme the criteria name is not registered.
    #[error("programme {0} is not registered (see /api/programs)")]
    Program(i64),
    /// Not a level units can be ranked at.
    #[error("units are ranked at desa, kecamatan or kabupaten level")]
    Level,
}

/// One ranked unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedUnit {
    /// Rank, from 1.
    pub rank: usize,
    /// Index of the unit in the snapshot.
    #[serde(skip)]
    pub unit: u32,
    /// Code.
    pub kode: Kode,
    /// Name.
    pub nama: String,
    /// Households of the period counted in the unit.
    pub households: u64,
    /// Of those, households the criteria target.
    pub targeted: u64,
    /// `targeted / households`.
    pub share: f64,
    /// Households the quota takes here (all of `targeted` without a quota).
    pub take: u64,
    /// Households taken down to this unit.
    pub cumulative: u64,
}

/// Units ranked for a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// Targeted households over all ranked units.
    pub targeted: u64,
    /// The quota, when one was set.
    pub quota: Option<u64>,
    /// Households taken.
    pub taken: u64,
    /// Units with households taken.
    pub units_taken: usize,
    /// The ranked units, best first (ties: the lower code first).
    pub units: Vec<RankedUnit>,
}

/// The criteria as a snapshot applies them, resolved once.
pub struct Target<'a> {
    snap: &'a Snapshot,
    criteria: Criteria,
    period_batches: Vec<bool>,
    program: Option<u16>,
    area: Option<u32>,
}

impl<'a> Target<'a> {
    /// Resolves `criteria` over `snap`.
    pub fn new(snap: &'a Snapshot, criteria: Criteria) -> Result<Target<'a>, TargetError> {
        if !matches!(
            criteria.level,
            Level::Desa | Level::Kecamatan | Level::Kabupaten
        ) {
            return Err(TargetError::Level);
        }
        snap.period(Some(criteria.period))
            .ok_or(TargetError::Period(criteria.period))?;
        let area = criteria
            .area
            .map(|k| snap.unit_index(k).ok_or(TargetError::Area(k)))
            .transpose()?;
        let program = match criteria.not_covered {
            Some(Coverage::Program(id)) => Some(
                snap.programs()
                    .by_id(id)
                    .map(|(i, _)| i as u16)
                    .ok_or(TargetError::Program(id))?,
            ),
            _ => None,
        };
        let period_batches = snap
            .batches()
            .iter()
            .map(|b| b.period == criteria.period)
            .collect();
        Ok(Target {
            snap,
            criteria,
            period_batches,
            program,
            area,
        })
    }

    /// The criteria.
    pub fn criteria(&self) -> &Criteria {
        &self.criteria
    }

    /// Whether a household with `desil`, national programmes `national` and regional
    /// programmes `regional` (indices into the snapshot's programme tallies) is targeted.
    pub fn wants(&self, desil: Option<u8>, national: Programs, regional: &[u16]) -> bool {
        if desil.is_none_or(|d| d > self.criteria.desil_max) {
            return false;
        }
        match self.criteria.not_covered {
            None => true,
            Some(Coverage::Program(_)) => self.program.is_none_or(|p| !regional.contains(&p)),
            Some(Coverage::AnyRegional) => regional.is_empty(),
            Some(Coverage::Any) => regional.is_empty() && national.receives == 0,
            Some(Coverage::National(p)) => national.get(p) != Some(true),
        }
    }

    /// The unit at the ranking level holding unit `u` (itself or an ancestor), inside the
    /// area; `None` when there is none (a household known only above the ranking level).
    pub fn ranked_unit_of(&self, u: u32) -> Option<u32> {
        let level = self.criteria.level;
        let mut at = Some(u);
        while let Some(x) = at {
            let unit = self.snap.unit(x);
            if unit.info.level == level {
                break;
            }
            at = unit.parent;
        }
        let at = at?;
        match self.area {
            Some(a) if a != at && !self.snap.descendants(a).contains(&at) => None,
            _ => Some(at),
        }
    }

    fn record_wanted(&self, i: usize, r: &HouseholdRecord) -> bool {
        self.period_batches[r.batch_index()]
            && self.wants(
                r.desil(),
                r.programs(),
                self.snap.programs().of_household(i),
            )
    }

    /// Ranks the units.
    pub fn rank(&self) -> Ranking {
        let snap = self.snap;
        let Some(period) = snap.period(Some(self.criteria.period)) else {
            return Ranking {
                targeted: 0,
                quota: self.criteria.quota,
                taken: 0,
                units_taken: 0,
                units: Vec::new(),
            };
        };
        let mut targeted = vec![0u64; snap.units().len()];
        let scan: Box<dyn Iterator<Item = u32>> = match self.area {
            Some(a) => Box::new(std::iter::once(a).chain(snap.descendants(a))),
            None => Box::new(0..snap.units().len() as u32),
        };
        for u in scan {
            let Some(at) = self.ranked_unit_of(u) else {
                continue;
            };
            for (i, r) in snap.households.of_unit(u) {
                targeted[at as usize] += u64::from(self.record_wanted(i, r));
            }
        }
        let mut units: Vec<RankedUnit> = targeted
            .iter()
            .enumerate()
            .filter(|(_, &t)| t > 0)
            .filter_map(|(u, &t)| {
                let households = period.counts(u as u32).map(|c| c[Count::Households])?;
                (households >= self.criteria.min_households.max(1)).then(|| {
                    let info = &snap.unit(u as u32).info;
                    RankedUnit {
                        rank: 0,
                        unit: u as u32,
                        kode: info.kode,
                        nama: info.nama.clone(),
                        households,
                        targeted: t,
                        share: t as f64 / households as f64,
                        take: 0,
                        cumulative: 0,
                    }
                })
            })
            .collect();
        units.sort_by(|a, b| {
            let key = |x: &RankedUnit| {
                if self.criteria.by_share {
                    x.share
                } else {
                    x.targeted as f64
                }
            };
            key(b)
                .total_cmp(&key(a))
                .then(b.targeted.cmp(&a.targeted))
                .then(a.kode.cmp(&b.kode))
        });
        let total: u64 = units.iter().map(|u| u.targeted).sum();
        let mut left = self.criteria.quota.unwrap_or(u64::MAX);
        let mut cumulative = 0;
        let mut units_taken = 0;
        for (i, u) in units.iter_mut().enumerate() {
            u.rank = i + 1;
            u.take = u.targeted.min(left);
            left -= u.take;
            cumulative += u.take;
            u.cumulative = cumulative;
            units_taken += usize::from(u.take > 0);
        }
        Ranking {
            targeted: total,
            quota: self.criteria.quota,
            taken: cumulative,
            units_taken,
            units,
        }
    }

    /// The ranking-level unit a stored household with `facts` of the period counts in, by
    /// the snapshot's own counting rule; `None` when it is not counted (a duplicate, not
    /// found, not placed) or counts outside the ranked units.
    pub fn unit_of_facts(&self, facts: &HouseholdFacts) -> Option<u32> {
        if facts.duplicate || facts.flags.has(Flag::NotFound) {
            return None;
        }
        let snap = self.snap;
        let chosen = facts.desa.or(facts.unit);
        let unit = chosen.and_then(|k| snap.unit_index(k)).unwrap_or(NO_UNIT);
        let placed = place(
            &snap.units,
            &snap.grid,
            &snap.desa_units,
            facts.quality,
            unit,
            facts.desa.is_some() && unit == NO_UNIT,
            facts.point.map(|(x, y)| (x as f32, y as f32)),
        )?;
        self.ranked_unit_of(placed.unit)
    }

    /// Names of the programmes a household receives: national ones as its source states
    /// them, then regional ones.
    pub fn program_names(&self, national: Programs, regional: &[u16]) -> Vec<String> {
        let tallies = self.snap.programs().tallies();
        Program::ALL
            .iter()
            .filter(|&&p| national.get(p) == Some(true))
            .map(|p| p.label().to_string())
            .chain(
                regional
                    .iter()
                    .filter_map(|&i| tallies.get(usize::from(i)))
                    .map(|t| t.info.program.name.clone()),
            )
            .collect()
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        self.snap
    }
}

/// What became of a saved target list's households in a later period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FollowUp {
    /// Households in the list.
    pub households: u64,
    /// Found among the households of the period.
    pub listed: u64,
    /// Not found (left the BNBA, or not listed in that period's files).
    pub not_listed: u64,
    /// In desil 1 when saved.
    pub desil_1_then: u64,
    /// Of those, found in a higher desil now.
    pub left_desil_1: u64,
    /// Found in a higher desil than when saved.
    pub desil_up: u64,
    /// Found in a lower desil.
    pub desil_down: u64,
    /// Counted in another unit than when saved.
    pub moved: u64,
    /// Receiving a programme now (regional, or national as the source states it).
    pub reached: u64,
    /// The same per unit of the list, by code.
    pub units: Vec<FollowUpUnit>,
}

/// [`FollowUp`] of the list's households saved in one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUpUnit {
    /// The unit when saved.
    pub kode: Kode,
    /// Households of the list saved there.
    pub households: u64,
    /// Found in the period.
    pub listed: u64,
    /// Found in a higher desil.
    pub desil_up: u64,
    /// Counted elsewhere now.
    pub moved: u64,
    /// Receiving a programme now.
    pub reached: u64,
}

impl Snapshot {
    /// Follows `members` (a saved target list) into `period`: each is looked for among the
    /// period's households by its NIK key, else its KK key (the 40-bit prefixes the
    /// snapshot matches households across periods with).
    pub fn follow_up(&self, members: &[TargetMember], period: Period) -> FollowUp {
        let wanted: std::collections::HashSet<KeyPrefix> = members
            .iter()
            .flat_map(|m| [m.nik_key, m.kk_key])
            .flatten()
            .map(|k| key_prefix(Some(k)))
            .collect();
        let in_period: Vec<bool> = self.batches.iter().map(|b| b.period == period).collect();
        let (mut by_nik, mut by_kk) = (
            std::collections::HashMap::new(),
            std::collections::HashMap::new(),
        );
        for (i, r) in self.households.iter().enumerate() {
            if !in_period[r.batch_index()] || r.bits & BIT_DUPLICATE != 0 {
                continue;
            }
            if r.nik != [0; 5] && wanted.contains(&r.nik) {
                by_nik.entry(r.nik).or_insert(i);
            }
            if r.kk != [0; 5] && wanted.contains(&r.kk) {
                by_kk.entry(r.kk).or_insert(i);
            }
        }
        let mut out = FollowUp::default();
        let mut units: std::collections::BTreeMap<Kode, FollowUpUnit> = Default::default();
        for m in members {
            let found = m
                .nik_key
                .and_then(|k| by_nik.get(&key_prefix(Some(k))))
                .or_else(|| m.kk_key.and_then(|k| by_kk.get(&key_prefix(Some(k)))))
                .copied();
            let unit = units.entry(m.kode).or_insert_with(|| FollowUpUnit {
                kode: m.kode,
                households: 0,
                listed: 0,
                desil_up: 0,
                moved: 0,
                reached: 0,
            });
            out.households += 1;
            unit.households += 1;
            out.desil_1_then += u64::from(m.desil == Some(1));
            let Some(i) = found else {
                out.not_listed += 1;
                continue;
            };
            let r = &self.households[i];
            out.listed += 1;
            unit.listed += 1;
            if let (Some(then), Some(now)) = (m.desil, r.desil()) {
                out.desil_up += u64::from(now > then);
                unit.desil_up += u64::from(now > then);
                out.desil_down += u64::from(now < then);
                out.left_desil_1 += u64::from(then == 1 && now > 1);
            }
            let now_unit = r.unit().map(|u| self.unit(u).info.kode);
            if now_unit.is_some_and(|k| k != m.kode) {
                out.moved += 1;
                unit.moved += 1;
            }
            let reached = !self.programs.of_household(i).is_empty() || r.programs().receives != 0;
            out.reached += u64::from(reached);
            unit.reached += u64::from(reached);
        }
        out.units = units.into_values().collect();
        out
    }
}
