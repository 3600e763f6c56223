//! The counted indicators.

use strum::{EnumCount, EnumMessage, EnumProperty, EnumString, IntoStaticStr, VariantArray};

use super::{Counts, Described};
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
