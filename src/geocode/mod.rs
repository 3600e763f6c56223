//! Geocoding: every household to its desa/kelurahan, or flagged for review — never guessed.
//!
//! Three kinds of evidence are read and compared: the region code (Kemendagri in any form,
//! or BPS through the crosswalk), the address names (kabupaten → kecamatan → desa, exact
//! after normalisation, then fuzzy), and the GPS point (checked for zero, swapped and outside
//! points, then located in the desa outlines). The code decides when it names a loaded desa;
//! names decide otherwise; GPS decides only when it agrees with them or nothing else does.
//! Disagreements are kept as flags on the result.
//!
//! Every household placed in a desa gets a point: its own GPS when valid and consistent
//! (quality `gps`), otherwise a stable point inside the desa drawn from a seed of the desa
//! code and the household's id (so `quality != gps` means the point is approximate).

pub mod gps;
pub mod names;
pub mod normalize;

use std::borrow::Cow;

use foldhash::HashMap;
use foldhash::HashMapExt;

use crate::model::{Flag, Flags, Geocode, Household, Quality, Text, MAX_CANDIDATES};
use crate::region::crosswalk::{BpsKode, Crosswalk, CrosswalkLookup};
use crate::region::{Kode, Level, Region};
pub use gps::{DesaIndex, Located};
pub use names::{Gazetteer, NameMatch, Scope};
pub use normalize::{normalize_name, normalize_rt, parse_street, StreetParts};

/// What the region code of a household says.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CodeRead {
    Missing,
    Desa(Kode),
    /// Ten digits that are a loaded Kemendagri desa code as written and, read as a BPS code,
    /// map to another loaded desa (44 of Kalimantan Timur's 1,033 BPS desa codes do).
    Either(Kode, Kode),
    /// A loaded kecamatan or kabupaten.
    Partial(Kode),
    /// Well formed, unknown; with the nearest loaded ancestor.
    Stale(Option<Kode>),
    Invalid,
}

/// What the names say.
#[derive(Debug, Clone, PartialEq)]
enum NameOutcome {
    Desa(Kode, bool),
    Ambiguous(Vec<Kode>),
    Unit(Kode),
    Unmatched,
}

/// The loaded units, crosswalk and desa outlines, ready to geocode households.
#[derive(Debug)]
pub struct Geocoder {
    gazetteer: Gazetteer,
    crosswalk: Crosswalk,
    desa: DesaIndex,
}

impl Geocoder {
    /// Builds a geocoder over `regions` (kabupaten, kecamatan and desa; other levels are
    /// ignored) and a crosswalk (empty when none is loaded).
    pub fn new(regions: &[Region], crosswalk: Crosswalk) -> Geocoder {
        let named = regions
            .iter()
            .filter(|r| r.kode.level() != Level::Provinsi)
            .map(|r| (r.kode, r.nama.as_str()));
        let gazetteer = Gazetteer::new(named);
        let desa = regions
            .iter()
            .filter(|r| r.kode.level() == Level::Desa)
            .map(|r| (r.kode, r.geometry.clone()))
            .collect();
        Geocoder {
            gazetteer,
            crosswalk,
            desa: DesaIndex::sorted(desa),
        }
    }

    /// The names of the loaded units.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The desa index.
    pub fn desa_index(&self) -> &DesaIndex {
        &self.desa
    }

    /// A geocoding session with its own cache of name lookups (one per thread).
    pub fn session(&self) -> Session<'_> {
        Session {
            geocoder: self,
            names: HashMap::new(),
            scratch: Vec::new(),
            finds: HashMap::new(),
            fits: HashMap::new(),
            codes: HashMap::new(),
            entries: 0,
        }
    }

    fn read_code(&self, raw: Option<&str>) -> CodeRead {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return CodeRead::Missing;
        };
        let g = &self.gazetteer;
        let kemendagri = Kode::parse(raw).ok();
        let known_kemendagri = kemendagri.filter(|k| g.contains(*k));
        let bps = BpsKode::parse(raw).ok().filter(|_| !raw.contains('.'));
        if let Some(b) = &bps {
            match (self.crosswalk.lookup(b), known_kemendagri) {
                (CrosswalkLookup::Mapped(k), Some(kem)) if g.contains(k) && k != kem => {
                    return if k.level() == Level::Desa && kem.level() == Level::Desa {
                        CodeRead::Either(kem, k)
                    } else {
                        known_code(kem)
                    };
                }
                (_, Some(kem)) => return known_code(kem),
                (CrosswalkLookup::Mapped(k), None) if g.contains(k) => return known_code(k),
                (CrosswalkLookup::Mapped(k) | CrosswalkLookup::TargetMissing(k), None) => {
                    return CodeRead::Stale(self.known_ancestor(k))
                }
                (CrosswalkLookup::NoTarget | CrosswalkLookup::Unknown, None) => {}
            }
        }
        if let Some(k) = known_kemendagri {
            return known_code(k);
        }
        match kemendagri {
            Some(k) => CodeRead::Stale(self.known_ancestor(k)),
            None if bps.is_some() => CodeRead::Stale(None),
            None => CodeRead::Invalid,
        }
    }

    /// The nearest loaded kabupaten above `k` (the kecamatan of a stale code may have been
    /// split, so only the kabupaten is trusted).
    fn known_ancestor(&self, k: Kode) -> Option<Kode> {
        k.ancestor(Level::Kabupaten)
            .filter(|a| self.gazetteer.contains(*a))
    }

    /// Matches the address names, looking each name up through `find` (the gazetteer's, or a
    /// session's cache of it).
    fn match_names(
        desa: Option<&str>,
        kec: Option<&str>,
        kab: Option<&str>,
        hint: Option<Kode>,
        g: &mut impl FnMut(&str, Level, Scope) -> NameMatch,
    ) -> NameOutcome {
        let hint_kab = hint.and_then(|h| h.ancestor(Level::Kabupaten));
        let hint_kec = hint.filter(|h| h.level() == Level::Kecamatan);
        let kab_k = hint_kab.or_else(|| kab.and_then(|n| g(n, Level::Kabupaten, None).unique()));
        let kec_k = hint_kec.or_else(|| kec.and_then(|n| g(n, Level::Kecamatan, kab_k).unique()));
        let known_unit = || {
            kec_k
                .or(kab_k)
                .map_or(NameOutcome::Unmatched, NameOutcome::Unit)
        };
        let Some(desa) = desa else {
            return known_unit();
        };
        match g(desa, Level::Desa, kec_k.or(kab_k)) {
            NameMatch::Exact(d) => NameOutcome::Desa(d, true),
            NameMatch::Fuzzy(d, _) => NameOutcome::Desa(d, false),
            NameMatch::Ambiguous(c) => NameOutcome::Ambiguous(c),
            // Not in the kecamatan given: the desa may have moved in a kecamatan split. Look
            // in the whole kabupaten, exact names only.
            NameMatch::NotFound if kec_k.is_some() && kab_k.is_some() => {
                match g(desa, Level::Desa, kab_k) {
                    NameMatch::Exact(d) => NameOutcome::Desa(d, false),
                    _ => known_unit(),
                }
            }
            NameMatch::NotFound => known_unit(),
        }
    }
}

fn known_code(k: Kode) -> CodeRead {
    if k.level() == Level::Desa {
        CodeRead::Desa(k)
    } else {
        CodeRead::Partial(k)
    }
}

/// A cache key: the 128-bit XXH3 digest of the key's text, kept instead of the text. The
/// caches hold hundreds of thousands of spellings on a large file; without copies of them a
/// cache is half the size, and a lookup compares 16 bytes in the table instead of following a
/// pointer to compare text (a cache miss on a large table). Two of a million keys share a
/// digest with odds near 10⁻²⁷.
type Digest = u128;

/// The digest of `parts`, each followed by a record separator (no spreadsheet cell holds one,
/// so parts cannot run together), built in `scratch`.
fn digest(scratch: &mut Vec<u8>, parts: &[&[u8]]) -> Digest {
    scratch.clear();
    for part in parts {
        scratch.extend_from_slice(part);
        scratch.push(0x1e);
    }
    twox_hash::XxHash3_128::oneshot(scratch)
}

/// The digits of a code, none for no code.
fn code_digits(k: Option<Kode>) -> ([u8; 10], usize) {
    k.map_or(([0; 10], 0), |k| k.digit_bytes())
}

/// A name as typed for a cache key; a unit separator (no spreadsheet cell holds one) stands
/// for a missing name.
fn name_bytes(name: Option<&str>) -> &[u8] {
    name.map_or(b"\x1f", str::as_bytes)
}

/// Entries after which a session's name cache starts afresh (bounds memory on files with
/// many distinct spellings).
const NAME_CACHE_MAX: usize = 200_000;

/// A geocoding session: the geocoder and a cache of name lookups, since the same address
/// names repeat across thousands of households.
pub struct Session<'a> {
    geocoder: &'a Geocoder,
    /// Outcomes by the three address names as typed and the code hint.
    names: HashMap<Digest, NameOutcome>,
    /// The buffer the keys are put together in.
    scratch: Vec<u8>,
    /// Single names as typed, per level and scope → their match: a row whose desa name is
    /// misspelt misses the cache of whole addresses, but its kabupaten and kecamatan are
    /// looked up here instead of normalised and matched again.
    finds: HashMap<Digest, NameMatch>,
    /// Desa codes with desa names as typed → whether the name fits the code, for checking
    /// codes against names.
    fits: HashMap<Digest, bool>,
    /// Region codes as typed → what they say (a province's files repeat a thousand codes).
    codes: HashMap<Digest, CodeRead>,
    /// Entries in `finds`, `fits` and `codes`, to bound them like `names`.
    entries: usize,
}

/// The address names of a household: the name columns, else what its street line says.
/// A column's text, trimmed, when it holds any.
fn given(s: &Option<Text>) -> Option<Cow<'_, str>> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Cow::Borrowed)
}

fn address_names(h: &Household) -> [Option<Cow<'_, str>>; 3] {
    let a = &h.address;
    let cols = [given(&a.desa), given(&a.kecamatan), given(&a.kabupaten)];
    if cols.iter().all(Option::is_some) {
        return cols;
    }
    let p = a.street.as_deref().map(parse_street).unwrap_or_default();
    let [d, c, b] = cols;
    [
        d.or(p.desa.map(Cow::Owned)),
        c.or(p.kecamatan.map(Cow::Owned)),
        b.or(p.kabupaten.map(Cow::Owned)),
    ]
}

impl Session<'_> {
    /// Geocodes one household.
    pub fn geocode(&mut self, h: &Household) -> Geocode {
        let mut geocode = self.locate(h);
        if geocode.point.is_none() {
            geocode.point = geocode
                .kode_desa
                .and_then(|d| self.geocoder.desa.place(d, placement_seed(d, h)));
        }
        geocode
    }

    /// Geocodes every household of `households` (its `geocode` set), exactly as
    /// [`Session::geocode`] one by one would, but places the approximate points desa by desa:
    /// households come in no order of desa, and placing each as it comes reads its desa's
    /// triangles cold every time, where in desa order they are still in cache.
    pub fn geocode_all(&mut self, households: &mut [Household]) {
        let mut unplaced: Vec<(Kode, u64, usize)> = Vec::new();
        for (i, h) in households.iter_mut().enumerate() {
            let geocode = self.locate(h);
            if let (None, Some(d)) = (geocode.point, geocode.kode_desa) {
                unplaced.push((d, placement_seed(d, h), i));
            }
            h.geocode = Some(geocode);
        }
        unplaced.sort_unstable_by_key(|&(d, _, _)| d);
        for (d, seed, i) in unplaced {
            if let Some(g) = households.get_mut(i).and_then(|h| h.geocode.as_mut()) {
                g.point = self.geocoder.desa.place(d, seed);
            }
        }
    }

    /// Geocodes one household without placing an approximate point: `point` is the GPS
    /// point when it decided, else `None`.
    fn locate(&mut self, h: &Household) -> Geocode {
        let mut flags = Flags::default();
        let [desa, kec, kab] = address_names(h);
        let code = self.read_code(h.region_code.as_deref());
        let hint = match code {
            CodeRead::Partial(k) => {
                flags.set(Flag::CodePartial);
                Some(k)
            }
            CodeRead::Stale(anc) => {
                flags.set(Flag::CodeStale);
                anc
            }
            CodeRead::Invalid => {
                flags.set(Flag::CodeInvalid);
                None
            }
            CodeRead::Missing | CodeRead::Desa(_) | CodeRead::Either(..) => None,
        };
        // A code naming a loaded desa decides: the names are matched only when the desa name
        // typed does not fit that desa, to tell a conflict from a spelling of the same desa.
        let names = match code {
            CodeRead::Desa(k) if desa.as_deref().is_none_or(|d| self.fits(d, k)) => None,
            _ => Some(self.names(desa.as_deref(), kec.as_deref(), kab.as_deref(), hint)),
        };
        let code = match (code, &names) {
            (CodeRead::Either(kem, bps), Some(names)) => {
                self.either(kem, bps, desa.as_deref(), names)
            }
            (other, _) => other,
        };
        let (mut quality, mut unit, mut candidates) = match code {
            CodeRead::Either(kem, bps) => {
                flags.set(Flag::CodeNameConflict);
                (Quality::Ambiguous, None, vec![kem, bps])
            }
            CodeRead::Desa(k) => {
                // Without names matched, the desa name fitted the code.
                let conflict = names.is_some_and(|n| {
                    !matches!(n, NameOutcome::Desa(d, _) if d == k)
                        && !desa.as_deref().is_none_or(|d| self.fits(d, k))
                });
                if conflict {
                    flags.set(Flag::CodeNameConflict);
                }
                (Quality::Code, Some(k), vec![])
            }
            _ => {
                let names = names.unwrap_or_else(|| {
                    self.names(desa.as_deref(), kec.as_deref(), kab.as_deref(), hint)
                });
                match names {
                    NameOutcome::Desa(d, exact) => {
                        let q = if exact {
                            Quality::NameExact
                        } else {
                            Quality::NameFuzzy
                        };
                        (q, Some(d), vec![])
                    }
                    NameOutcome::Ambiguous(c) => (Quality::Ambiguous, None, c),
                    NameOutcome::Unit(u) => (unit_quality(u), Some(u), vec![]),
                    NameOutcome::Unmatched => (Quality::Unmatched, None, vec![]),
                }
            }
        };
        let mut point = None;
        if let Some(located) = self.gps(h, &mut flags) {
            let (lon, lat, inside) = located;
            let fitting: Vec<Kode> = match quality {
                q if q.has_desa() => inside
                    .iter()
                    .copied()
                    .filter(|k| Some(*k) == unit)
                    .collect(),
                Quality::Ambiguous => inside
                    .iter()
                    .copied()
                    .filter(|k| candidates.contains(k))
                    .collect(),
                Quality::KecamatanOnly | Quality::KabupatenOnly => inside
                    .iter()
                    .copied()
                    .filter(|k| unit.is_some_and(|u| k.is_within(&u)))
                    .collect(),
                _ => inside.clone(),
            };
            if let [d] = fitting.as_slice() {
                quality = Quality::Gps;
                unit = Some(*d);
                candidates.clear();
                point = Some((lon, lat));
            } else if !inside.is_empty() {
                flags.set(Flag::GpsMismatch);
            }
        }
        let kode_desa = unit.filter(|_| quality.has_desa());
        candidates.truncate(MAX_CANDIDATES);
        Geocode {
            kode_desa,
            unit,
            quality,
            flags,
            point,
            candidates,
        }
    }

    /// Whether the desa name as typed fits the desa `k` (cached: codes and names repeat).
    fn fits(&mut self, desa: &str, k: Kode) -> bool {
        let (digits, len) = k.digit_bytes();
        let key = digest(&mut self.scratch, &[&digits[..len], desa.as_bytes()]);
        if let Some(hit) = self.fits.get(&key) {
            return *hit;
        }
        let fits = self.geocoder.gazetteer.fits(desa, k);
        self.count_entry();
        self.fits.insert(key, fits);
        fits
    }

    /// Counts one more entry in the single-name caches, starting them afresh past
    /// [`NAME_CACHE_MAX`] (bounds memory on files with many distinct spellings).
    fn count_entry(&mut self) {
        self.entries += 1;
        if self.entries > NAME_CACHE_MAX {
            self.finds.clear();
            self.fits.clear();
            self.codes.clear();
            self.entries = 1;
        }
    }

    /// What a region code as typed says, through the cache.
    fn read_code(&mut self, raw: Option<&str>) -> CodeRead {
        let Some(raw) = raw else {
            return CodeRead::Missing;
        };
        let key = digest(&mut self.scratch, &[raw.as_bytes()]);
        if let Some(hit) = self.codes.get(&key) {
            return *hit;
        }
        let read = self.geocoder.read_code(Some(raw));
        self.count_entry();
        self.codes.insert(key, read);
        read
    }

    /// One name matched at `level` within `scope`, through the cache.
    fn find(&mut self, raw: &str, level: Level, scope: Scope) -> NameMatch {
        let (digits, len) = code_digits(scope);
        let key = digest(
            &mut self.scratch,
            &[&[level as u8], &digits[..len], raw.as_bytes()],
        );
        if let Some(hit) = self.finds.get(&key) {
            return hit.clone();
        }
        let found = self.geocoder.gazetteer.find(raw, level, scope);
        self.count_entry();
        self.finds.insert(key, found.clone());
        found
    }

    /// Reads a code that is both a Kemendagri and a BPS desa code as the one the desa name
    /// fits; stays undecided when the name fits both or neither.
    fn either(&self, kem: Kode, bps: Kode, desa: Option<&str>, names: &NameOutcome) -> CodeRead {
        let g = &self.geocoder.gazetteer;
        let fits = |k: Kode| {
            desa.is_some_and(|d| g.fits(d, k))
                || matches!(names, NameOutcome::Desa(n, _) if *n == k)
        };
        match (fits(kem), fits(bps)) {
            (true, false) => CodeRead::Desa(kem),
            (false, true) => CodeRead::Desa(bps),
            _ => CodeRead::Either(kem, bps),
        }
    }

    fn names(
        &mut self,
        desa: Option<&str>,
        kec: Option<&str>,
        kab: Option<&str>,
        hint: Option<Kode>,
    ) -> NameOutcome {
        let (digits, len) = code_digits(hint);
        let key = digest(
            &mut self.scratch,
            &[
                name_bytes(desa),
                name_bytes(kec),
                name_bytes(kab),
                &digits[..len],
            ],
        );
        match self.names.get(&key) {
            Some(hit) => hit.clone(),
            None => {
                let out =
                    Geocoder::match_names(desa, kec, kab, hint, &mut |n, l, s| self.find(n, l, s));
                if self.names.len() >= NAME_CACHE_MAX {
                    self.names.clear();
                }
                self.names.insert(key, out.clone());
                out
            }
        }
    }

    /// The household's GPS point, checked: `(lon, lat, desa containing it)`, or `None` when
    /// it has none or it is unusable (flagged).
    fn gps(&self, h: &Household, flags: &mut Flags) -> Option<(f64, f64, Vec<Kode>)> {
        let (lat, lon) = (h.lat?, h.lon?);
        if lat == 0.0 && lon == 0.0 {
            flags.set(Flag::GpsZero);
            return None;
        }
        let found = |lon: f64, lat: f64| {
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return None;
            }
            match self.geocoder.desa.locate(lon, lat) {
                Located::Inside(ks) => Some(ks),
                Located::Near(k) => Some(vec![k]),
                Located::Outside => None,
            }
        };
        if let Some(ks) = found(lon, lat) {
            return Some((lon, lat, ks));
        }
        if let Some(ks) = found(lat, lon) {
            flags.set(Flag::GpsSwapped);
            return Some((lat, lon, ks));
        }
        flags.set(Flag::GpsOutside);
        None
    }
}

fn unit_quality(u: Kode) -> Quality {
    match u.level() {
        Level::Kecamatan => Quality::KecamatanOnly,
        Level::Kabupaten => Quality::KabupatenOnly,
        Level::Desa => Quality::NameFuzzy,
        Level::Provinsi => Quality::Unmatched,
    }
}

/// The seed of a household's approximate point: the desa code and the household's own id
/// (its id in the file, else its row), so a re-import puts it at the same place. FNV-1a is
/// written out here because std's hasher is not guaranteed stable across Rust releases.
fn placement_seed(desa: Kode, h: &Household) -> u64 {
    let row;
    let id = match &h.source_id {
        Some(id) => id.as_bytes(),
        None => {
            row = format!("row {}", h.source_row);
            row.as_bytes()
        }
    };
    let (digits, len) = desa.digit_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in digits[..len].iter().chain(&[0]).chain(id) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests;
