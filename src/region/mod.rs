//! The region model: administrative levels, Kemendagri codes, units with their boundaries,
//! and the BPS ↔ Kemendagri crosswalk.

mod code;
pub mod crosswalk;

pub use code::{Kode, KodeError};

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};
use strum::{EnumString, IntoStaticStr};

/// An administrative level, from the province down to the village. Parsed from its name in
/// any case, or from a common other name (`province`, `kota`, `kelurahan`, `village`…).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(
    ascii_case_insensitive,
    parse_err_ty = UnknownLevel,
    parse_err_fn = UnknownLevel::new
)]
pub enum Level {
    /// Provinsi (2-digit code).
    #[strum(to_string = "provinsi", serialize = "province", serialize = "prov")]
    Provinsi,
    /// Kabupaten or kota (4 digits).
    #[strum(
        to_string = "kabupaten",
        serialize = "kota",
        serialize = "kabupaten_kota",
        serialize = "kab"
    )]
    Kabupaten,
    /// Kecamatan (6 digits).
    #[strum(to_string = "kecamatan", serialize = "kec")]
    Kecamatan,
    /// Desa or kelurahan (10 digits).
    #[strum(
        to_string = "desa",
        serialize = "kelurahan",
        serialize = "desa_kelurahan",
        serialize = "village"
    )]
    Desa,
}

impl Level {
    /// All levels, top down.
    pub const ALL: [Level; 4] = [
        Level::Provinsi,
        Level::Kabupaten,
        Level::Kecamatan,
        Level::Desa,
    ];

    /// The lower-case name used in the CLI, the API and the stores.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The level one down, if any.
    pub fn child(&self) -> Option<Level> {
        match self {
            Level::Provinsi => Some(Level::Kabupaten),
            Level::Kabupaten => Some(Level::Kecamatan),
            Level::Kecamatan => Some(Level::Desa),
            Level::Desa => None,
        }
    }
}

/// An unknown level name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown level `{0}`: expected provinsi, kabupaten, kecamatan or desa")]
pub struct UnknownLevel(pub String);

impl UnknownLevel {
    fn new(s: &str) -> UnknownLevel {
        UnknownLevel(s.to_string())
    }
}

/// The kind of unit, which the code tells: a kabupaten part of 71 and above is a kota,
/// a village part `1xxx` a kelurahan and `2xxx` a desa.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumString, IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Jenis {
    /// Province.
    Provinsi,
    /// Regency.
    Kabupaten,
    /// City.
    Kota,
    /// District.
    Kecamatan,
    /// Rural village.
    Desa,
    /// Urban village.
    Kelurahan,
}

impl Jenis {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An administrative unit with its boundary (WGS84 longitude/latitude, exterior rings
/// counter-clockwise as RFC 7946 asks).
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Kemendagri code; it also gives the level, the parent and the kind.
    pub kode: Kode,
    /// Official name as imported (e.g. `Kota Samarinda`, `Palaran`).
    pub nama: String,
    /// Boundary.
    pub geometry: MultiPolygon<f64>,
}

impl Region {
    /// The summary of this unit, without its geometry.
    pub fn info(&self) -> RegionInfo {
        RegionInfo::new(
            self.kode,
            self.nama.clone(),
            crate::geometry::bbox(&self.geometry),
        )
    }
}

/// A unit without its geometry: what lists and indexes carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionInfo {
    /// Kemendagri code.
    pub kode: Kode,
    /// Name.
    pub nama: String,
    /// Level, from the code.
    pub level: Level,
    /// Kind, from the code.
    pub jenis: Jenis,
    /// Parent code, absent for a province.
    pub parent: Option<Kode>,
    /// Bounding box `[min_lon, min_lat, max_lon, max_lat]`, absent when the unit has no geometry.
    pub bbox: Option<[f64; 4]>,
}

impl RegionInfo {
    /// Builds the summary of a unit from its code, name and bounding box.
    pub fn new(kode: Kode, nama: String, bbox: Option<[f64; 4]>) -> RegionInfo {
        RegionInfo {
            kode,
            level: kode.level(),
            jenis: kode.jenis(),
            parent: kode.parent(),
            nama,
            bbox,
        }
    }

    /// The name a map labels the unit with: a kabupaten without its "Kabupaten"/"Kab."
    /// prefix (the convention of Indonesian maps: "Kutai Timur", "Kota Samarinda"); other
    /// units by their name as given.
    pub fn short_name(&self) -> &str {
        let nama = self.nama.trim();
        if self.jenis == Jenis::Kabupaten {
            for prefix in ["Kabupaten ", "KABUPATEN ", "Kab. ", "KAB. "] {
                if let Some(rest) = nama.strip_prefix(prefix) {
                    return rest.trim_start();
                }
            }
        }
        nama
    }

    /// The name with its kind in front, once: "Kabupaten Kutai Timur" whether the source
    /// named it "Kutai Timur" or "Kabupaten Kutai Timur"; "Desa Sungai Siring".
    pub fn full_name(&self) -> String {
        let kind = match self.jenis {
            Jenis::Provinsi => "Provinsi",
            Jenis::Kabupaten => "Kabupaten",
            Jenis::Kota => "Kota",
            Jenis::Kecamatan => "Kecamatan",
            Jenis::Desa => "Desa",
            Jenis::Kelurahan => "Kelurahan",
        };
        let nama = self.short_name();
        let starts_with_kind = nama
            .get(..kind.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(kind))
            && nama[kind.len()..].starts_with(' ');
        if starts_with_kind {
            nama.to_string()
        } else {
            format!("{kind} {nama}")
        }
    }
}

/// Kemendagri province codes and names (38 provinces since 2022).
const PROVINCES: [(u8, &str); 38] = [
    (11, "Aceh"),
    (12, "Sumatera Utara"),
    (13, "Sumatera Barat"),
    (14, "Riau"),
    (15, "Jambi"),
    (16, "Sumatera Selatan"),
    (17, "Bengkulu"),
    (18, "Lampung"),
    (19, "Kepulauan Bangka Belitung"),
    (21, "Kepulauan Riau"),
    (31, "DKI Jakarta"),
    (32, "Jawa Barat"),
    (33, "Jawa Tengah"),
    (34, "DI Yogyakarta"),
    (35, "Jawa Timur"),
    (36, "Banten"),
    (51, "Bali"),
    (52, "Nusa Tenggara Barat"),
    (53, "Nusa Tenggara Timur"),
    (61, "Kalimantan Barat"),
    (62, "Kalimantan Tengah"),
    (63, "Kalimantan Selatan"),
    (64, "Kalimantan Timur"),
    (65, "Kalimantan Utara"),
    (71, "Sulawesi Utara"),
    (72, "Sulawesi Tengah"),
    (73, "Sulawesi Selatan"),
    (74, "Sulawesi Tenggara"),
    (75, "Gorontalo"),
    (76, "Sulawesi Barat"),
    (81, "Maluku"),
    (82, "Maluku Utara"),
    (91, "Papua"),
    (92, "Papua Barat"),
    (93, "Papua Selatan"),
    (94, "Papua Tengah"),
    (95, "Papua Pegunungan"),
    (96, "Papua Barat Daya"),
];

/// The name of a province code (`64` → `Kalimantan Timur`), `None` for other levels or
/// unknown codes.
pub fn province_name(kode: Kode) -> Option<&'static str> {
    if kode.level() != Level::Provinsi {
        return None;
    }
    let prov: u8 = kode.digits().parse().ok()?;
    PROVINCES.iter().find(|(k, _)| *k == prov).map(|(_, n)| *n)
}
