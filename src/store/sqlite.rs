//! The embedded default store: one SQLite file (`lentera.sqlite`) in the data directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::migrations::{check_not_newer, MIGRATIONS};
use super::{
    crosswalk_from_row, descendants_pattern, info_from_row, region_from_row, replace_scope,
    ImportLogEntry, ImportRecord, RegionCounts, RegionFilter, RegionRow, ReplaceSummary, Store,
    StoreError,
};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};

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
}
