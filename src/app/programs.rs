//! Programme lists end to end: read a file, keep its rows under the programme, and report
//! what the snapshot matched.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::aggregate::Snapshot;
use crate::ingest::households::privacy::Secret;
use crate::ingest::programs::{read_program_list, ListError, ListRead, ListReject, RowEcho};
use crate::model::{BatchInfo, ListInfo, Period, ProgramInfo, ProgramKind};
use crate::store::{Store, StoreError};

/// Rows of each kind a report lists at most (the counts are always whole).
pub const REPORT_ROWS: usize = 5_000;

/// Why a list cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum ProgramListError {
    /// No such programme.
    #[error("programme {0} is not registered (lentera programs list)")]
    NoProgram(i64),
    /// The period has no households to match.
    #[error(
        "no accepted households of period {0} are stored: a beneficiary list is matched to the \
         households of its period; import them first or choose another period"
    )]
    NoHouseholds(Period),
    /// The file cannot be read.
    #[error(transparent)]
    List(#[from] ListError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reading thread failed.
    #[error("the list could not be read: {0}")]
    Task(String),
}

/// Where a list to upload comes from and what it is for.
#[derive(Debug, Clone)]
pub struct ListUpload<'a> {
    /// The programme.
    pub program: i64,
    /// The file.
    pub path: &'a Path,
    /// Its name as the user knows it.
    pub file_name: String,
    /// The period whose households it is matched to.
    pub period: Period,
    /// Who uploads it.
    pub by: String,
}

/// Reads the list of `upload`, hashing identity numbers under `secret`, and stores it as
/// the programme's list (replacing the one before). Returns the programme as stored and the
/// list as read (with what a report shows of its rows).
pub async fn upload_program_list(
    store: &dyn Store,
    upload: ListUpload<'_>,
    secret: Secret,
) -> Result<(ProgramInfo, ListRead), ProgramListError> {
    let program = store
        .programs()
        .await?
        .into_iter()
        .find(|p| p.id == upload.program)
        .ok_or(ProgramListError::NoProgram(upload.program))?;
    let kind = program.program.kind;
    if kind == ProgramKind::Household
        && !store
            .batches()
            .await?
            .iter()
            .any(|b| b.period == upload.period && BatchInfo::counts(b))
    {
        return Err(ProgramListError::NoHouseholds(upload.period));
    }
    let path = upload.path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || read_program_list(&path, kind, &secret))
        .await
        .map_err(|e| ProgramListError::Task(e.to_string()))??;
    let list = ListInfo {
        period: upload.period,
        file_name: upload.file_name,
        rows_read: read.rows_read,
        rows_kept: read.members.len() as u64,
        rows_refused: read.refused.len() as u64,
        uploaded_by: upload.by,
        uploaded_at: crate::model::account::now(),
    };
    let stored = store
        .set_program_list(upload.program, &list, &read.members)
        .await?
        .ok_or(ProgramListError::NoProgram(upload.program))?;
    Ok((stored, read))
}

/// What an upload came to, once the snapshot matched it: the JSON the API answers and the
/// command line prints.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// The programme with its list.
    pub program: ProgramInfo,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows kept.
    pub rows_kept: u64,
    /// Rows repeating an earlier row's number.
    pub repeats: u64,
    /// Rows refused.
    pub rows_refused: u64,
    /// Rows matching a household of the period.
    pub matched: u64,
    /// Rows matching none.
    pub unmatched: u64,
    /// Of those, rows naming a known region (counted as leakage there).
    pub unmatched_placed: u64,
    /// Refused rows with the reason (the first [`REPORT_ROWS`]).
    pub refused: Vec<ListReject>,
    /// Rows matching no household, NIK and KK masked (the first [`REPORT_ROWS`]).
    pub unmatched_rows: Vec<RowEcho>,
}

impl ListReport {
    /// The report of `read`, uploaded as `program`, as `snap` matched it.
    pub fn new(program: ProgramInfo, read: &ListRead, snap: &Snapshot) -> ListReport {
        let tally = snap.programs().by_id(program.id).map(|(_, t)| t);
        let matched = tally.map_or(0, |t| t.rows_matched);
        let unmatched: Vec<u64> = tally.map(|t| t.unmatched.clone()).unwrap_or_default();
        let echo: HashMap<u64, &RowEcho> = read.echo.iter().map(|e| (e.row, e)).collect();
        ListReport {
            rows_read: read.rows_read,
            rows_kept: read.members.len() as u64,
            repeats: read.repeats,
            rows_refused: read.refused.len() as u64,
            matched,
            unmatched: unmatched.len() as u64,
            unmatched_placed: tally.map_or(0, |t| t.unmatched_placed),
            refused: read.refused.iter().take(REPORT_ROWS).cloned().collect(),
            unmatched_rows: unmatched
                .iter()
                .filter_map(|r| echo.get(r).map(|e| (*e).clone()))
                .take(REPORT_ROWS)
                .collect(),
            program,
        }
    }
}
