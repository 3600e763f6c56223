//! The verval round over HTTP: an operator uploads a kabupaten's list (streamed to disk,
//! limited in size, imported inside the operator's area), downloads the reject report,
//! reviews the households the geocoder could not place, and submits the batch; an admin
//! accepts or returns it. Only accepted batches count (see `app::load_snapshot`).
//!
//! Who may act: admins on every batch; operators on batches whose area lies inside their
//! scope. Every other caller is refused, and an operator asking for a batch of another area is
//! told there is no such batch in the area (not whether it exists).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::auth::Caller;
use super::error::ApiError;
use super::query::{parsed, ApiQuery};
use super::AppState;
use crate::app::{import_households, store_geocoder, HouseholdImport, HouseholdImportOptions};
use crate::ingest::budget::MemoryBudget;
use crate::ingest::households::privacy::Secret;
use crate::ingest::households::{FileOptions, OUTSIDE_SCOPE};
use crate::model::sheet::SheetCsv;
use crate::model::{
    AuditAction, BatchInfo, BatchState, BatchStatus, Geocode, Household, Period, Quality, Role,
    Scope, SourceFormat, StoredHousehold, Text, Transition,
};
use crate::region::Kode;

/// The default upload limit, MiB.
pub const DEFAULT_MAX_UPLOAD_MIB: u64 = 200;

/// Most households listed for review in one answer (the rest are counted).
const REVIEW_LIST_MAX: usize = 2000;

/// Where uploads go and how large they may be.
#[derive(Clone)]
pub struct UploadOptions {
    /// Directory for files while they are received and imported (deleted afterwards, and
    /// when a transfer breaks off).
    pub dir: PathBuf,
    /// Largest file taken, bytes.
    pub max_bytes: u64,
    /// The installation secret that NIK/KK are hashed with; uploads are refused without it.
    pub secret: Option<Secret>,
    /// Longest pause between two parts of an upload's body before it is given up (`408`):
    /// a stalled transfer does not hold its connection and temporary file.
    pub stall: std::time::Duration,
    /// How much one upload's import may grow the server ([`MemoryBudget`]).
    pub memory: Option<MemoryBudget>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .field("stall", &self.stall)
            .field("memory", &self.memory)
            .finish()
    }
}

impl Default for UploadOptions {
    fn default() -> UploadOptions {
        UploadOptions {
            dir: std::env::temp_dir(),
            max_bytes: DEFAULT_MAX_UPLOAD_MIB * 1024 * 1024,
            secret: None,
            stall: std::time::Duration::from_secs(60),
            memory: MemoryBudget::mib(MemoryBudget::DEFAULT_MIB),
        }
    }
}

/// Uploads in progress, by the id the page gives each (`X-Upload-Id`), so that the page can
/// show how far the transfer and the import have come.
#[derive(Debug)]
pub struct Uploads {
    options: UploadOptions,
    running: Mutex<HashMap<String, Arc<Progress>>>,
    /// Imports run at most this many at a time (each takes a few cores and some hundred MiB
    /// at its peak); further uploads wait after their transfer.
    imports: tokio::sync::Semaphore,
}

/// Imports of uploads running at once.
const CONCURRENT_IMPORTS: usize = 2;

impl Default for Uploads {
    fn default() -> Uploads {
        Uploads::new(UploadOptions::default())
    }
}

/// Phases of an upload.
const PHASE_RECEIVING: u8 = 0;
const PHASE_IMPORTING: u8 = 1;

/// How far one upload has come.
#[derive(Debug, Default)]
pub(super) struct Progress {
    owner: String,
    phase: AtomicU8,
    received: AtomicU64,
    total: AtomicU64,
    rows: Arc<AtomicU64>,
    rows_estimate: AtomicU64,
}

impl Uploads {
    /// Uploads configured by `options`.
    pub fn new(options: UploadOptions) -> Uploads {
        Uploads {
            options,
            running: Mutex::default(),
            imports: tokio::sync::Semaphore::new(CONCURRENT_IMPORTS),
        }
    }

    /// The secret NIK and KK of uploaded files are hashed with (`None`: uploads are off).
    pub fn secret(&self) -> Option<&Secret> {
        self.options.secret.as_ref()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Progress>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The name every upload's temporary file starts with.
const UPLOAD_PREFIX: &str = "lentera-upload-";

/// Removes the temporary files of uploads that a crashed or killed server left in `dir`
/// (they may hold personal data); run before a server starts taking uploads. Each file
/// names the process that received it (`lentera-upload-PID-…`): files of a process still
/// running (another server sharing the directory) are left alone. Returns how many were
/// removed.
pub fn remove_stale_uploads(dir: &std::path::Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(UPLOAD_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let running = pid.is_some_and(|p| {
            p != std::process::id() && std::path::Path::new(&format!("/proc/{p}")).exists()
        });
        if !running {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Forgets an upload's progress when its request ends, however it ends.
struct Tracked<'a> {
    uploads: &'a Uploads,
    id: Option<String>,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.id {
            self.uploads.running().remove(id);
        }
    }
}

/// Who is acting on batches: an admin, or an operator with its area.
enum Actor {
    Admin,
    Operator(Vec<Kode>),
}

struct Acting {
    caller: Caller,
    name: String,
    actor: Actor,
}

impl Acting {
    fn of(caller: Caller) -> Result<Acting, ApiError> {
        let Some(p) = &caller.principal else {
            return Err(ApiError::Unauthorized(
                "verval batches need a login (POST /api/session) or a personal API token".into(),
            ));
        };
        let actor = match p.role {
            Role::Admin => Actor::Admin,
            Role::Operator if !p.scope.is_empty() => Actor::Operator(p.scope.clone()),
            Role::Operator => {
                return Err(ApiError::Forbidden(
                    "this operator has no area (scope): ask an admin to set one".into(),
                ))
            }
            other => {
                return Err(ApiError::Forbidden(format!(
                    "the role {other} does not take part in verval rounds (admins and \
                     operators do)"
                )))
            }
        };
        let name = p.name.to_string();
        Ok(Acting {
            caller,
            name,
            actor,
        })
    }

    fn is_admin(&self) -> bool {
        matches!(self.actor, Actor::Admin)
    }

    /// Whether this caller may see and act on `batch`.
    fn may_see(&self, batch: &BatchInfo) -> bool {
        match &self.actor {
            Actor::Admin => true,
            Actor::Operator(scope) => {
                let area = area_codes(batch);
                !area.is_empty() && area.iter().all(|k| Scope::Within(scope.clone()).allows(*k))
            }
        }
    }

    fn audit(&self, st: &AppState, action: AuditAction, endpoint: &str, params: String, n: u64) {
        let mut e = self.caller.audit_entry(action, endpoint, &params);
        e.count = Some(n);
        st.audit.record(e);
    }
}

/// The units a batch's upload was limited to.
pub fn area_codes(batch: &BatchInfo) -> Vec<Kode> {
    batch
        .state
        .area
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|k| k.trim().parse().ok())
        .collect()
}

/// The batch `id` if the caller may see it.
async fn visible_batch(st: &AppState, acting: &Acting, id: i64) -> Result<BatchInfo, ApiError> {
    let batches = st.live.store().batches().await?;
    batches
        .into_iter()
        .find(|b| b.id == id && acting.may_see(b))
        .ok_or_else(|| ApiError::not_found(format!("there is no batch {id} in your area")))
}

/// The query of `GET /api/batches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only batches of this period.
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
}

/// `GET /api/batches?period=`: the batches the caller may act on, newest first.
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<BatchInfo>>, ApiError> {
    let acting = Acting::of(caller)?;
    let batches = st.live.store().batches().await?;
    Ok(Json(
        batches
            .into_iter()
            .filter(|b| acting.may_see(b) && q.period.is_none_or(|p| b.period == p))
            .collect(),
    ))
}

/// `GET /api/batches/{id}`.
pub async fn one(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<BatchInfo>, ApiError> {
    let acting = Acting::of(caller)?;
    Ok(Json(visible_batch(&st, &acting, id).await?))
}

/// The query of `POST /api/batches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The data period (required).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// The source format (detected from the header when absent).
    #[serde(default, deserialize_with = "parsed")]
    format: Option<SourceFormat>,
    /// The sheet of a workbook.
    #[serde(default)]
    sheet: Option<String>,
    /// The file's name (a raw body has none of its own).
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/batches?period=&format=&sheet=&name=`: a household file as the body or as a
/// `multipart/form-data` part, streamed to disk (at most the upload limit: `413` past it),
/// then imported as a batch: an operator's inside the operator's area as a draft, an
/// admin's accepted at once. Answers the import summary.
pub async fn upload(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let acting = Acting::of(caller)?;
    let period = q
        .period
        .ok_or_else(|| ApiError::bad_request("period= is required (YYYY-MM, e.g. 2026-03)"))?;
    let uploads = st.uploads.clone();
    let Some(secret) = uploads.options.secret.clone() else {
        return Err(ApiError::Conflict(
            "uploads are switched off: the server runs without LENTERA_SECRET, which NIK and \
             KK are hashed with"
                .into(),
        ));
    };
    let store = st.live.store().clone();
    if !acting.is_admin() {
        let round = store
            .rounds()
            .await?
            .into_iter()
            .find(|r| r.period == period);
        if let Some(r) = round.filter(|r| !r.is_open()) {
            return Err(ApiError::Conflict(format!(
                "the verval round {} was closed on {}: uploads are no longer taken",
                r.period,
                r.closed_at.as_deref().unwrap_or("?")
            )));
        }
    }
    let declared = declared_length(request.headers());
    let progress = Arc::new(Progress {
        owner: acting.name.clone(),
        ..Progress::default()
    });
    let upload_id = upload_id(request.headers());
    let _tracked = Tracked {
        uploads: &uploads,
        id: upload_id.clone(),
    };
    if let Some(id) = &upload_id {
        progress
            .total
            .store(declared.unwrap_or_default(), Ordering::Relaxed);
        uploads.running().insert(id.clone(), progress.clone());
    }
    let (file, written, part_name) = spool(&st, request, &progress).await?;
    progress.total.store(written, Ordering::Relaxed);
    progress
        .rows_estimate
        .store(estimate_rows(file.path(), written), Ordering::Relaxed);
    progress.phase.store(PHASE_IMPORTING, Ordering::Relaxed);

    let file_name = clean_name(q.name.as_deref().or(part_name.as_deref()));
    let (state, within) = match &acting.actor {
        Actor::Admin => (
            BatchState {
                status: BatchStatus::Accepted,
                owner: Some(acting.name.clone()),
                ..BatchState::default()
            },
            None,
        ),
        Actor::Operator(scope) => (
            BatchState {
                status: BatchStatus::Draft,
                owner: Some(acting.name.clone()),
                area: Some(
                    scope
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                ..BatchState::default()
            },
            Some(Scope::Within(scope.clone())),
        ),
    };
    let geocoder = store_geocoder(store.as_ref()).await?;
    if geocoder.is_none() && within.is_some() {
        return Err(ApiError::Conflict(
            "no desa boundaries are loaded: an operator's upload cannot be placed inside the \
             operator's area; ask an admin to import the boundaries first"
                .into(),
        ));
    }
    let opts = HouseholdImportOptions {
        file: FileOptions {
            format: q.format,
            sheet: q.sheet.clone(),
            within,
            rows_done: Some(progress.rows.clone()),
            memory: uploads.options.memory,
            ..FileOptions::default()
        },
        period,
        state,
        file_name: Some(file_name),
    };
    let _permit = uploads
        .imports
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let outcome = import_households(store.as_ref(), file.path(), &opts, &secret, geocoder)
        .await
        .map_err(|e| match e {
            crate::app::HouseholdImportError::Store(s) => ApiError::from(s),
            // The server's own configuration is wrong: logged, not shown.
            e @ crate::app::HouseholdImportError::SecretMismatch(_) => ApiError::internal(e),
            other => ApiError::bad_request(other.to_string()),
        })?;
    drop(file);
    let (batch, format, geocoded, outside) = match outcome {
        HouseholdImport::AlreadyImported(b) => {
            return Err(ApiError::Conflict(format!(
                "this file was already uploaded as batch {} on {} (same SHA-256)",
                b.id, b.imported_at
            )))
        }
        HouseholdImport::Imported {
            batch,
            format,
            geocoded,
            outside_area,
            ..
        } => (batch, format, geocoded, outside_area),
    };
    acting.audit(
        &st,
        AuditAction::BatchImport,
        "POST /api/batches",
        format!(
            "batch {} ({}, {}, {}, {})",
            batch.id, batch.file_name, batch.source, batch.period, batch.state.status
        ),
        batch.counts.households,
    );
    let qualities: BTreeMap<&str, u64> = geocoded
        .as_ref()
        .map(|g| g.by_quality.iter().map(|(q, n)| (q.as_str(), *n)).collect())
        .unwrap_or_default();
    Ok(Json(json!({
        "batch": batch,
        "format": format,
        "rows_read": batch.counts.rows_read,
        "rows_accepted": batch.counts.rows_accepted,
        "rows_rejected": batch.counts.rows_rejected,
        "outside_area": outside,
        "households": batch.counts.households,
        "duplicates_in_batch": batch.counts.duplicates_in_batch,
        "duplicates_other": batch.duplicates_other,
        "geocoded": qualities,
        "to_review": geocoded.as_ref().map_or(0, |g| g.needs_review),
        "rejects": {
            "csv": format!("/api/batches/{}/rejects.csv", batch.id),
            "xlsx": format!("/api/batches/{}/rejects.xlsx", batch.id),
        },
    }))
    .into_response())
}

/// Receives a request's file (the body itself, or the `file` part of a multipart form) into a
/// temporary file of the upload directory, under the server's size limit and stall timeout;
/// returns it (deleted when dropped), its size and the name the form gave it.
pub(super) async fn spool(
    st: &AppState,
    request: Request,
    progress: &Progress,
) -> Result<(tempfile::NamedTempFile, u64, Option<String>), ApiError> {
    let uploads = st.uploads.clone();
    let max = uploads.options.max_bytes;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than this server's upload limit of {} MiB: split it (e.g. per \
             kecamatan) or ask the administrator to raise --max-upload-mib",
            max / (1024 * 1024)
        ))
    };
    let declared = declared_length(request.headers());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large());
    }

    std::fs::create_dir_all(&uploads.options.dir).map_err(ApiError::internal)?;
    // Deleted when dropped: after the import, or at once when the transfer fails.
    let file = tempfile::Builder::new()
        .prefix(&format!("{UPLOAD_PREFIX}{}-", std::process::id()))
        .tempfile_in(&uploads.options.dir)
        .map_err(ApiError::internal)?;
    let writer = tokio::fs::File::from_std(file.reopen().map_err(ApiError::internal)?);
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (received, part_name) = if is_multipart {
        let unreadable = |e: axum::extract::multipart::MultipartError| {
            ApiError::bad_request(format!("the multipart body is unreadable: {e}"))
        };
        let mut form = Multipart::from_request(request, st)
            .await
            .map_err(|e| ApiError::bad_request(format!("the multipart body is unreadable: {e}")))?;
        let mut found = None;
        while let Some(field) = form.next_field().await.map_err(unreadable)? {
            if field.file_name().is_some() || field.name() == Some("file") {
                let name = field.file_name().map(str::to_string);
                let stream = field.map(|c| c.map_err(|e| e.to_string()));
                found = Some((
                    receive(stream, writer, max, uploads.options.stall, progress).await,
                    name,
                ));
                break;
            }
        }
        found.ok_or_else(|| {
            ApiError::bad_request("the multipart body has no file part (a part named `file`)")
        })?
    } else {
        let stream = request
            .into_body()
            .into_data_stream()
            .map(|c| c.map_err(|e| e.to_string()));
        (
            receive(stream, writer, max, uploads.options.stall, progress).await,
            None,
        )
    };
    let written = match received {
        Ok(n) => n,
        Err(ReceiveError::TooLarge) => return Err(too_large()),
        Err(ReceiveError::Stalled) => {
            return Err(ApiError::Timeout(format!(
                "the upload stalled: nothing arrived for {} s; nothing was kept",
                uploads.options.stall.as_secs()
            )))
        }
        Err(ReceiveError::Broken(e)) => {
            return Err(ApiError::bad_request(format!(
                "the upload broke off before the end of the file ({e}); nothing was kept"
            )))
        }
        Err(ReceiveError::Disk(e)) => return Err(ApiError::internal(e)),
    };
    if written == 0 {
        return Err(ApiError::bad_request("the uploaded file is empty"));
    }
    Ok((file, written, part_name))
}

/// The length a request declares for its body.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The id a page gave its upload, when it is a plausible one.
fn upload_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-upload-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_string)
}

/// A file name fit to keep: no directories, no control characters, at most 200 characters.
pub(super) fn clean_name(name: Option<&str>) -> String {
    let base = name
        .unwrap_or("unggahan")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "unggahan".into()
    } else {
        cleaned
    }
}

/// Rows a text file probably holds, from the line lengths of its first MiB (0 for a
/// workbook, whose rows cannot be estimated this way).
fn estimate_rows(path: &std::path::Path, size: u64) -> u64 {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(1024 * 1024).read_to_end(&mut head))
        .unwrap_or(0);
    if read == 0 || head.starts_with(b"PK\x03\x04") {
        return 0;
    }
    let lines = head.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
    size * lines / read as u64
}

enum ReceiveError {
    TooLarge,
    Stalled,
    Broken(String),
    Disk(std::io::Error),
}

/// Writes a body stream to `out`, counting; stops past `max` bytes.
async fn receive<S>(
    mut stream: S,
    mut out: tokio::fs::File,
    max: u64,
    stall: std::time::Duration,
    progress: &Progress,
) -> Result<u64, ReceiveError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, String>> + Unpin,
{
    let mut written = 0u64;
    loop {
        let Ok(next) = tokio::time::timeout(stall, stream.next()).await else {
            return Err(ReceiveError::Stalled);
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(ReceiveError::Broken)?;
        written += chunk.len() as u64;
        if written > max {
            return Err(ReceiveError::TooLarge);
        }
        out.write_all(&chunk).await.map_err(ReceiveError::Disk)?;
        progress.received.store(written, Ordering::Relaxed);
    }
    out.flush().await.map_err(ReceiveError::Disk)?;
    Ok(written)
}

/// `GET /api/uploads/{id}`: how far the caller's upload has come (`received` and `total`
/// bytes while receiving; `rows` read and `rows_estimate` while importing).
pub async fn progress(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let acting = Acting::of(caller)?;
    let found = st.uploads.running().get(&id).cloned();
    let Some(p) = found.filter(|p| p.owner == acting.name) else {
        return Err(ApiError::not_found(
            "no upload of yours with this id is running",
        ));
    };
    let phase = if p.phase.load(Ordering::Relaxed) == PHASE_RECEIVING {
        "menerima"
    } else {
        "mengimpor"
    };
    Ok(Json(json!({
        "phase": phase,
        "received": p.received.load(Ordering::Relaxed),
        "total": p.total.load(Ordering::Relaxed),
        "rows": p.rows.load(Ordering::Relaxed),
        "rows_estimate": p.rows_estimate.load(Ordering::Relaxed),
    })))
}

/// `DELETE /api/batches/{id}`: an operator removes a draft or returned batch of its area; an
/// admin any batch.
pub async fn remove(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<BatchInfo>, ApiError> {
    let acting = Acting::of(caller)?;
    let batch = visible_batch(&st, &acting, id).await?;
    if !acting.is_admin()
        && !matches!(
            batch.state.status,
            BatchStatus::Draft | BatchStatus::Returned
        )
    {
        return Err(ApiError::Conflict(format!(
            "batch {id} is {}: only a draft or a returned batch is removed by its operator",
            batch.state.status
        )));
    }
    let removed = st
        .live
        .store()
        .remove_batch(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no batch {id}")))?;
    acting.audit(
        &st,
        AuditAction::BatchRemove,
        "DELETE /api/batches/{id}",
        format!("batch {id} ({})", removed.file_name),
        removed.counts.households,
    );
    Ok(Json(removed))
}

/// The body of `POST /api/batches/{id}/return` (and, optionally, of accept).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The province's note to the operator.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/batches/{id}/submit|accept|return`: the batch's next step in its round.
/// Operators submit their drafts (a returned batch of the same area and period is replaced
/// by the new one); admins accept or return submitted batches (a note is required to return).
pub async fn step(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, step)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> Result<Json<BatchInfo>, ApiError> {
    let acting = Acting::of(caller)?;
    let step = match step.as_str() {
        "submit" => Transition::Submit,
        "accept" => Transition::Accept,
        "return" => Transition::Return,
        _ => return Err(ApiError::not_found("batch steps: submit, accept, return")),
    };
    // The body is optional: empty, or `{"note": "…"}`.
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("the body must be {{\"note\": \"…\"}}: {e}"))
        })?
    };
    let note = body
        .note
        .map(|n| n.trim().chars().take(2000).collect::<String>())
        .filter(|n| !n.is_empty());
    let batch = visible_batch(&st, &acting, id).await?;
    if step != Transition::Submit && !acting.is_admin() {
        return Err(ApiError::Forbidden(
            "only an admin of the province accepts or returns a batch".into(),
        ));
    }
    if step == Transition::Return && note.is_none() {
        return Err(ApiError::bad_request(
            "say why the batch is returned: {\"note\": \"…\"}",
        ));
    }
    let at = crate::model::account::now();
    let next = batch
        .state
        .after(step, &acting.name, &at, note)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let store = st.live.store();
    if step == Transition::Submit {
        // The new upload replaces the area's returned batches of the period.
        let returned: Vec<BatchInfo> = store
            .batches()
            .await?
            .into_iter()
            .filter(|b| {
                b.id != id
                    && b.period == batch.period
                    && b.state.status == BatchStatus::Returned
                    && b.state.area.is_some()
                    && b.state.area == batch.state.area
            })
            .collect();
        for old in returned {
            if store.remove_batch(old.id).await?.is_some() {
                acting.audit(
                    &st,
                    AuditAction::BatchRemove,
                    "POST /api/batches/{id}/submit",
                    format!("batch {} replaced by batch {id}", old.id),
                    old.counts.households,
                );
            }
        }
    }
    let updated = store
        .set_batch_state(id, &next)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no batch {id}")))?;
    let action = match step {
        Transition::Submit => AuditAction::BatchSubmit,
        Transition::Accept => AuditAction::BatchAccept,
        Transition::Return => AuditAction::BatchReturn,
    };
    acting.audit(
        &st,
        action,
        &format!("POST /api/batches/{{id}}/{step}"),
        format!("batch {id} ({}, {})", updated.file_name, updated.period),
        updated.counts.households,
    );
    Ok(Json(updated))
}

/// Which reject report.
fn report_format(file: &str) -> Result<bool, ApiError> {
    match file {
        "rejects.csv" => Ok(false),
        "rejects.xlsx" => Ok(true),
        _ => Err(ApiError::not_found(
            "batch files: rejects.csv, rejects.xlsx",
        )),
    }
}

/// Columns of the reject report, in Bahasa Indonesia.
pub const REJECT_COLUMNS: [&str; 4] = ["baris", "kolom", "nilai", "alasan"];

/// `GET /api/batches/{id}/rejects.csv|rejects.xlsx`: the rows refused, with the column, the
/// value (identity numbers masked) and the reason in Bahasa Indonesia. Recorded in the audit
/// trail (values may be personal data).
pub async fn rejects(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, file)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    let xlsx = report_format(&file)?;
    let acting = Acting::of(caller)?;
    let batch = visible_batch(&st, &acting, id).await?;
    let rejects = st.live.store().rejects(id).await?;
    let mut e = acting.caller.audit_entry(
        AuditAction::HouseholdRead,
        "GET /api/batches/{id}/rejects",
        &format!("batch {id}"),
    );
    e.count = Some(rejects.len() as u64);
    st.audit.record_durably(e).await?;
    let rows = rejects.iter().map(|r| {
        [
            r.row.to_string(),
            r.column.clone(),
            r.value.clone(),
            crate::ingest::households::alasan(&r.reason),
        ]
    });
    let stem = format!("penolakan-batch-{}", batch.id);
    let (content_type, name, bytes) = if xlsx {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("Penolakan").map_err(ApiError::internal)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, h) in REJECT_COLUMNS.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &bold)
                .map_err(ApiError::internal)?;
        }
        for (r, row) in rows.enumerate() {
            for (c, v) in row.iter().enumerate() {
                sheet
                    .write_string(r as u32 + 1, c as u16, v)
                    .map_err(ApiError::internal)?;
            }
        }
        sheet.set_column_width(3, 60).map_err(ApiError::internal)?;
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("{stem}.xlsx"),
            book.save_to_buffer().map_err(ApiError::internal)?,
        )
    } else {
        let mut w = SheetCsv::from_writer(Vec::new());
        w.write_record(REJECT_COLUMNS).map_err(ApiError::internal)?;
        for row in rows {
            w.write_record(&row).map_err(ApiError::internal)?;
        }
        (
            "text/csv; charset=utf-8",
            format!("{stem}.csv"),
            w.into_inner().map_err(ApiError::internal)?,
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// The stored households of batch `id`, read chunk by chunk, handed to `f`.
async fn each_household(
    st: &AppState,
    id: i64,
    mut f: impl FnMut(StoredHousehold),
) -> Result<(), ApiError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let store = st.live.store().clone();
    let produce = store.stream_households(Some(id), tx);
    let consume = async {
        while let Some(chunk) = rx.recv().await {
            chunk.into_iter().for_each(&mut f);
        }
    };
    let (produced, ()) = tokio::join!(produce, consume);
    produced?;
    Ok(())
}

/// A candidate desa of a household to review.
#[derive(Debug, Serialize)]
struct Candidate {
    kode: Kode,
    nama: String,
    kecamatan: Option<String>,
    bbox: Option<[f64; 4]>,
}

/// A household to review, as the page lists it (NIK masked).
#[derive(Debug, Serialize)]
struct ReviewItem {
    id: i64,
    baris: u64,
    nama_kepala_keluarga: Option<Text>,
    nik: Option<Text>,
    kode_wilayah: Option<Text>,
    desa: Option<Text>,
    kecamatan: Option<Text>,
    kabupaten: Option<Text>,
    alamat: Option<Text>,
    /// The household's own GPS point, if any.
    gps: Option<[f64; 2]>,
    kualitas: Quality,
    catatan: String,
    /// The desa it is placed in now, if any.
    kode_desa: Option<Kode>,
    kandidat: Vec<Candidate>,
}

/// `GET /api/batches/{id}/review`: the households of the batch that the geocoder placed
/// nowhere, ambiguously or with a flag (inside the caller's area), with their candidates, at
/// most 2,000 listed; recorded in the audit trail.
pub async fn review(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let acting = Acting::of(caller)?;
    let batch = visible_batch(&st, &acting, id).await?;
    let snap = st.live.snapshot();
    let region = |k: Kode| {
        snap.unit_index(k).map(|u| {
            let info = &snap.unit(u).info;
            (info.nama.clone(), info.bbox)
        })
    };
    let mut items = Vec::new();
    let mut total = 0u64;
    let mut not_found = 0u64;
    each_household(&st, id, |s| {
        let Some(g) = &s.household.geocode else {
            return;
        };
        if g.not_found() {
            not_found += 1;
        }
        if !g.needs_review() {
            return;
        }
        total += 1;
        if items.len() < REVIEW_LIST_MAX {
            items.push(review_item(&s, g, &region));
        }
    })
    .await?;
    let mut e = acting.caller.audit_entry(
        AuditAction::HouseholdRead,
        "GET /api/batches/{id}/review",
        &format!("batch {id}"),
    );
    e.count = Some(items.len() as u64);
    st.audit.record_durably(e).await?;
    Ok(Json(json!({
        "batch": batch.id,
        "status": batch.state.status,
        "to_review": total,
        "not_found": not_found,
        "listed": items.len(),
        "households": items,
    })))
}

fn review_item(
    s: &StoredHousehold,
    g: &Geocode,
    region: &impl Fn(Kode) -> Option<(String, Option<[f64; 4]>)>,
) -> ReviewItem {
    let h = &s.household;
    let candidate = |k: Kode| {
        let (nama, bbox) = region(k).unwrap_or_else(|| (k.to_string(), None));
        Candidate {
            kode: k,
            nama,
            kecamatan: k.parent().and_then(region).map(|(n, _)| n),
            bbox,
        }
    };
    // Only desa are offered: a household known at kecamatan or kabupaten level is placed on
    // the map instead.
    let kandidat = if g.candidates.is_empty() {
        g.kode_desa.into_iter().map(candidate).collect()
    } else {
        g.candidates
            .iter()
            .copied()
            .filter(|k| k.level() == crate::region::Level::Desa)
            .map(candidate)
            .collect()
    };
    ReviewItem {
        id: s.id,
        baris: h.source_row,
        nama_kepala_keluarga: h.head_name.clone(),
        nik: h.nik_masked.clone(),
        kode_wilayah: h.region_code.clone(),
        desa: h.address.desa.clone(),
        kecamatan: h.address.kecamatan.clone(),
        kabupaten: h.address.kabupaten.clone(),
        alamat: h.address.street.clone(),
        gps: h.lat.zip(h.lon).map(|(lat, lon)| [lon, lat]),
        kualitas: g.quality,
        catatan: g.flags.to_string(),
        kode_desa: g.kode_desa,
        kandidat,
    }
}

/// One correction sent by the page: a desa chosen, a point placed, or "not found".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewCorrection {
    /// The stored household.
    id: i64,
    /// The desa chosen (its code).
    #[serde(default, deserialize_with = "parsed")]
    kode: Option<Kode>,
    /// A point placed on the map, `[lon, lat]`.
    #[serde(default)]
    titik: Option<[f64; 2]>,
    /// Not found in the field.
    #[serde(default)]
    tidak_ditemukan: bool,
}

/// The body of `POST /api/batches/{id}/review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// The corrections, at most 10,000.
    corrections: Vec<ReviewCorrection>,
}

/// `POST /api/batches/{id}/review`: applies corrections as `lentera households review
/// --apply` does: a chosen desa becomes the household's region code (names and a GPS point
/// that contradicted it are set aside), a placed point becomes its GPS (code and names set
/// aside), and each corrected household is geocoded again; "tidak ditemukan" marks it not
/// found (kept for the record, counted nowhere). A desa or point outside an operator's area
/// is refused. Answers what was applied and what is left to review.
pub async fn correct(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<ReviewBody>,
) -> Result<Json<Value>, ApiError> {
    let acting = Acting::of(caller)?;
    let batch = visible_batch(&st, &acting, id).await?;
    if batch.state.status == BatchStatus::Accepted && !acting.is_admin()
        || batch.state.status == BatchStatus::Submitted
    {
        return Err(ApiError::Conflict(format!(
            "batch {id} is {}: it is corrected while it is a draft or returned",
            batch.state.status
        )));
    }
    if body.corrections.len() > 10_000 {
        return Err(ApiError::bad_request(
            "at most 10,000 corrections per request",
        ));
    }
    let store = st.live.store().clone();
    let geocoder = store_geocoder(store.as_ref())
        .await?
        .ok_or_else(|| ApiError::Conflict("no desa boundaries are loaded".into()))?;
    let area = match &acting.actor {
        Actor::Admin => Scope::All,
        Actor::Operator(scope) => Scope::Within(scope.clone()),
    };
    let wanted: HashMap<i64, &ReviewCorrection> =
        body.corrections.iter().map(|c| (c.id, c)).collect();
    let mut found = HashMap::new();
    each_household(&st, id, |s| {
        if wanted.contains_key(&s.id) {
            found.insert(s.id, s.household);
        }
    })
    .await?;
    let mut problems = Vec::new();
    let mut updates = Vec::new();
    let mut session = geocoder.session();
    let mut resolved = 0u64;
    for c in &body.corrections {
        let Some(h) = found.get(&c.id) else {
            problems.push(
                json!({"id": c.id, "alasan": format!("batch {id} tidak memuat keluarga ini")}),
            );
            continue;
        };
        let mut h: Household = h.clone();
        match (c.kode, c.titik, c.tidak_ditemukan) {
            (Some(kode), None, false) => {
                if kode.level() != crate::region::Level::Desa {
                    problems.push(
                        json!({"id": c.id, "alasan": format!("{kode} bukan kode desa/kelurahan")}),
                    );
                    continue;
                }
                h.region_code = Some(Text::from(kode.to_string().as_str()));
                h.address.desa = None;
                h.address.kecamatan = None;
                h.address.kabupaten = None;
                let g = session.geocode(&Household {
                    geocode: None,
                    ..h.clone()
                });
                // A GPS point that contradicts the desa chosen is set aside.
                if g.kode_desa != Some(kode) || !g.flags.is_empty() {
                    h.lat = None;
                    h.lon = None;
                }
            }
            (None, Some([lon, lat]), false) => {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    problems.push(json!({"id": c.id, "alasan": "titik di luar rentang WGS84"}));
                    continue;
                }
                h.region_code = None;
                h.address.desa = None;
                h.address.kecamatan = None;
                h.address.kabupaten = None;
                h.lat = Some(lat);
                h.lon = Some(lon);
            }
            (None, None, true) => {
                let mut g = h.geocode.clone().unwrap_or(Geocode {
                    kode_desa: None,
                    unit: None,
                    quality: Quality::Unmatched,
                    flags: crate::model::Flags::default(),
                    point: None,
                    candidates: Vec::new(),
                });
                g.flags.set(crate::model::Flag::NotFound);
                h.geocode = Some(g);
                updates.push((c.id, h));
                continue;
            }
            _ => {
                problems.push(json!({"id": c.id, "alasan": "kirim tepat satu dari: kode, titik, tidak_ditemukan"}));
                continue;
            }
        }
        h.geocode = None;
        let g = session.geocode(&h);
        if let Some(unit) = g.kode_desa.or(g.unit).filter(|u| !area.allows(*u)) {
            problems.push(json!({"id": c.id, "alasan": format!("{OUTSIDE_SCOPE}: {unit}")}));
            continue;
        }
        resolved += u64::from(!g.needs_review());
        h.geocode = Some(g);
        updates.push((c.id, h));
    }
    let applied = updates.len() as u64;
    let updated = if updates.is_empty() {
        0
    } else {
        store.correct_households(id, updates).await?
    };
    acting.audit(
        &st,
        AuditAction::BatchCorrect,
        "POST /api/batches/{id}/review",
        format!("batch {id}"),
        updated,
    );
    let mut left = 0u64;
    each_household(&st, id, |s| {
        left += u64::from(
            s.household
                .geocode
                .as_ref()
                .is_some_and(Geocode::needs_review),
        );
    })
    .await?;
    Ok(Json(json!({
        "applied": applied,
        "resolved": resolved,
        "to_review": left,
        "problems": problems,
    })))
}

/// `GET /api/batches/{id}/preview`: what the batch holds per desa (households, desil 1,
/// extreme poor, to review, not found): the "pratinjau" of a draft before it counts.
pub async fn preview(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let acting = Acting::of(caller)?;
    let batch = visible_batch(&st, &acting, id).await?;
    let stats = batch_stats(&st, batch.id).await?;
    let snap = st.live.snapshot();
    let rows: Vec<Value> = stats
        .by_unit
        .iter()
        .map(|(k, s)| {
            let nama = snap.unit_index(*k).map(|u| snap.unit(u).info.nama.clone());
            json!({
                "kode": k, "nama": nama, "keluarga": s.households, "desil_1": s.desil_1,
                "ekstrem": s.extreme, "perlu_tinjau": s.to_review,
            })
        })
        .collect();
    Ok(Json(json!({
        "batch": batch,
        "households": stats.total.households,
        "desil_1": stats.total.desil_1,
        "to_review": stats.total.to_review,
        "not_found": stats.not_found,
        "placed": stats.placed,
        "units": rows,
    })))
}

/// What a batch holds, in total and per unit it places households in.
#[derive(Debug, Default, Clone)]
pub struct BatchStats {
    /// Totals.
    pub total: UnitStats,
    /// Per desa (or the kecamatan/kabupaten of households placed no lower).
    pub by_unit: BTreeMap<Kode, UnitStats>,
    /// Households per way of placing them: `gps`, `kode`, `nama`, `wilayah` (kecamatan or
    /// kabupaten only), `tidak` (nowhere).
    pub placed: BTreeMap<&'static str, u64>,
    /// Households marked not found.
    pub not_found: u64,
}

/// Counts of a batch in one unit.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitStats {
    /// Households (not found and repeats of the same file left out).
    pub households: u64,
    /// Households in desil 1.
    pub desil_1: u64,
    /// Extreme poor.
    pub extreme: u64,
    /// Still to review.
    pub to_review: u64,
}

/// The stats of batch `id`, read from the store (cached per snapshot generation).
pub async fn batch_stats(st: &AppState, id: i64) -> Result<Arc<BatchStats>, ApiError> {
    let generation = st.live.store().generation().await?;
    if let Some(hit) = st.batch_stats.get(&(id, generation)) {
        return Ok(hit);
    }
    let mut stats = BatchStats::default();
    each_household(st, id, |s| {
        let h = &s.household;
        let g = h.geocode.as_ref();
        if g.is_some_and(Geocode::not_found) {
            stats.not_found += 1;
            return;
        }
        if h.duplicate_of.is_some() {
            return;
        }
        let review = g.is_some_and(Geocode::needs_review);
        let add = |u: &mut UnitStats| {
            u.households += 1;
            u.desil_1 += u64::from(h.desil == Some(1));
            u.extreme += u64::from(h.extreme_poor == Some(true));
            u.to_review += u64::from(review);
        };
        add(&mut stats.total);
        if let Some(unit) = g.and_then(|g| g.kode_desa.or(g.unit)) {
            add(stats.by_unit.entry(unit).or_default());
        }
        let how = match g.map(|g| g.quality) {
            Some(Quality::Gps) => "gps",
            Some(Quality::Code) => "kode",
            Some(Quality::NameExact | Quality::NameFuzzy) => "nama",
            Some(Quality::KecamatanOnly | Quality::KabupatenOnly) => "wilayah",
            _ => "tidak",
        };
        *stats.placed.entry(how).or_default() += 1;
    })
    .await?;
    let stats = Arc::new(stats);
    st.batch_stats.insert((id, generation), stats.clone());
    Ok(stats)
}
