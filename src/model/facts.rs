//! What aggregation reads of the store: the facts of each household (no names, no identity
//! numbers) and the denominators of rates.

use super::geocode::{Flags, Geocode, Quality};
use super::household::{DesilScale, Household, Programs};
use crate::region::Kode;

/// Households and population of a unit from the denominators file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Denominators {
    /// All households (poor or not).
    pub households: Option<u64>,
    /// Population.
    pub population: Option<u64>,
}

/// What aggregation needs of one stored household: no names, no identity numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HouseholdFacts {
    /// Its batch.
    pub batch_id: i64,
    /// The desa the geocoder chose.
    pub desa: Option<Kode>,
    /// The smallest unit the geocoder knows (the desa, or a kecamatan/kabupaten).
    pub unit: Option<Kode>,
    /// Its point (GPS or approximate).
    pub point: Option<(f64, f64)>,
    /// How it was placed; `None` when never geocoded.
    pub quality: Option<Quality>,
    /// Geocoding flags.
    pub flags: Flags,
    /// Members.
    pub members: Option<u32>,
    /// Desil.
    pub desil: Option<u8>,
    /// Desil scale.
    pub scale: Option<DesilScale>,
    /// Extreme poor as stated.
    pub extreme_poor: Option<bool>,
    /// Programmes.
    pub programs: Programs,
    /// A duplicate of a household counted elsewhere.
    pub duplicate: bool,
    /// The batch holding the household it repeats, when that is another batch: the repeat
    /// counts after all while that batch does not (a draft of the verval round).
    pub duplicate_of_batch: Option<i64>,
    /// [`Household::id_key`] of its KK hash: matches it across periods.
    pub kk_key: Option<i64>,
    /// [`Household::id_key`] of its head's NIK hash.
    pub nik_key: Option<i64>,
}

impl HouseholdFacts {
    /// The facts of a stored household.
    pub fn of(batch_id: i64, h: &Household) -> HouseholdFacts {
        HouseholdFacts {
            batch_id,
            members: h.members,
            desil: h.desil,
            scale: h.desil_scale,
            extreme_poor: h.extreme_poor,
            programs: h.programs,
            duplicate: h.duplicate_of.is_some(),
            duplicate_of_batch: match h.duplicate_of {
                Some(super::household::DuplicateOf::Batch(b)) => Some(b),
                _ => None,
            },
            kk_key: Household::id_key(&h.kk_hash),
            nik_key: Household::id_key(&h.nik_hash),
            ..Default::default()
        }
        .placed(h.geocode.as_ref())
    }

    /// These facts with the desa, unit, point, quality and flags of `geocode`.
    pub fn placed(self, geocode: Option<&Geocode>) -> HouseholdFacts {
        HouseholdFacts {
            desa: geocode.and_then(|g| g.kode_desa),
            unit: geocode.and_then(|g| g.unit),
            point: geocode.and_then(|g| g.point),
            quality: geocode.map(|g| g.quality),
            flags: geocode.map(|g| g.flags).unwrap_or_default(),
            ..self
        }
    }
}
