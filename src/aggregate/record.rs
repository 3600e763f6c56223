//! One household as the snapshot keeps it, and what each batch's households came to.

use serde::Serialize;

use super::indicators::{Contribution, Stated};
use crate::model::{DesilScale, Flags, Period, Programs, Quality, SourceFormat};

/// No unit.
pub(super) const NO_UNIT: u32 = u32::MAX;
/// `bits` of a record: the source ranks desil 1–10.
pub(super) const BIT_SCALE_TEN: u8 = 1;
/// The source marks the household extreme poor.
pub(super) const BIT_EXTREME: u8 = 2;
/// A duplicate of a household counted elsewhere.
pub(super) const BIT_DUPLICATE: u8 = 4;
/// The geocode chose a desa that is not among the current boundaries.
pub(super) const BIT_DESA_GONE: u8 = 8;
/// The source states whether the household is extreme poor.
pub(super) const BIT_EXTREME_STATED: u8 = 16;
/// Member count not stated.
pub(super) const MEMBERS_UNKNOWN: u16 = u16::MAX;

/// The first 40 bits of a keyed identity hash, as a household record keeps it to match the
/// household across periods; all zero for none.
///
/// 40 bits keep the record at 36 bytes (25 million households: 0.9 GB). Two different
/// households share a prefix with probability 2⁻⁴⁰: among the 300,000 households of a
/// province no false match is expected (~0.1); among 25 million about 900 households
/// (0.004 %) could be matched wrongly, an error only in the flows between periods, never in
/// the counts.
pub(super) type KeyPrefix = [u8; 5];

/// One household as the snapshot keeps it: 36 bytes, no names, no identity numbers (only
/// 40-bit prefixes of their keyed hashes, which match it across periods).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HouseholdRecord {
    /// Prefix of its KK hash.
    pub(super) kk: KeyPrefix,
    /// Prefix of its head's NIK hash.
    pub(super) nik: KeyPrefix,
    /// Longitude of its point (GPS or approximate), NaN without one. `f32` keeps ~1 m, well
    /// below GPS accuracy.
    pub lon: f32,
    /// Latitude, NaN without a point.
    pub lat: f32,
    pub(super) unit: u32,
    pub(super) batch: u16,
    pub(super) members: u16,
    pub(super) programs_known: u16,
    pub(super) programs_receives: u16,
    pub(super) flags: u16,
    pub(super) desil: u8,
    pub(super) bits: u8,
    pub(super) quality: u8,
}

/// The record's prefix of [`crate::model::Household::id_key`] (none: all zero; a real
/// all-zero prefix, one in 2⁴⁰, becomes 1).
pub(super) fn key_prefix(key: Option<i64>) -> KeyPrefix {
    let Some(k) = key else {
        return [0; 5];
    };
    let b = k.to_le_bytes();
    let p = [b[0], b[1], b[2], b[3], b[4]];
    if p == [0; 5] {
        [1, 0, 0, 0, 0]
    } else {
        p
    }
}

impl HouseholdRecord {
    /// The unit the household is counted in (set when the snapshot is finished), `None` for
    /// duplicates and households not placed.
    pub fn unit(&self) -> Option<u32> {
        (self.unit != NO_UNIT).then_some(self.unit)
    }

    /// The index of the household's batch in [`Snapshot::batches`].
    pub fn batch_index(&self) -> usize {
        usize::from(self.batch)
    }

    /// The desil, when stated.
    pub fn desil(&self) -> Option<u8> {
        (self.desil > 0).then_some(self.desil)
    }

    /// How the household was placed (`None`: never geocoded).
    pub fn quality(&self) -> Option<Quality> {
        (self.quality > 0).then(|| Quality::ALL[usize::from(self.quality - 1)])
    }

    /// Programme receipt as the source states it.
    pub fn programs(&self) -> Programs {
        Programs {
            known: self.programs_known,
            receives: self.programs_receives,
        }
    }

    /// The member count, when stated.
    pub fn members(&self) -> Option<u16> {
        (self.members != MEMBERS_UNKNOWN).then_some(self.members)
    }

    /// Whether the record has a point.
    pub fn has_point(&self) -> bool {
        !self.lon.is_nan()
    }

    /// The keys, batch, desil, placement and bits packed in one number that orders records
    /// as [`HouseholdRecord::content`] does, up to the fields it leaves out.
    pub(super) fn order_key(&self) -> u128 {
        let prefix = |k: KeyPrefix| k.iter().fold(0u128, |acc, &b| acc << 8 | u128::from(b));
        prefix(self.kk) << 88
            | prefix(self.nik) << 48
            | u128::from(self.batch) << 32
            | u128::from(self.desil) << 24
            | u128::from(self.bits) << 16
            | u128::from(self.quality) << 8
    }

    /// Everything the record holds, as one key: records with equal keys are the same
    /// household as far as any figure can tell.
    pub(super) fn content(&self) -> impl Ord {
        (
            (self.kk, self.nik, self.batch, self.desil),
            (self.bits, self.quality, self.members, self.flags),
            (self.programs_known, self.programs_receives),
            (self.lon.to_bits(), self.lat.to_bits()),
        )
    }

    pub(super) fn contribution(&self) -> Contribution {
        let quality = (self.quality > 0).then(|| Quality::ALL[usize::from(self.quality - 1)]);
        let flags = Flags(self.flags);
        Contribution {
            members: self.members(),
            desil: self.desil(),
            scale: self.desil().map(|_| {
                if self.bits & BIT_SCALE_TEN != 0 {
                    DesilScale::Ten
                } else {
                    DesilScale::Four
                }
            }),
            extreme_poor: (self.bits & BIT_EXTREME_STATED != 0)
                .then_some(self.bits & BIT_EXTREME != 0),
            programs: Programs {
                known: self.programs_known,
                receives: self.programs_receives,
            },
            quality,
            flagged: !flags.is_empty(),
            gps_mismatch: Contribution::mismatch_in(flags),
        }
    }
}

/// A batch as the snapshot counted it. Always `households = duplicates + counted + not_placed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Batch id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Source format.
    pub source: SourceFormat,
    /// Period.
    pub period: Period,
    /// When it was imported (RFC 3339).
    pub imported_at: String,
    /// Where its households were counted.
    #[serde(flatten)]
    pub tally: BatchTally,
}

impl BatchReport {
    /// The report of batch `b` with its tally.
    pub(super) fn new(b: &BatchMeta, tally: BatchTally) -> BatchReport {
        BatchReport {
            id: b.id,
            file_name: b.file_name.clone(),
            source: b.source,
            period: b.period,
            imported_at: b.imported_at.clone(),
            tally,
        }
    }

    /// Whether the batch's households are all accounted for.
    pub fn reconciles(&self) -> bool {
        self.tally.reconciles()
    }
}

/// Where the households of a batch were counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchTally {
    /// Households stored in the batch.
    pub households: u64,
    /// Duplicates of households counted elsewhere (not counted again).
    pub duplicates: u64,
    /// Counted in a desa.
    pub counted_desa: u64,
    /// Counted at the kecamatan only (`desa_unknown`).
    pub counted_kecamatan: u64,
    /// Counted at the kabupaten/kota only.
    pub counted_kabupaten: u64,
    /// Not placed: ambiguous, unmatched, not geocoded, or its desa is gone and its point lies
    /// in no current desa.
    pub not_placed: u64,
    /// Of those: imported before any regions were loaded (never geocoded).
    pub not_geocoded: u64,
    /// Counted in the desa containing their point because the desa chosen at import is no
    /// longer among the boundaries.
    pub relocated: u64,
    /// Counted in their chosen desa although their point lies in another one.
    pub point_elsewhere: u64,
    /// The fields its households state.
    pub states: Stated,
}

impl BatchTally {
    /// Households counted in some unit.
    pub fn counted(&self) -> u64 {
        self.counted_desa + self.counted_kecamatan + self.counted_kabupaten
    }

    /// Whether the batch's households are all accounted for.
    pub fn reconciles(&self) -> bool {
        self.households == self.duplicates + self.counted() + self.not_placed
    }

    pub(super) fn merge(&mut self, o: &BatchTally) {
        self.households += o.households;
        self.duplicates += o.duplicates;
        self.counted_desa += o.counted_desa;
        self.counted_kecamatan += o.counted_kecamatan;
        self.counted_kabupaten += o.counted_kabupaten;
        self.not_placed += o.not_placed;
        self.not_geocoded += o.not_geocoded;
        self.relocated += o.relocated;
        self.point_elsewhere += o.point_elsewhere;
        self.states = self.states.with(o.states);
    }
}

/// A batch as the snapshot builder needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchMeta {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Source.
    pub source: SourceFormat,
    /// Period.
    pub period: Period,
    /// When it was imported (RFC 3339; empty when unknown).
    pub imported_at: String,
}

impl From<&BatchReport> for BatchMeta {
    fn from(r: &BatchReport) -> BatchMeta {
        BatchMeta {
            id: r.id,
            file_name: r.file_name.clone(),
            source: r.source,
            period: r.period,
            imported_at: r.imported_at.clone(),
        }
    }
}
