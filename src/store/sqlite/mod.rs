//! The embedded default store: one SQLite file (`lentera.sqlite`) in the data directory.
//!
//! [`batch`] writes household batches, [`households`] reads them back from their
//! [`chunks`] (encoded by [`columns`]), [`migrate`] brings an older file up to date.

mod accounts;
mod batch;
mod chunks;
pub use chunks::{decode_chunk, decode_keys, encode_chunk};
mod columns;
mod households;
mod migrate;
mod programs;

use columns::Fields;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{
    crosswalk_from_row, denominators_from_rows, descendants_pattern, info_from_row, parse_kode,
    region_from_row, replace_scope, RegionRow, BATCH_COLUMNS,
};
use super::{
    BatchWriter, ImportLogEntry, ImportRecord, RegionCounts, RegionFilter, ReplaceSummary, Store,
    StoreError, StoredChunks, MOVED_ON,
};
use crate::model::{
    Account, AuditEntry, AuditFilter, AuditRecord, BatchInfo, BatchState, Denominators, Household,
    HouseholdFacts, NewBatch, NewToken, NewUser, Period, Reject, Round, SessionInfo,
    StoredHousehold, TokenInfo, User, UserChange, UserName,
};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};

/// Page cache of the connection, in KiB.
const CACHE_KIB: i64 = 256 * 1024;
/// The SQLite file name inside the data directory.
pub const DB_FILE: &str = "lentera.sqlite";
/// Page size of a new database (SQLite's largest).
const PAGE_SIZE: i64 = 65536;
/// How long a connection waits for another one's write to end.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The embedded SQLite store. Calls run on tokio's blocking pool, one at a time.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    checkpoints: Arc<batch::Checkpoints>,
}

impl Drop for SqliteStore {
    /// Waits for the checkpoint of the last household batch, so that a command ends with
    /// the batch in the database file rather than only in its write-ahead log.
    fn drop(&mut self) {
        self.checkpoints.wait();
    }
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
            conn.busy_timeout(BUSY_TIMEOUT)?;
            migrate::migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            checkpoints: Arc::default(),
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

/// Refuses a file that is not a Lentera store (a SQLite file with its schema and metadata).
fn check_backup(path: &Path) -> Result<(), StoreError> {
    let not_ours = |why: String| {
        StoreError::Backup(format!(
            "{} is not a backup of a Lentera store ({why})",
            path.display()
        ))
    };
    let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| not_ours(e.to_string()))?;
    let tables: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'
             AND name IN ('schema_migrations', 'meta', 'regions')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| not_ours(e.to_string()))?;
    if tables < 3 {
        return Err(not_ours("it lacks Lentera's tables".into()));
    }
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
            codes.iter().map(|k| parse_kode(k)).collect()
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

    async fn begin_batch(&self, batch: NewBatch) -> Result<Box<dyn BatchWriter>, StoreError> {
        let path = self.path.clone();
        let checkpoints = self.checkpoints.clone();
        let writer = tokio::task::spawn_blocking(move || {
            batch::SqliteBatchWriter::begin(&path, batch, checkpoints)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Box::new(writer))
    }

    async fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        self.run(|c| {
            let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches ORDER BY id DESC");
            let mut st = c.prepare(&sql)?;
            let rows = st.query_and_then([], |r| super::rows::batch_info(r))?;
            rows.collect()
        })
        .await
    }

    async fn remove_batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError> {
        self.run(move |c| households::remove(c, id)).await
    }

    async fn households(&self, batch_id: Option<i64>) -> Result<Vec<StoredHousehold>, StoreError> {
        self.run(move |c| {
            let mut out = Vec::new();
            households::visit_households(c, batch_id, Fields::All, |s| out.push(s))?;
            Ok(out)
        })
        .await
    }

    async fn stream_households(
        &self,
        batch_id: Option<i64>,
        sink: StoredChunks,
    ) -> Result<(), StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || households::stream_chunks(&conn, batch_id, &sink))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn household_facts(
        &self,
        batches: Option<&[i64]>,
    ) -> Result<Vec<HouseholdFacts>, StoreError> {
        let batches: Vec<Option<i64>> = match batches {
            None => vec![None],
            Some(ids) => ids.iter().copied().map(Some).collect(),
        };
        self.run(move |c| {
            let mut out = Vec::new();
            for batch in batches {
                households::visit_households(c, batch, Fields::Counted, |s| {
                    out.push(HouseholdFacts::of(s.batch_id, &s.household));
                })?;
            }
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
            denominators_from_rows(rows)
        })
        .await
    }

    async fn correct_households(
        &self,
        batch_id: i64,
        corrected: Vec<(i64, Household)>,
    ) -> Result<u64, StoreError> {
        self.run(move |c| households::correct(c, batch_id, corrected))
            .await
    }

    async fn add_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let user = user.clone();
        self.run(move |c| accounts::add_user(c, &user)).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|c| accounts::users(c)).await
    }

    async fn account(&self, name: &UserName) -> Result<Option<Account>, StoreError> {
        let name = name.clone();
        self.run(move |c| accounts::account(c, &name)).await
    }

    async fn change_user(
        &self,
        name: &UserName,
        change: &UserChange,
    ) -> Result<Option<User>, StoreError> {
        let (name, change) = (name.clone(), change.clone());
        self.run(move |c| accounts::change_user(c, &name, &change))
            .await
    }

    async fn add_token(&self, token: &NewToken) -> Result<TokenInfo, StoreError> {
        let token = token.clone();
        self.run(move |c| accounts::add_token(c, &token)).await
    }

    async fn tokens(&self, user: Option<&UserName>) -> Result<Vec<TokenInfo>, StoreError> {
        let user = user.cloned();
        self.run(move |c| accounts::tokens(c, user.as_ref())).await
    }

    async fn revoke_token(&self, id: i64) -> Result<Option<TokenInfo>, StoreError> {
        self.run(move |c| accounts::revoke_token(c, id)).await
    }

    async fn token_user(&self, digest: &str) -> Result<Option<(TokenInfo, User)>, StoreError> {
        let digest = digest.to_string();
        self.run(move |c| accounts::token_user(c, &digest)).await
    }

    async fn add_session(&self, session: &SessionInfo) -> Result<(), StoreError> {
        let session = session.clone();
        self.run(move |c| accounts::add_session(c, &session)).await
    }

    async fn session_user(&self, digest: &str) -> Result<Option<(SessionInfo, User)>, StoreError> {
        let digest = digest.to_string();
        self.run(move |c| accounts::session_user(c, &digest)).await
    }

    async fn touch_session(&self, digest: &str, at: &str) -> Result<(), StoreError> {
        let (digest, at) = (digest.to_string(), at.to_string());
        self.run(move |c| accounts::touch_session(c, &digest, &at))
            .await
    }

    async fn remove_session(&self, digest: &str, expired_before: &str) -> Result<(), StoreError> {
        let (digest, before) = (digest.to_string(), expired_before.to_string());
        self.run(move |c| accounts::remove_session(c, &digest, &before))
            .await
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let entries = entries.to_vec();
        self.run(move |c| accounts::append_audit(c, &entries)).await
    }

    async fn audit(
        &self,
        filter: &AuditFilter,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let filter = filter.clone();
        self.run(move |c| accounts::audit(c, &filter, after_id, limit))
            .await
    }

    async fn add_program(
        &self,
        program: &crate::model::NewProgram,
        by: &str,
        at: &str,
    ) -> Result<crate::model::ProgramInfo, StoreError> {
        let (p, by, at) = (program.clone(), by.to_string(), at.to_string());
        self.run(move |c| programs::add_program(c, &p, &by, &at))
            .await
    }

    async fn programs(&self) -> Result<Vec<crate::model::ProgramInfo>, StoreError> {
        self.run(programs::programs).await
    }

    async fn remove_program(
        &self,
        id: i64,
    ) -> Result<Option<crate::model::ProgramInfo>, StoreError> {
        self.run(move |c| programs::remove_program(c, id)).await
    }

    async fn set_program_list(
        &self,
        id: i64,
        list: &crate::model::ListInfo,
        members: &[crate::model::Member],
    ) -> Result<Option<crate::model::ProgramInfo>, StoreError> {
        let (list, members) = (list.clone(), members.to_vec());
        self.run(move |c| programs::set_program_list(c, id, &list, &members))
            .await
    }

    async fn program_members(&self, id: i64) -> Result<Vec<crate::model::Member>, StoreError> {
        self.run(move |c| programs::program_members(c, id)).await
    }

    async fn save_target_list(
        &self,
        list: &crate::model::TargetList,
        members: &[crate::model::TargetMember],
    ) -> Result<crate::model::TargetList, StoreError> {
        let (list, members) = (list.clone(), members.to_vec());
        self.run(move |c| programs::save_target_list(c, &list, &members))
            .await
    }

    async fn target_lists(&self) -> Result<Vec<crate::model::TargetList>, StoreError> {
        self.run(programs::target_lists).await
    }

    async fn target_members(
        &self,
        id: i64,
    ) -> Result<Option<Vec<crate::model::TargetMember>>, StoreError> {
        self.run(move |c| programs::target_members(c, id)).await
    }

    async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        let dst = path.to_path_buf();
        self.run(move |c| {
            if dst.exists() {
                return Err(StoreError::Backup(format!(
                    "{} exists already; choose a new file",
                    dst.display()
                )));
            }
            c.backup(
                rusqlite::MAIN_DB,
                &dst,
                None::<fn(rusqlite::backup::Progress)>,
            )?;
            Ok(())
        })
        .await
    }

    async fn restore(&self, path: &Path) -> Result<(), StoreError> {
        let src = path.to_path_buf();
        self.run(move |c| {
            check_backup(&src)?;
            let counter = |c: &Connection, key: &str| -> Result<i64, StoreError> {
                let v: Option<String> = c
                    .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?;
                Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
            };
            let before = [counter(c, MOVED_ON[0])?, counter(c, MOVED_ON[1])?];
            c.restore(
                rusqlite::MAIN_DB,
                &src,
                None::<fn(rusqlite::backup::Progress)>,
            )
            .map_err(|e| {
                StoreError::Backup(format!(
                    "cannot restore {} ({e}); if the store is busy, try again",
                    src.display()
                ))
            })?;
            migrate::migrate(c)?;
            for (key, before) in MOVED_ON.into_iter().zip(before) {
                let next = before.max(counter(c, key)?) + 1;
                c.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, &next.to_string()],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn set_batch_state(
        &self,
        id: i64,
        state: &BatchState,
    ) -> Result<Option<BatchInfo>, StoreError> {
        let state = state.clone();
        self.run(move |c| {
            let changed = c.execute(
                "UPDATE household_batches SET status = ?2, owner = ?3, area = ?4,
                     submitted_by = ?5, submitted_at = ?6, decided_by = ?7, decided_at = ?8,
                     note = ?9
                 WHERE id = ?1",
                params![
                    id,
                    state.status.as_str(),
                    state.owner,
                    state.area,
                    state.submitted_by,
                    state.submitted_at,
                    state.decided_by,
                    state.decided_at,
                    state.note
                ],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = ?1");
            Ok(Some(c.query_row_and_then(&sql, [id], |r| {
                super::rows::batch_info(r)
            })?))
        })
        .await
    }

    async fn open_round(&self, round: &Round) -> Result<(), StoreError> {
        let round = round.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO rounds (period, deadline, expected, opened_by, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (period) DO UPDATE SET deadline = excluded.deadline,
                     expected = excluded.expected, closed_by = NULL, closed_at = NULL",
                params![
                    round.period.to_string(),
                    round.deadline,
                    super::rows::expected_text(&round),
                    round.opened_by,
                    round.opened_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn rounds(&self) -> Result<Vec<Round>, StoreError> {
        self.run(|c| {
            let sql = format!(
                "SELECT {} FROM rounds ORDER BY period DESC",
                super::rows::ROUND_COLUMNS
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_and_then([], |r| super::rows::round_from(r))?;
            rows.collect()
        })
        .await
    }

    async fn close_round(
        &self,
        period: Period,
        by: &str,
        at: &str,
    ) -> Result<Option<Round>, StoreError> {
        let (by, at) = (by.to_string(), at.to_string());
        self.run(move |c| {
            c.execute(
                "UPDATE rounds SET closed_by = ?2, closed_at = ?3 WHERE period = ?1",
                params![period.to_string(), by, at],
            )?;
            let sql = format!(
                "SELECT {} FROM rounds WHERE period = ?1",
                super::rows::ROUND_COLUMNS
            );
            let mut st = c.prepare(&sql)?;
            let mut rows =
                st.query_and_then([period.to_string()], |r| super::rows::round_from(r))?;
            rows.next().transpose()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DuplicateOf;
    use crate::store::migrations::MIGRATIONS;

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
            crate::store::migrations::latest_version()
        );
        let all = store.households(None).await.unwrap();
        assert_eq!(all.len(), 4);
        let dups: Vec<Option<DuplicateOf>> = all.iter().map(|s| s.household.duplicate_of).collect();
        assert_eq!(
            dups,
            [
                None,
                Some(DuplicateOf::Row(2)),
                Some(DuplicateOf::Batch(1)),
                None
            ]
        );
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
