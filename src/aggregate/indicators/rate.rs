//! The rates derived from the counts.

use strum::{EnumMessage, EnumProperty, EnumString, IntoStaticStr, VariantArray};

use super::{Count, Counts, Described, Stated};
use crate::model::Denominators;

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
    /// Households the source marks extreme poor among all.
    #[strum(
        message = "Households the source itself marks as extreme poor (miskin ekstrem) as a share of all households of the unit (denominators file): the figure of the national target of no extreme poverty.",
        props(
            label = "Persentase miskin ekstrem dari semua rumah tangga",
            short = "Persentase miskin ekstrem"
        )
    )]
    ExtremePoorRate,
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
    /// Eligible households no regional programme reaches.
    #[strum(
        message = "Share of the households eligible for a regional programme that no regional programme reaches.",
        props(
            label = "Porsi sasaran belum menerima program daerah",
            short = "Porsi sasaran belum terjangkau"
        )
    )]
    ProgramUncoveredShare,
}

impl Described for Rate {}

impl Rate {
    /// All rates.
    pub const ALL: &'static [Rate] = <Rate as VariantArray>::VARIANTS;

    /// The count divided.
    pub fn numerator(self) -> Count {
        match self {
            Rate::HouseholdsRate => Count::Households,
            Rate::PeopleRate => Count::People,
            Rate::Desil1Rate => Count::Desil1,
            Rate::Desil1To4Rate => Count::Desil1To4,
            Rate::ExtremePoorRate => Count::ExtremePoor,
            Rate::PkhCoverage => Count::Pkh,
            Rate::Desil1NoProgramShare => Count::Desil1NoProgram,
            Rate::Desil1NoPkhShare => Count::Desil1NoPkh,
            Rate::FlaggedShare => Count::Flagged,
            Rate::ProgramUncoveredShare => Count::ProgramUncovered,
        }
    }

    /// What it is divided by.
    pub fn denominator(self) -> Denominator {
        match self {
            Rate::HouseholdsRate
            | Rate::Desil1Rate
            | Rate::Desil1To4Rate
            | Rate::ExtremePoorRate => Denominator::AllHouseholds,
            Rate::PeopleRate => Denominator::Population,
            Rate::PkhCoverage => Denominator::Count(Count::PkhKnown),
            Rate::Desil1NoProgramShare => Denominator::Count(Count::Desil1ProgramKnown),
            Rate::Desil1NoPkhShare => Denominator::Count(Count::Desil1PkhKnown),
            Rate::FlaggedShare => Denominator::Count(Count::Households),
            Rate::ProgramUncoveredShare => Denominator::Count(Count::ProgramEligible),
        }
    }

    /// The fields the rate rests on: its numerator's and its denominator count's.
    pub fn fields(self) -> Stated {
        let own = self.numerator().fields();
        match self.denominator() {
            Denominator::Count(c) => own.with(c.fields()),
            _ => own,
        }
    }

    /// The value for `counts` with `den`: `None` where a field it rests on is not stated
    /// ([`Count::value`]), where the denominator is unknown or zero, and — for a rate over
    /// the denominators file — where only part of the counted households state the
    /// numerator's field, which would dilute the rate with households that say nothing.
    pub fn value(self, counts: &Counts, den: &Denominators) -> Option<f64> {
        if !counts.stated().covers(self.fields()) {
            return None;
        }
        let numerator = self.numerator();
        let denominator = match self.denominator() {
            Denominator::Count(c) => Some(counts[c]),
            Denominator::AllHouseholds | Denominator::Population
                if counts.known(numerator) < counts[Count::Households] =>
            {
                None
            }
            Denominator::AllHouseholds => den.households,
            Denominator::Population => den.population,
        }?;
        (denominator > 0).then(|| counts[numerator] as f64 / denominator as f64)
    }

    /// How many households the rate rests on: its denominator count, or all households of
    /// the unit from the denominators file (the counted households when the file has none).
    /// A rate over fewer than a threshold of households is flagged "terlalu sedikit data".
    pub fn base(self, counts: &Counts, den: &Denominators) -> u64 {
        match self.denominator() {
            Denominator::Count(c) => counts[c],
            Denominator::AllHouseholds | Denominator::Population => {
                den.households.unwrap_or(counts[Count::Households])
            }
        }
    }
}
