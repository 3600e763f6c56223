//! Writing a household batch into PostGIS: a [`BatchWriter`] holding one pooled connection in
//! a transaction, each chunk sent with binary `COPY`.

use std::sync::LazyLock;

use deadpool_postgres::Object;
use tokio::runtime::Handle;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Statement;

use super::{find_batch, geo_params};
use crate::model::{BatchCounts, BatchInfo, BatchSink, DuplicateOf, Household, NewBatch, Reject};
use crate::store::rows::{
    attrs_text, index_key, scale_number, GeoColumns, HouseholdColumn, HOUSEHOLD_COLUMNS,
};
use crate::store::{BatchWriter, StoreError};

/// The PostgreSQL type of each household column, for binary `COPY`.
static COLUMN_TYPES: LazyLock<Vec<Type>> = LazyLock::new(|| {
    use strum::VariantArray;
    use HouseholdColumn as C;
    HouseholdColumn::VARIANTS
        .iter()
        .map(|c| match c {
            C::BatchId
            | C::SourceRow
            | C::NikKey
            | C::KkKey
            | C::Members
            | C::Desil
            | C::DesilScale
            | C::ProgramsKnown
            | C::ProgramsReceives => Type::INT8,
            C::NikHash | C::KkHash => Type::BYTEA,
            C::ExtremePoor => Type::BOOL,
            C::Lat | C::Lon | C::GeoLon | C::GeoLat => Type::FLOAT8,
            _ => Type::TEXT,
        })
        .collect()
});

/// A batch being written. Its calls block on the runtime it was opened in: make them from a
/// blocking thread. Dropping it uncommitted closes its connection instead of returning it to
/// the pool, which rolls the transaction back.
pub(super) struct PostgisBatchWriter {
    runtime: Handle,
    client: Option<Object>,
    batch: NewBatch,
    batch_id: i64,
    sha256: Option<String>,
    /// Finds the primaries of earlier batches of the period among a chunk's identity keys.
    earlier: Statement,
    copy_sql: String,
    duplicates_other: u64,
    finished: bool,
    committed: bool,
}

impl PostgisBatchWriter {
    /// Starts the batch's transaction on `client` and writes its row.
    pub(super) async fn begin(
        client: Object,
        batch: NewBatch,
    ) -> Result<PostgisBatchWriter, StoreError> {
        client.batch_execute("BEGIN").await?;
        let earlier = client
            .prepare(
                "SELECT kk_hash, nik_hash, batch_id FROM households
                 WHERE (kk_key = ANY($3) OR nik_key = ANY($4))
                   AND period = $1 AND batch_id <> $2 AND duplicate_of IS NULL
                 ORDER BY id",
            )
            .await;
        let mut writer = PostgisBatchWriter {
            runtime: Handle::current(),
            client: Some(client),
            sha256: batch.sha256.clone(),
            batch,
            batch_id: 0,
            earlier: earlier?,
            copy_sql: format!("COPY households ({}) FROM STDIN BINARY", *HOUSEHOLD_COLUMNS),
            duplicates_other: 0,
            finished: false,
            committed: false,
        };
        let client = writer.client()?;
        if let Some(sha) = &writer.batch.sha256 {
            refuse_imported(client, sha).await?;
        }
        let b = &writer.batch;
        let batch_id: i64 = client
            .query_one(
                "INSERT INTO household_batches
                     (file_name, sha256, source, period, input, status, owner, area)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &b.file_name,
                    &b.sha256
                        .clone()
                        .unwrap_or_else(crate::store::provisional_sha256),
                    &b.source.as_str(),
                    &b.period.to_string(),
                    &b.input,
                    &b.state.status.as_str(),
                    &b.state.owner,
                    &b.state.area,
                ],
            )
            .await?
            .get(0);
        writer.batch_id = batch_id;
        Ok(writer)
    }

    fn client(&self) -> Result<&Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Pool("the batch's connection is gone".into()))
    }

    /// Marks the chunk's households that repeat a primary of an earlier batch of the period,
    /// then copies them.
    async fn write_chunk(
        &mut self,
        mut households: Vec<Household>,
        rejects: Vec<Reject>,
    ) -> Result<(), StoreError> {
        let period = self.batch.period.to_string();
        let client = self.client()?;
        let open = || households.iter().filter(|h| h.duplicate_of.is_none());
        let kks: Vec<i64> = open().filter_map(|h| index_key(&h.kk_hash)).collect();
        let niks: Vec<i64> = open().filter_map(|h| index_key(&h.nik_hash)).collect();
        let mut found: std::collections::HashMap<(u8, Vec<u8>), i64> = Default::default();
        for r in client
            .query(&self.earlier, &[&period, &self.batch_id, &kks, &niks])
            .await?
        {
            let b: i64 = r.get(2);
            for (tag, col) in [(0u8, 0usize), (1, 1)] {
                if let Some(k) = r.get::<_, Option<Vec<u8>>>(col) {
                    found.entry((tag, k)).or_insert(b);
                }
            }
        }
        let mut linked = 0;
        for h in households.iter_mut().filter(|h| h.duplicate_of.is_none()) {
            let hit = h
                .identity_keys()
                .find_map(|(tag, k)| found.get(&(tag, k.to_vec())).copied());
            if let Some(b) = hit {
                h.duplicate_of = Some(DuplicateOf::Batch(b));
                linked += 1;
            }
        }
        let sink = client.copy_in(self.copy_sql.as_str()).await?;
        let writer = BinaryCopyInWriter::new(sink, &COLUMN_TYPES);
        let mut writer = std::pin::pin!(writer);
        for h in &households {
            write_household(writer.as_mut(), self.batch_id, &self.batch, h).await?;
        }
        writer.finish().await?;
        for r in rejects {
            client
                .execute(
                    "INSERT INTO household_rejects (batch_id, row, column_name, value, reason)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &self.batch_id,
                        &(r.row as i64),
                        &r.column,
                        &r.value,
                        &r.reason,
                    ],
                )
                .await?;
        }
        self.duplicates_other += linked;
        Ok(())
    }
}

impl BatchSink for PostgisBatchWriter {
    type Error = StoreError;

    fn file_hash(&mut self, sha256: &str) -> Result<(), StoreError> {
        self.runtime
            .clone()
            .block_on(refuse_imported(self.client()?, sha256))?;
        self.sha256 = Some(sha256.to_string());
        Ok(())
    }

    fn chunk(
        &mut self,
        households: Vec<Household>,
        rejects: Vec<Reject>,
    ) -> Result<(), StoreError> {
        self.runtime
            .clone()
            .block_on(self.write_chunk(households, rejects))
    }

    fn finish(&mut self, n: BatchCounts) -> Result<(), StoreError> {
        let v = |x: u64| x as i64;
        let sha = self.sha256.as_deref().ok_or(StoreError::NoFileHash)?;
        let client = self.client()?;
        self.runtime.block_on(client.execute(
            "UPDATE household_batches SET rows_read = $2, rows_accepted = $3,
                rows_rejected = $4, blank_rows = $5, households = $6,
                duplicates_in_batch = $7, duplicates_other = $8, sha256 = $9
             WHERE id = $1",
            &[
                &self.batch_id,
                &v(n.rows_read),
                &v(n.rows_accepted),
                &v(n.rows_rejected),
                &v(n.blank_rows),
                &v(n.households),
                &v(n.duplicates_in_batch),
                &v(self.duplicates_other),
                &sha,
            ],
        ))?;
        self.finished = true;
        Ok(())
    }
}

impl BatchWriter for PostgisBatchWriter {
    fn commit(mut self: Box<Self>) -> Result<BatchInfo, StoreError> {
        if !self.finished {
            return Err(StoreError::Interrupted);
        }
        let client = self.client()?;
        let info = self.runtime.block_on(async {
            let info = find_batch(client, "id", &self.batch_id)
                .await?
                .ok_or(StoreError::Interrupted)?;
            client.batch_execute("COMMIT").await?;
            Ok::<_, StoreError>(info)
        })?;
        self.committed = true;
        Ok(info)
    }

    fn abandon(mut self: Box<Self>) {
        let Some(client) = self.client.take() else {
            return;
        };
        // The rows copied so far are dead once the transaction is rolled back, but PostgreSQL
        // reuses their room only after a vacuum (which also gives the empty end of the table
        // back to the disk): without one, an import that filled the disk leaves it full.
        let runtime = self.runtime.clone();
        let cleaned = runtime.block_on(async {
            client.batch_execute("ROLLBACK").await?;
            client
                .batch_execute("VACUUM households, household_rejects, household_batches")
                .await
        });
        if let Err(e) = cleaned {
            tracing::warn!(error = %e, "cleaning up after an abandoned batch failed");
            drop(Object::take(client));
        }
    }
}

impl Drop for PostgisBatchWriter {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if !self.committed {
                // Closing the connection aborts its transaction; returned to the pool, the
                // next user would find the transaction still open.
                drop(Object::take(client));
            }
        }
    }
}

/// Stops a batch whose file is already stored as another batch.
async fn refuse_imported(client: &Object, sha256: &str) -> Result<(), StoreError> {
    match find_batch(client, "sha256", &sha256).await? {
        Some(existing) => Err(StoreError::AlreadyImported(Box::new(existing))),
        None => Ok(()),
    }
}

/// Writes one household row, its values in [`HouseholdColumn`] order.
async fn write_household(
    writer: std::pin::Pin<&mut BinaryCopyInWriter>,
    batch_id: i64,
    batch: &NewBatch,
    h: &Household,
) -> Result<(), tokio_postgres::Error> {
    let a = &h.address;
    let g = GeoColumns::of(&h.geocode);
    let hash = |x: &Option<[u8; 32]>| x.map(|v| v.to_vec());
    let (nik, kk) = (hash(&h.nik_hash), hash(&h.kk_hash));
    let (nik_key, kk_key) = (index_key(&h.nik_hash), index_key(&h.kk_hash));
    let period = batch.period.to_string();
    let source_row = h.source_row as i64;
    let members = h.members.map(i64::from);
    let desil = h.desil.map(i64::from);
    let scale = scale_number(h.desil_scale);
    let sex = h.sex.map(|s| s.as_str());
    let known = i64::from(h.programs.known);
    let receives = i64::from(h.programs.receives);
    let attrs = attrs_text(h);
    let source = batch.source.as_str();
    let duplicate_of = h.duplicate_of.map(|d| d.to_string());
    let values: [&(dyn ToSql + Sync); 33] = [
        &batch_id,
        &period,
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
        &duplicate_of,
    ];
    let values: Vec<&(dyn ToSql + Sync)> = values.into_iter().chain(geo_params(&g)).collect();
    writer.write(&values).await
}
