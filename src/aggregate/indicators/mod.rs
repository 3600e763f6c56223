//! The indicators of one unit in one period: a fixed array of counts, summed from desa up to
//! the province, and the rates derived from them.
//!
//! Every indicator is a variant of [`Count`] or [`Rate`], which carries its API field name,
//! what it counts (English, for the OpenAPI document) and its labels (Bahasa Indonesia, for
//! the web page); the API, the CSV output, the tiles, the OpenAPI document and the page's
//! field list are all generated from these two enums, so a field cannot be served without
//! being documented, nor named twice.

mod count;
mod rate;

use std::fmt;
use std::ops::{Index, IndexMut};
use std::str::FromStr;

use serde::ser::SerializeMap;
use strum::{EnumCount, EnumProperty};

use crate::model::{Denominators, DesilScale, Flag, Flags, Period, Program, Programs, Quality};

pub use count::Count;
pub use rate::{Denominator, Rate};

/// What a count or rate says of itself through the attributes of its enum: its API field name
/// (`desil_1`), what it is in English (the OpenAPI description) and its labels in Bahasa
/// Indonesia (`label`, `short`).
pub trait Described: Copy + Into<&'static str> + strum::EnumMessage + EnumProperty {
    /// The API field name.
    fn name(self) -> &'static str {
        self.into()
    }

    /// What it is, in English.
    fn about(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    /// A label in Bahasa Indonesia (`label` or `short`), when it has one.
    fn labelled(self, key: &str) -> Option<&'static str> {
        self.get_str(key)
    }
}

/// Any indicator: a count or a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// A count.
    Count(Count),
    /// A rate.
    Rate(Rate),
}

/// A name that is no indicator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown indicator `{0}` (the indicators are listed at /api/fields and in /api/openapi.json)"
)]
pub struct UnknownIndicator(pub String);

impl Indicator {
    /// Every indicator: the counts, then the rates, in API order.
    pub fn all() -> impl Iterator<Item = Indicator> + Clone {
        Count::ALL
            .iter()
            .map(|&c| Indicator::Count(c))
            .chain(Rate::ALL.iter().map(|&r| Indicator::Rate(r)))
    }

    /// The API field name.
    pub fn name(self) -> &'static str {
        match self {
            Indicator::Count(c) => c.name(),
            Indicator::Rate(r) => r.name(),
        }
    }

    /// What it is, in English.
    pub fn about(self) -> &'static str {
        match self {
            Indicator::Count(c) => c.about(),
            Indicator::Rate(r) => r.about(),
        }
    }

    /// Its label in Bahasa Indonesia, as the map's indicator list and legend title name it.
    pub fn label(self) -> &'static str {
        self.prop("label")
    }

    /// Its short label in Bahasa Indonesia, as a table of figures names it.
    pub fn short_label(self) -> &'static str {
        self.prop("short")
    }

    fn prop(self, key: &str) -> &'static str {
        match self {
            Indicator::Count(c) => c.labelled(key),
            Indicator::Rate(r) => r.labelled(key),
        }
        .unwrap_or_else(|| self.name())
    }

    /// Whether it is a share (0–1) rather than a number of households or people.
    pub fn is_share(self) -> bool {
        matches!(self, Indicator::Rate(_))
    }

    /// Its value for a unit, `None` for no data.
    pub fn value(self, counts: Option<&Counts>, den: &Denominators) -> Option<f64> {
        match self {
            Indicator::Count(c) => c.value(counts).map(|v| v as f64),
            Indicator::Rate(r) => r.value(counts?, den),
        }
    }
}

impl FromStr for Indicator {
    type Err = UnknownIndicator;
    fn from_str(s: &str) -> Result<Indicator, UnknownIndicator> {
        s.parse::<Count>()
            .map(Indicator::Count)
            .or_else(|_| s.parse::<Rate>().map(Indicator::Rate))
            .map_err(|_| UnknownIndicator(s.to_string()))
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Indicator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Indicator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Indicator, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A field a source may state or leave out. An indicator resting on a field no counted
/// household states is "no data" (null), never 0: DTKS and verval files state no desil, a
/// P3KE file states no BST, and a map must not read their silence as "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The member count.
    Members,
    /// A desil, on either scale.
    Desil,
    /// A desil on the 1–4 scale (P3KE, DTKS-era ranks).
    DesilFour,
    /// A desil on the 1–10 scale (DTSEN, verval): the only source of desil 5–10.
    DesilTen,
    /// The source's own extreme-poor mark (P3KE's status, verval's `Sangat Miskin`).
    ExtremePoor,
    /// At least one programme.
    Programs,
    /// One programme.
    Program(Program),
    /// The lists of the regional programmes (a period has them when at least one household
    /// programme's list is matched to it).
    RegionalPrograms,
}

impl Field {
    /// Every field.
    pub fn all() -> impl Iterator<Item = Field> {
        [
            Field::Members,
            Field::Desil,
            Field::DesilFour,
            Field::DesilTen,
            Field::ExtremePoor,
            Field::Programs,
        ]
        .into_iter()
        .chain(Program::ALL.iter().map(|&p| Field::Program(p)))
        .chain([Field::RegionalPrograms])
    }

    fn bit(self) -> u16 {
        match self {
            Field::Members => 1,
            Field::Desil => 1 << 1,
            Field::DesilFour => 1 << 2,
            Field::DesilTen => 1 << 3,
            Field::ExtremePoor => 1 << 4,
            Field::Programs => 1 << 5,
            Field::Program(p) => 1 << (6 + p as u16),
            Field::RegionalPrograms => 1 << 15,
        }
    }

    /// Its API name (`desil`, `desil_10`, `pkh`…).
    pub fn name(self) -> &'static str {
        match self {
            Field::Members => "members",
            Field::Desil => "desil",
            Field::DesilFour => "desil_4",
            Field::DesilTen => "desil_10",
            Field::ExtremePoor => "extreme_poor",
            Field::Programs => "programs",
            Field::Program(p) => p.as_str(),
            Field::RegionalPrograms => "regional_programs",
        }
    }

    /// Its name in Bahasa Indonesia, as "tidak memuat …" completes it.
    pub fn label(self) -> &'static str {
        match self {
            Field::Members => "jumlah anggota rumah tangga",
            Field::Desil => "desil",
            Field::DesilFour => "desil skala 1–4",
            Field::DesilTen => "desil skala 1–10",
            Field::ExtremePoor => "status miskin ekstrem",
            Field::Programs => "status bantuan",
            Field::Program(p) => p.label(),
            Field::RegionalPrograms => "daftar penerima program daerah",
        }
    }
}

/// A set of [`Field`]s: those the households of a unit state, or those an indicator rests on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stated(u16);

impl Stated {
    /// No field.
    pub const NONE: Stated = Stated(0);

    /// The set holding `fields`.
    pub fn of(fields: &[Field]) -> Stated {
        Stated(fields.iter().fold(0, |a, f| a | f.bit()))
    }

    /// Whether `f` is in the set.
    pub fn has(self, f: Field) -> bool {
        self.0 & f.bit() != 0
    }

    /// Whether every field of `other` is in the set.
    pub fn covers(self, other: Stated) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    pub fn with(self, other: Stated) -> Stated {
        Stated(self.0 | other.0)
    }

    /// Adds `f`.
    pub fn insert(&mut self, f: Field) {
        self.0 |= f.bit();
    }

    /// The fields of `of` missing from this set.
    pub fn missing(self, of: Stated) -> impl Iterator<Item = Field> {
        Field::all().filter(move |&f| of.has(f) && !self.has(f))
    }

    /// The single programmes in the set (without [`Field::Programs`] or any other field).
    pub fn programs(self) -> Stated {
        // Programme bits are bits 6 to 14 (`Field::bit`).
        Stated(self.0 & !((1 << 6) - 1) & !(1 << 15))
    }

    /// The fields in the set, in [`Field::all`] order.
    pub fn fields(self) -> impl Iterator<Item = Field> {
        Field::all().filter(move |&f| self.has(f))
    }
}

impl serde::Serialize for Stated {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.fields().map(Field::name))
    }
}

/// The counts of one unit in one period, and the fields its households state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    values: [u64; Count::COUNT],
    stated: Stated,
}

impl Counts {
    /// Every count zero, no field stated.
    pub const ZERO: Counts = Counts {
        values: [0; Count::COUNT],
        stated: Stated::NONE,
    };

    /// Adds `other` into these counts.
    pub fn add(&mut self, other: &Counts) {
        for (x, y) in self.values.iter_mut().zip(&other.values) {
            *x += *y;
        }
        self.stated = self.stated.with(other.stated);
    }

    /// The fields the counted households state. A unit without households takes those of
    /// the kabupaten/kota around it (see `aggregate::count::coverage`): in a period whose
    /// source states desil, a desa with no listed household has a real 0 in desil 1.
    pub fn stated(&self) -> Stated {
        self.stated
    }

    /// Sets the fields stated (for a unit without households).
    pub fn set_stated(&mut self, stated: Stated) {
        self.stated = stated;
    }

    /// How many counted households state what `c` rests on (all of them when it rests on
    /// nothing): its `_known` count.
    pub fn known(&self, c: Count) -> u64 {
        match c.known_count() {
            Some(k) => self[k],
            None if c == Count::People => {
                self[Count::Households].saturating_sub(self[Count::MembersUnknown])
            }
            None => self[Count::Households],
        }
    }
}

impl Default for Counts {
    fn default() -> Counts {
        Counts::ZERO
    }
}

impl Index<Count> for Counts {
    type Output = u64;
    fn index(&self, c: Count) -> &u64 {
        &self.values[c as usize]
    }
}

impl IndexMut<Count> for Counts {
    fn index_mut(&mut self, c: Count) -> &mut u64 {
        &mut self.values[c as usize]
    }
}

/// What one household adds to the counts of the unit it is counted in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contribution {
    /// Members, when stated.
    pub members: Option<u16>,
    /// Desil, when stated.
    pub desil: Option<u8>,
    /// Its scale.
    pub scale: Option<DesilScale>,
    /// Extreme poor as the source states it (`None`: the source does not say).
    pub extreme_poor: Option<bool>,
    /// Programmes.
    pub programs: Programs,
    /// How it was placed.
    pub quality: Option<Quality>,
    /// Geocoding flags.
    pub flagged: bool,
    /// GPS contradicted code or names.
    pub gps_mismatch: bool,
}

impl Contribution {
    /// The fields the household states.
    pub fn stated(&self) -> Stated {
        let mut s = Stated::NONE;
        if self.members.is_some() {
            s.insert(Field::Members);
        }
        if let Some(d) = self.desil {
            s.insert(Field::Desil);
            // A desil without a scale (a custom mapping naming none) above 4 can only be on
            // the 1–10 scale.
            s.insert(if self.scale == Some(DesilScale::Ten) || d > 4 {
                Field::DesilTen
            } else {
                Field::DesilFour
            });
        }
        if self.extreme_poor.is_some() {
            s.insert(Field::ExtremePoor);
        }
        if self.programs.known != 0 {
            s.insert(Field::Programs);
        }
        for &p in Program::ALL {
            if self.programs.get(p).is_some() {
                s.insert(Field::Program(p));
            }
        }
        s
    }

    /// The count of how the household was placed: `quality_gps`, `quality_code` or
    /// `quality_name` (`None`: not placed by any of them).
    pub fn placed_by(&self) -> Option<Count> {
        match self.quality {
            Some(Quality::Gps) => Some(Count::QualityGps),
            Some(Quality::Code) => Some(Count::QualityCode),
            Some(Quality::NameExact | Quality::NameFuzzy) => Some(Count::QualityName),
            _ => None,
        }
    }

    /// Adds one household to `counts`.
    pub fn add_to(&self, counts: &mut Counts) {
        let stated = self.stated();
        counts.stated = counts.stated.with(stated);
        counts[Count::Households] += 1;
        match self.members {
            Some(m) => counts[Count::People] += u64::from(m),
            None => counts[Count::MembersUnknown] += 1,
        }
        match self.desil.and_then(Count::desil) {
            Some(d) => {
                counts[d] += 1;
                counts[Count::DesilKnown] += 1;
                if self.desil.is_some_and(|d| d <= 4) {
                    counts[Count::Desil1To4] += 1;
                }
            }
            None => counts[Count::DesilUnknown] += 1,
        }
        counts[Count::DesilScale10] += u64::from(stated.has(Field::DesilTen));
        if let Some(extreme) = self.extreme_poor {
            counts[Count::ExtremePoorKnown] += 1;
            counts[Count::ExtremePoor] += u64::from(extreme);
        }
        for &p in Program::ALL {
            if let Some(receives) = self.programs.get(p) {
                counts[Count::program_known(p)] += 1;
                counts[Count::program(p)] += u64::from(receives);
            }
        }
        if self.desil == Some(1) {
            if self.programs.known != 0 {
                counts[Count::Desil1ProgramKnown] += 1;
                counts[Count::Desil1NoProgram] += u64::from(self.programs.receives == 0);
            }
            if let Some(pkh) = self.programs.get(Program::Pkh) {
                counts[Count::Desil1PkhKnown] += 1;
                counts[Count::Desil1NoPkh] += u64::from(!pkh);
            }
        }
        if let Some(placed) = self.placed_by() {
            counts[placed] += 1;
        }
        counts[Count::Flagged] += u64::from(self.flagged);
        counts[Count::GpsMismatch] += u64::from(self.gps_mismatch);
    }

    /// Whether `flags` (a geocode's flag bits) hold a GPS mismatch.
    pub fn mismatch_in(flags: Flags) -> bool {
        flags.has(Flag::GpsMismatch)
    }
}

/// Rates and shares over fewer households than this are flagged "terlalu sedikit data", not
/// trusted: one household in three is 33 % and says nothing about a desa.
pub const DEFAULT_MIN_HOUSEHOLDS: u64 = 10;

/// The rates of a unit that rest on fewer than `min_households` households ([`Rate::base`]).
pub fn few_households(
    counts: Option<&Counts>,
    den: &Denominators,
    min_households: u64,
) -> Vec<Rate> {
    let Some(c) = counts else {
        return Vec::new();
    };
    Rate::ALL
        .iter()
        .copied()
        .filter(|r| r.value(c, den).is_some() && r.base(c, den) < min_households)
        .collect()
}

/// Writes every count and rate of a unit into a JSON map (null for no data).
pub fn serialize_values<M: SerializeMap>(
    map: &mut M,
    counts: Option<&Counts>,
    den: &Denominators,
) -> Result<(), M::Error> {
    for &c in Count::ALL {
        map.serialize_entry(c.name(), &c.value(counts))?;
    }
    for &r in Rate::ALL {
        map.serialize_entry(r.name(), &counts.and_then(|c| r.value(c, den)))?;
    }
    Ok(())
}

/// Writes `{field}_change` (absolute) and `{field}_change_rel` (relative to the base; null
/// when the base is zero) for every count and rate, null where the change is not measured,
/// and `change_notes`: for each null change, why (in Bahasa Indonesia, as the page shows it).
pub fn serialize_change<M: SerializeMap>(
    map: &mut M,
    now: Side<'_>,
    base: Side<'_>,
    den: &Denominators,
) -> Result<(), M::Error> {
    let mut notes = serde_json::Map::new();
    for indicator in Indicator::all() {
        let c = indicator.change(now, base, den);
        let name = indicator.name();
        map.serialize_entry(&format!("{name}_change"), &c.abs)?;
        map.serialize_entry(&format!("{name}_change_rel"), &c.rel)?;
        if let Some(reason) = c.reason {
            notes.insert(name.to_string(), reason.into());
        }
    }
    map.serialize_entry("change_notes", &notes)
}

/// One side of a comparison: a period and a unit's counts in it (`None`: no data).
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The period.
    pub period: Period,
    /// The unit's counts.
    pub counts: Option<&'a Counts>,
}

/// A change between two periods, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `now − base`.
    pub abs: Option<f64>,
    /// `(now − base) / base`; null when the base is zero.
    pub rel: Option<f64>,
    /// Why the change is null, in Bahasa Indonesia (`None` when it is measured).
    pub reason: Option<String>,
}

impl Indicator {
    /// The fields it rests on.
    pub fn fields(self) -> Stated {
        match self {
            Indicator::Count(c) => c.fields(),
            Indicator::Rate(r) => r.fields(),
        }
    }

    /// Why the indicator has no value on `side`, in Bahasa Indonesia (`None` when it has one,
    /// or when only its denominator is missing): no source of the period covers the unit, or
    /// its sources do not state a field it rests on.
    pub fn missing_reason(self, side: Side<'_>, den: &Denominators) -> Option<String> {
        let Some(c) = side.counts else {
            return Some(format!("tidak ada data untuk {}", side.period));
        };
        if self.value(Some(c), den).is_some() {
            return None;
        }
        let missing: Vec<&str> = c
            .stated()
            .missing(self.fields())
            .map(Field::label)
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "sumber {} tidak memuat {}",
                side.period,
                missing.join(" dan ")
            )
        })
    }

    /// The change from `base` to `now`, measured only where both periods state the indicator
    /// with the same definition: every field it rests on stated on both sides, desil on the
    /// same scale, the same programmes behind "any programme". Otherwise null with a reason.
    pub fn change(self, now: Side<'_>, base: Side<'_>, den: &Denominators) -> Change {
        let null = |reason: String| Change {
            abs: None,
            rel: None,
            reason: Some(reason),
        };
        let (Some(a), Some(b)) = (base.counts, now.counts) else {
            let side = if base.counts.is_none() { base } else { now };
            return null(format!("tidak ada data untuk {}", side.period));
        };
        for (side, c) in [(base, a), (now, b)] {
            let missing: Vec<&str> = c
                .stated()
                .missing(self.fields())
                .map(Field::label)
                .collect();
            if !missing.is_empty() {
                return null(format!(
                    "tidak sebanding: {} tidak memuat {}",
                    side.period,
                    missing.join(" dan ")
                ));
            }
        }
        let fields = self.fields();
        if fields.has(Field::Desil) || fields.has(Field::DesilTen) {
            let scale = |c: &Counts| match (
                c.stated().has(Field::DesilFour),
                c.stated().has(Field::DesilTen),
            ) {
                (true, false) => "1–4",
                (false, true) => "1–10",
                _ => "1–4 dan 1–10",
            };
            if scale(a) != scale(b) {
                return null(format!(
                    "tidak sebanding: skala desil berbeda ({}: {}, {}: {})",
                    base.period,
                    scale(a),
                    now.period,
                    scale(b)
                ));
            }
        }
        if fields.has(Field::Programs) && a.stated().programs() != b.stated().programs() {
            return null(format!(
                "tidak sebanding: bantuan yang dimuat berbeda antara {} dan {}",
                base.period, now.period
            ));
        }
        match (self.value(Some(a), den), self.value(Some(b), den)) {
            (Some(x), Some(y)) => Change {
                abs: Some(y - x),
                rel: (x != 0.0).then(|| (y - x) / x),
                reason: None,
            },
            (x, _) => null(format!(
                "tidak ada nilai untuk {}",
                if x.is_none() { base.period } else { now.period }
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_documented_labelled_and_in_place() {
        let names: Vec<&str> = Indicator::all().map(Indicator::name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert_eq!(Count::COUNT, 56);
        for i in Indicator::all() {
            assert!(!i.about().is_empty(), "{i} has no description");
            assert_ne!(i.label(), i.name(), "{i} has no label");
            assert_ne!(i.short_label(), i.name(), "{i} has no short label");
            assert_eq!(i.name().parse::<Indicator>(), Ok(i));
        }
        assert_eq!(Count::desil(10).map(Count::name), Some("desil_10"));
        assert_eq!(Count::desil(0), None);
        assert_eq!(Count::DesilUnknown.name(), "desil_unknown");
        assert_eq!(Count::Desil1To4.name(), "desil_1_4");
        assert_eq!(Count::program(Program::Kur).name(), "kur");
        assert_eq!(Count::program_known(Program::Pkh).name(), "pkh_known");
        assert_eq!(Count::KecamatanUnknown.name(), "kecamatan_unknown");
        for &p in Program::ALL {
            assert_eq!(Count::program(p).name(), p.as_str());
            assert_eq!(
                Count::program_known(p).name(),
                format!("{}_known", p.as_str())
            );
        }
        assert_eq!(Rate::Desil1To4Rate.name(), "desil_1_4_rate");
        assert!("planet".parse::<Indicator>().is_err());
    }

    #[test]
    fn a_household_adds_to_the_right_counts() {
        let mut programs = Programs::default();
        programs.set(Program::Pkh, false);
        programs.set(Program::Bpnt, false);
        let h = Contribution {
            members: Some(4),
            desil: Some(1),
            scale: Some(DesilScale::Four),
            extreme_poor: Some(true),
            programs,
            quality: Some(Quality::Code),
            flagged: false,
            gps_mismatch: false,
        };
        let mut counts = Counts::ZERO;
        h.add_to(&mut counts);
        h.add_to(&mut counts);
        assert_eq!(counts[Count::Households], 2);
        assert_eq!(counts[Count::People], 8);
        assert_eq!(counts[Count::Desil1], 2);
        assert_eq!(counts[Count::Desil1To4], 2);
        assert_eq!(counts[Count::Desil1NoProgram], 2);
        assert_eq!(counts[Count::Desil1NoPkh], 2);
        assert_eq!(counts[Count::PkhKnown], 2);
        assert_eq!(counts[Count::Pkh], 0);
        assert_eq!(counts[Count::QualityCode], 2);
        // Desil 5–10 are no data on a 1–4 scale; the rest are real values.
        assert_eq!(Count::Desil5.value(Some(&counts)), None);
        assert_eq!(Count::Desil2.value(Some(&counts)), Some(0));
        assert_eq!(Count::Households.value(None), None);
        // A programme no source states is unknown; one stated "no" is a real zero.
        assert_eq!(Count::Sembako.value(Some(&counts)), None);
        assert_eq!(Count::Pkh.value(Some(&counts)), Some(0));
        let mut silent = Counts::ZERO;
        Contribution::default().add_to(&mut silent);
        // A household that states nothing: every figure resting on a field is no data.
        for i in Indicator::all() {
            let v = i.value(Some(&silent), &Denominators::default());
            if i.fields() != Stated::NONE {
                assert_eq!(v, None, "{i}");
            }
        }
        assert_eq!(Count::Households.value(Some(&silent)), Some(1));
        assert_eq!(Count::DesilKnown.value(Some(&silent)), Some(0));
    }

    #[test]
    fn partly_stated_fields_count_what_is_stated_and_never_dilute_a_rate() {
        let mut counts = Counts::ZERO;
        let ranked = Contribution {
            desil: Some(1),
            scale: Some(DesilScale::Ten),
            members: Some(3),
            ..Contribution::default()
        };
        ranked.add_to(&mut counts);
        Contribution::default().add_to(&mut counts);
        let den = Denominators {
            households: Some(20),
            population: Some(80),
        };
        assert_eq!(Count::Desil1.value(Some(&counts)), Some(1));
        assert_eq!(Count::DesilKnown.value(Some(&counts)), Some(1));
        assert_eq!(counts.known(Count::Desil1), 1);
        assert_eq!(Count::Desil7.value(Some(&counts)), Some(0));
        // Half the households say nothing of their desil: a rate over all households of
        // the unit would be diluted by them.
        assert_eq!(Rate::Desil1Rate.value(&counts, &den), None);
        assert_eq!(Rate::PeopleRate.value(&counts, &den), None);
        assert_eq!(Rate::HouseholdsRate.value(&counts, &den), Some(0.1));
        ranked.add_to(&mut counts);
        let mut complete = Counts::ZERO;
        ranked.add_to(&mut complete);
        ranked.add_to(&mut complete);
        assert_eq!(Rate::Desil1Rate.value(&complete, &den), Some(0.1));
        assert_eq!(Rate::Desil1Rate.base(&complete, &den), 20);
    }

    #[test]
    fn change_is_measured_only_between_comparable_periods() {
        let p = |s: &str| s.parse::<Period>().unwrap();
        let den = Denominators::default();
        let four = Contribution {
            desil: Some(1),
            scale: Some(DesilScale::Four),
            ..Contribution::default()
        };
        let ten = Contribution {
            scale: Some(DesilScale::Ten),
            ..four
        };
        let (mut p3ke, mut dtks, mut dtsen, mut p3ke2) =
            (Counts::ZERO, Counts::ZERO, Counts::ZERO, Counts::ZERO);
        four.add_to(&mut p3ke);
        Contribution::default().add_to(&mut dtks);
        ten.add_to(&mut dtsen);
        four.add_to(&mut p3ke2);
        four.add_to(&mut p3ke2);
        let side = |period: &str, counts| Side {
            period: p(period),
            counts: Some(counts),
        };
        let d1 = Indicator::Count(Count::Desil1);
        let c = d1.change(side("2025-06", &dtks), side("2024-12", &p3ke), &den);
        assert_eq!(c.abs, None);
        assert_eq!(
            c.reason.as_deref(),
            Some("tidak sebanding: 2025-06 tidak memuat desil")
        );
        let c = d1.change(side("2025-06", &dtsen), side("2024-12", &p3ke), &den);
        assert_eq!(
            c.reason.as_deref(),
            Some("tidak sebanding: skala desil berbeda (2024-12: 1–4, 2025-06: 1–10)")
        );
        let c = d1.change(side("2025-06", &p3ke2), side("2024-12", &p3ke), &den);
        assert_eq!((c.abs, c.rel, c.reason), (Some(1.0), Some(1.0), None));
        // Household counts still compare.
        let h = Indicator::Count(Count::Households);
        let c = h.change(side("2025-06", &dtks), side("2024-12", &p3ke), &den);
        assert_eq!(c.abs, Some(0.0));
        let none = Side {
            period: p("2025-06"),
            counts: None,
        };
        let c = h.change(none, side("2024-12", &p3ke), &den);
        assert_eq!(c.reason.as_deref(), Some("tidak ada data untuk 2025-06"));
        // "Any programme" compares only the same programmes.
        let with = |p: Program| Stated::of(&[Field::Desil, Field::Programs, Field::Program(p)]);
        assert_eq!(
            with(Program::Pkh).programs(),
            Stated::of(&[Field::Program(Program::Pkh)])
        );
        assert_ne!(with(Program::Pkh).programs(), with(Program::Kur).programs());
        // Why a value is missing.
        assert_eq!(
            d1.missing_reason(side("2025-06", &dtks), &den).as_deref(),
            Some("sumber 2025-06 tidak memuat desil")
        );
        assert_eq!(d1.missing_reason(side("2024-12", &p3ke), &den), None);
        assert_eq!(
            d1.missing_reason(none, &den).as_deref(),
            Some("tidak ada data untuk 2025-06")
        );
    }

    #[test]
    fn rates_are_unknown_without_a_denominator_not_zero() {
        let mut counts = Counts::ZERO;
        for d in [1, 1, 2, 2, 2] {
            Contribution {
                desil: Some(d),
                scale: Some(DesilScale::Four),
                members: Some(1),
                ..Contribution::default()
            }
            .add_to(&mut counts);
        }
        let none = Denominators::default();
        let known = Denominators {
            households: Some(50),
            population: Some(0),
        };
        assert_eq!(Rate::Desil1Rate.value(&counts, &none), None);
        assert_eq!(Rate::Desil1Rate.value(&counts, &known), Some(0.04));
        assert_eq!(
            Rate::PeopleRate.value(&counts, &known),
            None,
            "zero population"
        );
    }
}
