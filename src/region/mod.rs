//! The region model: administrative levels, Kemendagri codes, units with their boundaries,
//! and the BPS ↔ Kemendagri crosswalk.

mod code;
pub mod crosswalk;

pub use code::{Kode, KodeError};

use std::fmt;
use std::str::FromStr;

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};

/// An administrative level, from the province down to the village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Provinsi (2-digit code).
    Provinsi,
    /// Kabupaten or kota (4 digits).
    Kabupaten,
    /// Kecamatan (6 digits).
    Kecamatan,
    /// Desa or kelurahan (10 digits).
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
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Provinsi => "provinsi",
            Level::Kabupaten => "kabupaten",
            Level::Kecamatan => "kecamatan",
            Level::Desa => "desa",
        }
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

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown level name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown level `{0}`: expected provinsi, kabupaten, kecamatan or desa")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "provinsi" | "province" | "prov" => Ok(Level::Provinsi),
            "kabupaten" | "kota" | "kabupaten_kota" | "kab" => Ok(Level::Kabupaten),
            "kecamatan" | "kec" => Ok(Level::Kecamatan),
            "desa" | "kelurahan" | "desa_kelurahan" | "village" => Ok(Level::Desa),
            _ => Err(UnknownLevel(s.to_string())),
        }
    }
}

/// The kind of unit, which the code tells: a kabupaten part of 71 and above is a kota,
/// a village part `1xxx` a kelurahan and `2xxx` a desa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    pub fn as_str(&self) -> &'static str {
        match self {
            Jenis::Provinsi => "provinsi",
            Jenis::Kabupaten => "kabupaten",
            Jenis::Kota => "kota",
            Jenis::Kecamatan => "kecamatan",
            Jenis::Desa => "desa",
            Jenis::Kelurahan => "kelurahan",
        }
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
}
