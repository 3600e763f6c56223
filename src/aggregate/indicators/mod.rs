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

use crate::model::{Denominators, DesilScale, Flag, Flags, Program, Programs, Quality};

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

/// The counts of one unit in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts([u64; Count::COUNT]);

impl Counts {
    /// Every count zero.
    pub const ZERO: Counts = Counts([0; Count::COUNT]);

    /// Adds `other` into these counts.
    pub fn add(&mut self, other: &Counts) {
        for (x, y) in self.0.iter_mut().zip(&other.0) {
            *x += *y;
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
        &self.0[c as usize]
    }
}

impl IndexMut<Count> for Counts {
    fn index_mut(&mut self, c: Count) -> &mut u64 {
        &mut self.0[c as usize]
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
    /// Extreme poor as the source states it.
    pub extreme_poor: bool,
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
    /// Adds one household to `counts`.
    pub fn add_to(&self, counts: &mut Counts) {
        counts[Count::Households] += 1;
        match self.members {
            Some(m) => counts[Count::People] += u64::from(m),
            None => counts[Count::MembersUnknown] += 1,
        }
        match self.desil.and_then(Count::desil) {
            Some(d) => {
                counts[d] += 1;
                if self.desil.is_some_and(|d| d <= 4) {
                    counts[Count::Desil1To4] += 1;
                }
            }
            None => counts[Count::DesilUnknown] += 1,
        }
        if self.scale == Some(DesilScale::Ten) {
            counts[Count::DesilScale10] += 1;
        }
        counts[Count::ExtremePoor] += u64::from(self.extreme_poor);
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
        match self.quality {
            Some(Quality::Gps) => counts[Count::QualityGps] += 1,
            Some(Quality::Code) => counts[Count::QualityCode] += 1,
            Some(Quality::NameExact | Quality::NameFuzzy) => counts[Count::QualityName] += 1,
            _ => {}
        }
        counts[Count::Flagged] += u64::from(self.flagged);
        counts[Count::GpsMismatch] += u64::from(self.gps_mismatch);
    }

    /// Whether `flags` (a geocode's flag bits) hold a GPS mismatch.
    pub fn mismatch_in(flags: Flags) -> bool {
        flags.has(Flag::GpsMismatch)
    }
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
/// when the base is zero) for every count and rate, null where either side has no data.
pub fn serialize_change<M: SerializeMap>(
    map: &mut M,
    now: Option<&Counts>,
    base: Option<&Counts>,
    den: &Denominators,
) -> Result<(), M::Error> {
    for indicator in Indicator::all() {
        let (abs, rel) = change(indicator.value(base, den), indicator.value(now, den));
        let name = indicator.name();
        map.serialize_entry(&format!("{name}_change"), &abs)?;
        map.serialize_entry(&format!("{name}_change_rel"), &rel)?;
    }
    Ok(())
}

/// Absolute and relative change from `base` to `now`.
pub fn change(base: Option<f64>, now: Option<f64>) -> (Option<f64>, Option<f64>) {
    match (base, now) {
        (Some(a), Some(b)) => (Some(b - a), (a != 0.0).then(|| (b - a) / a)),
        _ => (None, None),
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
        assert_eq!(Count::COUNT, 47);
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
            extreme_poor: true,
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
        let mut no_members = Counts::ZERO;
        Contribution::default().add_to(&mut no_members);
        assert_eq!(Count::People.value(Some(&no_members)), None);
    }

    #[test]
    fn rates_are_unknown_without_a_denominator_not_zero() {
        let mut counts = Counts::ZERO;
        counts[Count::Households] = 5;
        counts[Count::Desil1] = 2;
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
        assert_eq!(change(Some(4.0), Some(3.0)), (Some(-1.0), Some(-0.25)));
        assert_eq!(change(Some(0.0), Some(3.0)), (Some(3.0), None));
        assert_eq!(change(None, Some(3.0)), (None, None));
    }
}
