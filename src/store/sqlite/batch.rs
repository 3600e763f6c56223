//! Writing a household batch into the embedded store: a [`BatchWriter`] on a connection of
//! its own, in one transaction, chunk by chunk as the import hands them over.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use super::chunks::{self, ChunkEncoder, IdentityKey, KeyEntry, Primaries};
use super::BUSY_TIMEOUT;
use crate::model::{BatchCounts, BatchInfo, BatchSink, Household, NewBatch, Reject};
use crate::store::rows::BATCH_COLUMNS;
use crate::store::{BatchWriter, StoreError};

/// Page cache while a household batch is written, in KiB: small, so that the batch's pages
/// go to the write-ahead log as they fill it instead of all at once when it commits.
const IMPORT_CACHE_KIB: i64 = 4 * 1024;
/// How often the write-ahead log is flushed to disk while a batch is written.
const WAL_FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The write-ahead log of the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// Flushes the write-ahead log to disk now and then while a batch is written, until dropped.
///
/// A batch is one transaction: its pages reach the disk only when its commit syncs the log,
/// which for a million households is some 170 MB written while the caller waits. Syncing
/// from a second thread as the batch grows does that writing while the rows are still being
/// read and checked. It changes nothing SQLite relies on: an extra sync is always safe.
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

/// The checkpoints that copy a committed household batch from the write-ahead log into the
/// database file, each on a thread of its own, one after the other.
///
/// A batch commits once its pages are synced in the log: it is then durable, and every
/// connection reads it through the log. Copying those pages (some 170 MB for a million
/// households) into the database file and syncing that is SQLite's checkpoint, which would
/// otherwise run inside the commit while the import's caller waits, on one core, after all
/// the reading and geocoding is done. Here it runs after the commit returns, as PostgreSQL's
/// checkpointer writes a committed `COPY` out after the fact. A process that stops before a
/// checkpoint ends loses nothing: SQLite finishes it from the log at a later write or when
/// the last connection closes. Dropping the store waits for the last one.
#[derive(Default)]
pub(super) struct Checkpoints(Mutex<Option<JoinHandle<()>>>);

impl Checkpoints {
    /// Checkpoints the log through `conn` on a new thread, after the checkpoint before it.
    fn start(&self, conn: Connection) {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = last.take();
        let spawned = std::thread::Builder::new()
            .name("lentera-checkpoint".into())
            .spawn(move || {
                if let Some(previous) = previous {
                    let _ = previous.join();
                }
                checkpoint(&conn);
            });
        match spawned {
            Ok(handle) => *last = Some(handle),
            // The log stays as it is; SQLite checkpoints it at the store's next write.
            Err(e) => tracing::warn!(error = %e, "cannot start a thread to checkpoint the store"),
        }
    }

    /// Waits for the checkpoints started so far.
    pub(super) fn wait(&self) {
        let last = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = last {
            let _ = handle.join();
        }
    }
}

/// Copies what the write-ahead log holds into the database file, without waiting for
/// readers or blocking writers (a `PASSIVE` checkpoint).
fn checkpoint(conn: &Connection) {
    let started = Instant::now();
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match done {
        Ok((pages, copied)) => tracing::debug!(
            pages,
            copied,
            seconds = started.elapsed().as_secs_f64(),
            "write-ahead log checkpointed after a household batch"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "cannot checkpoint the store after a household batch; SQLite does it at a later write"
        ),
    }
}

const INSERT_CHUNK: &str = "INSERT INTO household_chunks (batch_id, chunk, first_index, \
    households, data) VALUES (?1, ?2, ?3, ?4, ?5)";
const INSERT_REJECT: &str = "INSERT INTO household_rejects (batch_id, row, column_name, value, \
    reason) VALUES (?1, ?2, ?3, ?4, ?5)";

/// A batch being written: its own connection to the database file holds the transaction
/// (`BEGIN IMMEDIATE`), so the store's other calls go on reading meanwhile. Dropping it
/// closes the connection, which rolls the transaction back.
pub(super) struct SqliteBatchWriter {
    conn: Connection,
    _flushing: WalFlusher,
    checkpoints: Arc<Checkpoints>,
    batch: NewBatch,
    batch_id: i64,
    sha256: Option<String>,
    /// The primaries of the other batches of the period, to link repeats to.
    primaries: Primaries,
    keys: Vec<KeyEntry>,
    links: Vec<(u32, i64)>,
    next_index: u32,
    chunk_no: i64,
    encoder: ChunkEncoder,
    finished: bool,
}

impl SqliteBatchWriter {
    /// Opens a connection to the database at `db`, starts the batch's transaction and writes
    /// its row. The checkpoint after its commit joins `checkpoints`.
    pub(super) fn begin(
        db: &Path,
        batch: NewBatch,
        checkpoints: Arc<Checkpoints>,
    ) -> Result<SqliteBatchWriter, StoreError> {
        let conn = Connection::open(db)?;
        // The commit syncs the log (it is not followed by a checkpoint that would), and
        // leaves the checkpoint to `Checkpoints`.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let flushing = WalFlusher::start(wal_path(db));
        conn.execute_batch("BEGIN IMMEDIATE")?;
        if let Some(sha) = &batch.sha256 {
            refuse_imported(&conn, sha)?;
        }
        conn.execute(
            "INSERT INTO household_batches
                 (file_name, sha256, source, period, input, status, owner, area)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                batch.file_name,
                batch
                    .sha256
                    .clone()
                    .unwrap_or_else(crate::store::provisional_sha256),
                batch.source.as_str(),
                batch.period.to_string(),
                batch.input,
                batch.state.status.as_str(),
                batch.state.owner,
                batch.state.area
            ],
        )?;
        let batch_id = conn.last_insert_rowid();
        let earlier = period_batches(&conn, &batch.period.to_string(), Some(batch_id))?;
        let (_, primaries) = chunks::link_period(&earlier);
        Ok(SqliteBatchWriter {
            conn,
            _flushing: flushing,
            checkpoints,
            sha256: batch.sha256.clone(),
            batch,
            batch_id,
            primaries,
            keys: Vec::new(),
            links: Vec::new(),
            next_index: 0,
            chunk_no: 0,
            encoder: ChunkEncoder::default(),
            finished: false,
        })
    }
}

impl BatchSink for SqliteBatchWriter {
    type Error = StoreError;

    fn file_hash(&mut self, sha256: &str) -> Result<(), StoreError> {
        refuse_imported(&self.conn, sha256)?;
        self.sha256 = Some(sha256.to_string());
        Ok(())
    }

    fn chunk(
        &mut self,
        households: Vec<Household>,
        rejects: Vec<Reject>,
    ) -> Result<(), StoreError> {
        let first_index = self.next_index;
        for h in &households {
            let index = self.next_index;
            self.next_index += 1;
            if h.duplicate_of.is_some() {
                continue;
            }
            let ks: Vec<IdentityKey> = chunks::identity_keys(h).collect();
            match self.primaries.find(&ks) {
                Some(other) => self.links.push((index, other)),
                None => self
                    .keys
                    .extend(ks.into_iter().map(|key| KeyEntry { key, index })),
            }
        }
        if !households.is_empty() {
            let data = self.encoder.encode(&households)?;
            self.conn.prepare_cached(INSERT_CHUNK)?.execute(params![
                self.batch_id,
                self.chunk_no,
                first_index,
                households.len() as i64,
                data
            ])?;
            self.chunk_no += 1;
        }
        let mut insert = self.conn.prepare_cached(INSERT_REJECT)?;
        for r in rejects {
            insert.execute(params![
                self.batch_id,
                r.row as i64,
                r.column,
                r.value,
                r.reason
            ])?;
        }
        Ok(())
    }

    fn finish(&mut self, n: BatchCounts) -> Result<(), StoreError> {
        let sha256 = self.sha256.as_deref().ok_or(StoreError::NoFileHash)?;
        self.conn.execute(
            "UPDATE household_batches SET rows_read = ?2, rows_accepted = ?3,
                rows_rejected = ?4, blank_rows = ?5, households = ?6,
                duplicates_in_batch = ?7, duplicates_other = ?8, sha256 = ?9
             WHERE id = ?1",
            params![
                self.batch_id,
                n.rows_read as i64,
                n.rows_accepted as i64,
                n.rows_rejected as i64,
                n.blank_rows as i64,
                n.households as i64,
                n.duplicates_in_batch as i64,
                self.links.len() as i64,
                sha256
            ],
        )?;
        self.conn.execute(
            "INSERT INTO household_keys (batch_id, period, data) VALUES (?1, ?2, ?3)",
            params![
                self.batch_id,
                self.batch.period.to_string(),
                chunks::encode_keys(std::mem::take(&mut self.keys))
            ],
        )?;
        let links = std::mem::take(&mut self.links);
        insert_links(
            &self.conn,
            links.iter().map(|(i, o)| (self.batch_id, *i, *o)),
        )?;
        self.finished = true;
        Ok(())
    }
}

impl BatchWriter for SqliteBatchWriter {
    fn commit(self: Box<Self>) -> Result<BatchInfo, StoreError> {
        if !self.finished {
            return Err(StoreError::Interrupted);
        }
        let info = find_batch(&self.conn, "id", &self.batch_id)?.ok_or(StoreError::Interrupted)?;
        let committing = Instant::now();
        self.conn.execute_batch("COMMIT")?;
        tracing::debug!(
            batch = self.batch_id,
            seconds = committing.elapsed().as_secs_f64(),
            "household batch committed"
        );
        let SqliteBatchWriter {
            conn, checkpoints, ..
        } = *self;
        checkpoints.start(conn);
        Ok(info)
    }
}

/// Stops a batch whose file is already stored as another batch.
fn refuse_imported(conn: &Connection, sha256: &str) -> Result<(), StoreError> {
    match find_batch(conn, "sha256", &sha256)? {
        Some(existing) => Err(StoreError::AlreadyImported(Box::new(existing))),
        None => Ok(()),
    }
}

/// The batches of a period in id order with their key entries, without `except`.
pub(super) fn period_batches(
    conn: &Connection,
    period: &str,
    except: Option<i64>,
) -> Result<Vec<(i64, Vec<KeyEntry>)>, StoreError> {
    let mut st = conn.prepare(
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
pub(super) fn insert_links(
    conn: &Connection,
    links: impl Iterator<Item = (i64, u32, i64)>,
) -> rusqlite::Result<()> {
    let mut st = conn
        .prepare("INSERT INTO household_links (batch_id, idx, other_batch) VALUES (?1, ?2, ?3)")?;
    for (b, i, o) in links {
        st.execute(params![b, i, o])?;
    }
    Ok(())
}

/// The batch row whose `column` is `value`, when there is one.
pub(super) fn find_batch(
    conn: &Connection,
    column: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<BatchInfo>, StoreError> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM household_batches WHERE {column} = ?1");
    conn.query_row(&sql, [value], |r| Ok(crate::store::rows::batch_info(r)))
        .optional()?
        .transpose()
}
