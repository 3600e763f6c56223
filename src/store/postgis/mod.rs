//! The production store: PostGIS through a tokio-postgres connection pool (deadpool).
//!
//! [`batch`] writes household batches with binary `COPY`; households are a row each, read
//! back through the column map the embedded store's older rows share ([`super::rows`]).

mod accounts;
mod batch;
mod programs;

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

use super::migrations::{failed, pending};
use super::rows::{
    batch_info, crosswalk_from_row, denominators_from_rows, descendants_pattern,
    geocode_from_columns, info_from_row, parse_kode, region_from_row, replace_scope,
    stored_household, GeoColumns, RegionRow, HOUSEHOLD_COLUMNS,
};
use super::{
    BatchWriter, ImportLogEntry, ImportRecord, RegionCounts, RegionFilter, ReplaceSummary, Store,
    StoreError, StoredChunks, MOVED_ON, STREAM_CHUNK,
};
use crate::model::{
    Account, AuditEntry, AuditFilter, AuditRecord, BatchInfo, BatchState, Denominators,
    DuplicateOf, Household, HouseholdFacts, NewBatch, NewToken, NewUser, Period, Programs, Reject,
    Round, SessionInfo, StoredHousehold, TokenInfo, User, UserChange, UserName,
};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};

/// Arbitrary key of the advisory lock that serialises migrations between processes.
const MIGRATION_LOCK: i64 = 0x004c_454e_5445_5241;

/// Connections kept by the pool.
const POOL_SIZE: usize = 8;

/// The channel on which the generation trigger announces a change (migration 9).
const CHANGES_CHANNEL: &str = "lentera_generation";

/// The PostGIS store.
pub struct PostgisStore {
    pool: Pool,
    /// The connection string, for `pg_dump` and `pg_restore`.
    url: String,
    /// Announcements of committed changes, listened for from the first call of
    /// [`Store::changes`] on.
    changes: std::sync::OnceLock<tokio::sync::watch::Receiver<u64>>,
    /// A read-only connection to a streaming replica ([`PostgisStore::connect_replica`]):
    /// every transaction is read-only and no change is listened for (a standby cannot
    /// `LISTEN`; the primary announces changes).
    replica: bool,
}

impl PostgisStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db` or a key=value string), checks
    /// that a connection works and applies pending migrations (creating the PostGIS extension
    /// if it is missing).
    pub async fn connect(url: &str) -> Result<PostgisStore, StoreError> {
        let store = PostgisStore::open(url, false)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to a read-only streaming replica of a primary that Lentera has migrated
    /// (`postgres://…` of the standby, or the primary itself through a read-only role) for
    /// the reads that build snapshots and stream household exports. Nothing is migrated and
    /// every transaction is read-only (`default_transaction_read_only`), so a write reaching
    /// it by mistake is refused by PostgreSQL instead of splitting the data.
    pub async fn connect_replica(url: &str) -> Result<PostgisStore, StoreError> {
        let store = PostgisStore::open(url, true)?;
        let version = store.schema_version().await.map_err(|e| {
            StoreError::Replica(format!(
                "cannot read Lentera's schema on the replica ({e}); point it at a streaming \
                 replica of a primary Lentera has opened"
            ))
        })?;
        let latest = super::migrations::latest_version();
        if version < latest {
            return Err(StoreError::Replica(format!(
                "the replica holds schema version {version}, this Lentera needs {latest}: \
                 open the primary with this version first and let the replica catch up"
            )));
        }
        Ok(store)
    }

    /// A pool over `url` (not yet connected); every transaction read-only for a replica.
    fn open(url: &str, replica: bool) -> Result<PostgisStore, StoreError> {
        let mut cfg = tokio_postgres::Config::from_str(url)?;
        if replica {
            let options = cfg.get_options().unwrap_or_default().to_string();
            cfg.options(format!("{options} -c default_transaction_read_only=on").trim());
        }
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(PostgisStore {
            pool,
            url: url.to_string(),
            changes: std::sync::OnceLock::new(),
            replica,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(pg) => pg.into(),
            other => StoreError::Pool(other.to_string()),
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        for m in pending(current)? {
            tx.batch_execute(m.postgres).await.map_err(|e| {
                let why = e
                    .as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or(e.to_string());
                failed(
                    m,
                    format!(
                        "{why}; PostGIS must be installed on the server \
                         (e.g. apt-get install postgresql-15-postgis-3)"
                    ),
                )
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Listens on a connection of its own for the generation trigger's announcements and counts
/// them into `tx`, connecting again (and counting one, as a change may have been missed) when
/// the connection breaks; ends when no one watches any more.
async fn listen_for_changes(url: String, tx: tokio::sync::watch::Sender<u64>) {
    let mut first = true;
    while !tx.is_closed() {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut connection)) => {
                let listening = async {
                    client
                        .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
                        .await?;
                    if !first {
                        // Listening again: a change may have been committed meanwhile.
                        tx.send_modify(|n| *n += 1);
                    }
                    Ok::<_, tokio_postgres::Error>(())
                };
                // The LISTEN runs while the connection is driven below.
                let driven = async {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => {
                                tx.send_modify(|n| *n += 1);
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => return e.to_string(),
                            None => return "the connection closed".to_string(),
                        }
                        if tx.is_closed() {
                            return String::new();
                        }
                    }
                };
                let (listened, why) = tokio::join!(listening, driven);
                if let Err(e) = listened {
                    tracing::warn!(error = %e, "cannot listen for changes; polling only");
                } else if !why.is_empty() {
                    tracing::warn!(why, "stopped listening for changes; connecting again");
                }
                drop(client);
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect to listen for changes"),
        }
        first = false;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

#[async_trait]
impl Store for PostgisStore {
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        if self.replica {
            return None;
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(
            self.changes
                .get_or_init(|| {
                    let (tx, rx) = tokio::sync::watch::channel(0);
                    runtime.spawn(listen_for_changes(self.url.clone(), tx));
                    rx
                })
                .clone(),
        )
    }

    fn backend(&self) -> &'static str {
        "postgis"
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        let c = self.client().await?;
        Ok(c.query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?
        .get(0))
    }

    async fn replace_regions(
        &self,
        regions: &[Region],
        record: &ImportRecord,
    ) -> Result<ReplaceSummary, StoreError> {
        let rows: Vec<RegionRow> = regions.iter().map(RegionRow::from_region).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut removed = 0u64;
        for (level, prefix) in replace_scope(regions) {
            removed += tx
                .execute(
                    "DELETE FROM regions WHERE level = $1 AND (kode = $2 OR kode LIKE $3)",
                    &[&level, &prefix, &format!("{prefix}.%")],
                )
                .await?;
        }
        let ins = tx
            .prepare(
                "INSERT INTO regions (kode, level, parent, nama, jenis, geom,
                    min_lon, min_lat, max_lon, max_lat)
                 VALUES ($1, $2, $3, $4, $5, ST_GeomFromWKB($6, 4326), $7, $8, $9, $10)",
            )
            .await?;
        for r in &rows {
            tx.execute(
                &ins,
                &[
                    &r.kode, &r.level, &r.parent, &r.nama, &r.jenis, &r.wkb, &r.bbox[0],
                    &r.bbox[1], &r.bbox[2], &r.bbox[3],
                ],
            )
            .await?;
        }
        let sources = serde_json::to_string(&record.sources).unwrap_or_default();
        let import_id: i64 = tx
            .query_one(
                "INSERT INTO region_imports (sources, features_read, refused, removed, inserted, issues)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &sources,
                    &(record.features_read as i64),
                    &(record.refused as i64),
                    &(removed as i64),
                    &(rows.len() as i64),
                    &record.issues,
                ],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(ReplaceSummary {
            import_id,
            removed,
            inserted: rows.len() as u64,
        })
    }

    async fn region_codes(&self) -> Result<Vec<Kode>, StoreError> {
        let c = self.client().await?;
        c.query("SELECT kode FROM regions ORDER BY kode", &[])
            .await?
            .iter()
            .map(|r| parse_kode(r.get(0)))
            .collect()
    }

    async fn list_regions(&self, filter: &RegionFilter) -> Result<Vec<RegionInfo>, StoreError> {
        let c = self.client().await?;
        let level = filter.level.map(|l| l.as_str());
        let pattern = filter.parent.map(descendants_pattern);
        c.query(
            "SELECT kode, nama, min_lon, min_lat, max_lon, max_lat FROM regions
             WHERE ($1::TEXT IS NULL OR level = $1) AND ($2::TEXT IS NULL OR kode LIKE $2)
             ORDER BY kode COLLATE \"C\"",
            &[&level, &pattern],
        )
        .await?
        .iter()
        .map(|r| info_from_row(r.get(0), r.get(1), [r.get(2), r.get(3), r.get(4), r.get(5)]))
        .collect()
    }

    async fn get_region(&self, kode: Kode) -> Result<Option<Region>, StoreError> {
        let c = self.client().await?;
        let code = kode.to_string();
        c.query_opt(
            "SELECT nama, ST_AsBinary(geom) FROM regions WHERE kode = $1",
            &[&code],
        )
        .await?
        .map(|r| region_from_row(&code, r.get(0), r.get(1)))
        .transpose()
    }

    async fn regions(&self, level: Level) -> Result<Vec<Region>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT kode, nama, ST_AsBinary(geom) FROM regions WHERE level = $1
             ORDER BY kode COLLATE \"C\"",
            &[&level.as_str()],
        )
        .await?
        .iter()
        .map(|r| region_from_row(r.get(0), r.get(1), r.get(2)))
        .collect()
    }

    async fn region_counts(&self) -> Result<RegionCounts, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT jenis, COUNT(*) FROM regions GROUP BY jenis", &[])
            .await?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect();
        RegionCounts::from_rows(rows)
    }

    async fn region_imports(&self) -> Result<Vec<ImportLogEntry>, StoreError> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT id, to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                    sources, features_read, refused, removed, inserted
             FROM region_imports ORDER BY id DESC",
            &[],
        )
        .await?
        .iter()
        .map(|r| ImportLogEntry {
            id: r.get(0),
            imported_at: r.get(1),
            sources: serde_json::from_str(r.get(2)).unwrap_or_default(),
            features_read: r.get(3),
            refused: r.get(4),
            removed: r.get(5),
            inserted: r.get(6),
        })
        .collect())
    }

    async fn replace_crosswalk(&self, entries: &[CrosswalkEntry]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM crosswalk", &[]).await?;
        let ins = tx
            .prepare(
                "INSERT INTO crosswalk (kode_bps, nama_bps, kode_kemendagri) VALUES ($1, $2, $3)",
            )
            .await?;
        for e in entries {
            let kmd = e.kode_kemendagri.map(|k| k.to_string());
            tx.execute(&ins, &[&e.kode_bps.as_str(), &e.nama_bps, &kmd])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn crosswalk(&self) -> Result<Vec<CrosswalkEntry>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT kode_bps, nama_bps, kode_kemendagri FROM crosswalk ORDER BY kode_bps COLLATE \"C\"",
            &[],
        )
        .await?
        .into_iter()
        .map(|r| crosswalk_from_row(r.get(0), r.get(1), r.get(2)))
        .collect()
    }

    async fn add_user(&self, user: &NewUser) -> Result<User, StoreError> {
        self.pg_add_user(user).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.pg_users().await
    }

    async fn account(&self, name: &UserName) -> Result<Option<Account>, StoreError> {
        self.pg_account(name).await
    }

    async fn change_user(
        &self,
        name: &UserName,
        change: &UserChange,
    ) -> Result<Option<User>, StoreError> {
        self.pg_change_user(name, change).await
    }

    async fn add_token(&self, token: &NewToken) -> Result<TokenInfo, StoreError> {
        self.pg_add_token(token).await
    }

    async fn tokens(&self, user: Option<&UserName>) -> Result<Vec<TokenInfo>, StoreError> {
        self.pg_tokens(user).await
    }

    async fn revoke_token(&self, id: i64) -> Result<Option<TokenInfo>, StoreError> {
        self.pg_revoke_token(id).await
    }

    async fn token_user(&self, digest: &str) -> Result<Option<(TokenInfo, User)>, StoreError> {
        self.pg_token_user(digest).await
    }

    async fn add_session(&self, session: &SessionInfo) -> Result<(), StoreError> {
        self.pg_add_session(session).await
    }

    async fn session_user(&self, digest: &str) -> Result<Option<(SessionInfo, User)>, StoreError> {
        self.pg_session_user(digest).await
    }

    async fn touch_session(&self, digest: &str, at: &str) -> Result<(), StoreError> {
        self.pg_touch_session(digest, at).await
    }

    async fn remove_session(&self, digest: &str, expired_before: &str) -> Result<(), StoreError> {
        self.pg_remove_session(digest, expired_before).await
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        self.pg_append_audit(entries).await
    }

    async fn audit(
        &self,
        filter: &AuditFilter,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.pg_audit(filter, after_id, limit).await
    }

    async fn add_program(
        &self,
        program: &crate::model::NewProgram,
        by: &str,
        at: &str,
    ) -> Result<crate::model::ProgramInfo, StoreError> {
        self.add_program_row(program, by, at).await
    }

    async fn programs(&self) -> Result<Vec<crate::model::ProgramInfo>, StoreError> {
        self.program_rows().await
    }

    async fn remove_program(
        &self,
        id: i64,
    ) -> Result<Option<crate::model::ProgramInfo>, StoreError> {
        self.remove_program_row(id).await
    }

    async fn set_program_list(
        &self,
        id: i64,
        list: &crate::model::ListInfo,
        members: &[crate::model::Member],
    ) -> Result<Option<crate::model::ProgramInfo>, StoreError> {
        self.set_program_list_row(id, list, members).await
    }

    async fn program_members(&self, id: i64) -> Result<Vec<crate::model::Member>, StoreError> {
        self.program_member_rows(id).await
    }

    async fn save_target_list(
        &self,
        list: &crate::model::TargetList,
        members: &[crate::model::TargetMember],
    ) -> Result<crate::model::TargetList, StoreError> {
        self.save_target_row(list, members).await
    }

    async fn target_lists(&self) -> Result<Vec<crate::model::TargetList>, StoreError> {
        self.target_rows().await
    }

    async fn target_members(
        &self,
        id: i64,
    ) -> Result<Option<Vec<crate::model::TargetMember>>, StoreError> {
        self.target_member_rows(id).await
    }

    async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if path.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists already; choose a new file",
                path.display()
            )));
        }
        // pg_dump reads one snapshot of the database: consistent while servers write.
        let mut cmd = std::process::Command::new("pg_dump");
        cmd.arg("--format=custom")
            .arg("--file")
            .arg(path)
            .arg("--dbname")
            .arg(&self.url);
        run_tool(cmd, "pg_dump").await
    }

    async fn restore(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let mut head = [0u8; 5];
        std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .map_err(|e| StoreError::Backup(format!("{}: {e}", path.display())))?;
        if &head != b"PGDMP" {
            return Err(StoreError::Backup(format!(
                "{} is not a PostGIS backup of Lentera (made by `lentera backup` with \
                 --database-url)",
                path.display()
            )));
        }
        let before = [
            self.counter(MOVED_ON[0]).await?,
            self.counter(MOVED_ON[1]).await?,
        ];
        let mut cmd = std::process::Command::new("pg_restore");
        cmd.args([
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--no-owner",
        ])
        .arg("--dbname")
        .arg(&self.url)
        .arg(path);
        run_tool(cmd, "pg_restore").await?;
        self.migrate().await?;
        for (key, before) in MOVED_ON.into_iter().zip(before) {
            let next = before.max(self.counter(key).await?) + 1;
            self.set_meta(key, &next.to_string()).await?;
        }
        Ok(())
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .await?
                .map(|r| r.get(0)),
        )
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
        Ok(())
    }

    async fn begin_batch(&self, batch: NewBatch) -> Result<Box<dyn BatchWriter>, StoreError> {
        let client = self.client().await?;
        Ok(Box::new(
            batch::PostgisBatchWriter::begin(client, batch).await?,
        ))
    }

    async fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches ORDER BY id DESC");
        c.query(&sql, &[]).await?.iter().map(batch_info).collect()
    }

    async fn remove_batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = $1 FOR UPDATE");
        let Some(info) = tx
            .query_opt(&sql, &[&id])
            .await?
            .map(|r| batch_info(&r))
            .transpose()?
        else {
            return Ok(None);
        };
        tx.execute("DELETE FROM household_rejects WHERE batch_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM households WHERE batch_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM household_batches WHERE id = $1", &[&id])
            .await?;
        let period = info.period.to_string();
        let removed = DuplicateOf::Batch(id).to_string();
        tx.execute(RELINK_DUPLICATES[0], &[&period, &removed])
            .await?;
        tx.execute(RELINK_DUPLICATES[1], &[&period]).await?;
        tx.commit().await?;
        Ok(Some(info))
    }

    async fn households(&self, batch_id: Option<i64>) -> Result<Vec<StoredHousehold>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT id, {} FROM households
             WHERE $1::BIGINT IS NULL OR batch_id = $1 ORDER BY id",
            *HOUSEHOLD_COLUMNS
        );
        c.query(&sql, &[&batch_id])
            .await?
            .iter()
            .map(stored_household)
            .collect()
    }

    async fn stream_households(
        &self,
        batch_id: Option<i64>,
        sink: StoredChunks,
    ) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let c = self.client().await?;
        let sql = format!(
            "SELECT id, {} FROM households
             WHERE $1::BIGINT IS NULL OR batch_id = $1 ORDER BY id",
            *HOUSEHOLD_COLUMNS
        );
        let rows = c.query_raw(&sql, [&batch_id]).await?;
        futures_util::pin_mut!(rows);
        let mut chunk = Vec::with_capacity(STREAM_CHUNK);
        while let Some(row) = rows.try_next().await? {
            chunk.push(stored_household(&row)?);
            if chunk.len() == STREAM_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(STREAM_CHUNK));
                if sink.send(full).await.is_err() {
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() {
            let _ = sink.send(chunk).await;
        }
        Ok(())
    }

    async fn household_facts(
        &self,
        batches: Option<&[i64]>,
    ) -> Result<Vec<HouseholdFacts>, StoreError> {
        let c = self.client().await?;
        const COLUMNS: &str = "SELECT batch_id, members, desil, desil_scale, extreme_poor,
            programs_known, programs_receives, duplicate_of, kode_desa, geo_unit, geo_quality,
            geo_flags, geo_lon, geo_lat, kk_key, nik_key FROM households";
        let rows = match batches {
            None => c.query(&format!("{COLUMNS} ORDER BY id"), &[]).await?,
            Some(ids) => {
                let ids = ids.to_vec();
                c.query(
                    &format!("{COLUMNS} WHERE batch_id = ANY($1) ORDER BY id"),
                    &[&ids],
                )
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                let geocode = geocode_from_columns(r, 8, false)?;
                let facts = HouseholdFacts {
                    batch_id: r.get(0),
                    members: r.get::<_, Option<i64>>(1).map(|v| v as u32),
                    desil: r.get::<_, Option<i64>>(2).map(|v| v as u8),
                    scale: match r.get::<_, Option<i64>>(3) {
                        Some(10) => Some(crate::model::DesilScale::Ten),
                        Some(4) => Some(crate::model::DesilScale::Four),
                        _ => None,
                    },
                    extreme_poor: r.get(4),
                    programs: Programs {
                        known: r.get::<_, i64>(5) as u16,
                        receives: r.get::<_, i64>(6) as u16,
                    },
                    duplicate: r.get::<_, Option<&str>>(7).is_some(),
                    duplicate_of_batch: r
                        .get::<_, Option<&str>>(7)
                        .and_then(|d| d.strip_prefix("batch "))
                        .and_then(|b| b.parse().ok()),
                    kk_key: r.get(14),
                    nik_key: r.get(15),
                    ..Default::default()
                };
                Ok(facts.placed(geocode.as_ref()))
            })
            .collect()
    }

    async fn replace_denominators(
        &self,
        denominators: &HashMap<Kode, Denominators>,
    ) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("DELETE FROM denominators", &[]).await?;
        let st = tx
            .prepare("INSERT INTO denominators (kode, households, population) VALUES ($1, $2, $3)")
            .await?;
        for (k, d) in denominators {
            let n = |v: Option<u64>| v.map(|v| v as i64);
            tx.execute(&st, &[&k.to_string(), &n(d.households), &n(d.population)])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn denominators(&self) -> Result<HashMap<Kode, Denominators>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT kode, households, population FROM denominators", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        denominators_from_rows(rows)
    }

    async fn correct_households(
        &self,
        batch_id: i64,
        corrected: Vec<(i64, Household)>,
    ) -> Result<u64, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx.prepare(CORRECT_HOUSEHOLD).await?;
        let mut n = 0u64;
        for (id, h) in &corrected {
            let g = GeoColumns::of(&h.geocode);
            let a = &h.address;
            let fixed: [&(dyn ToSql + Sync); 8] = [
                id,
                &batch_id,
                &h.region_code.as_deref(),
                &a.desa.as_deref(),
                &a.kecamatan.as_deref(),
                &a.kabupaten.as_deref(),
                &h.lat,
                &h.lon,
            ];
            let values: Vec<&(dyn ToSql + Sync)> =
                fixed.into_iter().chain(geo_params(&g)).collect();
            n += tx.execute(&st, &values).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn set_batch_state(
        &self,
        id: i64,
        state: &BatchState,
    ) -> Result<Option<BatchInfo>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "UPDATE household_batches SET status = $2, owner = $3, area = $4,
                 submitted_by = $5, submitted_at = $6, decided_by = $7, decided_at = $8,
                 note = $9
             WHERE id = $1 RETURNING {BATCH_COLUMNS}"
        );
        c.query_opt(
            &sql,
            &[
                &id,
                &state.status.as_str(),
                &state.owner,
                &state.area,
                &state.submitted_by,
                &state.submitted_at,
                &state.decided_by,
                &state.decided_at,
                &state.note,
            ],
        )
        .await?
        .map(|r| batch_info(&r))
        .transpose()
    }

    async fn open_round(&self, round: &Round) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO rounds (period, deadline, expected, opened_by, opened_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (period) DO UPDATE SET deadline = excluded.deadline,
                 expected = excluded.expected, closed_by = NULL, closed_at = NULL",
            &[
                &round.period.to_string(),
                &round.deadline,
                &crate::store::rows::expected_text(round),
                &round.opened_by,
                &round.opened_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn rounds(&self) -> Result<Vec<Round>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {} FROM rounds ORDER BY period DESC",
            crate::store::rows::ROUND_COLUMNS
        );
        c.query(&sql, &[])
            .await?
            .iter()
            .map(crate::store::rows::round_from)
            .collect()
    }

    async fn close_round(
        &self,
        period: Period,
        by: &str,
        at: &str,
    ) -> Result<Option<Round>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "UPDATE rounds SET closed_by = $2, closed_at = $3 WHERE period = $1 RETURNING {}",
            crate::store::rows::ROUND_COLUMNS
        );
        c.query_opt(&sql, &[&period.to_string(), &by, &at])
            .await?
            .map(|r| crate::store::rows::round_from(&r))
            .transpose()
    }

    async fn rejects(&self, batch_id: i64) -> Result<Vec<Reject>, StoreError> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT row, column_name, value, reason FROM household_rejects
             WHERE batch_id = $1 ORDER BY row, ctid",
            &[&batch_id],
        )
        .await?
        .iter()
        .map(|r| Reject {
            row: r.get::<_, i64>(0) as u64,
            column: r.get(1),
            value: r.get(2),
            reason: r.get(3),
        })
        .collect())
    }
}

/// The columns of a batch row, the time formatted as the embedded store keeps it.
const BATCH_COLUMNS: &str = "id, file_name, sha256, source, period, input, rows_read, \
    rows_accepted, rows_rejected, blank_rows, households, duplicates_in_batch, duplicates_other, \
    to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), status, owner, \
    area, submitted_by, submitted_at, decided_by, decided_at, note";

/// The batch whose `column` is `value`, when there is one.
async fn find_batch(
    client: &tokio_postgres::Client,
    column: &str,
    value: &(dyn ToSql + Sync),
) -> Result<Option<BatchInfo>, StoreError> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE {column} = $1");
    client
        .query_opt(&sql, &[value])
        .await?
        .map(|r| batch_info(&r))
        .transpose()
}

/// SQL that clears the duplicate marks pointing at a removed batch and marks again, within
/// the period, each household that still has an earlier primary with the same KK or NIK. `$1`
/// is the period, `$2` the removed batch's mark.
const RELINK_DUPLICATES: [&str; 2] = [
    "UPDATE households SET duplicate_of = NULL WHERE period = $1 AND duplicate_of = $2",
    "UPDATE households SET duplicate_of = 'batch ' || (
         SELECT p.batch_id FROM households p
         WHERE p.period = households.period
           AND ((p.kk_key = households.kk_key AND p.kk_hash = households.kk_hash)
             OR (p.nik_key = households.nik_key AND p.nik_hash = households.nik_hash))
           AND p.id < households.id AND p.duplicate_of IS NULL
         ORDER BY p.id LIMIT 1)
     WHERE period = $1 AND duplicate_of IS NULL AND EXISTS (
         SELECT 1 FROM households p
         WHERE p.period = households.period
           AND ((p.kk_key = households.kk_key AND p.kk_hash = households.kk_hash)
             OR (p.nik_key = households.nik_key AND p.nik_hash = households.nik_hash))
           AND p.id < households.id AND p.duplicate_of IS NULL)",
];

/// The statement of `correct_households`: `$1` id, `$2` batch, then region code,
/// desa, kecamatan, kabupaten, lat, lon and the seven geocoding columns.
const CORRECT_HOUSEHOLD: &str = "UPDATE households SET region_code = $3, desa = $4, \
    kecamatan = $5, kabupaten = $6, lat = $7, lon = $8, kode_desa = $9, geo_unit = $10, \
    geo_quality = $11, geo_flags = $12, geo_lon = $13, geo_lat = $14, geo_candidates = $15 \
    WHERE id = $1 AND batch_id = $2";

/// The seven geocoding columns as statement parameters, in `HOUSEHOLD_COLUMNS` order.
pub(super) fn geo_params(g: &GeoColumns) -> [&(dyn ToSql + Sync); 7] {
    [
        &g.kode_desa,
        &g.unit,
        &g.quality,
        &g.flags,
        &g.lon,
        &g.lat,
        &g.candidates,
    ]
}

/// Runs a PostgreSQL client tool (on a blocking thread); its error output becomes the error.
async fn run_tool(mut cmd: std::process::Command, name: &str) -> Result<(), StoreError> {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
        .map_err(|e| {
            StoreError::Backup(format!(
                "cannot run {name} ({e}); install the PostgreSQL client tools \
             (apt-get install postgresql-client-15)"
            ))
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(StoreError::Backup(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
