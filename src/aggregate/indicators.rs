//! The indicators of one unit in one period: a fixed array of counts, summed from desa up to
//! the province, and the rates derived from them.
//!
//! Every indicator is a variant of [`Count`] or [`Rate`], which carries its API field name,
//! what it counts (English, for the OpenAPI document) and its labels (Bahasa Indonesia, for
//! the web page); the API, the CSV output, the tiles, the OpenAPI document and the page's
//! field list are all generated from these two enums, so a field cannot be served without
//! being documented, nor named twice.

use std::fmt;
use std::ops::{Index, IndexMut};
use std::str::FromStr;

use serde::ser::SerializeMap;
use strum::{EnumCount, EnumMessage, EnumProperty, EnumString, IntoStaticStr, VariantArray};

use crate::model::{Denominators, DesilScale, Flag, Flags, Program, Programs, Quality};

/// A counted indicator; its discriminant is its place in [`Counts`].
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumCount,
    EnumMessage,
    EnumProperty,
)]
#[strum(serialize_all = "snake_case")]
#[repr(usize)]
pub enum Count {
    /// Households counted in the unit.
    #[strum(
        message = "Households counted in the unit (duplicates counted once).",
        props(label = "Jumlah rumah tangga BNBA", short = "Rumah tangga BNBA")
    )]
    Households,
    /// Members of the households that state a member count.
    #[strum(
        message = "Household members, summed over households that state a member count; null when none does.",
        props(label = "Jumlah jiwa", short = "Jiwa")
    )]
    People,
    /// Households without a member count.
    #[strum(
        message = "Households without a member count.",
        props(
            label = "Rumah tangga tanpa jumlah anggota",
            short = "Tanpa jumlah anggota"
        )
    )]
    MembersUnknown,
    /// Desil 1.
    #[strum(
        serialize = "desil_1",
        message = "Households in desil 1 (the poorest 10 %, shorthand for extreme poverty).",
        props(label = "Rumah tangga desil 1 (sangat miskin)", short = "Desil 1")
    )]
    Desil1,
    /// Desil 2.
    #[strum(
        serialize = "desil_2",
        message = "Households in desil 2.",
        props(label = "Rumah tangga desil 2", short = "Desil 2")
    )]
    Desil2,
    /// Desil 3.
    #[strum(
        serialize = "desil_3",
        message = "Households in desil 3.",
        props(label = "Rumah tangga desil 3", short = "Desil 3")
    )]
    Desil3,
    /// Desil 4.
    #[strum(
        serialize = "desil_4",
        message = "Households in desil 4.",
        props(label = "Rumah tangga desil 4", short = "Desil 4")
    )]
    Desil4,
    /// Desil 5.
    #[strum(
        serialize = "desil_5",
        message = "Households in desil 5; null where no source of the unit ranks beyond desil 4.",
        props(label = "Rumah tangga desil 5", short = "Desil 5")
    )]
    Desil5,
    /// Desil 6.
    #[strum(
        serialize = "desil_6",
        message = "Households in desil 6; null where no source of the unit ranks beyond desil 4.",
        props(label = "Rumah tangga desil 6", short = "Desil 6")
    )]
    Desil6,
    /// Desil 7.
    #[strum(
        serialize = "desil_7",
        message = "Households in desil 7; null where no source of the unit ranks beyond desil 4.",
        props(label = "Rumah tangga desil 7", short = "Desil 7")
    )]
    Desil7,
    /// Desil 8.
    #[strum(
        serialize = "desil_8",
        message = "Households in desil 8; null where no source of the unit ranks beyond desil 4.",
        props(label = "Rumah tangga desil 8", short = "Desil 8")
    )]
    Desil8,
    /// Desil 9.
    #[strum(
        serialize = "desil_9",
        message = "Households in desil 9; null where no source of the unit ranks beyond desil 4.",
        props(label = "Rumah tangga desil 9", short = "Desil 9")
    )]
    Desil9,
    /// Desil 10.
    #[strum(
        serialize = "desil_10",
        message = "Households in desil 10; null where no source of the unit ranks beyond desil 4.",
        props(label = "Rumah tangga desil 10", short = "Desil 10")
    )]
    Desil10,
    /// Households without a desil.
    #[strum(
        message = "Households without a desil.",
        props(label = "Rumah tangga tanpa desil", short = "Tanpa desil")
    )]
    DesilUnknown,
    /// Desil 1 to 4.
    #[strum(
        serialize = "desil_1_4",
        message = "Households in desil 1 to 4.",
        props(label = "Rumah tangga desil 1–4", short = "Desil 1–4")
    )]
    Desil1To4,
    /// Households from sources that rank desil 1–10.
    #[strum(
        serialize = "desil_scale_10",
        message = "Households from sources that rank desil 1–10 (DTSEN).",
        props(
            label = "Rumah tangga dari sumber desil 1–10",
            short = "Sumber desil 1–10"
        )
    )]
    DesilScale10,
    /// Households the source marks extreme poor.
    #[strum(
        message = "Households the source itself marks as extreme poor (miskin ekstrem).",
        props(label = "Rumah tangga miskin ekstrem", short = "Miskin ekstrem")
    )]
    ExtremePoor,
    /// PKH receipt.
    #[strum(
        message = "Households receiving PKH; null when no household's source states it.",
        props(label = "Penerima PKH", short = "Penerima PKH")
    )]
    Pkh,
    /// BPNT receipt.
    #[strum(
        message = "Households receiving BPNT; null when no household's source states it.",
        props(label = "Penerima BPNT", short = "Penerima BPNT")
    )]
    Bpnt,
    /// Sembako receipt.
    #[strum(
        message = "Households receiving Sembako; null when no household's source states it.",
        props(label = "Penerima Sembako", short = "Penerima Sembako")
    )]
    Sembako,
    /// BLT receipt.
    #[strum(
        message = "Households receiving BLT; null when no household's source states it.",
        props(label = "Penerima BLT", short = "Penerima BLT")
    )]
    Blt,
    /// PBI receipt.
    #[strum(
        message = "Households receiving PBI JKN; null when no household's source states it.",
        props(label = "Penerima PBI JKN", short = "Penerima PBI JKN")
    )]
    Pbi,
    /// BPUM receipt.
    #[strum(
        message = "Households receiving BPUM; null when no household's source states it.",
        props(label = "Penerima BPUM", short = "Penerima BPUM")
    )]
    Bpum,
    /// BST receipt.
    #[strum(
        message = "Households receiving BST; null when no household's source states it.",
        props(label = "Penerima BST", short = "Penerima BST")
    )]
    Bst,
    /// Kartu Prakerja receipt.
    #[strum(
        message = "Households receiving Kartu Prakerja; null when no household's source states it.",
        props(label = "Penerima Kartu Prakerja", short = "Penerima Prakerja")
    )]
    Prakerja,
    /// KUR receipt.
    #[strum(
        message = "Households receiving KUR; null when no household's source states it.",
        props(label = "Penerima KUR", short = "Penerima KUR")
    )]
    Kur,
    /// Households whose source states PKH.
    #[strum(
        message = "Households whose source states PKH receipt (yes or no).",
        props(
            label = "Rumah tangga dengan status PKH",
            short = "Status PKH diketahui"
        )
    )]
    PkhKnown,
    /// Households whose source states BPNT.
    #[strum(
        message = "Households whose source states BPNT receipt.",
        props(
            label = "Rumah tangga dengan status BPNT",
            short = "Status BPNT diketahui"
        )
    )]
    BpntKnown,
    /// Households whose source states Sembako.
    #[strum(
        message = "Households whose source states Sembako receipt.",
        props(
            label = "Rumah tangga dengan status Sembako",
            short = "Status Sembako diketahui"
        )
    )]
    SembakoKnown,
    /// Households whose source states BLT.
    #[strum(
        message = "Households whose source states BLT receipt.",
        props(
            label = "Rumah tangga dengan status BLT",
            short = "Status BLT diketahui"
        )
    )]
    BltKnown,
    /// Households whose source states PBI.
    #[strum(
        message = "Households whose source states PBI receipt.",
        props(
            label = "Rumah tangga dengan status PBI JKN",
            short = "Status PBI diketahui"
        )
    )]
    PbiKnown,
    /// Households whose source states BPUM.
    #[strum(
        message = "Households whose source states BPUM receipt.",
        props(
            label = "Rumah tangga dengan status BPUM",
            short = "Status BPUM diketahui"
        )
    )]
    BpumKnown,
    /// Households whose source states BST.
    #[strum(
        message = "Households whose source states BST receipt.",
        props(
            label = "Rumah tangga dengan status BST",
            short = "Status BST diketahui"
        )
    )]
    BstKnown,
    /// Households whose source states Kartu Prakerja.
    #[strum(
        message = "Households whose source states Kartu Prakerja receipt.",
        props(
            label = "Rumah tangga dengan status Prakerja",
            short = "Status Prakerja diketahui"
        )
    )]
    PrakerjaKnown,
    /// Households whose source states KUR.
    #[strum(
        message = "Households whose source states KUR receipt.",
        props(
            label = "Rumah tangga dengan status KUR",
            short = "Status KUR diketahui"
        )
    )]
    KurKnown,
    /// Desil-1 households receiving none of the programmes stated.
    #[strum(
        serialize = "desil_1_no_program",
        message = "Desil-1 households receiving none of the programmes their source states.",
        props(
            label = "Desil 1 tanpa bantuan apa pun",
            short = "Desil 1 tanpa bantuan"
        )
    )]
    Desil1NoProgram,
    /// Desil-1 households whose source states a programme.
    #[strum(
        serialize = "desil_1_program_known",
        message = "Desil-1 households whose source states at least one programme.",
        props(
            label = "Desil 1 dengan status bantuan",
            short = "Desil 1 berstatus bantuan"
        )
    )]
    Desil1ProgramKnown,
    /// Desil-1 households not receiving PKH.
    #[strum(
        serialize = "desil_1_no_pkh",
        message = "Desil-1 households not receiving PKH (where the source states PKH).",
        props(
            label = "Desil 1 belum menerima PKH",
            short = "Desil 1 belum menerima PKH"
        )
    )]
    Desil1NoPkh,
    /// Desil-1 households whose source states PKH.
    #[strum(
        serialize = "desil_1_pkh_known",
        message = "Desil-1 households whose source states PKH receipt.",
        props(label = "Desil 1 dengan status PKH", short = "Desil 1 berstatus PKH")
    )]
    Desil1PkhKnown,
    /// Households placed by their GPS point.
    #[strum(
        message = "Households placed by their own GPS point.",
        props(label = "Rumah tangga ditempatkan menurut GPS", short = "Menurut GPS")
    )]
    QualityGps,
    /// Households placed by their region code.
    #[strum(
        message = "Households placed by their region code.",
        props(
            label = "Rumah tangga ditempatkan menurut kode wilayah",
            short = "Menurut kode wilayah"
        )
    )]
    QualityCode,
    /// Households placed by the names of their address.
    #[strum(
        message = "Households placed by the names of their address (exact or fuzzy).",
        props(
            label = "Rumah tangga ditempatkan menurut nama wilayah",
            short = "Menurut nama wilayah"
        )
    )]
    QualityName,
    /// Households with a geocoding flag.
    #[strum(
        message = "Households with a geocoding flag a reviewer should see.",
        props(label = "Rumah tangga perlu ditinjau", short = "Perlu ditinjau")
    )]
    Flagged,
    /// GPS contradicting code or names.
    #[strum(
        message = "Households whose GPS point lies in another desa than their code or names say; counted where code or names say.",
        props(
            label = "GPS tidak sesuai kode atau nama wilayah",
            short = "GPS tidak sesuai"
        )
    )]
    GpsMismatch,
    /// Point in another current desa than the one chosen.
    #[strum(
        message = "Households whose point lies in another current desa than the one chosen for them; counted in the chosen desa.",
        props(label = "Titik berada di desa lain", short = "Titik di desa lain")
    )]
    PointElsewhere,
    /// Households known only at this level or above the desa.
    #[strum(
        message = "Households known only at this level or above the desa: counted here, never spread over the desa.",
        props(
            label = "Rumah tangga tanpa desa yang diketahui",
            short = "Desa tidak diketahui"
        )
    )]
    DesaUnknown,
    /// Households known only at the kabupaten/kota.
    #[strum(
        message = "Households known only at the kabupaten/kota level.",
        props(
            label = "Rumah tangga tanpa kecamatan yang diketahui",
            short = "Kecamatan tidak diketahui"
        )
    )]
    KecamatanUnknown,
}

impl Count {
    /// All counts, in [`Counts`] order.
    pub const ALL: &'static [Count] = <Count as VariantArray>::VARIANTS;

    /// The API field name.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// What it counts, in English.
    pub fn about(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    /// Households in desil `d` (1–10).
    pub fn desil(d: u8) -> Option<Count> {
        (1..=10)
            .contains(&d)
            .then(|| Count::ALL[Count::Desil1 as usize + usize::from(d) - 1])
    }

    /// Households receiving `p`.
    pub fn program(p: Program) -> Count {
        Count::ALL[Count::Pkh as usize + p as usize]
    }

    /// Households whose source states `p`.
    pub fn program_known(p: Program) -> Count {
        Count::ALL[Count::PkhKnown as usize + p as usize]
    }

    /// The value of the count as served: `None` for "no data" — the period has no source
    /// covering the unit; desil 5–10 where every source of the unit ranks 1–4 only; `people`
    /// where no household states its members; a programme no household's source states.
    pub fn value(self, counts: Option<&Counts>) -> Option<u64> {
        let counts = counts?;
        let any = counts[Count::Households] > 0;
        let i = self as usize;
        let unknown = match self {
            _ if (Count::Desil5 as usize..=Count::Desil10 as usize).contains(&i) => {
                counts[Count::DesilScale10] == 0
            }
            Count::People => any && counts[Count::MembersUnknown] == counts[Count::Households],
            _ if (Count::Pkh as usize..=Count::Kur as usize).contains(&i) => {
                let p = Program::ALL[i - Count::Pkh as usize];
                any && counts[Count::program_known(p)] == 0
            }
            _ => false,
        };
        (!unknown).then_some(counts[self])
    }
}

/// Where a rate's denominator comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denominator {
    /// A count of the same unit.
    Count(Count),
    /// All households of the unit, from the denominators file.
    AllHouseholds,
    /// The population of the unit, from the denominators file.
    Population,
}

/// A rate derived from two counts or from a count and a denominator; null when its
/// denominator is unknown or zero, never 0.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
    EnumProperty,
)]
#[strum(serialize_all = "snake_case")]
pub enum Rate {
    /// Listed households among all.
    #[strum(
        message = "Share of all households of the unit (denominators file) that are listed.",
        props(
            label = "Persentase rumah tangga BNBA dari semua rumah tangga",
            short = "Persentase rumah tangga BNBA"
        )
    )]
    HouseholdsRate,
    /// People in listed households among the population.
    #[strum(
        message = "Share of the unit's population (denominators file) living in listed households.",
        props(
            label = "Persentase jiwa BNBA dari penduduk",
            short = "Persentase jiwa BNBA"
        )
    )]
    PeopleRate,
    /// The extreme-poverty rate.
    #[strum(
        serialize = "desil_1_rate",
        message = "Desil-1 households as a share of all households of the unit (denominators file): the extreme-poverty rate.",
        props(
            label = "Persentase desil 1 dari semua rumah tangga",
            short = "Persentase desil 1"
        )
    )]
    Desil1Rate,
    /// Desil 1–4 among all households.
    #[strum(
        serialize = "desil_1_4_rate",
        message = "Desil 1–4 households as a share of all households of the unit (denominators file).",
        props(
            label = "Persentase desil 1–4 dari semua rumah tangga",
            short = "Persentase desil 1–4"
        )
    )]
    Desil1To4Rate,
    /// PKH coverage.
    #[strum(
        message = "Share of households with a stated PKH status that receive PKH.",
        props(label = "Cakupan PKH", short = "Cakupan PKH")
    )]
    PkhCoverage,
    /// Desil-1 households receiving nothing.
    #[strum(
        serialize = "desil_1_no_program_share",
        message = "Share of desil-1 households (with a stated programme) receiving none.",
        props(
            label = "Porsi desil 1 tanpa bantuan apa pun",
            short = "Porsi desil 1 tanpa bantuan"
        )
    )]
    Desil1NoProgramShare,
    /// Desil-1 households without PKH.
    #[strum(
        serialize = "desil_1_no_pkh_share",
        message = "Share of desil-1 households (with a stated PKH status) not receiving PKH.",
        props(
            label = "Porsi desil 1 belum menerima PKH",
            short = "Porsi desil 1 belum menerima PKH"
        )
    )]
    Desil1NoPkhShare,
    /// Flagged households among those counted.
    #[strum(
        message = "Share of counted households with a geocoding flag.",
        props(
            label = "Porsi rumah tangga perlu ditinjau",
            short = "Porsi perlu ditinjau"
        )
    )]
    FlaggedShare,
}

impl Rate {
    /// All rates.
    pub const ALL: &'static [Rate] = <Rate as VariantArray>::VARIANTS;

    /// The API field name.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// What it is, in English.
    pub fn about(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    /// The count divided.
    pub fn numerator(self) -> Count {
        match self {
            Rate::HouseholdsRate => Count::Households,
            Rate::PeopleRate => Count::People,
            Rate::Desil1Rate => Count::Desil1,
            Rate::Desil1To4Rate => Count::Desil1To4,
            Rate::PkhCoverage => Count::Pkh,
            Rate::Desil1NoProgramShare => Count::Desil1NoProgram,
            Rate::Desil1NoPkhShare => Count::Desil1NoPkh,
            Rate::FlaggedShare => Count::Flagged,
        }
    }

    /// What it is divided by.
    pub fn denominator(self) -> Denominator {
        match self {
            Rate::HouseholdsRate | Rate::Desil1Rate | Rate::Desil1To4Rate => {
                Denominator::AllHouseholds
            }
            Rate::PeopleRate => Denominator::Population,
            Rate::PkhCoverage => Denominator::Count(Count::PkhKnown),
            Rate::Desil1NoProgramShare => Denominator::Count(Count::Desil1ProgramKnown),
            Rate::Desil1NoPkhShare => Denominator::Count(Count::Desil1PkhKnown),
            Rate::FlaggedShare => Denominator::Count(Count::Households),
        }
    }

    /// The value for `counts` with `den`, `None` when the denominator is unknown or zero.
    pub fn value(self, counts: &Counts, den: &Denominators) -> Option<f64> {
        let denominator = match self.denominator() {
            Denominator::Count(c) => Some(counts[c]),
            Denominator::AllHouseholds => den.households,
            Denominator::Population => den.population,
        }?;
        (denominator > 0).then(|| counts[self.numerator()] as f64 / denominator as f64)
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
            Indicator::Count(c) => c.get_str(key),
            Indicator::Rate(r) => r.get_str(key),
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
