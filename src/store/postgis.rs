//! The production store: PostGIS through a tokio-postgres connection pool (deadpool).

use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::migrations::{check_not_newer, MIGRATIONS};
use super::{
    crosswalk_from_row, descendants_pattern, info_from_row, region_from_row, replace_scope,
    ImportLogEntry, ImportRecord, RegionCounts, RegionFilter, RegionRow, ReplaceSummary, Store,
    StoreError,
};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};

/// Arbitrary key of the advisory lock that serialises migrations between processes.
const MIGRATION_LOCK: i64 = 0x004c_454e_5445_5241;

/// Connections kept by the pool.
const POOL_SIZE: usize = 8;

/// The PostGIS store.
pub struct PostgisStore {
    pool: Pool,
}

impl PostgisStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db` or a key=value string), checks
    /// that a connection works and applies pending migrations (creating the PostGIS extension
    /// if it is missing).
    pub async fn connect(url: &str) -> Result<PostgisStore, StoreError> {
        let cfg = tokio_postgres::Config::from_str(url)?;
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
        let store = PostgisStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(pg) => StoreError::Postgres(pg),
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
        check_not_newer(current)?;
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.batch_execute(m.postgres).await.map_err(|e| {
                StoreError::Migration(format!(
                    "version {} ({}): {}; PostGIS must be installed on the server \
                     (e.g. apt-get install postgresql-15-postgis-3)",
                    m.version,
                    m.name,
                    e.as_db_error()
                        .map(|d| d.message().to_string())
                        .unwrap_or(e.to_string())
                ))
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

#[async_trait]
impl Store for PostgisStore {
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
            .map(|r| super::parse_kode(r.get(0)))
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
}
