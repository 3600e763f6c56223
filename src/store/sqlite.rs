//! The embedded default store: one SQLite file (`lentera.sqlite`) in the data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::chunks;
use super::migrations::{check_not_newer, MIGRATIONS};
use super::{
    attrs_from_text, crosswalk_from_row, descendants_pattern, duplicate_of_batch, hash_from_bytes,
    info_from_row, region_from_row, replace_scope, scale_from_number, sex_from_text, BatchCounts,
    BatchInfo, BatchMessage, HouseholdSink, ImportLogEntry, ImportRecord, NewBatch, RegionCounts,
    RegionFilter, RegionRow, ReplaceSummary, Store, StoreError, StoredHousehold, HOUSEHOLD_COLUMNS,
};
use crate::aggregate::{Denominators, HouseholdFacts};
use crate::ingest::households::model::{Address, Household, Programs, Reject, Text};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};

/// Page cache of the connection, in KiB.
const CACHE_KIB: i64 = 256 * 1024;
/// Page cache while a household batch is written (see [`write_household_batch`]).
const IMPORT_CACHE_KIB: i64 = 4 * 1024;

/// The SQLite file name inside the data directory.
pub const DB_FILE: &str = "lentera.sqlite";
/// Page size of a new database (SQLite's largest).
const PAGE_SIZE: i64 = 65536;
/// How often the write-ahead log is flushed to disk while a batch is written.
const WAL_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The write-ahead log of the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// Flushes the write-ahead log to disk now and then while a batch is written, until dropped.
///
/// A batch is one transaction: its pages reach the disk only when the checkpoint at commit
/// syncs the log, which for a million households is some 300 MB written while the caller
/// waits. Syncing from a second thread as the batch grows does that writing while the rows
/// are still being read and checked. It changes nothing SQLite relies on: an extra sync is
/// always safe.
struct WalFlusher {
    _stop: std::sync::mpsc::Sender<()>,
}

impl WalFlusher {
    fn start(wal: PathBuf) -> WalFlusher {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(WAL_FLUSH_EVERY)
            {
                if let Ok(f) = std::fs::File::open(&wal) {
                    let _ = f.sync_data();
                }
            }
        });
        WalFlusher { _stop: stop }
    }
}

/// The embedded SQLite store. Calls run on tokio's blocking pool, one at a time.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir` and applies pending migrations.
    pub async fn open_dir(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let mut conn = Connection::open(&p)?;
            // Only a new database takes it; household chunks are blobs of a few hundred KiB,
            // which large pages write and checkpoint in fewer, longer runs.
            conn.pragma_update(None, "page_size", PAGE_SIZE)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // A page cache much larger than SQLite's 2 MiB default keeps the regions, the
            // identity keys of the batches and recently read chunks in memory between
            // requests (a household batch is written with a small one, see
            // `write_household_batch`).
            conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    check_not_newer(current)?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sqlite).map_err(|e| {
            StoreError::Migration(format!("version {} ({}): {e}", m.version, m.name))
        })?;
        if m.version == 4 {
            rows_to_chunks(&tx).map_err(|e| {
                StoreError::Migration(format!("version 4 (households into chunks): {e}"))
            })?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            params![m.version, m.name],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.run(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn replace_regions(
        &self,
        regions: &[Region],
        record: &ImportRecord,
    ) -> Result<ReplaceSummary, StoreError> {
        let rows: Vec<RegionRow> = regions.iter().map(RegionRow::from_region).collect();
        let scope = replace_scope(regions);
        let record = record.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut removed = 0u64;
            for (level, prefix) in &scope {
                removed += tx.execute(
                    "DELETE FROM regions WHERE level = ?1 AND (kode = ?2 OR kode LIKE ?3)",
                    params![level, prefix, format!("{prefix}.%")],
                )? as u64;
            }
            {
                let mut ins = tx.prepare(
                    "INSERT INTO regions (kode, level, parent, nama, jenis, geom,
                        min_lon, min_lat, max_lon, max_lat)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for r in &rows {
                    ins.execute(params![
                        r.kode, r.level, r.parent, r.nama, r.jenis, r.wkb, r.bbox[0], r.bbox[1],
                        r.bbox[2], r.bbox[3]
                    ])?;
                }
            }
            let sources = serde_json::to_string(&record.sources).unwrap_or_default();
            tx.execute(
                "INSERT INTO region_imports (sources, features_read, refused, removed, inserted, issues)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    sources,
                    record.features_read as i64,
                    record.refused as i64,
                    removed as i64,
                    rows.len() as i64,
                    record.issues
                ],
            )?;
            let import_id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(ReplaceSummary {
                import_id,
                removed,
                inserted: rows.len() as u64,
            })
        })
        .await
    }

    async fn region_codes(&self) -> Result<Vec<Kode>, StoreError> {
        self.run(|c| {
            let mut st = c.prepare("SELECT kode FROM regions ORDER BY kode")?;
            let codes: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            codes.iter().map(|k| super::parse_kode(k)).collect()
        })
        .await
    }

    async fn list_regions(&self, filter: &RegionFilter) -> Result<Vec<RegionInfo>, StoreError> {
        let level = filter.level.map(|l| l.as_str());
        let pattern = filter.parent.map(descendants_pattern);
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT kode, nama, min_lon, min_lat, max_lon, max_lat FROM regions
                 WHERE (?1 IS NULL OR level = ?1) AND (?2 IS NULL OR kode LIKE ?2)
                 ORDER BY kode",
            )?;
            let rows = st.query_map(params![level, pattern], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                ))
            })?;
            rows.map(|row| {
                let (k, n, b) = row?;
                info_from_row(&k, n, b)
            })
            .collect()
        })
        .await
    }

    async fn get_region(&self, kode: Kode) -> Result<Option<Region>, StoreError> {
        self.run(move |c| {
            let row: Option<(String, Vec<u8>)> = c
                .query_row(
                    "SELECT nama, geom FROM regions WHERE kode = ?1",
                    [kode.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(nama, wkb)| region_from_row(&kode.to_string(), nama, &wkb))
                .transpose()
        })
        .await
    }

    async fn regions(&self, level: Level) -> Result<Vec<Region>, StoreError> {
        self.run(move |c| {
            let mut st =
                c.prepare("SELECT kode, nama, geom FROM regions WHERE level = ?1 ORDER BY kode")?;
            let rows = st.query_map([level.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?;
            rows.map(|row| {
                let (k, n, g) = row?;
                region_from_row(&k, n, &g)
            })
            .collect()
        })
        .await
    }

    async fn region_counts(&self) -> Result<RegionCounts, StoreError> {
        self.run(|c| {
            let mut st = c.prepare("SELECT jenis, COUNT(*) FROM regions GROUP BY jenis")?;
            let rows: Vec<(String, i64)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            RegionCounts::from_rows(rows)
        })
        .await
    }

    async fn region_imports(&self) -> Result<Vec<ImportLogEntry>, StoreError> {
        self.run(|c| {
            let mut st = c.prepare(
                "SELECT id, imported_at, sources, features_read, refused, removed, inserted
                 FROM region_imports ORDER BY id DESC",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ImportLogEntry {
                    id: r.get(0)?,
                    imported_at: r.get(1)?,
                    sources: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                    features_read: r.get(3)?,
                    refused: r.get(4)?,
                    removed: r.get(5)?,
                    inserted: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn replace_crosswalk(&self, entries: &[CrosswalkEntry]) -> Result<(), StoreError> {
        let entries = entries.to_vec();
        self.run(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM crosswalk", [])?;
            {
                let mut ins = tx.prepare(
                    "INSERT INTO crosswalk (kode_bps, nama_bps, kode_kemendagri) VALUES (?1, ?2, ?3)",
                )?;
                for e in &entries {
                    ins.execute(params![
                        e.kode_bps.as_str(),
                        e.nama_bps,
                        e.kode_kemendagri.map(|k| k.to_string())
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn crosswalk(&self) -> Result<Vec<CrosswalkEntry>, StoreError> {
        self.run(|c| {
            let mut st = c.prepare(
                "SELECT kode_bps, nama_bps, kode_kemendagri FROM crosswalk ORDER BY kode_bps",
            )?;
            let rows: Vec<(String, String, Option<String>)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(b, n, k)| crosswalk_from_row(b, n, k))
                .collect()
        })
        .await
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        self.run(move |c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    async fn import_households(
        &self,
        batch: NewBatch,
        rx: tokio::sync::mpsc::Receiver<BatchMessage>,
    ) -> Result<BatchInfo, StoreError> {
        let wal = WalFlusher::start(wal_path(&self.path));
        self.run(move |c| {
            let _flushing = wal;
            // A small page cache while the batch is written: its pages go to the log as they
            // fill the cache, instead of all at once when it commits.
            c.pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)?;
            let written = write_household_batch(c, batch, rx);
            let restored = c.pragma_update(None, "cache_size", -CACHE_KIB);
            let info = written?;
            restored?;
            Ok(info)
        })
        .await
    }

    async fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        self.run(|c| {
            let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches ORDER BY id DESC");
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], batch_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn remove_batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = ?1");
            let Some(info) = tx.query_row(&sql, [id], batch_from_row).optional()? else {
                return Ok(None);
            };
            for table in [
                "household_rejects",
                "household_chunks",
                "household_keys",
                "household_links",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE batch_id = ?1"), [id])?;
            }
            tx.execute("DELETE FROM household_batches WHERE id = ?1", [id])?;
            // Households that repeated one of the removed batch now repeat the next earliest,
            // or are primaries themselves: link the period again.
            let remaining = period_batches(&tx, &info.period, None)?;
            for (b, _) in &remaining {
                tx.execute("DELETE FROM household_links WHERE batch_id = ?1", [b])?;
            }
            let (links, _) = chunks::link_period(&remaining);
            insert_links(&tx, links.into_iter())?;
            tx.commit()?;
            Ok(Some(info))
        })
        .await
    }

    async fn households(&self, batch_id: Option<i64>) -> Result<Vec<StoredHousehold>, StoreError> {
        self.run(move |c| {
            let mut out = Vec::new();
            visit_households(c, batch_id, |batch, index, household| {
                out.push(StoredHousehold {
                    id: chunks::household_id(batch.id, index),
                    batch_id: batch.id,
                    period: batch.period.clone(),
                    source: batch.source.clone(),
                    household,
                });
            })?;
            Ok(out)
        })
        .await
    }

    async fn stream_households(
        &self,
        batch_id: Option<i64>,
        sink: HouseholdSink,
    ) -> Result<(), StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || stream_chunks(&conn, batch_id, &sink))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn household_facts(&self) -> Result<Vec<HouseholdFacts>, StoreError> {
        self.run(move |c| {
            let mut out = Vec::new();
            visit_households(c, None, |batch, _, h| {
                out.push(HouseholdFacts::of(batch.id, &h));
            })?;
            Ok(out)
        })
        .await
    }

    async fn replace_denominators(
        &self,
        denominators: &HashMap<Kode, Denominators>,
    ) -> Result<(), StoreError> {
        let rows: Vec<(String, Option<i64>, Option<i64>)> = denominators
            .iter()
            .map(|(k, d)| {
                let n = |v: Option<u64>| v.map(|v| v as i64);
                (k.to_string(), n(d.households), n(d.population))
            })
            .collect();
        self.run(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM denominators", [])?;
            {
                let mut st = tx.prepare(
                    "INSERT INTO denominators (kode, households, population) VALUES (?1, ?2, ?3)",
                )?;
                for (k, h, p) in &rows {
                    st.execute(rusqlite::params![k, h, p])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn denominators(&self) -> Result<HashMap<Kode, Denominators>, StoreError> {
        self.run(|c| {
            let rows = c
                .prepare("SELECT kode, households, population FROM denominators")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            super::denominators_from_rows(rows)
        })
        .await
    }

    async fn correct_households(
        &self,
        batch_id: i64,
        corrected: Vec<(i64, Household)>,
    ) -> Result<u64, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut by_chunk: std::collections::BTreeMap<i64, Vec<(u32, Household)>> =
                Default::default();
            {
                let mut find = tx.prepare(
                    "SELECT chunk FROM household_chunks WHERE batch_id = ?1 AND first_index <= ?2
                     AND ?2 < first_index + households",
                )?;
                for (id, h) in corrected {
                    let (b, index) = chunks::split_id(id);
                    if b != batch_id {
                        continue;
                    }
                    if let Some(chunk) = find
                        .query_row(params![batch_id, index], |r| r.get::<_, i64>(0))
                        .optional()?
                    {
                        by_chunk.entry(chunk).or_default().push((index, h));
                    }
                }
            }
            let mut n = 0u64;
            for (chunk, fixes) in by_chunk {
                let (first, data): (u32, Vec<u8>) = tx.query_row(
                    "SELECT first_index, data FROM household_chunks
                     WHERE batch_id = ?1 AND chunk = ?2",
                    params![batch_id, chunk],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let mut households = chunks::decode_chunk(&data)?;
                for (index, fixed) in fixes {
                    let h = &mut households[(index - first) as usize];
                    h.region_code = fixed.region_code;
                    h.address.desa = fixed.address.desa;
                    h.address.kecamatan = fixed.address.kecamatan;
                    h.address.kabupaten = fixed.address.kabupaten;
                    h.lat = fixed.lat;
                    h.lon = fixed.lon;
                    h.geocode = fixed.geocode;
                    n += 1;
                }
                tx.execute(
                    "UPDATE household_chunks SET data = ?3 WHERE batch_id = ?1 AND chunk = ?2",
                    params![batch_id, chunk, chunks::encode_chunk(&households)?],
                )?;
            }
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    async fn rejects(&self, batch_id: i64) -> Result<Vec<Reject>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT row, column_name, value, reason FROM household_rejects
                 WHERE batch_id = ?1 ORDER BY row, rowid",
            )?;
            let rows = st.query_map([batch_id], |r| {
                Ok(Reject {
                    row: r.get::<_, i64>(0)? as u64,
                    column: r.get(1)?,
                    value: r.get(2)?,
                    reason: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

const BATCH_COLUMNS: &str = "id, file_name, sha256, source, period, input, rows_read, \
    rows_accepted, rows_rejected, blank_rows, households, duplicates_in_batch, duplicates_other, \
    imported_at";

/// A batch as [`visit_households`] reports it.
struct BatchRef {
    id: i64,
    period: String,
    source: String,
}

/// Decodes the households of one batch (or all), chunk by chunk, and hands each to `each`
/// with its batch and index, its duplicate link filled in.
fn visit_households(
    c: &Connection,
    batch_id: Option<i64>,
    mut each: impl FnMut(&BatchRef, u32, Household),
) -> Result<(), StoreError> {
    for batch in &batch_refs(c, batch_id)? {
        let links = batch_links(c, batch.id)?;
        let mut st = c.prepare(
            "SELECT first_index, data FROM household_chunks WHERE batch_id = ?1 ORDER BY chunk",
        )?;
        let mut rows = st.query([batch.id])?;
        while let Some(r) = rows.next()? {
            let first: u32 = r.get(0)?;
            let data = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            for (i, household) in decode_linked(data, first, &links)? {
                each(batch, i, household);
            }
        }
    }
    Ok(())
}

/// The batches `batch_id` names (all when `None`), in id order.
fn batch_refs(c: &Connection, batch_id: Option<i64>) -> Result<Vec<BatchRef>, StoreError> {
    Ok(c.prepare(
        "SELECT id, period, source FROM household_batches
         WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
    )?
    .query_map([batch_id], |r| {
        Ok(BatchRef {
            id: r.get(0)?,
            period: r.get(1)?,
            source: r.get(2)?,
        })
    })?
    .collect::<Result<_, _>>()?)
}

/// The households of a batch that repeat one of an earlier batch: index → that batch.
fn batch_links(c: &Connection, batch_id: i64) -> Result<HashMap<u32, i64>, StoreError> {
    Ok(
        c.prepare("SELECT idx, other_batch FROM household_links WHERE batch_id = ?1")?
            .query_map([batch_id], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?,
    )
}

/// Decodes a chunk whose first household has index `first`, marking duplicates from `links`.
fn decode_linked<'a>(
    data: &[u8],
    first: u32,
    links: &'a HashMap<u32, i64>,
) -> Result<impl Iterator<Item = (u32, Household)> + 'a, StoreError> {
    Ok(chunks::decode_chunk(data)?
        .into_iter()
        .enumerate()
        .map(move |(i, mut household)| {
            let index = first + i as u32;
            if let Some(other) = links.get(&index) {
                household.duplicate_of = Some(duplicate_of_batch(*other).into());
            }
            (index, household)
        }))
}

/// Streams households chunk by chunk, taking the connection only while a chunk is read, so
/// that a long export does not hold up imports or the snapshot refresher.
fn stream_chunks(
    conn: &Mutex<Connection>,
    batch_id: Option<i64>,
    sink: &HouseholdSink,
) -> Result<(), StoreError> {
    let lock = || conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let batches = batch_refs(&lock(), batch_id)?;
    for batch in &batches {
        let (links, chunk_numbers) = {
            let c = lock();
            let numbers: Vec<i64> = c
                .prepare("SELECT chunk FROM household_chunks WHERE batch_id = ?1 ORDER BY chunk")?
                .query_map([batch.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            (batch_links(&c, batch.id)?, numbers)
        };
        for chunk in chunk_numbers {
            let row: Option<(u32, Vec<u8>)> = lock()
                .query_row(
                    "SELECT first_index, data FROM household_chunks
                     WHERE batch_id = ?1 AND chunk = ?2",
                    rusqlite::params![batch.id, chunk],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            // The batch was removed while it was read: what was sent stands, the rest is gone.
            let Some((first, data)) = row else {
                return Ok(());
            };
            let households: Vec<StoredHousehold> = decode_linked(&data, first, &links)?
                .map(|(index, household)| StoredHousehold {
                    id: chunks::household_id(batch.id, index),
                    batch_id: batch.id,
                    period: batch.period.clone(),
                    source: batch.source.clone(),
                    household,
                })
                .collect();
            if sink.blocking_send(households).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn batch_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchInfo> {
    let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
    Ok(BatchInfo {
        id: r.get(0)?,
        file_name: r.get(1)?,
        sha256: r.get(2)?,
        source: r.get(3)?,
        period: r.get(4)?,
        input: r.get(5)?,
        counts: BatchCounts {
            rows_read: n(6)?,
            rows_accepted: n(7)?,
            rows_rejected: n(8)?,
            blank_rows: n(9)?,
            households: n(10)?,
            duplicates_in_batch: n(11)?,
        },
        duplicates_other: n(12)?,
        imported_at: r.get(13)?,
    })
}

/// The batches of a period in id order with their key entries, without `except`.
fn period_batches(
    tx: &rusqlite::Transaction<'_>,
    period: &str,
    except: Option<i64>,
) -> Result<Vec<(i64, Vec<chunks::KeyEntry>)>, StoreError> {
    let mut st = tx.prepare(
        "SELECT batch_id, data FROM household_keys
         WHERE period = ?1 AND batch_id IS NOT ?2 ORDER BY batch_id",
    )?;
    let mut rows = st.query(params![period, except])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let data = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        out.push((r.get(0)?, chunks::decode_keys(data)?));
    }
    Ok(out)
}

/// Records households that repeat one of an earlier batch: `(batch, index, earlier batch)`.
fn insert_links(
    tx: &rusqlite::Transaction<'_>,
    links: impl Iterator<Item = (i64, u32, i64)>,
) -> rusqlite::Result<()> {
    let mut st =
        tx.prepare("INSERT INTO household_links (batch_id, idx, other_batch) VALUES (?1, ?2, ?3)")?;
    for (b, i, o) in links {
        st.execute(params![b, i, o])?;
    }
    Ok(())
}

/// Households per chunk when rows of an older schema are moved into chunks.
const MIGRATED_CHUNK: usize = 4096;

/// Moves households stored a row each (schema versions 2 and 3) into chunks, keys and links,
/// then drops the row table.
fn rows_to_chunks(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let batches: Vec<(i64, String)> = tx
        .prepare("SELECT id, period FROM household_batches ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let sql =
        format!("SELECT id, {HOUSEHOLD_COLUMNS} FROM households WHERE batch_id = ?1 ORDER BY id");
    for (batch_id, period) in batches {
        let mut households = Vec::new();
        let mut keys = Vec::new();
        let mut links = Vec::new();
        let mut st = tx.prepare(&sql)?;
        let mut rows = st.query([batch_id])?;
        while let Some(r) = rows.next()? {
            let mut h = household_from_row(r)?.household;
            let index = households.len() as u32;
            match h.duplicate_of.as_deref() {
                Some(d) if d.starts_with("batch ") => {
                    links.push((batch_id, index, d["batch ".len()..].parse().unwrap_or(0)));
                    h.duplicate_of = None;
                }
                Some(_) => {}
                None => keys
                    .extend(chunks::identity_keys(&h).map(|key| chunks::KeyEntry { key, index })),
            }
            households.push(h);
        }
        for (no, part) in households.chunks_mut(MIGRATED_CHUNK).enumerate() {
            tx.execute(
                "INSERT INTO household_chunks (batch_id, chunk, first_index, households, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    batch_id,
                    no as i64,
                    (no * MIGRATED_CHUNK) as i64,
                    part.len() as i64,
                    chunks::encode_chunk(part)?
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO household_keys (batch_id, period, data) VALUES (?1, ?2, ?3)",
            params![batch_id, period, chunks::encode_keys(keys)],
        )?;
        insert_links(tx, links.into_iter())?;
    }
    tx.execute_batch("DROP TABLE households;")?;
    Ok(())
}

/// Writes a household batch in one transaction as its chunks arrive: the batch row, the
/// chunks, the rejects, the identity keys and the links to earlier batches of the period.
fn write_household_batch(
    c: &mut Connection,
    batch: NewBatch,
    mut rx: tokio::sync::mpsc::Receiver<BatchMessage>,
) -> Result<BatchInfo, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut sha256 = batch.sha256.clone();
    if let Some(sha) = &sha256 {
        refuse_imported(&tx, sha)?;
    }
    tx.execute(
        "INSERT INTO household_batches (file_name, sha256, source, period, input)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            batch.file_name,
            sha256.clone().unwrap_or_else(super::provisional_sha256),
            batch.source.as_str(),
            batch.period,
            batch.input
        ],
    )?;
    let batch_id = tx.last_insert_rowid();
    // The primaries of the other batches of the period, to link repeats to.
    let earlier = period_batches(&tx, &batch.period, Some(batch_id))?;
    let (_, primaries) = chunks::link_period(&earlier);
    let mut keys: Vec<chunks::KeyEntry> = Vec::new();
    let mut links: Vec<(u32, i64)> = Vec::new();
    let mut next_index: u32 = 0;
    let mut chunk_no: i64 = 0;
    let mut encoder = chunks::ChunkEncoder::default();
    {
        let mut insert_chunk = tx.prepare(
            "INSERT INTO household_chunks (batch_id, chunk, first_index, households, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut reject = tx.prepare(
            "INSERT INTO household_rejects (batch_id, row, column_name, value, reason)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        loop {
            match rx.blocking_recv() {
                None => return Err(StoreError::Interrupted),
                Some(BatchMessage::Chunk {
                    households,
                    rejects,
                }) => {
                    let first_index = next_index;
                    for h in &households {
                        let index = next_index;
                        next_index += 1;
                        if h.duplicate_of.is_some() {
                            continue;
                        }
                        let ks: Vec<chunks::IdentityKey> = chunks::identity_keys(h).collect();
                        match primaries.find(&ks) {
                            Some(other) => links.push((index, other)),
                            None => keys
                                .extend(ks.into_iter().map(|key| chunks::KeyEntry { key, index })),
                        }
                    }
                    if !households.is_empty() {
                        insert_chunk.execute(params![
                            batch_id,
                            chunk_no,
                            first_index,
                            households.len() as i64,
                            encoder.encode(&households)?
                        ])?;
                        chunk_no += 1;
                    }
                    for r in rejects {
                        reject.execute(params![
                            batch_id,
                            r.row as i64,
                            r.column,
                            r.value,
                            r.reason
                        ])?;
                    }
                }
                Some(BatchMessage::FileHash(sha)) => {
                    refuse_imported(&tx, &sha)?;
                    sha256 = Some(sha);
                }
                Some(BatchMessage::Finish(n)) => {
                    tx.execute(
                        "UPDATE household_batches SET rows_read = ?2, rows_accepted = ?3,
                            rows_rejected = ?4, blank_rows = ?5, households = ?6,
                            duplicates_in_batch = ?7, duplicates_other = ?8, sha256 = ?9
                         WHERE id = ?1",
                        params![
                            batch_id,
                            n.rows_read as i64,
                            n.rows_accepted as i64,
                            n.rows_rejected as i64,
                            n.blank_rows as i64,
                            n.households as i64,
                            n.duplicates_in_batch as i64,
                            links.len() as i64,
                            sha256.as_deref().ok_or(StoreError::NoFileHash)?
                        ],
                    )?;
                    break;
                }
            }
        }
    }
    tx.execute(
        "INSERT INTO household_keys (batch_id, period, data) VALUES (?1, ?2, ?3)",
        params![batch_id, batch.period, chunks::encode_keys(keys)],
    )?;
    insert_links(&tx, links.iter().map(|(i, o)| (batch_id, *i, *o)))?;
    let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = ?1");
    let info = tx.query_row(&sql, [batch_id], batch_from_row)?;
    let committing = std::time::Instant::now();
    tx.commit()?;
    tracing::debug!(
        batch = batch_id,
        seconds = committing.elapsed().as_secs_f64(),
        "household batch committed"
    );
    Ok(info)
}

/// Stops a batch whose file is already stored as another batch.
fn refuse_imported(tx: &rusqlite::Transaction<'_>, sha256: &str) -> Result<(), StoreError> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE sha256 = ?1");
    match tx.query_row(&sql, [sha256], batch_from_row).optional()? {
        Some(existing) => Err(StoreError::AlreadyImported(Box::new(existing))),
        None => Ok(()),
    }
}

/// A household row of schema versions 2 and 3 (read only to move it into chunks).
fn household_from_row(r: &rusqlite::Row<'_>) -> Result<StoredHousehold, StoreError> {
    let household = Household {
        source_row: r.get::<_, i64>(4)? as u64,
        source_id: r.get::<_, Option<String>>(5)?.map(Text::from),
        head_name: r.get::<_, Option<String>>(6)?.map(Text::from),
        nik_hash: hash_from_bytes(r.get(7)?)?,
        nik_masked: r.get::<_, Option<String>>(8)?.map(Text::from),
        kk_hash: hash_from_bytes(r.get(9)?)?,
        kk_masked: r.get::<_, Option<String>>(10)?.map(Text::from),
        sex: sex_from_text(r.get(13)?),
        birth_date: r.get::<_, Option<String>>(14)?.map(Text::from),
        members: r.get::<_, Option<i64>>(15)?.map(|v| v as u32),
        address: Address {
            street: r.get::<_, Option<String>>(16)?.map(Text::from),
            rt: r.get::<_, Option<String>>(17)?.map(Text::from),
            rw: r.get::<_, Option<String>>(18)?.map(Text::from),
            dusun: r.get::<_, Option<String>>(19)?.map(Text::from),
            desa: r.get::<_, Option<String>>(20)?.map(Text::from),
            kecamatan: r.get::<_, Option<String>>(21)?.map(Text::from),
            kabupaten: r.get::<_, Option<String>>(22)?.map(Text::from),
            provinsi: r.get::<_, Option<String>>(23)?.map(Text::from),
        },
        region_code: r.get::<_, Option<String>>(24)?.map(Text::from),
        desil: r.get::<_, Option<i64>>(25)?.map(|v| v as u8),
        desil_scale: scale_from_number(r.get(26)?),
        extreme_poor: r.get(27)?,
        programs: Programs {
            known: r.get::<_, i64>(28)? as u16,
            receives: r.get::<_, i64>(29)? as u16,
        },
        lat: r.get(30)?,
        lon: r.get(31)?,
        attrs: attrs_from_text(&r.get::<_, String>(32)?)?,
        duplicate_of: r.get::<_, Option<String>>(33)?.map(Text::from),
        geocode: super::geocode_from_columns(
            r.get(34)?,
            r.get(35)?,
            r.get(36)?,
            r.get(37)?,
            r.get(38)?,
            r.get(39)?,
            r.get(40)?,
        )?,
    };
    Ok(StoredHousehold {
        id: r.get(0)?,
        batch_id: r.get(1)?,
        period: r.get(2)?,
        source: r.get(3)?,
        household,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written by schema version 3 (a row per household) opens with its households
    /// moved into chunks, links and keys intact.
    #[tokio::test]
    async fn households_of_schema_3_move_into_chunks() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TEXT NOT NULL DEFAULT 'then')",
            )
            .unwrap();
            for m in MIGRATIONS.iter().filter(|m| m.version <= 3) {
                conn.execute_batch(m.sqlite).unwrap();
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                    params![m.version, m.name],
                )
                .unwrap();
            }
            for (id, sha) in [(1, "a"), (2, "b")] {
                conn.execute(
                    "INSERT INTO household_batches (id, file_name, sha256, source, period, input,
                     households) VALUES (?1, 'f.csv', ?2, 'p3ke', '2024-12', 'csv', 2)",
                    params![id, sha],
                )
                .unwrap();
            }
            let row = |batch: i64, row: i64, kk: u8, dup: Option<&str>| {
                conn.execute(
                    "INSERT INTO households (batch_id, period, source, source_row, head_name,
                     kk_hash, kk_masked, programs_known, programs_receives, attrs, duplicate_of,
                     kode_desa, geo_quality, geo_flags, geo_lon, geo_lat, geo_candidates)
                     VALUES (?1, '2024-12', 'p3ke', ?2, 'Ani', ?3, '647201********01', 0, 0,
                     'rumah' || char(31) || 'kayu', ?4, '64.72.01.1001', 'code', '', 117.1, -0.5,
                     '')",
                    params![batch, row, vec![kk; 32], dup],
                )
                .unwrap();
            };
            row(1, 2, 7, None);
            row(1, 3, 7, Some("row 2"));
            row(2, 2, 7, Some("batch 1"));
            row(2, 3, 9, None);
        }
        let store = SqliteStore::open_dir(dir.path()).await.unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            super::super::migrations::latest_version()
        );
        let all = store.households(None).await.unwrap();
        assert_eq!(all.len(), 4);
        let dups: Vec<Option<&str>> = all
            .iter()
            .map(|s| s.household.duplicate_of.as_deref())
            .collect();
        assert_eq!(dups, [None, Some("row 2"), Some("batch 1"), None]);
        let first = &all[0].household;
        assert_eq!(first.head_name.as_deref(), Some("Ani"));
        assert_eq!(first.attrs[0].1, "kayu");
        let g = first.geocode.as_ref().unwrap();
        assert_eq!(g.point, Some((117.1, -0.5)));
        // Removing batch 1 makes batch 2's first household a primary.
        store.remove_batch(1).await.unwrap();
        let left = store.households(None).await.unwrap();
        assert!(left.iter().all(|s| s.household.duplicate_of.is_none()));
    }
}
