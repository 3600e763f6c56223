//! Persistence: one `Store` trait, two implementations.
//!
//! - [`SqliteStore`], the embedded default: one SQLite file in the data directory, no server.
//! - [`PostgisStore`], for production: PostGIS through a tokio-postgres connection pool.
//!
//! Both keep geometries as WKB (WGS84) and apply the same versioned migrations
//! ([`migrations::MIGRATIONS`]); the same test suite runs against both.

mod chunks;
mod columns;
pub mod migrations;
mod postgis;
mod sqlite;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::aggregate::{Denominators, HouseholdFacts};
use crate::geocode::{Flags, Geocode, Quality};
use crate::ingest::households::model::{
    AttrName, DesilScale, Household, IdHash, Reject, Sex, SourceFormat, Text,
};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Jenis, Kode, Level, Region, RegionInfo};

pub use postgis::PostgisStore;
pub use sqlite::SqliteStore;

/// Errors of either store, with the backend's own error kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("PostGIS store: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool.
    #[error("PostGIS store: cannot get a connection: {0}")]
    Pool(String),
    /// The database was written by a newer Lentera, or a migration failed.
    #[error("schema migration: {0}")]
    Migration(String),
    /// A stored row cannot be read back.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The data directory cannot be used.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("store task failed: {0}")]
    Task(String),
    /// The importer stopped before the end of the file; nothing of the batch was kept.
    #[error("the import stopped before the end of the file; nothing of it was kept")]
    Interrupted,
    /// The file (same SHA-256) is already a batch; nothing of the new one was kept.
    #[error("this file was already imported as batch {}", .0.id)]
    AlreadyImported(Box<BatchInfo>),
    /// The importer finished a batch without saying the file's SHA-256.
    #[error("the import ended without the file's SHA-256; nothing of it was kept")]
    NoFileHash,
}

/// A unique stand-in for the SHA-256 of a batch whose file is still being hashed, replaced
/// before the batch commits (nobody else ever sees it).
fn provisional_sha256() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("hashing-{}-{nanos}", std::process::id())
}

/// Which regions to list.
#[derive(Debug, Clone, Default)]
pub struct RegionFilter {
    /// Only units of this level.
    pub level: Option<Level>,
    /// Only units inside this one (at any depth).
    pub parent: Option<Kode>,
}

/// Number of stored units of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegionCounts {
    /// Provinces.
    pub provinsi: u64,
    /// Kabupaten.
    pub kabupaten: u64,
    /// Kota.
    pub kota: u64,
    /// Kecamatan.
    pub kecamatan: u64,
    /// Desa.
    pub desa: u64,
    /// Kelurahan.
    pub kelurahan: u64,
}

impl RegionCounts {
    /// Builds the counts from `(jenis, count)` rows as the stores return them.
    fn from_rows(rows: Vec<(String, i64)>) -> Result<RegionCounts, StoreError> {
        let mut counts = RegionCounts::default();
        for (jenis, n) in rows {
            let jenis: Jenis = serde_json::from_value(serde_json::Value::String(jenis.clone()))
                .map_err(|_| StoreError::Corrupt(format!("unknown jenis `{jenis}`")))?;
            counts.add(jenis, n.max(0) as u64);
        }
        Ok(counts)
    }

    fn add(&mut self, jenis: Jenis, n: u64) {
        match jenis {
            Jenis::Provinsi => self.provinsi += n,
            Jenis::Kabupaten => self.kabupaten += n,
            Jenis::Kota => self.kota += n,
            Jenis::Kecamatan => self.kecamatan += n,
            Jenis::Desa => self.desa += n,
            Jenis::Kelurahan => self.kelurahan += n,
        }
    }

    /// All units.
    pub fn total(&self) -> u64 {
        self.provinsi + self.kabupaten + self.kota + self.kecamatan + self.desa + self.kelurahan
    }
}

/// What a boundary import records about itself.
#[derive(Debug, Clone, Default)]
pub struct ImportRecord {
    /// Files (and layers) read.
    pub sources: Vec<String>,
    /// Features read.
    pub features_read: usize,
    /// Features refused (skipped with `--skip-invalid`).
    pub refused: usize,
    /// Findings, as JSON.
    pub issues: String,
}

/// What `replace_regions` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplaceSummary {
    /// The import's id in the import log.
    pub import_id: i64,
    /// Units removed because the import covers their level and province.
    pub removed: u64,
    /// Units written.
    pub inserted: u64,
}

/// One entry of the boundary import log.
#[derive(Debug, Clone, Serialize)]
pub struct ImportLogEntry {
    /// Id.
    pub id: i64,
    /// When, as ISO 8601 text.
    pub imported_at: String,
    /// Files (and layers) read.
    pub sources: Vec<String>,
    /// Features read.
    pub features_read: i64,
    /// Features refused.
    pub refused: i64,
    /// Units removed.
    pub removed: i64,
    /// Units written.
    pub inserted: i64,
}

/// The persistence interface shared by the embedded SQLite store and PostGIS.
#[async_trait]
pub trait Store: Send + Sync {
    /// `sqlite` or `postgis`.
    fn backend(&self) -> &'static str;

    /// The applied schema version.
    async fn schema_version(&self) -> Result<i64, StoreError>;

    /// Atomically replaces the stored units that `regions` cover (same level, same kabupaten/kota
    /// for kecamatan and desa, same province for kabupaten) with `regions`, and logs the
    /// import. On error nothing changes.
    async fn replace_regions(
        &self,
        regions: &[Region],
        record: &ImportRecord,
    ) -> Result<ReplaceSummary, StoreError>;

    /// Codes of all stored units.
    async fn region_codes(&self) -> Result<Vec<Kode>, StoreError>;

    /// Units matching `filter`, ordered by code, without geometry.
    async fn list_regions(&self, filter: &RegionFilter) -> Result<Vec<RegionInfo>, StoreError>;

    /// One unit with its geometry.
    async fn get_region(&self, kode: Kode) -> Result<Option<Region>, StoreError>;

    /// All units of a level with their geometry, ordered by code.
    async fn regions(&self, level: Level) -> Result<Vec<Region>, StoreError>;

    /// Number of stored units of each kind.
    async fn region_counts(&self) -> Result<RegionCounts, StoreError>;

    /// The boundary import log, newest first.
    async fn region_imports(&self) -> Result<Vec<ImportLogEntry>, StoreError>;

    /// Replaces the BPS ↔ Kemendagri crosswalk.
    async fn replace_crosswalk(&self, entries: &[CrosswalkEntry]) -> Result<(), StoreError>;

    /// The stored crosswalk, ordered by BPS code.
    async fn crosswalk(&self) -> Result<Vec<CrosswalkEntry>, StoreError>;

    /// Reads a metadata value (e.g. `dataset`).
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Writes a metadata value.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Writes a household batch from the messages on `rx`, in one transaction committed at
    /// `Finish`. Households whose dedup key is already in another batch of the same period
    /// are marked as duplicates of that batch. If the channel closes before `Finish`, or
    /// anything fails, nothing of the batch is kept.
    async fn import_households(
        &self,
        batch: NewBatch,
        rx: tokio::sync::mpsc::Receiver<BatchMessage>,
    ) -> Result<BatchInfo, StoreError>;

    /// All household batches, newest first.
    async fn batches(&self) -> Result<Vec<BatchInfo>, StoreError>;

    /// Removes a batch with its households and rejects, and re-links duplicates that pointed
    /// at it. Returns the removed batch, `None` if there was none.
    async fn remove_batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError>;

    /// Households of one batch (or all), ordered by id.
    async fn households(&self, batch_id: Option<i64>) -> Result<Vec<StoredHousehold>, StoreError>;

    /// The reject lines of a batch, ordered by row.
    async fn rejects(&self, batch_id: i64) -> Result<Vec<Reject>, StoreError>;

    /// Stores reviewed households of a batch: their region code, address names, GPS and new
    /// geocoding result, all in one transaction. Households not in the batch are left alone.
    /// Returns how many were updated.
    async fn correct_households(
        &self,
        batch_id: i64,
        corrected: Vec<(i64, Household)>,
    ) -> Result<u64, StoreError>;

    /// What aggregation needs of every stored household, batch by batch, in stored order.
    async fn household_facts(&self) -> Result<Vec<HouseholdFacts>, StoreError>;

    /// Sends the households of `batch_id` (every batch when `None`) in id order to `sink`, a
    /// chunk of a few thousand at a time, so that a reader of a million households holds one
    /// chunk. Stops early, without an error, when the receiver is dropped.
    async fn stream_households(
        &self,
        batch_id: Option<i64>,
        sink: HouseholdSink,
    ) -> Result<(), StoreError>;

    /// Replaces the denominators (all households and population per unit).
    async fn replace_denominators(
        &self,
        denominators: &HashMap<Kode, Denominators>,
    ) -> Result<(), StoreError>;

    /// The stored denominators.
    async fn denominators(&self) -> Result<HashMap<Kode, Denominators>, StoreError>;

    /// A number that grows with every change to the regions, the crosswalk, the households or
    /// the denominators (kept by triggers in both stores): a snapshot built at one generation
    /// is current while the generation stays the same.
    async fn generation(&self) -> Result<u64, StoreError> {
        let value = self.get_meta("generation").await?.unwrap_or_default();
        value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("generation `{value}` is not a number")))
    }
}

/// Denominators from `(kode, households, population)` rows as both stores return them.
fn denominators_from_rows(
    rows: Vec<(String, Option<i64>, Option<i64>)>,
) -> Result<HashMap<Kode, Denominators>, StoreError> {
    rows.into_iter()
        .map(|(k, h, p)| {
            let d = Denominators {
                households: h.map(|v| v.max(0) as u64),
                population: p.map(|v| v.max(0) as u64),
            };
            Ok((parse_kode(&k)?, d))
        })
        .collect()
}

/// Where the data lives: the embedded store's directory, or a PostGIS URL that wins over it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Directory of the embedded SQLite store.
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://user@host:port/db`), when PostGIS is used.
    pub database_url: Option<String>,
}

/// Opens (and migrates) the configured store.
pub async fn open_store(cfg: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match &cfg.database_url {
        Some(url) => Ok(Arc::new(PostgisStore::connect(url).await?)),
        None => Ok(Arc::new(SqliteStore::open_dir(&cfg.data_dir).await?)),
    }
}

/// A region as the stores write it: plain values shared by both backends.
struct RegionRow {
    kode: String,
    level: &'static str,
    parent: Option<String>,
    nama: String,
    jenis: &'static str,
    wkb: Vec<u8>,
    bbox: [f64; 4],
}

impl RegionRow {
    fn from_region(r: &Region) -> RegionRow {
        RegionRow {
            kode: r.kode.to_string(),
            level: r.kode.level().as_str(),
            parent: r.kode.parent().map(|p| p.to_string()),
            nama: r.nama.clone(),
            jenis: r.kode.jenis().as_str(),
            wkb: crate::geometry::to_wkb(&r.geometry),
            bbox: crate::geometry::bbox(&r.geometry).unwrap_or([0.0; 4]),
        }
    }
}

/// The stored units an import replaces, as (level, code prefix) pairs: for kecamatan and desa
/// the kabupaten/kota each imported unit lies in, for kabupaten the province, for a province
/// itself. Importing the desa of one kabupaten thus leaves the other kabupaten's desa alone.
fn replace_scope(regions: &[Region]) -> Vec<(&'static str, String)> {
    let mut scope: Vec<(&'static str, String)> = regions
        .iter()
        .map(|r| {
            let container = match r.kode.level() {
                Level::Provinsi => r.kode,
                Level::Kabupaten => r.kode.ancestor(Level::Provinsi).unwrap_or(r.kode),
                _ => r.kode.ancestor(Level::Kabupaten).unwrap_or(r.kode),
            };
            (r.kode.level().as_str(), container.to_string())
        })
        .collect();
    scope.sort();
    scope.dedup();
    scope
}

fn parse_kode(s: &str) -> Result<Kode, StoreError> {
    Kode::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn region_from_row(kode: &str, nama: String, wkb: &[u8]) -> Result<Region, StoreError> {
    Ok(Region {
        kode: parse_kode(kode)?,
        nama,
        geometry: crate::geometry::from_wkb(wkb)
            .map_err(|e| StoreError::Corrupt(format!("{kode}: {e}")))?,
    })
}

fn info_from_row(kode: &str, nama: String, bbox: [f64; 4]) -> Result<RegionInfo, StoreError> {
    Ok(RegionInfo::new(parse_kode(kode)?, nama, Some(bbox)))
}

fn crosswalk_from_row(
    bps: String,
    nama: String,
    kmd: Option<String>,
) -> Result<CrosswalkEntry, StoreError> {
    use crate::region::crosswalk::BpsKode;
    Ok(CrosswalkEntry {
        kode_bps: BpsKode::parse(&bps).map_err(StoreError::Corrupt)?,
        nama_bps: nama,
        kode_kemendagri: kmd.as_deref().map(parse_kode).transpose()?,
    })
}

/// The LIKE pattern matching the codes strictly inside `parent`.
fn descendants_pattern(parent: Kode) -> String {
    format!("{parent}.%")
}

/// A household batch about to be written.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// File name (without directories).
    pub file_name: String,
    /// SHA-256 of the file, hex; `None` while it is being hashed, in which case the importer
    /// sends [`BatchMessage::FileHash`] before [`BatchMessage::Finish`].
    pub sha256: Option<String>,
    /// Source format.
    pub source: SourceFormat,
    /// Data period, `YYYY-MM`.
    pub period: String,
    /// How the file was read (sheet, delimiter, encoding).
    pub input: String,
}

/// Final counts of a batch. `rows_read = rows_accepted + rows_rejected` always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    /// Data rows read (blank rows not counted).
    pub rows_read: u64,
    /// Rows that went into households.
    pub rows_accepted: u64,
    /// Rows refused, each with at least one reject line.
    pub rows_rejected: u64,
    /// Blank rows skipped.
    pub blank_rows: u64,
    /// Households written.
    pub households: u64,
    /// Households repeating one earlier in the same batch.
    pub duplicates_in_batch: u64,
}

/// What the importer sends to the store while a batch is written.
#[derive(Debug)]
pub enum BatchMessage {
    /// Validated households and the rejects of the same rows.
    Chunk {
        /// Households.
        households: Vec<Household>,
        /// Rejects.
        rejects: Vec<Reject>,
    },
    /// The SHA-256 of the file, once hashed (see [`NewBatch::sha256`]). A store that holds
    /// a batch of the same file stops with [`StoreError::AlreadyImported`].
    FileHash(String),
    /// The end of the file: commit with these counts.
    Finish(BatchCounts),
}

/// A stored batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchInfo {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Source format.
    pub source: String,
    /// Period.
    pub period: String,
    /// How the file was read.
    pub input: String,
    /// Counts.
    pub counts: BatchCounts,
    /// Households already present in another batch of the same period.
    pub duplicates_other: u64,
    /// When, ISO 8601.
    pub imported_at: String,
}

/// A household as stored, with its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHousehold {
    /// Id.
    pub id: i64,
    /// Batch id.
    pub batch_id: i64,
    /// Period.
    pub period: String,
    /// Source format.
    pub source: String,
    /// The household.
    pub household: Household,
}

/// Where [`Store::stream_households`] sends its chunks.
pub type HouseholdSink = tokio::sync::mpsc::Sender<Vec<StoredHousehold>>;

/// Households per chunk sent by [`Store::stream_households`].
pub const STREAM_CHUNK: usize = 4096;

/// Household columns in store order, shared by both backends' SQL.
const HOUSEHOLD_COLUMNS: &str = "batch_id, period, source, source_row, source_id, head_name, \
    nik_hash, nik_masked, kk_hash, kk_masked, nik_key, kk_key, sex, birth_date, members, street, rt, \
    rw, dusun, desa, kecamatan, kabupaten, provinsi, region_code, desil, desil_scale, \
    extreme_poor, programs_known, programs_receives, lat, lon, attrs, duplicate_of, kode_desa, \
    geo_unit, geo_quality, geo_flags, geo_lon, geo_lat, geo_candidates";

/// Number of columns in [`HOUSEHOLD_COLUMNS`].
const HOUSEHOLD_COLUMN_COUNT: usize = 40;

/// A geocoding result as stored: codes and lists as text, the point as two numbers.
#[derive(Debug, Default)]
struct GeoColumns {
    kode_desa: Option<String>,
    unit: Option<String>,
    quality: Option<&'static str>,
    flags: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    candidates: Option<String>,
}

impl GeoColumns {
    fn of(g: &Option<Geocode>) -> GeoColumns {
        let Some(g) = g else {
            return GeoColumns::default();
        };
        GeoColumns {
            kode_desa: g.kode_desa.map(|k| k.to_string()),
            unit: g.unit.map(|k| k.to_string()),
            quality: Some(g.quality.as_str()),
            flags: Some(g.flags.to_string()),
            lon: g.point.map(|p| p.0),
            lat: g.point.map(|p| p.1),
            candidates: Some(
                g.candidates
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
        }
    }
}

/// A stored geocoding result back; `None` for a household imported without regions.
fn geocode_from_columns(
    kode_desa: Option<String>,
    unit: Option<String>,
    quality: Option<String>,
    flags: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    candidates: Option<String>,
) -> Result<Option<Geocode>, StoreError> {
    let Some(q) = quality else { return Ok(None) };
    let quality = Quality::parse(&q)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown geocode quality `{q}`")))?;
    let code = |s: Option<String>| {
        s.filter(|s| !s.is_empty())
            .map(|s| parse_kode(&s))
            .transpose()
    };
    let candidates = candidates
        .unwrap_or_default()
        .split(';')
        .filter(|s| !s.is_empty())
        .map(parse_kode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Geocode {
        kode_desa: code(kode_desa)?,
        unit: code(unit)?,
        quality,
        flags: Flags::parse(flags.as_deref().unwrap_or("")),
        point: lon.zip(lat),
        candidates,
    }))
}

/// The indexed form of an identity hash: its first 8 bytes as an integer. Indexes on these
/// are a quarter the size of indexes on the full hashes; matches are confirmed on the full
/// hash.
fn index_key(hash: &Option<IdHash>) -> Option<i64> {
    hash.map(|h| i64::from_le_bytes(h[..8].try_into().expect("32-byte hash")))
}

/// The reason text of a household duplicating one in another batch.
fn duplicate_of_batch(batch_id: i64) -> String {
    format!("batch {batch_id}")
}

fn sex_text(s: Option<Sex>) -> Option<&'static str> {
    s.map(|s| s.as_str())
}

fn sex_from_text(s: Option<String>) -> Option<Sex> {
    match s.as_deref() {
        Some("L") => Some(Sex::L),
        Some("P") => Some(Sex::P),
        _ => None,
    }
}

fn scale_number(s: Option<DesilScale>) -> Option<i64> {
    s.map(|s| i64::from(s.max()))
}

fn scale_from_number(n: Option<i64>) -> Option<DesilScale> {
    match n {
        Some(4) => Some(DesilScale::Four),
        Some(10) => Some(DesilScale::Ten),
        _ => None,
    }
}

fn hash_from_bytes(b: Option<Vec<u8>>) -> Result<Option<IdHash>, StoreError> {
    b.map(|v| {
        IdHash::try_from(v.as_slice())
            .map_err(|_| StoreError::Corrupt("identity hash is not 32 bytes".into()))
    })
    .transpose()
}

/// Separates a key from its value in the stored attribute text.
const ATTR_KV: char = '\u{1f}';
/// Separates attributes in the stored attribute text.
const ATTR_SEP: char = '\u{1e}';

/// Encodes attributes as `key US value RS key US value…` (ASCII unit and record separators,
/// which spreadsheet cells cannot meaningfully hold and are dropped from them). Much cheaper
/// than JSON on the import path, where every row carries a dozen attributes.
fn attrs_text(h: &Household) -> String {
    let mut out = String::with_capacity(h.attrs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in h.attrs.iter().enumerate() {
        if i > 0 {
            out.push(ATTR_SEP);
        }
        out.extend(k.chars().filter(|c| *c != ATTR_KV && *c != ATTR_SEP));
        out.push(ATTR_KV);
        out.extend(v.chars().filter(|c| *c != ATTR_KV && *c != ATTR_SEP));
    }
    out
}

fn attrs_from_text(s: &str) -> Result<Vec<(AttrName, Text)>, StoreError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(ATTR_SEP)
        .map(|kv| {
            kv.split_once(ATTR_KV)
                .map(|(k, v)| (AttrName::new(k), Text::from(v)))
                .ok_or_else(|| StoreError::Corrupt("household attribute without a value".into()))
        })
        .collect()
}
