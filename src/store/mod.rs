//! Persistence: one `Store` trait, two implementations.
//!
//! - [`SqliteStore`], the embedded default: one SQLite file in the data directory, no server.
//! - [`PostgisStore`], for production: PostGIS through a tokio-postgres connection pool.
//!
//! Both keep geometries as WKB (WGS84) and apply the same versioned migrations
//! ([`migrations::MIGRATIONS`]); the same test suite runs against both.

pub mod migrations;
mod postgis;
mod rows;
mod sqlite;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::model::{
    Account, AuditEntry, AuditFilter, AuditRecord, BatchInfo, BatchSink, BatchState, Denominators,
    Household, HouseholdFacts, ListInfo, Member, NewBatch, NewProgram, NewToken, NewUser, Period,
    ProgramInfo, Reject, Round, SessionInfo, StoredHousehold, TargetList, TargetMember, TokenInfo,
    User, UserChange, UserName,
};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Jenis, Kode, Level, Region, RegionInfo};

pub use postgis::PostgisStore;
pub use sqlite::SqliteStore;
/// The embedded store's household chunks and identity-key lists, decoded and encoded: a store
/// file or a backup may be damaged or forged, and these decoders answer such bytes with an
/// error in words (they are fuzzed for it).
pub use sqlite::{
    decode_chunk as decode_household_chunk, decode_keys as decode_identity_keys,
    encode_chunk as encode_household_chunk,
};

/// Errors of either store, with the backend's own error kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite store: {0}")]
    Sqlite(rusqlite::Error),
    /// The disk holding the store is full; the write was rolled back.
    #[error("the disk holding the store is full: nothing of this change was kept; free space on the disk of the data directory (or of the PostgreSQL server), or give it a larger disk, and try again")]
    DiskFull,
    /// PostgreSQL failed.
    #[error("PostGIS store: {}", postgres_text(.0))]
    Postgres(tokio_postgres::Error),
    /// No connection could be had from the pool.
    #[error("PostGIS store: cannot get a connection: {0}")]
    Pool(String),
    /// The read-only replica cannot serve Lentera's reads.
    #[error("PostGIS replica: {0}")]
    Replica(String),
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
    /// A backup or restore could not be made (the message says why and what to do).
    #[error("{0}")]
    Backup(String),
    /// A user of that name exists already.
    #[error("there is already a user `{0}`")]
    UserExists(String),
    /// The file (same SHA-256) is already a batch; nothing of the new one was kept.
    #[error("this file was already imported as batch {}", .0.id)]
    AlreadyImported(Box<BatchInfo>),
    /// The importer finished a batch without saying the file's SHA-256.
    #[error("the import ended without the file's SHA-256; nothing of it was kept")]
    NoFileHash,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sqlite(e),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        // 53100 disk_full: PostgreSQL could not extend a table, an index or its WAL; the
        // statement (and so the batch's transaction) failed and left nothing.
        if e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL) {
            return StoreError::DiskFull;
        }
        StoreError::Postgres(e)
    }
}

/// What PostgreSQL said: the server's message and hint for an error it reported (never its
/// detail, which may quote a row's values), else the client's own error.
fn postgres_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.hint() {
            Some(hint) => format!("{} ({hint})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
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
            let jenis: Jenis = jenis
                .parse()
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

/// The meta counters a restore moves on past both the replaced and the restored store's,
/// so that servers see the change and rebuild (not add to) their snapshots.
pub(crate) const MOVED_ON: [&str; 2] = ["generation", "rewrites"];

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

    /// Opens a household batch for writing: one transaction that takes what an import hands
    /// the returned writer and keeps it only when the writer is committed after
    /// [`BatchSink::finish`]. Households whose identity is already in another batch of the
    /// same period are marked as duplicates of that batch. A batch of a file already stored
    /// (same SHA-256) is refused with [`StoreError::AlreadyImported`].
    async fn begin_batch(&self, batch: NewBatch) -> Result<Box<dyn BatchWriter>, StoreError>;

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

    /// What aggregation needs of every stored household (or of those of `batches`), batch
    /// by batch, in stored order.
    async fn household_facts(
        &self,
        batches: Option<&[i64]>,
    ) -> Result<Vec<HouseholdFacts>, StoreError>;

    /// Sends the households of `batch_id` (every batch when `None`) in id order to `sink`, a
    /// chunk of a few thousand at a time, so that a reader of a million households holds one
    /// chunk. Stops early, without an error, when the receiver is dropped.
    async fn stream_households(
        &self,
        batch_id: Option<i64>,
        sink: StoredChunks,
    ) -> Result<(), StoreError>;

    /// Replaces the denominators (all households and population per unit).
    async fn replace_denominators(
        &self,
        denominators: &HashMap<Kode, Denominators>,
    ) -> Result<(), StoreError>;

    /// The stored denominators.
    async fn denominators(&self) -> Result<HashMap<Kode, Denominators>, StoreError>;

    /// Adds a user.
    async fn add_user(&self, user: &NewUser) -> Result<User, StoreError>;

    /// All users, by name.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// A user with the hash of their password, as a login needs it.
    async fn account(&self, name: &UserName) -> Result<Option<Account>, StoreError>;

    /// Changes a user (disabling or a new password also ends their sessions). Returns the
    /// user as changed, `None` if there is no such user.
    async fn change_user(
        &self,
        name: &UserName,
        change: &UserChange,
    ) -> Result<Option<User>, StoreError>;

    /// Stores a new personal API token.
    async fn add_token(&self, token: &NewToken) -> Result<TokenInfo, StoreError>;

    /// Tokens of one user (or all), by id.
    async fn tokens(&self, user: Option<&UserName>) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token. Returns it, `None` if there is none.
    async fn revoke_token(&self, id: i64) -> Result<Option<TokenInfo>, StoreError>;

    /// The token stored under `digest` and its user.
    async fn token_user(&self, digest: &str) -> Result<Option<(TokenInfo, User)>, StoreError>;

    /// Stores a new web session.
    async fn add_session(&self, session: &SessionInfo) -> Result<(), StoreError>;

    /// The session stored under `digest` and its user.
    async fn session_user(&self, digest: &str) -> Result<Option<(SessionInfo, User)>, StoreError>;

    /// Notes that a session was used at `at`.
    async fn touch_session(&self, digest: &str, at: &str) -> Result<(), StoreError>;

    /// Ends a session (and any session past `expired_before`, to keep the table small).
    async fn remove_session(&self, digest: &str, expired_before: &str) -> Result<(), StoreError>;

    /// Appends entries to the audit trail, each chained to the one before, in one
    /// transaction that no other writer (another server on the same PostGIS) interleaves.
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;

    /// Audit records with id above `after_id` matching `filter`, in id order, at most
    /// `limit`.
    async fn audit(
        &self,
        filter: &AuditFilter,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Sets where batch `id` stands in its round (status, who submitted or decided, the
    /// note); `None` when there is no such batch. Changing the status moves the generation on:
    /// an accepted batch counts from the next snapshot.
    async fn set_batch_state(
        &self,
        id: i64,
        state: &BatchState,
    ) -> Result<Option<BatchInfo>, StoreError>;

    /// Opens the verval round of `round.period`, or changes the deadline and expected units
    /// of the round already there (reopening it when it was closed).
    async fn open_round(&self, round: &Round) -> Result<(), StoreError>;

    /// Every round, newest period first.
    async fn rounds(&self) -> Result<Vec<Round>, StoreError>;

    /// Closes the round of `period` (by, at); `None` when there is none.
    async fn close_round(
        &self,
        period: Period,
        by: &str,
        at: &str,
    ) -> Result<Option<Round>, StoreError>;

    /// Registers a programme (by, at).
    async fn add_program(
        &self,
        program: &NewProgram,
        by: &str,
        at: &str,
    ) -> Result<ProgramInfo, StoreError>;

    /// Every programme, newest year first, then by name.
    async fn programs(&self) -> Result<Vec<ProgramInfo>, StoreError>;

    /// Removes a programme and its list; `None` when there is none.
    async fn remove_program(&self, id: i64) -> Result<Option<ProgramInfo>, StoreError>;

    /// Replaces the list of programme `id` (in one write, moving the generation on); `None`
    /// when there is no such programme.
    async fn set_program_list(
        &self,
        id: i64,
        list: &ListInfo,
        members: &[Member],
    ) -> Result<Option<ProgramInfo>, StoreError>;

    /// The rows of programme `id`'s list (empty without one).
    async fn program_members(&self, id: i64) -> Result<Vec<Member>, StoreError>;

    /// Saves a target list with its households; returns it with its id.
    async fn save_target_list(
        &self,
        list: &TargetList,
        members: &[TargetMember],
    ) -> Result<TargetList, StoreError>;

    /// Every saved target list, newest first.
    async fn target_lists(&self) -> Result<Vec<TargetList>, StoreError>;

    /// The households of target list `id` (`None`: no such list).
    async fn target_members(&self, id: i64) -> Result<Option<Vec<TargetMember>>, StoreError>;

    /// Writes a consistent copy of the whole store to `path` (a new file) while the store is
    /// in use: SQLite's online backup, or `pg_dump` for PostGIS.
    async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError>;

    /// Replaces the whole store with the backup at `path` (made by [`Store::backup`] of the
    /// same kind of store), applies pending migrations, and moves the generation on so that
    /// running servers rebuild their snapshot.
    async fn restore(&self, path: &std::path::Path) -> Result<(), StoreError>;

    /// A number that grows with every change to the regions, the crosswalk, the households or
    /// the denominators (kept by triggers in both stores): a snapshot built at one generation
    /// is current while the generation stays the same.
    async fn generation(&self) -> Result<u64, StoreError> {
        self.counter("generation").await
    }

    /// A number that grows with every change a snapshot cannot follow by adding batches:
    /// boundaries, the crosswalk, denominators, programmes, households already stored
    /// (corrections, duplicate marks) and batches removed. While it stays the same, what
    /// moved the generation were new batches and batch states.
    async fn rewrites(&self) -> Result<u64, StoreError> {
        self.counter("rewrites").await
    }

    /// The meta counter `key` (0 before it was first set).
    async fn counter(&self, key: &str) -> Result<u64, StoreError> {
        let value = self.get_meta(key).await?.unwrap_or_else(|| "0".into());
        value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{key} `{value}` is not a number")))
    }

    /// Announcements that the generation may have moved, as soon as another process (a
    /// second server, the command line) commits a change; `None` where the store cannot
    /// announce (the embedded store, read by one process: polling [`Store::generation`]
    /// sees its changes). A reader still polls: an announcement can be missed while the
    /// connection that listens is being made again.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// A household batch being written: a [`BatchSink`] over one store transaction. Nothing of
/// the batch is kept unless [`commit`](BatchWriter::commit) succeeds after
/// [`BatchSink::finish`]; dropping the writer, or any error, leaves the store as it was. Its
/// calls wait for the database: make them on a blocking thread, not in async code.
pub trait BatchWriter: BatchSink<Error = StoreError> + Send {
    /// Commits the batch and returns it as stored ([`StoreError::Interrupted`] before
    /// [`BatchSink::finish`]).
    fn commit(self: Box<Self>) -> Result<BatchInfo, StoreError>;

    /// Gives the batch up: nothing of it is kept, and the room its rows took is made
    /// reusable before this returns (after a full disk, the next import must fit again).
    /// Dropping a writer gives it up too, without waiting for the room.
    fn abandon(self: Box<Self>) {}
}

/// Where [`Store::stream_households`] sends its chunks.
pub type StoredChunks = tokio::sync::mpsc::Sender<Vec<StoredHousehold>>;

/// Households per chunk sent by [`Store::stream_households`].
pub const STREAM_CHUNK: usize = 4096;

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
