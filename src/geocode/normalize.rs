//! Normalisation of place names and street addresses as clerks type them.
//!
//! Both the official names of the loaded regions and the names in household files go
//! through [`normalize_name`], so that `KEL. SEI PINANG DALAM`, `Sungai Pinang Dalam` and
//! `sungai-pinang dalam` compare equal. The spelling variants live in a small documented
//! table, `data/place-variants.csv`, compiled into the binary.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::region::Level;

/// The variant table shipped with Lentera.
const VARIANTS_CSV: &str = include_str!("../../data/place-variants.csv");

/// The parsed variant table.
#[derive(Debug, Default)]
struct Variants {
    /// Whole-word replacements.
    words: HashMap<String, String>,
    /// Leading words dropped per level.
    prefixes: HashMap<Level, Vec<String>>,
    /// Whole-name replacements per level.
    names: HashMap<(Level, String), String>,
    /// Letter-sequence replacements inside words, in table order.
    spell: Vec<(String, String)>,
}

/// Levels a row of the table applies to.
fn table_levels(level: &str) -> Vec<Level> {
    match level {
        "desa" => vec![Level::Desa],
        "kecamatan" => vec![Level::Kecamatan],
        "kabupaten" => vec![Level::Kabupaten],
        _ => Level::ALL.to_vec(),
    }
}

impl Variants {
    /// Parses the table; rows that do not have the five columns are skipped (a unit test
    /// checks that the shipped table has none).
    fn parse(text: &str) -> Variants {
        let mut v = Variants::default();
        for (kind, level, from, to) in variant_rows(text) {
            match kind {
                "word" => {
                    v.words.insert(from.into(), to.into());
                }
                "prefix" => {
                    for l in table_levels(level) {
                        v.prefixes.entry(l).or_default().push(from.into());
                    }
                }
                "name" => {
                    for l in table_levels(level) {
                        v.names.insert((l, from.into()), to.into());
                    }
                }
                "spell" => v.spell.push((from.into(), to.into())),
                _ => {}
            }
        }
        v
    }
}

/// The data rows of the table as `(kind, level, from, to)`; comments and the header skipped.
fn variant_rows(text: &str) -> impl Iterator<Item = (&str, &str, &str, &str)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("kind,"))
        .filter_map(|l| {
            let mut f = l.splitn(5, ',');
            Some((f.next()?, f.next()?, f.next()?, f.next()?))
        })
}

static VARIANTS: LazyLock<Variants> = LazyLock::new(|| Variants::parse(VARIANTS_CSV));

/// Lower-case words of `s` without accents; every character that is not a letter or digit
/// separates words.
pub fn words(s: &str) -> Vec<String> {
    let folded: String = s
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().map(str::to_string).collect()
}

/// The comparable form of a place name of `level`: lower case, no punctuation or accents,
/// administrative prefixes (`Kel.`, `Ds.`, `Kampung`, `Kec.`, `Kab.`, `Kota`) dropped, and the
/// spelling variants of `data/place-variants.csv` applied.
///
/// ```
/// use lentera::geocode::normalize_name;
/// use lentera::region::Level;
///
/// assert_eq!(normalize_name("KEL. SEI PINANG DALAM", Level::Desa), "sungai pinang dalam");
/// assert_eq!(normalize_name("Sanga-Sanga", Level::Kecamatan), "sanga sanga");
/// assert_eq!(normalize_name("Kab. Pasir", Level::Kabupaten), "paser");
/// assert_eq!(normalize_name("KUKAR", Level::Kabupaten), "kutai kartanegara");
/// ```
pub fn normalize_name(s: &str, level: Level) -> String {
    let v = &*VARIANTS;
    let mut w = words(s);
    if let Some(prefixes) = v.prefixes.get(&level) {
        while w.len() > 1 && prefixes.iter().any(|p| *p == w[0]) {
            w.remove(0);
        }
    }
    let spelled: Vec<String> = w
        .into_iter()
        .map(|word| {
            let mut word = v.words.get(&word).cloned().unwrap_or(word);
            for (from, to) in &v.spell {
                if word.contains(from.as_str()) {
                    word = word.replace(from.as_str(), to);
                }
            }
            word
        })
        .collect();
    let name = spelled.join(" ");
    v.names.get(&(level, name.clone())).cloned().unwrap_or(name)
}

/// A street line taken apart: the street in a standard form, and the RT, RW, dusun and any
/// place names it carries (`Kel. X`, `Ds. X`, `Kec. Y`, `Kab. Z`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreetParts {
    /// The street with standard abbreviations: `jl`, `gg`, `kp`, `blok`, `no`.
    pub street: String,
    /// RT number without leading zeros.
    pub rt: Option<String>,
    /// RW number without leading zeros.
    pub rw: Option<String>,
    /// Dusun name or number.
    pub dusun: Option<String>,
    /// Desa/kelurahan named after `Kel.`/`Ds.`/`Desa`.
    pub desa: Option<String>,
    /// Kecamatan named after `Kec.`.
    pub kecamatan: Option<String>,
    /// Kabupaten/kota named after `Kab.`/`Kota`.
    pub kabupaten: Option<String>,
}

/// What a marker word in a street line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Street(&'static str),
    Rt,
    Rw,
    RtRw,
    Dusun,
    Desa,
    Kecamatan,
    Kabupaten,
}

fn marker(word: &str) -> Option<Marker> {
    Some(match word {
        "jl" | "jln" | "jalan" => Marker::Street("jl"),
        "gg" | "gang" => Marker::Street("gg"),
        "kp" | "kampung" => Marker::Street("kp"),
        "blok" | "blk" => Marker::Street("blok"),
        "no" | "nomor" | "nmr" => Marker::Street("no"),
        "rt" => Marker::Rt,
        "rw" => Marker::Rw,
        "rtrw" => Marker::RtRw,
        "dsn" | "dusun" => Marker::Dusun,
        "kel" | "kelurahan" | "ds" | "desa" => Marker::Desa,
        "kec" | "kecamatan" => Marker::Kecamatan,
        "kab" | "kabupaten" | "kota" => Marker::Kabupaten,
        _ => return None,
    })
}

/// Splits a word like `rt022` or `no18` into its marker and number.
fn split_glued(word: &str) -> Option<(Marker, String)> {
    let cut = word.find(|c: char| c.is_ascii_digit())?;
    let (head, digits) = word.split_at(cut);
    if head.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    marker(head).map(|m| (m, digits.to_string()))
}

/// A number without leading zeros (`022` → `22`, `000` → `0`).
fn plain_number(s: &str) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0" } else { t }.to_string()
}

/// Takes a free-text street line apart.
///
/// ```
/// use lentera::geocode::parse_street;
///
/// let p = parse_street("JL. AMPERA BLOK D NO.18 RT. 022 RW.03 Dsn. Sukamaju Kel. Simpang Pasir");
/// assert_eq!(p.street, "jl ampera blok d no 18");
/// assert_eq!(p.rt.as_deref(), Some("22"));
/// assert_eq!(p.rw.as_deref(), Some("3"));
/// assert_eq!(p.dusun.as_deref(), Some("sukamaju"));
/// assert_eq!(p.desa.as_deref(), Some("simpang pasir"));
/// ```
pub fn parse_street(s: &str) -> StreetParts {
    let mut out = StreetParts::default();
    let mut street: Vec<String> = Vec::new();
    // Words following a place marker, gathered until the next marker.
    let mut open: Option<(Marker, Vec<String>)> = None;
    let close = |open: &mut Option<(Marker, Vec<String>)>, out: &mut StreetParts| {
        if let Some((m, w)) = open.take() {
            if w.is_empty() {
                return;
            }
            let text = w.join(" ");
            match m {
                Marker::Dusun => out.dusun = Some(text),
                Marker::Desa => out.desa = Some(text),
                Marker::Kecamatan => out.kecamatan = Some(text),
                Marker::Kabupaten => out.kabupaten = Some(text),
                _ => {}
            }
        }
    };
    let w = words(s);
    let mut i = 0;
    while i < w.len() {
        let (m, glued) = match marker(&w[i]) {
            Some(m) => (Some(m), None),
            None => match split_glued(&w[i]) {
                Some((m, n)) => (Some(m), Some(n)),
                None => (None, None),
            },
        };
        let next_number = |j: usize| {
            w.get(j)
                .filter(|x| x.chars().all(|c| c.is_ascii_digit()))
                .cloned()
        };
        match m {
            Some(m @ (Marker::Rt | Marker::Rw | Marker::RtRw)) => {
                close(&mut open, &mut out);
                // `RT/RW 02/03` reads as one marker with two numbers.
                let m = if m == Marker::Rt
                    && glued.is_none()
                    && w.get(i + 1).map(String::as_str) == Some("rw")
                {
                    i += 1;
                    Marker::RtRw
                } else {
                    m
                };
                let wanted = if m == Marker::RtRw { 2 } else { 1 };
                let mut nums: Vec<String> = glued.into_iter().collect();
                while nums.len() < wanted {
                    let Some(n) = next_number(i + 1) else { break };
                    nums.push(plain_number(&n));
                    i += 1;
                }
                let mut it = nums.into_iter().map(|n| plain_number(&n));
                if m != Marker::Rw {
                    out.rt = it.next().or(out.rt.take());
                }
                if m != Marker::Rt {
                    out.rw = it.next().or(out.rw.take());
                }
            }
            Some(Marker::Street(abbr)) => {
                close(&mut open, &mut out);
                street.push(abbr.to_string());
                if let Some(n) = glued {
                    street.push(plain_number(&n));
                }
            }
            Some(place) => {
                close(&mut open, &mut out);
                open = Some((place, glued.into_iter().collect()));
            }
            None => match &mut open {
                Some((_, words)) => words.push(w[i].clone()),
                None => street.push(w[i].clone()),
            },
        }
        i += 1;
    }
    close(&mut open, &mut out);
    out.street = street.join(" ");
    out
}

/// An RT or RW value in its plain form (`RT. 022` → `22`), `None` when it holds no number.
pub fn normalize_rt(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| plain_number(&digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_variant_table_parses_completely() {
        let data_lines = VARIANTS_CSV
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("kind,"))
            .count();
        assert_eq!(variant_rows(VARIANTS_CSV).count(), data_lines);
        for (kind, level, from, _) in variant_rows(VARIANTS_CSV) {
            assert!(
                ["word", "prefix", "name", "spell"].contains(&kind),
                "{kind}"
            );
            assert!(
                ["any", "desa", "kecamatan", "kabupaten"].contains(&level),
                "{level}"
            );
            assert_eq!(words(from).join(" "), from, "table keys are normalised");
        }
    }

    #[test]
    fn case_punctuation_and_accents() {
        assert_eq!(normalize_name("  LOA   DURI  ", Level::Desa), "loa duri");
        assert_eq!(normalize_name("Loa-Duri.", Level::Desa), "loa duri");
        assert_eq!(normalize_name("Lóa Dùri", Level::Desa), "loa duri");
    }

    #[test]
    fn prefixes_drop_per_level_but_never_the_whole_name() {
        assert_eq!(normalize_name("Kel. Kampung Baru", Level::Desa), "baru");
        assert_eq!(normalize_name("Ds. Bukit Raya", Level::Desa), "bukit raya");
        assert_eq!(normalize_name("Kampung Tering", Level::Desa), "tering");
        assert_eq!(
            normalize_name("Kecamatan Palaran", Level::Kecamatan),
            "palaran"
        );
        assert_eq!(
            normalize_name("Kota Samarinda", Level::Kabupaten),
            "samarinda"
        );
        // A prefix of another level stays.
        assert_eq!(normalize_name("Kec. Palaran", Level::Desa), "kec palaran");
        // A name that is only a prefix word stays.
        assert_eq!(normalize_name("Desa", Level::Desa), "desa");
    }

    #[test]
    fn spelling_variants() {
        assert_eq!(normalize_name("Sei Kapih", Level::Desa), "sungai kapih");
        assert_eq!(normalize_name("Long Hulu", Level::Desa), "long ulu");
        assert_eq!(
            normalize_name("Pasir Belengkong", Level::Kecamatan),
            "paser belengkong"
        );
        assert_eq!(
            normalize_name("Tg. Redeb", Level::Kecamatan),
            "tanjung redeb"
        );
        assert_eq!(
            normalize_name("Samarinda Sbrg", Level::Kecamatan),
            "samarinda seberang"
        );
        assert_eq!(normalize_name("Soekadjaja", Level::Desa), "sukajaja");
        assert_eq!(normalize_name("Tjempaka", Level::Desa), "cempaka");
        assert_eq!(normalize_name("Muara Hilir", Level::Desa), "muara ilir");
    }

    #[test]
    fn kabupaten_nicknames() {
        assert_eq!(normalize_name("KUBAR", Level::Kabupaten), "kutai barat");
        assert_eq!(
            normalize_name("Kab. PPU", Level::Kabupaten),
            "penajam paser utara"
        );
        assert_eq!(normalize_name("Mahulu", Level::Kabupaten), "mahakam ulu");
        // Nicknames are kabupaten names only.
        assert_eq!(normalize_name("Kubar", Level::Desa), "kubar");
    }

    #[test]
    fn street_abbreviations() {
        assert_eq!(parse_street("Jln. Pramuka No.5").street, "jl pramuka no 5");
        assert_eq!(parse_street("JALAN Pramuka NO 5").street, "jl pramuka no 5");
        assert_eq!(parse_street("Gang Mawar").street, "gg mawar");
        assert_eq!(parse_street("Kp. Baru").street, "kp baru");
        assert_eq!(parse_street("Blk C no12").street, "blok c no 12");
    }

    #[test]
    fn rt_rw_forms() {
        for (s, rt, rw) in [
            ("RT. 022", Some("22"), None),
            ("rt022 rw003", Some("22"), Some("3")),
            ("RT 5 RW 2", Some("5"), Some("2")),
            ("RT/RW 02/03", Some("2"), Some("3")),
            ("RT.000", Some("0"), None),
        ] {
            let p = parse_street(s);
            assert_eq!(p.rt.as_deref(), rt, "{s}");
            assert_eq!(p.rw.as_deref(), rw, "{s}");
        }
        assert_eq!(normalize_rt("RT. 007").as_deref(), Some("7"));
        assert_eq!(normalize_rt("-"), None);
    }

    #[test]
    fn place_markers_in_free_text() {
        let p = parse_street("Jl. Mulawarman RT 3 Dusun II Ds. Loa Duri Ilir Kec. Loa Janan");
        assert_eq!(p.street, "jl mulawarman");
        assert_eq!(p.dusun.as_deref(), Some("ii"));
        assert_eq!(p.desa.as_deref(), Some("loa duri ilir"));
        assert_eq!(p.kecamatan.as_deref(), Some("loa janan"));
        let p = parse_street("Gg. Mawar Kel Sidodadi Kota Samarinda");
        assert_eq!(p.desa.as_deref(), Some("sidodadi"));
        assert_eq!(p.kabupaten.as_deref(), Some("samarinda"));
    }
}
