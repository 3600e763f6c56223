//! The embedded default store: one SQLite file (`lentera.sqlite`) in the data directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::migrations::{check_not_newer, MIGRATIONS};
use super::{
    attrs_from_text, attrs_text, crosswalk_from_row, descendants_pattern, duplicate_of_batch,
    hash_from_bytes, info_from_row, region_from_row, replace_scope, scale_from_number,
    scale_number, sex_from_text, sex_text, BatchCounts, BatchInfo, BatchMessage, ImportLogEntry,
    ImportRecord, NewBatch, RegionCounts, RegionFilter, RegionRow, ReplaceSummary, Store,
    StoreError, StoredHousehold, HOUSEHOLD_COLUMNS, RELINK_DUPLICATES,
};
use crate::ingest::households::model::{Address, Household, Programs, Reject};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};

/// Page cache of the connection, in KiB.
const CACHE_KIB: i64 = 256 * 1024;

/// The SQLite file name inside the data directory.
pub const DB_FILE: &str = "lentera.sqlite";

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
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // Household batches insert into indexes keyed by random hashes: a page cache
            // much larger than SQLite's 2 MiB default keeps those inserts in memory.
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

    async fn batch_by_sha256(&self, sha256: &str) -> Result<Option<BatchInfo>, StoreError> {
        let sha = sha256.to_string();
        self.run(move |c| {
            let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE sha256 = ?1");
            Ok(c.query_row(&sql, [sha], batch_from_row).optional()?)
        })
        .await
    }

    async fn import_households(
        &self,
        batch: NewBatch,
        mut rx: tokio::sync::mpsc::Receiver<BatchMessage>,
    ) -> Result<BatchInfo, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO household_batches (file_name, sha256, source, period, input)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    batch.file_name,
                    batch.sha256,
                    batch.source.as_str(),
                    batch.period,
                    batch.input
                ],
            )?;
            let batch_id = tx.last_insert_rowid();
            let mut duplicates_other = 0u64;
            {
                let placeholders = (1..=super::HOUSEHOLD_COLUMN_COUNT)
                    .map(|i| format!("?{i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut insert = tx.prepare(&format!(
                    "INSERT INTO households ({HOUSEHOLD_COLUMNS}) VALUES ({placeholders})"
                ))?;
                let mut reject = tx.prepare(
                    "INSERT INTO household_rejects (batch_id, row, column_name, value, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                // One indexed lookup per key: an OR over both columns would scan the period.
                let mut earlier_kk = tx.prepare(
                    "SELECT batch_id FROM households WHERE kk_key = ?3 AND kk_hash = ?4
                     AND period = ?1 AND batch_id <> ?2 AND duplicate_of IS NULL LIMIT 1",
                )?;
                let mut earlier_nik = tx.prepare(
                    "SELECT batch_id FROM households WHERE nik_key = ?3 AND nik_hash = ?4
                     AND period = ?1 AND batch_id <> ?2 AND duplicate_of IS NULL LIMIT 1",
                )?;
                // The first batch of a period has nothing to be a duplicate of.
                let period_has_others: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM households WHERE period = ?1)",
                    [&batch.period],
                    |r| r.get(0),
                )?;
                let source = batch.source.as_str();
                loop {
                    match rx.blocking_recv() {
                        None => return Err(StoreError::Interrupted),
                        Some(BatchMessage::Chunk {
                            households,
                            rejects,
                        }) => {
                            for mut h in households {
                                if period_has_others && h.duplicate_of.is_none() {
                                    let mut other: Option<i64> = None;
                                    for (tag, key) in h.identity_keys() {
                                        let st = if tag == 0 {
                                            &mut earlier_kk
                                        } else {
                                            &mut earlier_nik
                                        };
                                        let int_key = super::index_key(&Some(key));
                                        other = st
                                            .query_row(
                                                params![
                                                    batch.period,
                                                    batch_id,
                                                    int_key,
                                                    key.as_slice()
                                                ],
                                                |r| r.get(0),
                                            )
                                            .optional()?;
                                        if other.is_some() {
                                            break;
                                        }
                                    }
                                    if let Some(b) = other {
                                        h.duplicate_of = Some(duplicate_of_batch(b));
                                        duplicates_other += 1;
                                    }
                                }
                                insert_household(&mut insert, batch_id, &batch.period, source, &h)?;
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
                        Some(BatchMessage::Finish(n)) => {
                            tx.execute(
                                "UPDATE household_batches SET rows_read = ?2, rows_accepted = ?3,
                                    rows_rejected = ?4, blank_rows = ?5, households = ?6,
                                    duplicates_in_batch = ?7, duplicates_other = ?8 WHERE id = ?1",
                                params![
                                    batch_id,
                                    n.rows_read as i64,
                                    n.rows_accepted as i64,
                                    n.rows_rejected as i64,
                                    n.blank_rows as i64,
                                    n.households as i64,
                                    n.duplicates_in_batch as i64,
                                    duplicates_other as i64
                                ],
                            )?;
                            break;
                        }
                    }
                }
            }
            let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = ?1");
            let info = tx.query_row(&sql, [batch_id], batch_from_row)?;
            tx.commit()?;
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
            tx.execute("DELETE FROM household_rejects WHERE batch_id = ?1", [id])?;
            tx.execute("DELETE FROM households WHERE batch_id = ?1", [id])?;
            tx.execute("DELETE FROM household_batches WHERE id = ?1", [id])?;
            tx.execute(
                RELINK_DUPLICATES[0],
                params![info.period, duplicate_of_batch(id)],
            )?;
            tx.execute(RELINK_DUPLICATES[1], params![info.period])?;
            tx.commit()?;
            Ok(Some(info))
        })
        .await
    }

    async fn households(&self, batch_id: Option<i64>) -> Result<Vec<StoredHousehold>, StoreError> {
        self.run(move |c| {
            let sql = format!(
                "SELECT id, {HOUSEHOLD_COLUMNS} FROM households
                 WHERE ?1 IS NULL OR batch_id = ?1 ORDER BY id"
            );
            let mut st = c.prepare(&sql)?;
            let mut rows = st.query([batch_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(household_from_row(r)?);
            }
            Ok(out)
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
            let mut n = 0u64;
            {
                let sql = super::CORRECT_HOUSEHOLD.replace('$', "?");
                let mut st = tx.prepare(&sql)?;
                for (id, h) in &corrected {
                    let g = super::GeoColumns::of(&h.geocode);
                    let a = &h.address;
                    n += st.execute(params![
                        id,
                        batch_id,
                        h.region_code,
                        a.desa,
                        a.kecamatan,
                        a.kabupaten,
                        h.lat,
                        h.lon,
                        g.kode_desa,
                        g.unit,
                        g.quality,
                        g.flags,
                        g.lon,
                        g.lat,
                        g.candidates
                    ])? as u64;
                }
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

fn insert_household(
    st: &mut rusqlite::Statement<'_>,
    batch_id: i64,
    period: &str,
    source: &str,
    h: &Household,
) -> rusqlite::Result<usize> {
    let a = &h.address;
    let hash = |x: &Option<[u8; 32]>| x.map(|v| v.to_vec());
    let g = super::GeoColumns::of(&h.geocode);
    st.execute(params![
        batch_id,
        period,
        source,
        h.source_row as i64,
        h.source_id,
        h.head_name,
        hash(&h.nik_hash),
        h.nik_masked,
        hash(&h.kk_hash),
        h.kk_masked,
        super::index_key(&h.nik_hash),
        super::index_key(&h.kk_hash),
        sex_text(h.sex),
        h.birth_date,
        h.members.map(i64::from),
        a.street,
        a.rt,
        a.rw,
        a.dusun,
        a.desa,
        a.kecamatan,
        a.kabupaten,
        a.provinsi,
        h.region_code,
        h.desil.map(i64::from),
        scale_number(h.desil_scale),
        h.extreme_poor,
        i64::from(h.programs.known),
        i64::from(h.programs.receives),
        h.lat,
        h.lon,
        attrs_text(h),
        h.duplicate_of,
        g.kode_desa,
        g.unit,
        g.quality,
        g.flags,
        g.lon,
        g.lat,
        g.candidates,
    ])
}

fn household_from_row(r: &rusqlite::Row<'_>) -> Result<StoredHousehold, StoreError> {
    let household = Household {
        source_row: r.get::<_, i64>(4)? as u64,
        source_id: r.get(5)?,
        head_name: r.get(6)?,
        nik_hash: hash_from_bytes(r.get(7)?)?,
        nik_masked: r.get(8)?,
        kk_hash: hash_from_bytes(r.get(9)?)?,
        kk_masked: r.get(10)?,
        sex: sex_from_text(r.get(13)?),
        birth_date: r.get(14)?,
        members: r.get::<_, Option<i64>>(15)?.map(|v| v as u32),
        address: Address {
            street: r.get(16)?,
            rt: r.get(17)?,
            rw: r.get(18)?,
            dusun: r.get(19)?,
            desa: r.get(20)?,
            kecamatan: r.get(21)?,
            kabupaten: r.get(22)?,
            provinsi: r.get(23)?,
        },
        region_code: r.get(24)?,
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
        duplicate_of: r.get(33)?,
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
