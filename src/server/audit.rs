//! Writing the audit trail without slowing the map down, and reading it back for admins.
//!
//! Handlers hand records to [`AuditLog`], a channel to one writer task that appends them in
//! batches (up to [`BATCH`] records, or whatever arrived within [`GATHER`]): a page of
//! household tiles is one transaction, not forty. The tile reads of one user (same role,
//! scope, purpose and address) within a batch are one record that lists every tile read and
//! sums the households: nothing read goes unrecorded, and a map session does not write a row
//! per tile. A record that must be stored before the response completes (an export) is
//! written at once and waited for. A failed write is retried, never dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use super::auth::Admin;
use super::error::ApiError;
use super::query::{parsed, ApiQuery};
use super::AppState;
use crate::model::{AuditAction, AuditEntry, AuditFilter, AuditRecord};
use crate::store::Store;

/// Most records appended in one transaction.
const BATCH: usize = 1000;
/// How long the writer waits for more records before appending.
const GATHER: Duration = Duration::from_millis(200);
/// Failed appends after which a waiting request is told the record could not be stored (the
/// records stay queued and are retried).
const DURABLE_ATTEMPTS: u32 = 3;

enum Msg {
    Entry(Box<AuditEntry>, Option<oneshot::Sender<Result<(), String>>>),
    /// A read that may share a record with the same caller's other reads of the batch.
    Read(Box<AuditEntry>),
    Flush(oneshot::Sender<()>),
}

/// The server's handle on the audit writer.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<Msg>,
    /// Records handed over and not yet appended.
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("audit message")
    }
}

impl AuditLog {
    /// Starts the writer task over `store` (needs a tokio runtime).
    pub fn start(store: Arc<dyn Store>) -> AuditLog {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(writer(store, rx, pending.clone()));
        AuditLog { tx, pending }
    }

    /// Records handed over and not yet appended (the writer's lag).
    pub fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn send(&self, m: Msg) -> Result<(), mpsc::error::SendError<Msg>> {
        if matches!(m, Msg::Entry(..) | Msg::Read(_)) {
            self.pending
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.tx.send(m)
    }

    /// A log that drops every record: only for measuring what the trail costs a request
    /// (the tile benchmark's baseline). The server always starts [`AuditLog::start`].
    #[doc(hidden)]
    pub fn discarding() -> AuditLog {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                match m {
                    Msg::Entry(_, Some(ack)) => {
                        let _ = ack.send(Ok(()));
                    }
                    Msg::Flush(f) => {
                        let _ = f.send(());
                    }
                    Msg::Entry(_, None) | Msg::Read(_) => {}
                }
            }
        });
        AuditLog {
            tx,
            pending: Arc::default(),
        }
    }

    /// Queues a record.
    pub fn record(&self, entry: AuditEntry) {
        if self.send(Msg::Entry(Box::new(entry), None)).is_err() {
            tracing::error!("the audit writer has stopped; a record was not written");
        }
    }

    /// Queues a read (a household tile) that shares a record with the caller's other reads
    /// of the same batch.
    pub fn record_read(&self, entry: AuditEntry) {
        if self.send(Msg::Read(Box::new(entry))).is_err() {
            tracing::error!("the audit writer has stopped; a record was not written");
        }
    }

    fn durable(&self, entry: AuditEntry) -> oneshot::Receiver<Result<(), String>> {
        let (ack, done) = oneshot::channel();
        if let Err(mpsc::error::SendError(Msg::Entry(_, Some(ack)))) =
            self.send(Msg::Entry(Box::new(entry), Some(ack)))
        {
            let _ = ack.send(Err("the audit writer has stopped".into()));
        }
        done
    }

    /// Writes a record and waits until it is stored.
    pub async fn record_durably(&self, entry: AuditEntry) -> Result<(), ApiError> {
        match self.durable(entry).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ApiError::internal(format!("audit record not stored: {e}"))),
            Err(_) => Err(ApiError::internal("the audit writer has stopped")),
        }
    }

    /// As [`AuditLog::record_durably`], from a blocking thread.
    pub fn record_durably_blocking(&self, entry: AuditEntry) -> Result<(), String> {
        self.durable(entry)
            .blocking_recv()
            .map_err(|_| "the audit writer has stopped".to_string())?
    }

    /// Waits until every record queued so far is stored.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Longest list of reads kept in one record's parameters.
const MAX_MERGED_PARAMS: usize = 4000;

/// Who read what, as far as reads may share a record.
type ReadKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// Records gathered for one append, and who waits for them.
#[derive(Default)]
struct Pending {
    batch: Vec<AuditEntry>,
    /// Where each caller's open read record is in `batch`.
    reads: std::collections::HashMap<ReadKey, usize>,
    acks: Vec<oneshot::Sender<Result<(), String>>>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Pending {
    fn take(&mut self, m: Msg) {
        match m {
            Msg::Entry(e, ack) => {
                self.batch.push(*e);
                self.acks.extend(ack);
            }
            Msg::Read(e) => self.read(*e),
            Msg::Flush(f) => self.flushes.push(f),
        }
    }

    /// Adds a read to its caller's open record of the same endpoint (listing the parameters
    /// of each read and summing the households), or opens one.
    fn read(&mut self, e: AuditEntry) {
        let key = (
            e.actor.clone(),
            e.role.clone(),
            e.scope.clone(),
            e.endpoint.clone(),
            e.purpose.clone(),
            e.client.clone(),
        );
        if let Some(&i) = self.reads.get(&key) {
            let open = &mut self.batch[i];
            if open.params.len() + e.params.len() < MAX_MERGED_PARAMS {
                open.params.push(' ');
                open.params.push_str(&e.params);
                open.count = Some(open.count.unwrap_or(0) + e.count.unwrap_or(0));
                return;
            }
        }
        self.reads.insert(key, self.batch.len());
        self.batch.push(e);
    }

    /// Somebody waits: append now.
    fn urgent(&self) -> bool {
        !self.acks.is_empty() || !self.flushes.is_empty()
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    pending: Arc<std::sync::atomic::AtomicUsize>,
) {
    while let Some(first) = rx.recv().await {
        let mut p = Pending::default();
        let mut taken = usize::from(!matches!(first, Msg::Flush(_)));
        p.take(first);
        let deadline = tokio::time::Instant::now() + GATHER;
        while p.batch.len() < BATCH {
            // Take what is already queued; wait for more only while nobody is waiting.
            let next = match rx.try_recv() {
                Ok(m) => m,
                Err(_) if p.urgent() => break,
                Err(_) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(m)) => m,
                    Ok(None) | Err(_) => break,
                },
            };
            taken += usize::from(!matches!(next, Msg::Flush(_)));
            p.take(next);
        }
        let mut attempt = 0;
        let started = std::time::Instant::now();
        while !p.batch.is_empty() {
            match store.append_audit(&p.batch).await {
                Ok(()) => {
                    metrics::histogram!("lentera_audit_append_seconds")
                        .record(started.elapsed().as_secs_f64());
                    break;
                }
                Err(e) => {
                    attempt += 1;
                    tracing::error!(
                        error = %e,
                        records = p.batch.len(),
                        attempt,
                        "cannot append to the audit trail; retrying"
                    );
                    if attempt == DURABLE_ATTEMPTS {
                        for a in p.acks.drain(..) {
                            let _ = a.send(Err(e.to_string()));
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        pending.fetch_sub(taken, std::sync::atomic::Ordering::Relaxed);
        for a in p.acks {
            let _ = a.send(Ok(()));
        }
        for f in p.flushes {
            let _ = f.send(());
        }
    }
}

/// The query of `/api/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// From this time or date on.
    since: Option<String>,
    /// One user's records.
    user: Option<String>,
    /// One action's records.
    #[serde(default, deserialize_with = "parsed")]
    action: Option<AuditAction>,
    /// Records after this id (paging).
    #[serde(default)]
    after: i64,
    /// At most this many (default 200, at most 5000).
    limit: Option<usize>,
}

/// `GET /api/audit?since=&user=&action=&after=&limit=`, for admins: the audit trail, oldest
/// first, with the chain hashes.
pub async fn audit(
    State(st): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    st.audit.flush().await;
    let filter = AuditFilter {
        since: q.since,
        user: q.user,
        action: q.action,
    };
    let limit = q.limit.unwrap_or(200).clamp(1, 5000);
    Ok(Json(st.live.store().audit(&filter, q.after, limit).await?))
}

/// `GET /api/users`, for admins: the users with role, scope and state (never a password
/// hash).
pub async fn users(State(st): State<AppState>, Admin(_): Admin) -> Result<Response, ApiError> {
    let users = st.live.store().users().await?;
    Ok(([(header::CACHE_CONTROL, "private, no-store")], Json(users)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(actor: &str, tile: &str, count: u64) -> Msg {
        let mut e = AuditEntry::new(AuditAction::HouseholdRead, "GET /tiles/households/…");
        e.actor = Some(actor.into());
        e.params = tile.into();
        e.count = Some(count);
        Msg::Read(Box::new(e))
    }

    #[test]
    fn a_callers_tile_reads_share_one_record_listing_each_tile() {
        let mut p = Pending::default();
        p.take(read("op.a", "/tiles/households/12/1/1.mvt", 3));
        p.take(read("op.b", "/tiles/households/12/1/1.mvt", 3));
        p.take(read("op.a", "/tiles/households/12/1/2.mvt", 4));
        assert_eq!(p.batch.len(), 2);
        assert_eq!(
            p.batch[0].params,
            "/tiles/households/12/1/1.mvt /tiles/households/12/1/2.mvt"
        );
        assert_eq!(p.batch[0].count, Some(7));
        assert_eq!(p.batch[1].count, Some(3));
        assert!(!p.urgent());
        // A long list starts a new record.
        for i in 0..300 {
            p.take(read("op.a", &format!("/tiles/households/14/{i}/0.mvt"), 1));
        }
        assert!(p.batch.len() > 2);
        assert!(p.batch.iter().all(|e| e.params.len() < MAX_MERGED_PARAMS));
        let listed: usize = p.batch.iter().map(|e| e.params.split(' ').count()).sum();
        assert_eq!(listed, 303);
    }
}
