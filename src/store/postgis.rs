//! The production store: PostGIS through a tokio-postgres connection pool (deadpool).

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::migrations::{check_not_newer, MIGRATIONS};
use super::{
    attrs_from_text, attrs_text, crosswalk_from_row, descendants_pattern, duplicate_of_batch,
    hash_from_bytes, info_from_row, region_from_row, replace_scope, scale_from_number,
    scale_number, sex_from_text, sex_text, BatchCounts, BatchInfo, BatchMessage, HouseholdSink,
    ImportLogEntry, ImportRecord, NewBatch, RegionCounts, RegionFilter, RegionRow, ReplaceSummary,
    Store, StoreError, StoredHousehold, HOUSEHOLD_COLUMNS, STREAM_CHUNK,
};
use crate::aggregate::{Denominators, HouseholdFacts};
use crate::ingest::households::model::{Address, Household, Programs, Reject, Text};
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region, RegionInfo};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

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

    async fn import_households(
        &self,
        batch: NewBatch,
        mut rx: tokio::sync::mpsc::Receiver<BatchMessage>,
    ) -> Result<BatchInfo, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut sha256 = batch.sha256.clone();
        if let Some(sha) = &sha256 {
            refuse_imported(&tx, sha).await?;
        }
        let batch_id: i64 = tx
            .query_one(
                "INSERT INTO household_batches (file_name, sha256, source, period, input)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &batch.file_name,
                    &sha256.clone().unwrap_or_else(super::provisional_sha256),
                    &batch.source.as_str(),
                    &batch.period,
                    &batch.input,
                ],
            )
            .await?
            .get(0);
        let earlier = tx
            .prepare(
                "SELECT kk_hash, nik_hash, batch_id FROM households
                 WHERE (kk_key = ANY($3) OR nik_key = ANY($4))
                   AND period = $1 AND batch_id <> $2 AND duplicate_of IS NULL
                 ORDER BY id",
            )
            .await?;
        let copy_sql = format!("COPY households ({HOUSEHOLD_COLUMNS}) FROM STDIN BINARY");
        let mut duplicates_other = 0u64;
        loop {
            match rx.recv().await {
                None => return Err(StoreError::Interrupted),
                Some(BatchMessage::Chunk {
                    mut households,
                    rejects,
                }) => {
                    let open = || households.iter().filter(|h| h.duplicate_of.is_none());
                    let kks: Vec<i64> = open()
                        .filter_map(|h| super::index_key(&h.kk_hash))
                        .collect();
                    let niks: Vec<i64> = open()
                        .filter_map(|h| super::index_key(&h.nik_hash))
                        .collect();
                    let mut found: std::collections::HashMap<(u8, Vec<u8>), i64> =
                        Default::default();
                    for r in tx
                        .query(&earlier, &[&batch.period, &batch_id, &kks, &niks])
                        .await?
                    {
                        let b: i64 = r.get(2);
                        for (tag, col) in [(0u8, 0usize), (1, 1)] {
                            if let Some(k) = r.get::<_, Option<Vec<u8>>>(col) {
                                found.entry((tag, k)).or_insert(b);
                            }
                        }
                    }
                    for h in households.iter_mut().filter(|h| h.duplicate_of.is_none()) {
                        let hit = h
                            .identity_keys()
                            .find_map(|(tag, k)| found.get(&(tag, k.to_vec())).copied());
                        if let Some(b) = hit.as_ref() {
                            h.duplicate_of = Some(duplicate_of_batch(*b).into());
                            duplicates_other += 1;
                        }
                    }
                    let sink = tx.copy_in(copy_sql.as_str()).await?;
                    let writer = BinaryCopyInWriter::new(sink, &HOUSEHOLD_TYPES);
                    let mut writer = std::pin::pin!(writer);
                    for h in &households {
                        write_household(writer.as_mut(), batch_id, &batch, h).await?;
                    }
                    writer.finish().await?;
                    for r in rejects {
                        tx.execute(
                            "INSERT INTO household_rejects (batch_id, row, column_name, value, reason)
                             VALUES ($1, $2, $3, $4, $5)",
                            &[&batch_id, &(r.row as i64), &r.column, &r.value, &r.reason],
                        )
                        .await?;
                    }
                }
                Some(BatchMessage::FileHash(sha)) => {
                    refuse_imported(&tx, &sha).await?;
                    sha256 = Some(sha);
                }
                Some(BatchMessage::Finish(n)) => {
                    let v = |x: u64| x as i64;
                    let sha = sha256.as_deref().ok_or(StoreError::NoFileHash)?;
                    tx.execute(
                        "UPDATE household_batches SET rows_read = $2, rows_accepted = $3,
                            rows_rejected = $4, blank_rows = $5, households = $6,
                            duplicates_in_batch = $7, duplicates_other = $8, sha256 = $9
                         WHERE id = $1",
                        &[
                            &batch_id,
                            &v(n.rows_read),
                            &v(n.rows_accepted),
                            &v(n.rows_rejected),
                            &v(n.blank_rows),
                            &v(n.households),
                            &v(n.duplicates_in_batch),
                            &v(duplicates_other),
                            &sha,
                        ],
                    )
                    .await?;
                    break;
                }
            }
        }
        let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = $1");
        let info = batch_from_row(&tx.query_one(&sql, &[&batch_id]).await?);
        tx.commit().await?;
        Ok(info)
    }

    async fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches ORDER BY id DESC");
        Ok(c.query(&sql, &[])
            .await?
            .iter()
            .map(batch_from_row)
            .collect())
    }

    async fn remove_batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE id = $1 FOR UPDATE");
        let Some(info) = tx
            .query_opt(&sql, &[&id])
            .await?
            .map(|r| batch_from_row(&r))
        else {
            return Ok(None);
        };
        tx.execute("DELETE FROM household_rejects WHERE batch_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM households WHERE batch_id = $1", &[&id])
            .await?;
        tx.execute("DELETE FROM household_batches WHERE id = $1", &[&id])
            .await?;
        tx.execute(
            RELINK_DUPLICATES[0],
            &[&info.period, &duplicate_of_batch(id)],
        )
        .await?;
        tx.execute(RELINK_DUPLICATES[1], &[&info.period]).await?;
        tx.commit().await?;
        Ok(Some(info))
    }

    async fn households(&self, batch_id: Option<i64>) -> Result<Vec<StoredHousehold>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT id, {HOUSEHOLD_COLUMNS} FROM households
             WHERE $1::BIGINT IS NULL OR batch_id = $1 ORDER BY id"
        );
        c.query(&sql, &[&batch_id])
            .await?
            .iter()
            .map(household_from_row)
            .collect()
    }

    async fn stream_households(
        &self,
        batch_id: Option<i64>,
        sink: HouseholdSink,
    ) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let c = self.client().await?;
        let sql = format!(
            "SELECT id, {HOUSEHOLD_COLUMNS} FROM households
             WHERE $1::BIGINT IS NULL OR batch_id = $1 ORDER BY id"
        );
        let rows = c.query_raw(&sql, [&batch_id]).await?;
        futures_util::pin_mut!(rows);
        let mut chunk = Vec::with_capacity(STREAM_CHUNK);
        while let Some(row) = rows.try_next().await? {
            chunk.push(household_from_row(&row)?);
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

    async fn household_facts(&self) -> Result<Vec<HouseholdFacts>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT batch_id, members, desil, desil_scale, extreme_poor, programs_known,
                        programs_receives, duplicate_of IS NOT NULL, kode_desa, geo_unit,
                        geo_quality, geo_flags, geo_lon, geo_lat
                 FROM households ORDER BY id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let geocode = super::geocode_from_columns(
                    r.get(8),
                    r.get(9),
                    r.get(10),
                    r.get(11),
                    r.get(12),
                    r.get(13),
                    None,
                )?;
                let facts = HouseholdFacts {
                    batch_id: r.get(0),
                    members: r.get::<_, Option<i64>>(1).map(|v| v as u32),
                    desil: r.get::<_, Option<i64>>(2).map(|v| v as u8),
                    scale: scale_from_number(r.get(3)),
                    extreme_poor: r.get(4),
                    programs: Programs {
                        known: r.get::<_, i64>(5) as u16,
                        receives: r.get::<_, i64>(6) as u16,
                    },
                    duplicate: r.get(7),
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
        super::denominators_from_rows(rows)
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
            let g = super::GeoColumns::of(&h.geocode);
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

const BATCH_COLUMNS: &str = "id, file_name, sha256, source, period, input, rows_read, \
    rows_accepted, rows_rejected, blank_rows, households, duplicates_in_batch, duplicates_other, \
    to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

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

/// Column types of `HOUSEHOLD_COLUMNS`, for binary COPY.
const HOUSEHOLD_TYPES: [Type; super::HOUSEHOLD_COLUMN_COUNT] = [
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::TEXT,
    Type::BYTEA,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::BOOL,
    Type::INT8,
    Type::INT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::TEXT,
];

fn batch_from_row(r: &tokio_postgres::Row) -> BatchInfo {
    let n = |i: usize| r.get::<_, i64>(i) as u64;
    BatchInfo {
        id: r.get(0),
        file_name: r.get(1),
        sha256: r.get(2),
        source: r.get(3),
        period: r.get(4),
        input: r.get(5),
        counts: BatchCounts {
            rows_read: n(6),
            rows_accepted: n(7),
            rows_rejected: n(8),
            blank_rows: n(9),
            households: n(10),
            duplicates_in_batch: n(11),
        },
        duplicates_other: n(12),
        imported_at: r.get(13),
    }
}

async fn write_household(
    writer: std::pin::Pin<&mut BinaryCopyInWriter>,
    batch_id: i64,
    batch: &NewBatch,
    h: &Household,
) -> Result<(), tokio_postgres::Error> {
    let a = &h.address;
    let g = super::GeoColumns::of(&h.geocode);
    let hash = |x: &Option<[u8; 32]>| x.map(|v| v.to_vec());
    let (nik, kk) = (hash(&h.nik_hash), hash(&h.kk_hash));
    let (nik_key, kk_key) = (super::index_key(&h.nik_hash), super::index_key(&h.kk_hash));
    let source_row = h.source_row as i64;
    let members = h.members.map(i64::from);
    let desil = h.desil.map(i64::from);
    let scale = scale_number(h.desil_scale);
    let sex = sex_text(h.sex);
    let known = i64::from(h.programs.known);
    let receives = i64::from(h.programs.receives);
    let attrs = attrs_text(h);
    let source = batch.source.as_str();
    let values: [&(dyn ToSql + Sync); super::HOUSEHOLD_COLUMN_COUNT - 7] = [
        &batch_id,
        &batch.period,
        &source,
        &source_row,
        &h.source_id.as_deref(),
        &h.head_name.as_deref(),
        &nik,
        &h.nik_masked.as_deref(),
        &kk,
        &h.kk_masked.as_deref(),
        &nik_key,
        &kk_key,
        &sex,
        &h.birth_date.as_deref(),
        &members,
        &a.street.as_deref(),
        &a.rt.as_deref(),
        &a.rw.as_deref(),
        &a.dusun.as_deref(),
        &a.desa.as_deref(),
        &a.kecamatan.as_deref(),
        &a.kabupaten.as_deref(),
        &a.provinsi.as_deref(),
        &h.region_code.as_deref(),
        &desil,
        &scale,
        &h.extreme_poor,
        &known,
        &receives,
        &h.lat,
        &h.lon,
        &attrs,
        &h.duplicate_of.as_deref(),
    ];
    let values: Vec<&(dyn ToSql + Sync)> = values.into_iter().chain(geo_params(&g)).collect();
    writer.write(&values).await
}

/// The seven geocoding columns as statement parameters, in `HOUSEHOLD_COLUMNS` order.
fn geo_params(g: &super::GeoColumns) -> [&(dyn ToSql + Sync); 7] {
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

/// Stops a batch whose file is already stored as another batch.
async fn refuse_imported(
    tx: &deadpool_postgres::Transaction<'_>,
    sha256: &str,
) -> Result<(), StoreError> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE sha256 = $1");
    match tx.query_opt(&sql, &[&sha256]).await? {
        Some(row) => Err(StoreError::AlreadyImported(Box::new(batch_from_row(&row)))),
        None => Ok(()),
    }
}

fn household_from_row(r: &tokio_postgres::Row) -> Result<StoredHousehold, StoreError> {
    let household = Household {
        source_row: r.get::<_, i64>(4) as u64,
        source_id: r.get::<_, Option<String>>(5).map(Text::from),
        head_name: r.get::<_, Option<String>>(6).map(Text::from),
        nik_hash: hash_from_bytes(r.get(7))?,
        nik_masked: r.get::<_, Option<String>>(8).map(Text::from),
        kk_hash: hash_from_bytes(r.get(9))?,
        kk_masked: r.get::<_, Option<String>>(10).map(Text::from),
        sex: sex_from_text(r.get(13)),
        birth_date: r.get::<_, Option<String>>(14).map(Text::from),
        members: r.get::<_, Option<i64>>(15).map(|v| v as u32),
        address: Address {
            street: r.get::<_, Option<String>>(16).map(Text::from),
            rt: r.get::<_, Option<String>>(17).map(Text::from),
            rw: r.get::<_, Option<String>>(18).map(Text::from),
            dusun: r.get::<_, Option<String>>(19).map(Text::from),
            desa: r.get::<_, Option<String>>(20).map(Text::from),
            kecamatan: r.get::<_, Option<String>>(21).map(Text::from),
            kabupaten: r.get::<_, Option<String>>(22).map(Text::from),
            provinsi: r.get::<_, Option<String>>(23).map(Text::from),
        },
        region_code: r.get::<_, Option<String>>(24).map(Text::from),
        desil: r.get::<_, Option<i64>>(25).map(|v| v as u8),
        desil_scale: scale_from_number(r.get(26)),
        extreme_poor: r.get(27),
        programs: Programs {
            known: r.get::<_, i64>(28) as u16,
            receives: r.get::<_, i64>(29) as u16,
        },
        lat: r.get(30),
        lon: r.get(31),
        attrs: attrs_from_text(r.get(32))?,
        duplicate_of: r.get::<_, Option<String>>(33).map(Text::from),
        geocode: super::geocode_from_columns(
            r.get(34),
            r.get(35),
            r.get(36),
            r.get(37),
            r.get(38),
            r.get(39),
            r.get(40),
        )?,
    };
    Ok(StoredHousehold {
        id: r.get(0),
        batch_id: r.get(1),
        period: r.get(2),
        source: r.get(3),
        household,
    })
}
