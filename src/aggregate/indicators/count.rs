//! The counted indicators.

use strum::{EnumCount, EnumMessage, EnumProperty, EnumString, IntoStaticStr, VariantArray};

use super::{Counts, Described, Field, Stated};
use crate::model::Program;

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
        message = "Household members, summed over households that state a member count; null where none does.",
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
        message = "Households in desil 1 (the poorest 10 %, shorthand for extreme poverty); null where no counted household states a desil.",
        props(label = "Rumah tangga desil 1 (sangat miskin)", short = "Desil 1")
    )]
    Desil1,
    /// Desil 2.
    #[strum(
        serialize = "desil_2",
        message = "Households in desil 2; null where no counted household states a desil.",
        props(label = "Rumah tangga desil 2", short = "Desil 2")
    )]
    Desil2,
    /// Desil 3.
    #[strum(
        serialize = "desil_3",
        message = "Households in desil 3; null where no counted household states a desil.",
        props(label = "Rumah tangga desil 3", short = "Desil 3")
    )]
    Desil3,
    /// Desil 4.
    #[strum(
        serialize = "desil_4",
        message = "Households in desil 4; null where no counted household states a desil.",
        props(label = "Rumah tangga desil 4", short = "Desil 4")
    )]
    Desil4,
    /// Desil 5.
    #[strum(
        serialize = "desil_5",
        message = "Households in desil 5; null where no counted household has a desil on the 1–10 scale.",
        props(label = "Rumah tangga desil 5", short = "Desil 5")
    )]
    Desil5,
    /// Desil 6.
    #[strum(
        serialize = "desil_6",
        message = "Households in desil 6; null where no counted household has a desil on the 1–10 scale.",
        props(label = "Rumah tangga desil 6", short = "Desil 6")
    )]
    Desil6,
    /// Desil 7.
    #[strum(
        serialize = "desil_7",
        message = "Households in desil 7; null where no counted household has a desil on the 1–10 scale.",
        props(label = "Rumah tangga desil 7", short = "Desil 7")
    )]
    Desil7,
    /// Desil 8.
    #[strum(
        serialize = "desil_8",
        message = "Households in desil 8; null where no counted household has a desil on the 1–10 scale.",
        props(label = "Rumah tangga desil 8", short = "Desil 8")
    )]
    Desil8,
    /// Desil 9.
    #[strum(
        serialize = "desil_9",
        message = "Households in desil 9; null where no counted household has a desil on the 1–10 scale.",
        props(label = "Rumah tangga desil 9", short = "Desil 9")
    )]
    Desil9,
    /// Desil 10.
    #[strum(
        serialize = "desil_10",
        message = "Households in desil 10; null where no counted household has a desil on the 1–10 scale.",
        props(label = "Rumah tangga desil 10", short = "Desil 10")
    )]
    Desil10,
    /// Households without a desil.
    #[strum(
        message = "Households without a desil.",
        props(label = "Rumah tangga tanpa desil", short = "Tanpa desil")
    )]
    DesilUnknown,
    /// Households with a desil.
    #[strum(
        message = "Households whose source states a desil: what every desil figure of the unit rests on.",
        props(label = "Rumah tangga dengan desil", short = "Desil diketahui")
    )]
    DesilKnown,
    /// Desil 1 to 4.
    #[strum(
        serialize = "desil_1_4",
        message = "Households in desil 1 to 4; null where no counted household states a desil.",
        props(label = "Rumah tangga desil 1–4", short = "Desil 1–4")
    )]
    Desil1To4,
    /// Households from sources that rank desil 1–10.
    #[strum(
        serialize = "desil_scale_10",
        message = "Households with a desil on the 1–10 scale (DTSEN, verval): what desil 5–10 rest on.",
        props(
            label = "Rumah tangga dari sumber desil 1–10",
            short = "Sumber desil 1–10"
        )
    )]
    DesilScale10,
    /// Households the source marks extreme poor.
    #[strum(
        message = "Households the source itself marks as extreme poor (miskin ekstrem); null where no counted household's source states it.",
        props(label = "Rumah tangga miskin ekstrem", short = "Miskin ekstrem")
    )]
    ExtremePoor,
    /// Households whose source states whether they are extreme poor.
    #[strum(
        message = "Households whose source states whether they are extreme poor.",
        props(
            label = "Rumah tangga dengan status miskin ekstrem",
            short = "Status miskin ekstrem diketahui"
        )
    )]
    ExtremePoorKnown,
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
    /// Households eligible for a regional programme.
    #[strum(
        message = "Households whose desil lies in the range of at least one regional programme with a beneficiary list for the period (see /api/programs); null where no such list exists or no counted household states a desil.",
        props(
            label = "Rumah tangga sasaran program daerah",
            short = "Sasaran program daerah"
        )
    )]
    ProgramEligible,
    /// Eligible households a regional programme reaches.
    #[strum(
        message = "Eligible households receiving at least one regional programme.",
        props(
            label = "Sasaran yang menerima program daerah",
            short = "Sasaran terjangkau"
        )
    )]
    ProgramCovered,
    /// Eligible households no regional programme reaches.
    #[strum(
        message = "Eligible households receiving no regional programme.",
        props(
            label = "Sasaran belum menerima program daerah",
            short = "Sasaran belum terjangkau"
        )
    )]
    ProgramUncovered,
    /// Eligible households no programme at all reaches.
    #[strum(
        message = "Eligible households receiving no regional programme and, by their source's programme status, no national programme either (households whose source states no programme status are not counted here).",
        props(
            label = "Sasaran tanpa program daerah maupun nasional",
            short = "Sasaran tanpa bantuan apa pun"
        )
    )]
    ProgramUncoveredAny,
    /// Beneficiaries of regional programmes.
    #[strum(
        message = "Households of the BNBA receiving at least one regional programme, whatever their desil.",
        props(label = "Penerima program daerah", short = "Penerima program daerah")
    )]
    ProgramBeneficiaries,
    /// Beneficiaries outside the programme's desil range, or not in the BNBA.
    #[strum(
        message = "Leakage: beneficiaries of a regional programme whose desil lies outside its range, plus list rows matching no household of the BNBA whose row names this unit's code.",
        props(
            label = "Penerima di luar sasaran (kebocoran)",
            short = "Di luar sasaran"
        )
    )]
    ProgramLeakage,
    /// Households receiving two programmes or more.
    #[strum(
        message = "Households receiving two or more programmes: regional ones, or national ones as their source states them.",
        props(
            label = "Penerima lebih dari satu program",
            short = "Tumpang tindih program"
        )
    )]
    ProgramOverlap,
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

impl Described for Count {}

impl Count {
    /// All counts, in [`Counts`] order.
    pub const ALL: &'static [Count] = <Count as VariantArray>::VARIANTS;

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

    /// The fields the count rests on: it is "no data" where the counted households state
    /// none of them.
    pub fn fields(self) -> Stated {
        let i = self as usize;
        match self {
            _ if (Count::Desil5 as usize..=Count::Desil10 as usize).contains(&i) => {
                Stated::of(&[Field::DesilTen])
            }
            _ if (Count::Desil1 as usize..=Count::Desil4 as usize).contains(&i) => {
                Stated::of(&[Field::Desil])
            }
            Count::Desil1To4 | Count::Desil1ProgramKnown | Count::Desil1PkhKnown => {
                Stated::of(&[Field::Desil])
            }
            Count::People => Stated::of(&[Field::Members]),
            Count::ExtremePoor => Stated::of(&[Field::ExtremePoor]),
            Count::Desil1NoProgram => Stated::of(&[Field::Desil, Field::Programs]),
            Count::Desil1NoPkh => Stated::of(&[Field::Desil, Field::Program(Program::Pkh)]),
            _ if (Count::Pkh as usize..=Count::Kur as usize).contains(&i) => {
                Stated::of(&[Field::Program(Program::ALL[i - Count::Pkh as usize])])
            }
            Count::ProgramEligible | Count::ProgramCovered | Count::ProgramUncovered => {
                Stated::of(&[Field::Desil, Field::RegionalPrograms])
            }
            Count::ProgramUncoveredAny => {
                Stated::of(&[Field::Desil, Field::RegionalPrograms, Field::Programs])
            }
            Count::ProgramBeneficiaries | Count::ProgramLeakage | Count::ProgramOverlap => {
                Stated::of(&[Field::RegionalPrograms])
            }
            _ => Stated::NONE,
        }
    }

    /// The count of households that state what this count rests on, when it has one
    /// (`desil_1` → `desil_known`, `pkh` → `pkh_known`).
    pub fn known_count(self) -> Option<Count> {
        let i = self as usize;
        match self {
            _ if (Count::Desil5 as usize..=Count::Desil10 as usize).contains(&i) => {
                Some(Count::DesilScale10)
            }
            _ if (Count::Desil1 as usize..=Count::Desil4 as usize).contains(&i) => {
                Some(Count::DesilKnown)
            }
            Count::Desil1To4 => Some(Count::DesilKnown),
            Count::ExtremePoor => Some(Count::ExtremePoorKnown),
            Count::Desil1NoProgram => Some(Count::Desil1ProgramKnown),
            Count::Desil1NoPkh => Some(Count::Desil1PkhKnown),
            _ if (Count::Pkh as usize..=Count::Kur as usize).contains(&i) => {
                Some(Count::program_known(Program::ALL[i - Count::Pkh as usize]))
            }
            _ => None,
        }
    }

    /// The value of the count as served, by the one rule of "no data": `None` where no source
    /// of the period covers the unit, or where no counted household states a field the count
    /// rests on ([`Count::fields`]): desil 1–4 and `desil_1_4` without any desil, desil 5–10
    /// without a desil on the 1–10 scale, `people` without a member count, `extreme_poor`
    /// without the source's own mark, a programme no household's source states. Where only
    /// part of the households state it, the value counts those that do; `{count}_known`
    /// says how many.
    pub fn value(self, counts: Option<&Counts>) -> Option<u64> {
        let counts = counts?;
        counts
            .stated()
            .covers(self.fields())
            .then_some(counts[self])
    }
}
