//! Regional programmes in the snapshot: each beneficiary list matched to the households of its
//! period, and what each programme (and all of them together) reaches per unit.
//!
//! A list row matches a household of its period when its NIK key equals the head's NIK key
//! or its KK key equals the household's KK key (64-bit prefixes of the keyed hashes: two
//! different numbers share one with a probability of about 2⁻⁶⁴ per pair). Every household a
//! row matches counts as reached; a row matching none is reported, and counted as leakage in
//! the unit its region code names (when it names one).

use std::collections::HashMap;

use serde::Serialize;

use super::indicators::{Count, Counts, Field};
use super::record::HouseholdRecord;
use super::snapshot::Unit;
use crate::model::{DesilRange, Member, Period, ProgramInfo, ProgramKind};
use crate::region::Kode;

/// A programme's desil range, every desil when it names none.
fn range_of(p: &ProgramInfo) -> DesilRange {
    p.program.desil.unwrap_or(DesilRange { lo: 1, hi: 10 })
}

/// What a programme's list reaches, per unit (summed up to the province).
#[derive(Debug, Clone)]
pub struct ProgramTally {
    /// The programme.
    pub info: ProgramInfo,
    /// Index of its list's period among the snapshot's periods; `None` without a list or when
    /// no counted household is of that period.
    pub period: Option<usize>,
    /// Rows of its list.
    pub rows: u64,
    /// Rows matching a household of the period (household programmes).
    pub rows_matched: u64,
    /// Row numbers matching no household (household programmes), in file order.
    pub unmatched: Vec<u64>,
    /// Of those, rows whose region code is a known unit (counted as leakage there).
    pub unmatched_placed: u64,
    units: Vec<UnitTally>,
}

/// One unit's figures of one programme.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct UnitTally {
    beneficiaries: u32,
    covered: u32,
    leakage: u32,
    overlap: u32,
    places: u32,
    amount: f64,
}

impl UnitTally {
    fn add(&mut self, o: &UnitTally) {
        self.beneficiaries += o.beneficiaries;
        self.covered += o.covered;
        self.leakage += o.leakage;
        self.overlap += o.overlap;
        self.places += o.places;
        self.amount += o.amount;
    }
}

/// A figure of one programme in one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Households of its desil range.
    Eligible,
    /// Of those, households on its list.
    Covered,
    /// Of those, households not on its list.
    Uncovered,
    /// Uncovered among eligible.
    UncoveredShare,
    /// Households on its list outside its desil range, and rows matching no household
    /// that name the unit.
    Leakage,
    /// Households on its list receiving another programme too.
    Overlap,
    /// Households on its list.
    Beneficiaries,
    /// Places on a location programme's list.
    Places,
    /// Amount of a location programme's list, in rupiah.
    Amount,
}

impl Measure {
    /// Every measure, in the order tables show them.
    pub const ALL: [Measure; 9] = [
        Measure::Eligible,
        Measure::Covered,
        Measure::Uncovered,
        Measure::UncoveredShare,
        Measure::Leakage,
        Measure::Overlap,
        Measure::Beneficiaries,
        Measure::Places,
        Measure::Amount,
    ];

    /// Its API name.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Eligible => "eligible",
            Measure::Covered => "covered",
            Measure::Uncovered => "uncovered",
            Measure::UncoveredShare => "uncovered_share",
            Measure::Leakage => "leakage",
            Measure::Overlap => "overlap",
            Measure::Beneficiaries => "beneficiaries",
            Measure::Places => "places",
            Measure::Amount => "amount",
        }
    }

    /// Its label in Bahasa Indonesia.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Eligible => "Rumah tangga sasaran",
            Measure::Covered => "Sasaran yang menerima",
            Measure::Uncovered => "Sasaran belum menerima",
            Measure::UncoveredShare => "Porsi sasaran belum menerima",
            Measure::Leakage => "Penerima di luar sasaran",
            Measure::Overlap => "Penerima program lain juga",
            Measure::Beneficiaries => "Penerima",
            Measure::Places => "Lokasi",
            Measure::Amount => "Nilai (Rp)",
        }
    }

    /// The measures of a programme of `kind`.
    pub fn of(kind: ProgramKind) -> &'static [Measure] {
        match kind {
            ProgramKind::Household => &Measure::ALL[..7],
            ProgramKind::Location => &Measure::ALL[7..],
        }
    }

    /// Whether it is a share (0–1).
    pub fn is_share(self) -> bool {
        self == Measure::UncoveredShare
    }
}

impl std::str::FromStr for Measure {
    type Err = String;
    fn from_str(s: &str) -> Result<Measure, String> {
        Measure::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
                format!("unknown programme figure `{s}`: {}", names.join(", "))
            })
    }
}

impl ProgramTally {
    /// The value of `m` in unit `u` whose counts in the list's period are `counts` (`None`:
    /// no data there, or hidden by the disclosure rule): eligible households need the desil
    /// of the whole range stated.
    pub fn value(&self, m: Measure, u: u32, counts: Option<&Counts>) -> Option<f64> {
        let counts = counts?;
        let t = self.units.get(u as usize)?;
        let kind = self.info.program.kind;
        if !Measure::of(kind).contains(&m) {
            return None;
        }
        let eligible = || -> Option<u64> {
            let r = range_of(&self.info);
            (r.lo..=r.hi)
                .map(|d| Count::desil(d).and_then(|c| c.value(Some(counts))))
                .sum()
        };
        Some(match m {
            Measure::Eligible => eligible()? as f64,
            Measure::Covered => {
                eligible()?;
                f64::from(t.covered)
            }
            Measure::Uncovered => eligible()?.saturating_sub(u64::from(t.covered)) as f64,
            Measure::UncoveredShare => {
                let e = eligible()?;
                if e == 0 {
                    return None;
                }
                e.saturating_sub(u64::from(t.covered)) as f64 / e as f64
            }
            Measure::Leakage => f64::from(t.leakage),
            Measure::Overlap => f64::from(t.overlap),
            Measure::Beneficiaries => f64::from(t.beneficiaries),
            Measure::Places => f64::from(t.places),
            Measure::Amount => t.amount,
        })
    }

    /// The period of its list.
    pub fn list_period(&self) -> Option<Period> {
        self.info.list.as_ref().map(|l| l.period)
    }
}

/// The regional programmes of a snapshot: their tallies, which programmes each household
/// receives, and the keys to find the programmes of a stored household.
#[derive(Debug, Default, Clone)]
pub struct ProgramIndex {
    pub(super) tallies: Vec<ProgramTally>,
    /// Sets of programmes (indices into `tallies`); set 0 is empty.
    sets: Vec<Box<[u16]>>,
    set_ids: HashMap<Box<[u16]>, u16>,
    /// The set each household receives, parallel to the snapshot's households (empty when
    /// no household programme has a list).
    pub(super) of_record: Vec<u16>,
    nik: HashMap<i64, Vec<(u16, u32)>>,
    kk: HashMap<i64, Vec<(u16, u32)>>,
    matched: Vec<Vec<bool>>,
    members: Vec<Vec<Member>>,
    /// Per period: the desil some household programme with a list for it is meant for.
    union: Vec<[bool; 11]>,
    /// Per period: whether a household programme has a list for it.
    listed: Vec<bool>,
}

impl ProgramIndex {
    /// Programmes and their lists (rows empty for none).
    pub(super) fn new(lists: Vec<(ProgramInfo, Vec<Member>)>) -> ProgramIndex {
        let mut index = ProgramIndex {
            sets: vec![Box::from([])],
            ..Default::default()
        };
        index.set_ids.insert(Box::from([]), 0);
        for (i, (info, members)) in lists.into_iter().enumerate() {
            let p = i as u16;
            if info.program.kind == ProgramKind::Household && info.list.is_some() {
                for (m, row) in members.iter().enumerate() {
                    if let Some(k) = row.nik_key {
                        index.nik.entry(k).or_default().push((p, m as u32));
                    }
                    if let Some(k) = row.kk_key {
                        index.kk.entry(k).or_default().push((p, m as u32));
                    }
                }
            }
            index.matched.push(vec![false; members.len()]);
            index.tallies.push(ProgramTally {
                rows: members.len() as u64,
                info,
                period: None,
                rows_matched: 0,
                unmatched: Vec::new(),
                unmatched_placed: 0,
                units: Vec::new(),
            });
            index.members.push(members);
        }
        index
    }

    /// Whether any household programme has a list to match.
    pub(super) fn matches_households(&self) -> bool {
        !self.nik.is_empty() || !self.kk.is_empty()
    }

    /// The household programmes whose list for `period` names a household with these keys,
    /// sorted.
    pub fn programs_of(
        &self,
        period: Period,
        nik_key: Option<i64>,
        kk_key: Option<i64>,
    ) -> Vec<u16> {
        let mut out = Vec::new();
        self.each_hit(period, nik_key, kk_key, |p, _| out.push(p));
        out.sort_unstable();
        out.dedup();
        out
    }

    fn each_hit(
        &self,
        period: Period,
        nik_key: Option<i64>,
        kk_key: Option<i64>,
        mut hit: impl FnMut(u16, u32),
    ) {
        let hits = nik_key
            .and_then(|k| self.nik.get(&k))
            .into_iter()
            .chain(kk_key.and_then(|k| self.kk.get(&k)))
            .flatten();
        for &(p, m) in hits {
            if self.tallies[usize::from(p)].list_period() == Some(period) {
                hit(p, m);
            }
        }
    }

    /// Matches one household of `period` (the builder calls it for every household, in
    /// order): marks the rows naming it and records the set of programmes it receives.
    pub(super) fn push(&mut self, period: Period, nik_key: Option<i64>, kk_key: Option<i64>) {
        let mut progs: Vec<u16> = Vec::new();
        let mut rows: Vec<(u16, u32)> = Vec::new();
        self.each_hit(period, nik_key, kk_key, |p, m| {
            progs.push(p);
            rows.push((p, m));
        });
        for (p, m) in rows {
            self.matched[usize::from(p)][m as usize] = true;
        }
        progs.sort_unstable();
        progs.dedup();
        let id = self.intern(progs);
        self.of_record.push(id);
    }

    fn intern(&mut self, progs: Vec<u16>) -> u16 {
        if progs.is_empty() {
            return 0;
        }
        let key: Box<[u16]> = progs.into_boxed_slice();
        if let Some(&id) = self.set_ids.get(&key) {
            return id;
        }
        // More distinct combinations than a u16 holds cannot happen with fewer than 16
        // programmes per period; past that the last set absorbs the rest (counted as
        // receiving its programmes), which the tallies' row counts would show.
        let id = u16::try_from(self.sets.len()).unwrap_or(u16::MAX);
        if usize::from(id) == self.sets.len() {
            self.sets.push(key.clone());
            self.set_ids.insert(key, id);
        }
        id
    }

    /// The programmes household `i` of the snapshot receives (indices into
    /// [`ProgramIndex::tallies`]).
    pub fn of_household(&self, i: usize) -> &[u16] {
        self.of_record
            .get(i)
            .map_or(&[][..], |&s| &self.sets[usize::from(s)])
    }

    /// Every programme's tally, in the order programmes were given.
    pub fn tallies(&self) -> &[ProgramTally] {
        &self.tallies
    }

    /// The tally of programme `id`.
    pub fn by_id(&self, id: i64) -> Option<(usize, &ProgramTally)> {
        self.tallies
            .iter()
            .enumerate()
            .find(|(_, t)| t.info.id == id)
    }

    /// Counts what the lists reach once the households are placed and grouped: per-programme
    /// tallies and the `program_*` counts of every unit (not yet summed up), for each period
    /// with a household programme's list.
    pub(super) fn tally(
        &mut self,
        records: &[HouseholdRecord],
        units: &[Unit],
        index: &HashMap<Kode, u32>,
        periods: &[Period],
        batch_period: &[usize],
        counts: &mut [Vec<Counts>],
    ) {
        let n_units = units.len();
        for t in &mut self.tallies {
            t.units = vec![UnitTally::default(); n_units];
            t.period = t.list_period().and_then(|p| periods.binary_search(&p).ok());
        }
        // The desil reached by some household programme, per period.
        let mut union = vec![[false; 11]; periods.len()];
        let mut listed = vec![false; periods.len()];
        for t in &self.tallies {
            if let (Some(p), ProgramKind::Household) = (t.period, t.info.program.kind) {
                let r = range_of(&t.info);
                for d in r.lo..=r.hi {
                    union[p][usize::from(d)] = true;
                }
                listed[p] = true;
            }
        }
        for (i, r) in records.iter().enumerate() {
            let Some(u) = r.unit() else { continue };
            let period = batch_period[r.batch_index()];
            if !listed[period] {
                continue;
            }
            let set = self.of_record.get(i).copied().unwrap_or(0);
            let progs = &self.sets[usize::from(set)];
            let desil = r.desil();
            let eligible = desil.is_some_and(|d| union[period][usize::from(d)]);
            let national = r.programs();
            let c = &mut counts[period][u as usize];
            if progs.is_empty() {
                if eligible && national.known != 0 && national.receives == 0 {
                    c[Count::ProgramUncoveredAny] += 1;
                }
                continue;
            }
            let overlap = progs.len() + national.receives.count_ones() as usize >= 2;
            c[Count::ProgramBeneficiaries] += 1;
            c[Count::ProgramCovered] += u64::from(eligible);
            c[Count::ProgramOverlap] += u64::from(overlap);
            let mut leaked = false;
            for &p in progs {
                let t = &mut self.tallies[usize::from(p)];
                let range = range_of(&t.info);
                let ut = &mut t.units[u as usize];
                ut.beneficiaries += 1;
                ut.overlap += u32::from(overlap);
                match desil {
                    Some(d) if range.contains(d) => ut.covered += 1,
                    Some(_) => {
                        ut.leakage += 1;
                        leaked = true;
                    }
                    None => {}
                }
            }
            c[Count::ProgramLeakage] += u64::from(leaked);
        }
        // Rows matching nothing, and the places of location programmes.
        for (p, t) in self.tallies.iter_mut().enumerate() {
            let Some(period) = t.period else { continue };
            let household = t.info.program.kind == ProgramKind::Household;
            for (m, row) in self.members[p].iter().enumerate() {
                let unit = row.kode.and_then(|k| index.get(&k).copied());
                if !household {
                    if let Some(u) = unit {
                        t.units[u as usize].places += 1;
                        t.units[u as usize].amount += row.amount.unwrap_or(0.0);
                    }
                    continue;
                }
                if self.matched[p][m] {
                    t.rows_matched += 1;
                    continue;
                }
                t.unmatched.push(row.row);
                if let Some(u) = unit {
                    t.unmatched_placed += 1;
                    t.units[u as usize].leakage += 1;
                    counts[period][u as usize][Count::ProgramLeakage] += 1;
                }
            }
            // Summed up to the province (units are sorted parents first).
            for u in (0..n_units).rev() {
                if let Some(parent) = units[u].parent {
                    let child = t.units[u];
                    t.units[parent as usize].add(&child);
                }
            }
        }
        self.members = Vec::new();
        self.matched = Vec::new();
        self.union = union;
        self.listed = listed;
    }

    /// After the counts are summed up: eligible and uncovered households of every unit, and
    /// the regional-programme field stated, in each period with a household programme's list.
    pub(super) fn finish_counts(&self, period: usize, counts: &mut [Counts]) {
        if !self.listed.get(period).copied().unwrap_or(false) {
            return;
        }
        let union = self.union[period];
        for c in counts.iter_mut() {
            let eligible: u64 = (1..=10u8)
                .filter(|&d| union[usize::from(d)])
                .filter_map(Count::desil)
                .map(|k| c[k])
                .sum();
            c[Count::ProgramEligible] = eligible;
            c[Count::ProgramUncovered] = eligible.saturating_sub(c[Count::ProgramCovered]);
            let mut stated = c.stated();
            stated.insert(Field::RegionalPrograms);
            c.set_stated(stated);
        }
    }
}
