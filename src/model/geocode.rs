//! Where a household was placed: the geocoding result every later stage reads, and the
//! summary of a file's results.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use strum::{EnumString, IntoStaticStr, VariantArray};

use crate::region::Kode;

/// How a household's desa was found.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Quality {
    /// The household's own GPS point lies in the desa, and agrees with its code and names.
    Gps,
    /// The region code names a loaded desa.
    Code,
    /// The names match one desa exactly (after normalisation).
    NameExact,
    /// The names match one desa, with a spelling difference or a missing level.
    NameFuzzy,
    /// Only the kecamatan is known.
    KecamatanOnly,
    /// Only the kabupaten/kota is known.
    KabupatenOnly,
    /// Several desa fit and nothing tells them apart.
    Ambiguous,
    /// Nothing fits.
    Unmatched,
}

impl Quality {
    /// All qualities, best first.
    pub const ALL: &'static [Quality] = <Quality as VariantArray>::VARIANTS;

    /// The snake_case name used in files, the API and the stores.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether only the kecamatan or kabupaten/kota is known.
    pub fn is_area(&self) -> bool {
        matches!(self, Quality::KecamatanOnly | Quality::KabupatenOnly)
    }

    /// Whether the household is placed in a desa.
    pub fn has_desa(&self) -> bool {
        matches!(
            self,
            Quality::Gps | Quality::Code | Quality::NameExact | Quality::NameFuzzy
        )
    }
}

/// Something noticed while geocoding that a reviewer should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Flag {
    /// Latitude and longitude were swapped; the swapped-back point was used.
    GpsSwapped,
    /// The GPS point is (0, 0).
    GpsZero,
    /// The GPS point lies outside every loaded desa.
    GpsOutside,
    /// The GPS point lies in another desa than the code or names say.
    GpsMismatch,
    /// The region code is well formed but names no loaded unit (renumbered, stale).
    CodeStale,
    /// The region code names a kecamatan or kabupaten only (truncated).
    CodePartial,
    /// The region code is not a code at all.
    CodeInvalid,
    /// The code names one desa and the address names another (or none).
    CodeNameConflict,
    /// Not found in the field during verval ("tidak ditemukan"): kept in its batch for the
    /// record, counted nowhere.
    NotFound,
}

impl Flag {
    /// All flags, in the order they are written.
    pub const ALL: &'static [Flag] = <Flag as VariantArray>::VARIANTS;

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`Flag`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags(pub u16);

impl Flags {
    /// Adds a flag.
    pub fn set(&mut self, f: Flag) {
        self.0 |= f.bit();
    }

    /// Whether the flag is set.
    pub fn has(&self, f: Flag) -> bool {
        self.0 & f.bit() != 0
    }

    /// Whether no flag is set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The flags set, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = Flag> + '_ {
        Flag::ALL.iter().copied().filter(|f| self.has(*f))
    }

    /// Parses the `;`-separated form written by `Display`; unknown names are ignored.
    pub fn parse(s: &str) -> Flags {
        let mut out = Flags::default();
        for flag in s.split(';').filter_map(|name| name.trim().parse().ok()) {
            out.set(flag);
        }
        out
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, flag) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}

/// The geocoding result of one household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geocode {
    /// The desa, when one was chosen.
    pub kode_desa: Option<Kode>,
    /// The smallest unit known: the desa, or the kecamatan/kabupaten for `*_only`.
    pub unit: Option<Kode>,
    /// How it was found.
    pub quality: Quality,
    /// What a reviewer should see.
    pub flags: Flags,
    /// Longitude and latitude: the GPS point when `quality` is `gps`, else a stable
    /// approximate point inside the desa. `None` without a desa.
    pub point: Option<(f64, f64)>,
    /// The desa that fit equally well (ambiguous), at most [`MAX_CANDIDATES`].
    pub candidates: Vec<Kode>,
}

impl Geocode {
    /// Whether the point is an approximation inside the desa rather than the household's GPS.
    pub fn approximate(&self) -> bool {
        self.quality != Quality::Gps
    }

    /// Whether a reviewer should look at this household: not placed in a desa, or flagged.
    pub fn needs_review(&self) -> bool {
        !self.flags.has(Flag::NotFound) && (!self.quality.has_desa() || !self.flags.is_empty())
    }

    /// Whether a reviewer marked the household as not found in the field.
    pub fn not_found(&self) -> bool {
        self.flags.has(Flag::NotFound)
    }
}

/// Candidates listed on an ambiguous result.
pub const MAX_CANDIDATES: usize = 20;

/// What geocoding a file found.
#[derive(Debug, Default, Clone)]
pub struct GeocodeSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows refused by validation (see the import's reject report).
    pub rows_rejected: u64,
    /// Households geocoded.
    pub households: u64,
    /// Households per quality.
    pub by_quality: BTreeMap<Quality, u64>,
    /// Households per flag.
    pub by_flag: BTreeMap<&'static str, u64>,
    /// Households not placed in a desa, or flagged: the review queue.
    pub needs_review: u64,
}

impl GeocodeSummary {
    /// Counts one result.
    pub fn add(&mut self, g: &Geocode) {
        self.households += 1;
        self.needs_review += u64::from(g.needs_review());
        *self.by_quality.entry(g.quality).or_default() += 1;
        for f in g.flags.iter() {
            *self.by_flag.entry(f.as_str()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for q in Quality::ALL {
            assert_eq!(q.as_str().parse::<Quality>(), Ok(*q));
        }
        assert_eq!(Quality::KecamatanOnly.as_str(), "kecamatan_only");
        let mut flags = Flags::default();
        flags.set(Flag::GpsSwapped);
        flags.set(Flag::CodeNameConflict);
        assert_eq!(flags.to_string(), "gps_swapped;code_name_conflict");
        assert_eq!(
            Flags::parse("gps_swapped; code_name_conflict;nonsense"),
            flags
        );
    }
}
