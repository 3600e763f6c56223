//! The gazetteer: the loaded units' names in comparable form, and hierarchical name
//! matching (kabupaten → kecamatan → desa) with exact and fuzzy scores.

use foldhash::HashMap;

use super::normalize::normalize_name;
use crate::region::{Kode, Level};

/// Lowest fuzzy score (1 − edit distance / length) accepted as a match.
pub const FUZZY_MIN: f64 = 0.8;
/// A fuzzy match is unique only when every other candidate scores this much lower.
pub const FUZZY_MARGIN: f64 = 0.1;
/// Names shorter than this (letters, no spaces) are never matched fuzzily.
const FUZZY_MIN_LEN: usize = 4;

/// One named unit.
#[derive(Debug, Clone)]
struct Entry {
    /// Official name.
    nama: String,
    /// Normalised name without spaces, for fuzzy scores (`Sanga Sanga` = `SangaSanga`).
    squashed: String,
    /// Characters in `squashed`.
    len: usize,
}

/// How a name matched within a scope.
#[derive(Debug, Clone, PartialEq)]
pub enum NameMatch {
    /// Exactly one unit has this normalised name.
    Exact(Kode),
    /// One unit is clearly closest, with this score.
    Fuzzy(Kode, f64),
    /// Several units fit and nothing tells them apart.
    Ambiguous(Vec<Kode>),
    /// No unit fits.
    NotFound,
}

impl NameMatch {
    /// The unit matched, if exactly one.
    pub fn unique(&self) -> Option<Kode> {
        match self {
            NameMatch::Exact(k) | NameMatch::Fuzzy(k, _) => Some(*k),
            _ => None,
        }
    }
}

/// Names of every loaded unit, by level and by parent.
#[derive(Debug, Default)]
pub struct Gazetteer {
    entries: HashMap<Kode, Entry>,
    /// Units of a level inside a parent (kabupaten → kecamatan, kecamatan → desa,
    /// kabupaten → desa, province → kabupaten) and, under `None`, all units of the level.
    members: HashMap<(Level, Option<Kode>), Vec<Kode>>,
    /// Units by level and normalised name.
    exact: HashMap<(Level, String), Vec<Kode>>,
}

/// Where a name is looked for: everywhere, or inside one unit.
pub type Scope = Option<Kode>;

impl Gazetteer {
    /// Builds the gazetteer from `(code, official name)` pairs of any levels.
    pub fn new<'a>(units: impl IntoIterator<Item = (Kode, &'a str)>) -> Gazetteer {
        let mut g = Gazetteer::default();
        for (kode, nama) in units {
            let level = kode.level();
            let norm = normalize_name(nama, level);
            let squashed = squash(&norm);
            g.entries.insert(
                kode,
                Entry {
                    nama: nama.to_string(),
                    len: squashed.chars().count(),
                    squashed,
                },
            );
            g.exact.entry((level, norm)).or_default().push(kode);
            g.members.entry((level, None)).or_default().push(kode);
            for a in kode.ancestors() {
                g.members.entry((level, Some(a))).or_default().push(kode);
            }
        }
        for v in g.members.values_mut().chain(g.exact.values_mut()) {
            v.sort();
        }
        g
    }

    /// The official name of a unit.
    pub fn nama(&self, kode: Kode) -> Option<&str> {
        self.entries.get(&kode).map(|e| e.nama.as_str())
    }

    /// Whether the unit is loaded.
    pub fn contains(&self, kode: Kode) -> bool {
        self.entries.contains_key(&kode)
    }

    /// Units of `level` in `scope`.
    pub fn members(&self, level: Level, scope: Scope) -> &[Kode] {
        self.members
            .get(&(level, scope))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Matches a raw name (as typed) against the units of `level` in `scope`.
    pub fn find(&self, raw: &str, level: Level, scope: Scope) -> NameMatch {
        let norm = normalize_name(raw, level);
        if norm.is_empty() {
            return NameMatch::NotFound;
        }
        let exact: Vec<Kode> = self
            .exact
            .get(&(level, norm.clone()))
            .into_iter()
            .flatten()
            .copied()
            .filter(|k| scope.is_none_or(|s| k.is_within(&s)))
            .collect();
        match exact.len() {
            1 => return NameMatch::Exact(exact[0]),
            n if n > 1 => return NameMatch::Ambiguous(exact),
            _ => {}
        }
        self.fuzzy(&norm, level, scope)
    }

    fn fuzzy(&self, norm: &str, level: Level, scope: Scope) -> NameMatch {
        let squashed = squash(norm);
        let len = squashed.chars().count();
        if len < FUZZY_MIN_LEN {
            return NameMatch::NotFound;
        }
        let mut scored: Vec<(f64, Kode)> = self
            .members(level, scope)
            .iter()
            .filter_map(|k| {
                let e = self.entries.get(k)?;
                // The length difference alone bounds the score: skip hopeless candidates.
                let (a, b) = (len, e.len);
                let longest = a.max(b) as f64;
                if 1.0 - a.abs_diff(b) as f64 / longest < FUZZY_MIN {
                    return None;
                }
                let s = similarity(&squashed, &e.squashed);
                (s >= FUZZY_MIN).then_some((s, *k))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        match scored.as_slice() {
            [] => NameMatch::NotFound,
            [(s, k)] => NameMatch::Fuzzy(*k, *s),
            [(s1, k1), (s2, _), ..] if s1 - s2 >= FUZZY_MARGIN => NameMatch::Fuzzy(*k1, *s1),
            [(best, _), ..] => NameMatch::Ambiguous(
                scored
                    .iter()
                    .filter(|(s, _)| best - s < FUZZY_MARGIN)
                    .map(|(_, k)| *k)
                    .collect(),
            ),
        }
    }

    /// Whether a raw name fits the unit `kode` (same normalised name, or a fuzzy score above
    /// the threshold).
    pub fn fits(&self, raw: &str, kode: Kode) -> bool {
        let Some(e) = self.entries.get(&kode) else {
            return false;
        };
        let norm = normalize_name(raw, kode.level());
        let squashed = squash(&norm);
        squashed == e.squashed
            || (squashed.chars().count() >= FUZZY_MIN_LEN
                && similarity(&squashed, &e.squashed) >= FUZZY_MIN)
    }
}

/// A normalised name without its spaces.
fn squash(norm: &str) -> String {
    norm.chars().filter(|c| *c != ' ').collect()
}

/// 1 − (optimal-string-alignment distance / longer length): a transposed pair of letters,
/// the commonest clerk typo, costs one edit.
pub fn similarity(a: &str, b: &str) -> f64 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 1.0;
    }
    let d = strsim::osa_distance(a, b);
    1.0 - d as f64 / longest as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Kode {
        Kode::parse(s).unwrap()
    }

    fn sample() -> Gazetteer {
        Gazetteer::new([
            (k("64.02"), "Kutai Kartanegara"),
            (k("64.72"), "Kota Samarinda"),
            (k("64.02.01"), "Loa Janan"),
            (k("64.02.02"), "Tenggarong"),
            (k("64.72.01"), "Palaran"),
            (k("64.02.01.2001"), "Loa Duri Ilir"),
            (k("64.02.01.2002"), "Sumber Sari"),
            (k("64.02.02.2001"), "Sumber Sari"),
            (k("64.02.02.2002"), "Sumber Sari Baru"),
            (k("64.72.01.1001"), "Simpang Pasir"),
            (k("64.72.01.1002"), "Sanga-Sanga Dalam"),
        ])
    }

    #[test]
    fn exact_after_normalisation() {
        let g = sample();
        assert_eq!(
            g.find("KEL. SIMPANG PASER", Level::Desa, None),
            NameMatch::Exact(k("64.72.01.1001"))
        );
        assert_eq!(
            g.find("Sangasanga Dalam", Level::Desa, None),
            NameMatch::Fuzzy(k("64.72.01.1002"), 1.0)
        );
    }

    #[test]
    fn repeated_names_are_ambiguous_unless_the_scope_decides() {
        let g = sample();
        assert_eq!(
            g.find("Sumber Sari", Level::Desa, Some(k("64.02"))),
            NameMatch::Ambiguous(vec![k("64.02.01.2002"), k("64.02.02.2001")])
        );
        assert_eq!(
            g.find("Sumber Sari", Level::Desa, Some(k("64.02.02"))),
            NameMatch::Exact(k("64.02.02.2001"))
        );
    }

    #[test]
    fn fuzzy_takes_a_clear_winner_only() {
        let g = sample();
        // One transposition.
        match g.find("Loa Drui Ilir", Level::Desa, None) {
            NameMatch::Fuzzy(kode, s) => {
                assert_eq!(kode, k("64.02.01.2001"));
                assert!(s > 0.9);
            }
            other => panic!("{other:?}"),
        }
        // A typo of a repeated name fits both equally.
        assert!(matches!(
            g.find("Sumbre Sari", Level::Desa, Some(k("64.02"))),
            NameMatch::Ambiguous(_)
        ));
        // Inside one kecamatan, `Sumber Sari Baru` is far enough from `Sumber Sari`.
        assert_eq!(
            g.find("Sumbre Sari", Level::Desa, Some(k("64.02.02")))
                .unique(),
            Some(k("64.02.02.2001"))
        );
        assert_eq!(g.find("Nowhere", Level::Desa, None), NameMatch::NotFound);
        assert_eq!(g.find("Lo", Level::Desa, None), NameMatch::NotFound);
    }

    #[test]
    fn levels_and_fits() {
        let g = sample();
        assert_eq!(
            g.find("Kab. Kutai Kertanegara", Level::Kabupaten, None),
            NameMatch::Exact(k("64.02"))
        );
        assert_eq!(
            g.find("KOTA SAMARINDA", Level::Kabupaten, None),
            NameMatch::Exact(k("64.72"))
        );
        assert!(g.fits("Ds. Loa Duri Ilir", k("64.02.01.2001")));
        assert!(!g.fits("Simpang Pasir", k("64.02.01.2001")));
        assert_eq!(g.members(Level::Desa, Some(k("64.02"))).len(), 4);
    }
}
