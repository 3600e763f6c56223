//! The indicators of one unit in one period: a fixed array of counts, summed from desa up to
//! the province, and the rates derived from them.
//!
//! Every count has a name (its snake_case API field) and a description; the API, the
//! OpenAPI document and the change view are all generated from [`COUNTS`] and [`RATES`], so a
//! field cannot be served without being documented.

use serde::ser::SerializeMap;

use crate::geocode::{Flag, Quality};
use crate::ingest::households::model::{DesilScale, Program, Programs};

/// A counted indicator: API field name and what it counts.
#[derive(Debug, Clone, Copy)]
pub struct CountField {
    /// snake_case field name.
    pub name: &'static str,
    /// What is counted, in English (the OpenAPI description).
    pub about: &'static str,
}

const fn c(name: &'static str, about: &'static str) -> CountField {
    CountField { name, about }
}

/// Index of `households` in [`COUNTS`].
pub const HOUSEHOLDS: usize = 0;
/// Index of `people`.
pub const PEOPLE: usize = 1;
/// Index of `members_unknown`.
pub const MEMBERS_UNKNOWN: usize = 2;
/// Index of `desil_1`; `desil_d` is at `DESIL_1 + d - 1`.
pub const DESIL_1: usize = 3;
/// Index of `desil_unknown`.
pub const DESIL_UNKNOWN: usize = 13;
/// Index of `desil_1_4`.
pub const DESIL_1_4: usize = 14;
/// Index of `desil_scale_10`.
pub const SCALE_TEN: usize = 15;
/// Index of `extreme_poor`.
pub const EXTREME_POOR: usize = 16;
/// Index of the first programme count (`pkh`), in [`Program::ALL`] order.
pub const PROGRAM_FIRST: usize = 17;
/// Index of the first programme-known count (`pkh_known`).
pub const PROGRAM_KNOWN_FIRST: usize = 26;
/// Index of `desil_1_no_program`.
pub const DESIL_1_NO_PROGRAM: usize = 35;
/// Index of `desil_1_program_known`.
pub const DESIL_1_PROGRAM_KNOWN: usize = 36;
/// Index of `desil_1_no_pkh`.
pub const DESIL_1_NO_PKH: usize = 37;
/// Index of `desil_1_pkh_known`.
pub const DESIL_1_PKH_KNOWN: usize = 38;
/// Index of `quality_gps`.
pub const QUALITY_GPS: usize = 39;
/// Index of `quality_code`.
pub const QUALITY_CODE: usize = 40;
/// Index of `quality_name`.
pub const QUALITY_NAME: usize = 41;
/// Index of `flagged`.
pub const FLAGGED: usize = 42;
/// Index of `gps_mismatch`.
pub const GPS_MISMATCH: usize = 43;
/// Index of `point_elsewhere`.
pub const POINT_ELSEWHERE: usize = 44;
/// Index of `desa_unknown`.
pub const DESA_UNKNOWN: usize = 45;
/// Index of `kecamatan_unknown`.
pub const KECAMATAN_UNKNOWN: usize = 46;
/// Number of counts.
pub const N_COUNTS: usize = 47;

/// All counts, in array order.
pub const COUNTS: [CountField; N_COUNTS] = [
    c("households", "Households counted in the unit (duplicates counted once)."),
    c("people", "Household members, summed over households that state a member count; null when none does."),
    c("members_unknown", "Households without a member count."),
    c("desil_1", "Households in desil 1 (the poorest 10 %, shorthand for extreme poverty)."),
    c("desil_2", "Households in desil 2."),
    c("desil_3", "Households in desil 3."),
    c("desil_4", "Households in desil 4."),
    c("desil_5", "Households in desil 5; null where no source of the unit ranks beyond desil 4."),
    c("desil_6", "Households in desil 6; null where no source of the unit ranks beyond desil 4."),
    c("desil_7", "Households in desil 7; null where no source of the unit ranks beyond desil 4."),
    c("desil_8", "Households in desil 8; null where no source of the unit ranks beyond desil 4."),
    c("desil_9", "Households in desil 9; null where no source of the unit ranks beyond desil 4."),
    c("desil_10", "Households in desil 10; null where no source of the unit ranks beyond desil 4."),
    c("desil_unknown", "Households without a desil."),
    c("desil_1_4", "Households in desil 1 to 4."),
    c("desil_scale_10", "Households from sources that rank desil 1–10 (DTSEN)."),
    c("extreme_poor", "Households the source itself marks as extreme poor (miskin ekstrem)."),
    c("pkh", "Households receiving PKH; null when no household's source states it."),
    c("bpnt", "Households receiving BPNT; null when no household's source states it."),
    c("sembako", "Households receiving Sembako; null when no household's source states it."),
    c("blt", "Households receiving BLT; null when no household's source states it."),
    c("pbi", "Households receiving PBI JKN; null when no household's source states it."),
    c("bpum", "Households receiving BPUM; null when no household's source states it."),
    c("bst", "Households receiving BST; null when no household's source states it."),
    c("prakerja", "Households receiving Kartu Prakerja; null when no household's source states it."),
    c("kur", "Households receiving KUR; null when no household's source states it."),
    c("pkh_known", "Households whose source states PKH receipt (yes or no)."),
    c("bpnt_known", "Households whose source states BPNT receipt."),
    c("sembako_known", "Households whose source states Sembako receipt."),
    c("blt_known", "Households whose source states BLT receipt."),
    c("pbi_known", "Households whose source states PBI receipt."),
    c("bpum_known", "Households whose source states BPUM receipt."),
    c("bst_known", "Households whose source states BST receipt."),
    c("prakerja_known", "Households whose source states Kartu Prakerja receipt."),
    c("kur_known", "Households whose source states KUR receipt."),
    c("desil_1_no_program", "Desil-1 households receiving none of the programmes their source states."),
    c("desil_1_program_known", "Desil-1 households whose source states at least one programme."),
    c("desil_1_no_pkh", "Desil-1 households not receiving PKH (where the source states PKH)."),
    c("desil_1_pkh_known", "Desil-1 households whose source states PKH receipt."),
    c("quality_gps", "Households placed by their own GPS point."),
    c("quality_code", "Households placed by their region code."),
    c("quality_name", "Households placed by the names of their address (exact or fuzzy)."),
    c("flagged", "Households with a geocoding flag a reviewer should see."),
    c("gps_mismatch", "Households whose GPS point lies in another desa than their code or names say; counted where code or names say."),
    c("point_elsewhere", "Households whose point lies in another current desa than the one chosen for them; counted in the chosen desa."),
    c("desa_unknown", "Households known only at this level or above the desa: counted here, never spread over the desa."),
    c("kecamatan_unknown", "Households known only at the kabupaten/kota level."),
];

/// A rate derived from two counts or from a count and a denominator.
#[derive(Debug, Clone, Copy)]
pub struct RateField {
    /// snake_case field name.
    pub name: &'static str,
    /// What it is, in English.
    pub about: &'static str,
    /// Numerator: an index into [`COUNTS`].
    pub numerator: usize,
    /// Denominator.
    pub denominator: Denominator,
}

/// Where a rate's denominator comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denominator {
    /// A count of the same unit.
    Count(usize),
    /// All households of the unit, from the denominators file.
    AllHouseholds,
    /// The population of the unit, from the denominators file.
    Population,
}

const fn r(
    name: &'static str,
    about: &'static str,
    numerator: usize,
    denominator: Denominator,
) -> RateField {
    RateField {
        name,
        about,
        numerator,
        denominator,
    }
}

/// All rates. A rate is null when its denominator is unknown or zero, never 0.
pub const RATES: [RateField; 8] = [
    r("households_rate", "Share of all households of the unit (denominators file) that are listed.", HOUSEHOLDS, Denominator::AllHouseholds),
    r("people_rate", "Share of the unit's population (denominators file) living in listed households.", PEOPLE, Denominator::Population),
    r("desil_1_rate", "Desil-1 households as a share of all households of the unit (denominators file): the extreme-poverty rate.", DESIL_1, Denominator::AllHouseholds),
    r("desil_1_4_rate", "Desil 1–4 households as a share of all households of the unit (denominators file).", DESIL_1_4, Denominator::AllHouseholds),
    r("pkh_coverage", "Share of households with a stated PKH status that receive PKH.", PROGRAM_FIRST, Denominator::Count(PROGRAM_KNOWN_FIRST)),
    r("desil_1_no_program_share", "Share of desil-1 households (with a stated programme) receiving none.", DESIL_1_NO_PROGRAM, Denominator::Count(DESIL_1_PROGRAM_KNOWN)),
    r("desil_1_no_pkh_share", "Share of desil-1 households (with a stated PKH status) not receiving PKH.", DESIL_1_NO_PKH, Denominator::Count(DESIL_1_PKH_KNOWN)),
    r("flagged_share", "Share of counted households with a geocoding flag.", FLAGGED, Denominator::Count(HOUSEHOLDS)),
];

/// Households and population of a unit from the denominators file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Denominators {
    /// All households (poor or not).
    pub households: Option<u64>,
    /// Population.
    pub population: Option<u64>,
}

/// The counts of one unit in one period.
pub type Counts = [u64; N_COUNTS];

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
        counts[HOUSEHOLDS] += 1;
        match self.members {
            Some(m) => counts[PEOPLE] += u64::from(m),
            None => counts[MEMBERS_UNKNOWN] += 1,
        }
        match self.desil {
            Some(d @ 1..=10) => {
                counts[DESIL_1 + usize::from(d) - 1] += 1;
                if d <= 4 {
                    counts[DESIL_1_4] += 1;
                }
            }
            _ => counts[DESIL_UNKNOWN] += 1,
        }
        if self.scale == Some(DesilScale::Ten) {
            counts[SCALE_TEN] += 1;
        }
        counts[EXTREME_POOR] += u64::from(self.extreme_poor);
        for (i, p) in Program::ALL.into_iter().enumerate() {
            if let Some(receives) = self.programs.get(p) {
                counts[PROGRAM_KNOWN_FIRST + i] += 1;
                counts[PROGRAM_FIRST + i] += u64::from(receives);
            }
        }
        if self.desil == Some(1) {
            if self.programs.known != 0 {
                counts[DESIL_1_PROGRAM_KNOWN] += 1;
                counts[DESIL_1_NO_PROGRAM] += u64::from(self.programs.receives == 0);
            }
            if let Some(pkh) = self.programs.get(Program::Pkh) {
                counts[DESIL_1_PKH_KNOWN] += 1;
                counts[DESIL_1_NO_PKH] += u64::from(!pkh);
            }
        }
        match self.quality {
            Some(Quality::Gps) => counts[QUALITY_GPS] += 1,
            Some(Quality::Code) => counts[QUALITY_CODE] += 1,
            Some(Quality::NameExact | Quality::NameFuzzy) => counts[QUALITY_NAME] += 1,
            _ => {}
        }
        counts[FLAGGED] += u64::from(self.flagged);
        counts[GPS_MISMATCH] += u64::from(self.gps_mismatch);
    }

    /// Whether `flags` (a geocode's flag bits) hold a GPS mismatch.
    pub fn mismatch_in(flags: crate::geocode::Flags) -> bool {
        flags.has(Flag::GpsMismatch)
    }
}

/// Adds `b` into `a`.
pub fn add_counts(a: &mut Counts, b: &Counts) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

/// The value of rate `rate` for `counts` with `den`, `None` when the denominator is unknown
/// or zero.
pub fn rate(rate: &RateField, counts: &Counts, den: &Denominators) -> Option<f64> {
    let denominator = match rate.denominator {
        Denominator::Count(i) => Some(counts[i]),
        Denominator::AllHouseholds => den.households,
        Denominator::Population => den.population,
    }?;
    (denominator > 0).then(|| counts[rate.numerator] as f64 / denominator as f64)
}

/// The value of count `i` as served: `None` for "no data" — the period has no source
/// covering the unit; desil 5–10 where every source of the unit ranks 1–4 only; `people`
/// where no household states its members; a programme no household's source states.
pub fn count_value(i: usize, counts: Option<&Counts>) -> Option<u64> {
    let counts = counts?;
    let any = counts[HOUSEHOLDS] > 0;
    let unknown = match i {
        _ if (DESIL_1 + 4..=DESIL_1 + 9).contains(&i) => counts[SCALE_TEN] == 0,
        PEOPLE => any && counts[MEMBERS_UNKNOWN] == counts[HOUSEHOLDS],
        _ if (PROGRAM_FIRST..PROGRAM_KNOWN_FIRST).contains(&i) => {
            any && counts[PROGRAM_KNOWN_FIRST + (i - PROGRAM_FIRST)] == 0
        }
        _ => false,
    };
    (!unknown).then_some(counts[i])
}

/// The value of any indicator (count or rate) by name, `None` for no data.
pub fn value_by_name(name: &str, counts: Option<&Counts>, den: &Denominators) -> Option<f64> {
    if let Some(i) = COUNTS.iter().position(|f| f.name == name) {
        return count_value(i, counts).map(|v| v as f64);
    }
    let rate_field = RATES.iter().find(|f| f.name == name)?;
    rate(rate_field, counts?, den)
}

/// Whether `name` is a known indicator.
pub fn is_indicator(name: &str) -> bool {
    COUNTS.iter().any(|f| f.name == name) || RATES.iter().any(|f| f.name == name)
}

/// Writes every count and rate of a unit into a JSON map (null for no data).
pub fn serialize_values<M: SerializeMap>(
    map: &mut M,
    counts: Option<&Counts>,
    den: &Denominators,
) -> Result<(), M::Error> {
    for (i, f) in COUNTS.iter().enumerate() {
        map.serialize_entry(f.name, &count_value(i, counts))?;
    }
    for f in &RATES {
        map.serialize_entry(f.name, &counts.and_then(|c| rate(f, c, den)))?;
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
    let names = COUNTS
        .iter()
        .map(|f| f.name)
        .chain(RATES.iter().map(|f| f.name));
    for name in names {
        let a = value_by_name(name, base, den);
        let b = value_by_name(name, now, den);
        let (abs, rel) = change(a, b);
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
    fn count_names_are_unique_and_positions_match() {
        let mut names: Vec<_> = COUNTS.iter().map(|f| f.name).collect();
        names.extend(RATES.iter().map(|f| f.name));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(COUNTS[DESIL_1 + 9].name, "desil_10");
        assert_eq!(COUNTS[DESIL_UNKNOWN].name, "desil_unknown");
        assert_eq!(COUNTS[PROGRAM_FIRST + 8].name, "kur");
        assert_eq!(COUNTS[PROGRAM_KNOWN_FIRST].name, "pkh_known");
        assert_eq!(COUNTS[KECAMATAN_UNKNOWN].name, "kecamatan_unknown");
        for (i, p) in Program::ALL.into_iter().enumerate() {
            assert_eq!(COUNTS[PROGRAM_FIRST + i].name, p.as_str());
        }
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
        let mut counts = [0; N_COUNTS];
        h.add_to(&mut counts);
        h.add_to(&mut counts);
        assert_eq!(counts[HOUSEHOLDS], 2);
        assert_eq!(counts[PEOPLE], 8);
        assert_eq!(counts[DESIL_1], 2);
        assert_eq!(counts[DESIL_1_4], 2);
        assert_eq!(counts[DESIL_1_NO_PROGRAM], 2);
        assert_eq!(counts[DESIL_1_NO_PKH], 2);
        assert_eq!(counts[PROGRAM_KNOWN_FIRST], 2);
        assert_eq!(counts[PROGRAM_FIRST], 0);
        assert_eq!(counts[QUALITY_CODE], 2);
        // Desil 5–10 are no data on a 1–4 scale; the rest are real values.
        assert_eq!(count_value(DESIL_1 + 4, Some(&counts)), None);
        assert_eq!(count_value(DESIL_1 + 1, Some(&counts)), Some(0));
        assert_eq!(count_value(HOUSEHOLDS, None), None);
        // A programme no source states is unknown; one stated "no" is a real zero.
        assert_eq!(count_value(PROGRAM_FIRST + 2, Some(&counts)), None);
        assert_eq!(count_value(PROGRAM_FIRST, Some(&counts)), Some(0));
        let mut no_members = [0; N_COUNTS];
        Contribution::default().add_to(&mut no_members);
        assert_eq!(count_value(PEOPLE, Some(&no_members)), None);
    }

    #[test]
    fn rates_are_unknown_without_a_denominator_not_zero() {
        let mut counts = [0; N_COUNTS];
        counts[HOUSEHOLDS] = 5;
        counts[DESIL_1] = 2;
        let none = Denominators::default();
        let known = Denominators {
            households: Some(50),
            population: Some(0),
        };
        let desil_1_rate = &RATES[2];
        assert_eq!(rate(desil_1_rate, &counts, &none), None);
        assert_eq!(rate(desil_1_rate, &counts, &known), Some(0.04));
        assert_eq!(rate(&RATES[1], &counts, &known), None, "zero population");
        assert_eq!(change(Some(4.0), Some(3.0)), (Some(-1.0), Some(-0.25)));
        assert_eq!(change(Some(0.0), Some(3.0)), (Some(3.0), None));
        assert_eq!(change(None, Some(3.0)), (None, None));
    }
}
