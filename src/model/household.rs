//! One poor household as Lentera keeps it, whatever file it came from.

use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use strum::{EnumString, IntoStaticStr, VariantArray};

use super::geocode::Geocode;

/// The national system a file comes from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    strum::Display,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[strum(
    serialize_all = "lowercase",
    ascii_case_insensitive,
    parse_err_ty = UnknownFormat,
    parse_err_fn = UnknownFormat::new
)]
pub enum SourceFormat {
    /// P3KE family file (Kemenko PMK), desil 1–4.
    P3ke,
    /// DTKS individual pipe file (Kemensos), grouped into households by `nomor_kk`.
    Dtks,
    /// DTSEN-style file (BPS), desil 1–10.
    Dtsen,
    /// Local verification file made from Lentera's template, with GPS.
    Verval,
    /// Any other file, read through a TOML column mapping.
    Custom,
}

impl SourceFormat {
    /// All formats, in detection order.
    pub const ALL: &'static [SourceFormat] = <SourceFormat as VariantArray>::VARIANTS;

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Its name as people write it (`P3KE`, `DTKS`, `DTSEN`, `verval`, `lainnya`).
    pub fn label(self) -> &'static str {
        match self {
            SourceFormat::P3ke => "P3KE",
            SourceFormat::Dtks => "DTKS",
            SourceFormat::Dtsen => "DTSEN",
            SourceFormat::Verval => "verval",
            SourceFormat::Custom => "lainnya",
        }
    }
}

/// A format name Lentera does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}`: expected p3ke, dtks, dtsen, verval or custom")]
pub struct UnknownFormat(pub String);

impl UnknownFormat {
    fn new(s: &str) -> UnknownFormat {
        UnknownFormat(s.to_string())
    }
}

/// Sex of the household head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumString, IntoStaticStr)]
pub enum Sex {
    /// Laki-laki.
    L,
    /// Perempuan.
    P,
}

impl Sex {
    /// `L` or `P`, as the files write it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Social-assistance programmes a household may receive.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Program {
    /// Program Keluarga Harapan.
    Pkh,
    /// Bantuan Pangan Non Tunai.
    Bpnt,
    /// Program Sembako.
    Sembako,
    /// Bantuan Langsung Tunai.
    Blt,
    /// Penerima Bantuan Iuran JKN.
    Pbi,
    /// Bantuan Produktif Usaha Mikro.
    Bpum,
    /// Bantuan Sosial Tunai.
    Bst,
    /// Kartu Prakerja.
    Prakerja,
    /// Kredit Usaha Rakyat.
    Kur,
}

impl Program {
    /// All programmes.
    pub const ALL: &'static [Program] = <Program as VariantArray>::VARIANTS;

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Its name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Program::Pkh => "PKH",
            Program::Bpnt => "BPNT",
            Program::Sembako => "Sembako",
            Program::Blt => "BLT",
            Program::Pbi => "PBI JKN",
            Program::Bpum => "BPUM",
            Program::Bst => "BST",
            Program::Prakerja => "Kartu Prakerja",
            Program::Kur => "KUR",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Which programmes the file states, and which of those the household receives. A programme
/// the file does not mention is unknown, not "no".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programs {
    /// Bit per programme: the file states it.
    pub known: u16,
    /// Bit per programme: the household receives it.
    pub receives: u16,
}

impl Programs {
    /// Records what the file says about `p`.
    pub fn set(&mut self, p: Program, receives: bool) {
        self.known |= p.bit();
        if receives {
            self.receives |= p.bit();
        } else {
            self.receives &= !p.bit();
        }
    }

    /// `Some(true/false)` when the file states `p`, `None` when it does not.
    pub fn get(&self, p: Program) -> Option<bool> {
        (self.known & p.bit() != 0).then_some(self.receives & p.bit() != 0)
    }
}

/// Address parts as the file gives them (not yet normalised or geocoded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street line (jalan, gang, blok, nomor) or the whole free-text address.
    pub street: Option<Text>,
    /// Rukun Tetangga.
    pub rt: Option<Text>,
    /// Rukun Warga.
    pub rw: Option<Text>,
    /// Dusun.
    pub dusun: Option<Text>,
    /// Desa/kelurahan name.
    pub desa: Option<Text>,
    /// Kecamatan name.
    pub kecamatan: Option<Text>,
    /// Kabupaten/kota name.
    pub kabupaten: Option<Text>,
    /// Province name.
    pub provinsi: Option<Text>,
}

/// The desil scale of a source: P3KE and DTKS rank into 1–4, DTSEN into 1–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DesilScale {
    /// Desil 1–4.
    Four,
    /// Desil 1–10.
    Ten,
}

impl DesilScale {
    /// The highest desil of the scale.
    pub fn max(&self) -> u8 {
        match self {
            DesilScale::Four => 4,
            DesilScale::Ten => 10,
        }
    }
}

/// Text of a household field: strings of up to 24 bytes (most cells: codes, RT/RW, names of
/// places, `Ya`/`Tidak`) are kept inline, so a household is not two dozen heap allocations
/// made on one thread and freed on another.
pub type Text = compact_str::CompactString;

/// The name of a household attribute (a column kept as key/value text, e.g. `Jenis Atap`),
/// interned for the life of the process. A file has a few dozen such names and every one of
/// its households carries them: an interned name is copied and dropped for nothing, where a
/// shared `Arc<str>` costs two atomic operations on a cache line that every thread mapping
/// or storing households contends for. Names come from file headers and stored data, so the
/// set stays small; each distinct name is kept once.
#[derive(Clone, Copy)]
pub struct AttrName(&'static str);

impl AttrName {
    /// The interned name `name`.
    pub fn new(name: &str) -> AttrName {
        static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut names = NAMES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = names.get(name) {
            return AttrName(known);
        }
        let kept: &'static str = Box::leak(name.into());
        names.insert(kept);
        AttrName(kept)
    }

    /// The name as text.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl Deref for AttrName {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

/// Interned names are equal exactly when they are the same string in memory.
impl PartialEq for AttrName {
    fn eq(&self, other: &AttrName) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for AttrName {}

impl PartialEq<str> for AttrName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AttrName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for AttrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for AttrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for AttrName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for AttrName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AttrName, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(AttrName::new(&name))
    }
}

/// A keyed hash of a NIK or KK number (HMAC-SHA256), never the number itself.
pub type IdHash = [u8; 32];

/// One household, validated. NIK and KK exist only as keyed hashes and masked display forms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Household {
    /// Row of the file the household comes from (the head's row for DTKS), 1-based.
    pub source_row: u64,
    /// The file's own household id (`ID Keluarga P3KE`, `nomor_kk` masked for DTKS, `id`).
    pub source_id: Option<Text>,
    /// Name of the household head.
    pub head_name: Option<Text>,
    /// Keyed hash of the head's NIK.
    pub nik_hash: Option<IdHash>,
    /// Masked NIK, e.g. `647201********01`.
    pub nik_masked: Option<Text>,
    /// Keyed hash of the KK number.
    pub kk_hash: Option<IdHash>,
    /// Masked KK number.
    pub kk_masked: Option<Text>,
    /// Sex of the head.
    pub sex: Option<Sex>,
    /// Birth date of the head, ISO `YYYY-MM-DD`.
    pub birth_date: Option<Text>,
    /// Number of household members.
    pub members: Option<u32>,
    /// Address parts.
    pub address: Address,
    /// Region code exactly as given (Kemendagri or BPS, dotted or not, possibly stale).
    pub region_code: Option<Text>,
    /// Desil.
    pub desil: Option<u8>,
    /// The scale `desil` is on.
    pub desil_scale: Option<DesilScale>,
    /// Extreme poor (`miskin ekstrem`) as the file states it.
    pub extreme_poor: Option<bool>,
    /// Programme receipt.
    pub programs: Programs,
    /// GPS latitude as given (parsed; not yet checked against the map).
    pub lat: Option<f64>,
    /// GPS longitude as given.
    pub lon: Option<f64>,
    /// Other attributes (housing, assets, verification status…) as key/value text.
    pub attrs: Vec<(AttrName, Text)>,
    /// Set when the same household (same KK, or head NIK where a file has no KK) is already
    /// in this batch or in another batch of the same period: says where.
    pub duplicate_of: Option<DuplicateOf>,
    /// Where the geocoder placed the household (`None` when imported without regions).
    pub geocode: Option<Geocode>,
}

impl Household {
    /// The keys that identify a household for deduplication: its KK hash and its head's NIK
    /// hash, tagged so that a KK never matches a NIK. Two households are the same when either
    /// key matches (P3KE family files have no KK, DTSEN files have both).
    pub fn identity_keys(&self) -> impl Iterator<Item = (u8, IdHash)> + '_ {
        [(0u8, self.kk_hash), (1u8, self.nik_hash)]
            .into_iter()
            .filter_map(|(tag, h)| h.map(|h| (tag, h)))
    }

    /// The 64-bit prefix of a keyed identity hash: what the stores index and what matches a
    /// household across periods. Two different households share one with a probability of
    /// about n²/2⁶⁵ (2·10⁻⁵ for 25 million households); a match is then confirmed on the
    /// full hash where it matters (deduplication), and is a negligible error in a count.
    pub fn id_key(hash: &Option<IdHash>) -> Option<i64> {
        hash.map(|h| {
            let mut prefix = [0u8; 8];
            prefix.copy_from_slice(&h[..8]);
            i64::from_le_bytes(prefix)
        })
    }
}

/// The household a duplicate repeats: an earlier row of its own file, or a household of an
/// earlier batch of the same period. Kept in files and stores as its text, `row 12` or
/// `batch 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DuplicateOf {
    /// The row (1-based, of the same file) of the household first seen.
    Row(u64),
    /// The batch holding the household first seen.
    Batch(i64),
}

impl fmt::Display for DuplicateOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DuplicateOf::Row(row) => write!(f, "row {row}"),
            DuplicateOf::Batch(batch) => write!(f, "batch {batch}"),
        }
    }
}

/// A duplicate mark that is not `row N` or `batch N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate mark `{0}` is not `row N` or `batch N`")]
pub struct BadDuplicateMark(pub String);

impl FromStr for DuplicateOf {
    type Err = BadDuplicateMark;
    fn from_str(s: &str) -> Result<DuplicateOf, BadDuplicateMark> {
        let bad = || BadDuplicateMark(s.to_string());
        match s.split_once(' ') {
            Some(("row", n)) => n.parse().map(DuplicateOf::Row).map_err(|_| bad()),
            Some(("batch", n)) => n.parse().map(DuplicateOf::Batch).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl Serialize for DuplicateOf {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DuplicateOf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DuplicateOf, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A row that was not accepted, with the reason in plain words. Values of NIK and KK
/// columns are masked before they get here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    /// Row in the file, 1-based, counting title and header rows.
    pub row: u64,
    /// Column header as in the file, empty when the whole row is concerned.
    pub column: String,
    /// The offending value (masked for identity numbers).
    pub value: String,
    /// Why the row was not accepted.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_are_interned() {
        let a = AttrName::new("Jenis Atap");
        let b = AttrName::new(&String::from("Jenis Atap"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_ne!(a, AttrName::new("Jenis Lantai"));
        assert_eq!(a, "Jenis Atap");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"Jenis Atap\"");
        let back: AttrName = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn duplicate_marks_read_back_from_their_text() {
        for d in [DuplicateOf::Row(12), DuplicateOf::Batch(3)] {
            assert_eq!(d.to_string().parse::<DuplicateOf>(), Ok(d));
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<DuplicateOf>(&json).unwrap(), d);
        }
        assert_eq!(DuplicateOf::Row(2).to_string(), "row 2");
        assert!("rows 2".parse::<DuplicateOf>().is_err());
        assert!("batch x".parse::<DuplicateOf>().is_err());
    }

    #[test]
    fn formats_parse_in_any_case_and_name_the_known_ones() {
        assert_eq!(
            " P3KE".trim().parse::<SourceFormat>(),
            Ok(SourceFormat::P3ke)
        );
        assert_eq!(SourceFormat::Dtsen.to_string(), "dtsen");
        let err = "siks".parse::<SourceFormat>().unwrap_err();
        assert!(err.to_string().contains("p3ke, dtks"), "{err}");
    }
}
