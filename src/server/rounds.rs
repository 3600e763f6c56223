//! Verval rounds over HTTP: admins open and close them; every logged-in user reads where
//! each expected kabupaten/kota stands (`GET /api/rounds/{period}`, also as XLSX).

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{Admin, Caller};
use super::batches::{area_codes, batch_stats};
use super::error::ApiError;
use super::AppState;
use crate::aggregate::Count;
use crate::model::{AuditAction, BatchInfo, BatchStatus, Period, Round};
use crate::region::{Kode, Level};

/// A logged-in caller (any role).
fn logged_in(caller: &Caller) -> Result<(), ApiError> {
    match caller.principal {
        Some(_) => Ok(()),
        None => Err(ApiError::Unauthorized(
            "verval rounds need a login (POST /api/session) or a personal API token".into(),
        )),
    }
}

/// `GET /api/rounds`: every round, newest first.
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Round>>, ApiError> {
    logged_in(&caller)?;
    Ok(Json(st.live.store().rounds().await?))
}

/// The body of `POST /api/rounds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRound {
    /// The period, `YYYY-MM`.
    period: String,
    /// The last day of delivery, `YYYY-MM-DD`.
    deadline: String,
    /// The kabupaten/kota expected to deliver (every loaded one when absent or empty).
    #[serde(default)]
    expected: Vec<String>,
}

/// `POST /api/rounds` (admins): opens a round, or changes its deadline and expected units.
pub async fn open(
    State(st): State<AppState>,
    Admin(caller): Admin,
    Json(body): Json<OpenRound>,
) -> Result<Json<Round>, ApiError> {
    let mut expected = Vec::new();
    for k in &body.expected {
        expected.push(
            k.parse::<Kode>()
                .map_err(|e| ApiError::bad_request(format!("expected: {e}")))?,
        );
    }
    let by = caller
        .principal
        .as_ref()
        .map(|p| p.name.to_string())
        .unwrap_or_default();
    let round = open_round(
        &st,
        parse_period(&body.period)?,
        body.deadline,
        expected,
        &by,
    )
    .await?;
    let mut e = caller.audit_entry(
        AuditAction::RoundOpen,
        "POST /api/rounds",
        &format!(
            "round {} until {} ({} kabupaten/kota)",
            round.period,
            round.deadline,
            round.expected.len()
        ),
    );
    e.count = Some(round.expected.len() as u64);
    st.audit.record_durably(e).await?;
    Ok(Json(round))
}

/// Checks and stores a round; no expected units means every loaded kabupaten/kota.
async fn open_round(
    st: &AppState,
    period: Period,
    deadline: String,
    mut expected: Vec<Kode>,
    by: &str,
) -> Result<Round, ApiError> {
    let snap = st.live.snapshot();
    if expected.is_empty() {
        expected = snap
            .units()
            .iter()
            .filter(|u| u.info.level == Level::Kabupaten)
            .map(|u| u.info.kode)
            .collect();
    }
    if let Some(k) = expected.iter().find(|k| snap.unit_index(**k).is_none()) {
        return Err(ApiError::bad_request(format!(
            "{k} is not a loaded kabupaten/kota"
        )));
    }
    let round = Round {
        period,
        deadline,
        expected,
        opened_by: by.to_string(),
        opened_at: crate::model::account::now(),
        closed_by: None,
        closed_at: None,
    }
    .checked()
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    st.live.store().open_round(&round).await?;
    Ok(round)
}

/// `POST /api/rounds/{period}/close` (admins): no more uploads for the round.
pub async fn close(
    State(st): State<AppState>,
    Admin(caller): Admin,
    Path(period): Path<String>,
) -> Result<Json<Round>, ApiError> {
    let period: Period = period
        .parse()
        .map_err(|e: crate::model::BadPeriod| ApiError::bad_request(e.to_string()))?;
    let by = caller
        .principal
        .as_ref()
        .map(|p| p.name.to_string())
        .unwrap_or_default();
    let round = st
        .live
        .store()
        .close_round(period, &by, &crate::model::account::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no round {period}")))?;
    let e = caller.audit_entry(
        AuditAction::RoundClose,
        "POST /api/rounds/{period}/close",
        &format!("round {period}"),
    );
    st.audit.record_durably(e).await?;
    Ok(Json(round))
}

/// Where one expected kabupaten/kota stands in a round.
#[derive(Debug, Serialize)]
pub struct UnitStatus {
    /// The kabupaten/kota.
    pub kode: Kode,
    /// Its name.
    pub nama: String,
    /// `belum`, `draf`, `diserahkan`, `dikembalikan` or `diterima`.
    pub status: &'static str,
    /// Its batches of the period (operator uploads of its area, and imports of the province
    /// counted in it).
    pub batches: Vec<i64>,
    /// Households its batches hold (repeats and households not found left out).
    pub households: u64,
    /// Households counted for it in the period's indicators now (accepted batches).
    pub counted: Option<u64>,
    /// Rows accepted.
    pub rows_accepted: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Shares of households placed by GPS, by code, by names (0–1).
    pub placed: BTreeMap<&'static str, f64>,
    /// Households still to review.
    pub to_review: u64,
    /// Who submitted, when.
    pub submitted_by: Option<String>,
    /// When.
    pub submitted_at: Option<String>,
    /// Who accepted, when.
    pub accepted_by: Option<String>,
    /// When.
    pub accepted_at: Option<String>,
    /// The province's note on a returned batch.
    pub note: Option<String>,
    /// Households against the previous round (counted figures), when both have data.
    pub change_households: Option<i64>,
    /// Desil 1 households against the previous round, when both state desil.
    pub change_desil_1: Option<i64>,
}

/// The status of a whole round.
#[derive(Debug, Serialize)]
pub struct RoundStatus {
    /// The round.
    #[serde(flatten)]
    pub round: Round,
    /// Days to the end of the deadline day (negative once past).
    pub days_left: Option<i64>,
    /// Whether uploads are taken.
    pub open: bool,
    /// The round the changes are measured against.
    pub previous: Option<Period>,
    /// Kabupaten/kota whose delivery is accepted.
    pub accepted: usize,
    /// Per expected kabupaten/kota.
    pub units: Vec<UnitStatus>,
}

/// The status of the round of `period`.
async fn round_status(st: &AppState, period: Period) -> Result<RoundStatus, ApiError> {
    let store = st.live.store();
    let rounds = store.rounds().await?;
    let round = rounds
        .iter()
        .find(|r| r.period == period)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("there is no round {period}")))?;
    let previous = rounds
        .iter()
        .map(|r| r.period)
        .filter(|p| *p < period)
        .max();
    let batches: Vec<BatchInfo> = store
        .batches()
        .await?
        .into_iter()
        .filter(|b| b.period == period)
        .collect();
    let snap = st.live.snapshot();
    let now_counts = snap.period(Some(period));
    let before_counts = previous.and_then(|p| snap.period(Some(p)));
    let mut units = Vec::new();
    for &kab in &round.expected {
        let u = snap.unit_index(kab);
        let nama = u.map_or_else(|| kab.to_string(), |u| snap.unit(u).info.nama.clone());
        let own: Vec<&BatchInfo> = batches
            .iter()
            .filter(|b| {
                let area = area_codes(b);
                !area.is_empty() && area.iter().all(|k| k.is_within(&kab))
            })
            .collect();
        // Imports of the province (no area) that count households in this kabupaten.
        let province: Vec<i64> = u
            .map(|u| {
                snap.sources_of(u, period)
                    .map(|(b, _)| b.id)
                    .filter(|id| !own.iter().any(|o| o.id == *id))
                    .collect()
            })
            .unwrap_or_default();
        let has = |s: BatchStatus| own.iter().any(|b| b.state.status == s);
        let status = if has(BatchStatus::Accepted) || !province.is_empty() {
            "diterima"
        } else if has(BatchStatus::Submitted) {
            "diserahkan"
        } else if has(BatchStatus::Draft) {
            "draf"
        } else if has(BatchStatus::Returned) {
            "dikembalikan"
        } else {
            "belum"
        };
        let mut households = 0;
        let mut to_review = 0;
        let mut placed_n: BTreeMap<&'static str, u64> = BTreeMap::new();
        for b in &own {
            let s = batch_stats(st, b.id).await?;
            households += s.total.households;
            to_review += s.total.to_review;
            for (k, n) in &s.placed {
                *placed_n.entry(k).or_default() += n;
            }
        }
        let counted = u.and_then(|u| Count::Households.value(now_counts?.counts(u)));
        if own.is_empty() {
            households = counted.unwrap_or(0);
        }
        let placed_total: u64 = placed_n.values().sum();
        let placed = placed_n
            .iter()
            .filter(|(k, _)| matches!(**k, "gps" | "kode" | "nama"))
            .map(|(k, n)| (*k, *n as f64 / placed_total.max(1) as f64))
            .collect();
        let latest = own.iter().max_by_key(|b| b.id);
        let accepted = own
            .iter()
            .filter(|b| b.state.status == BatchStatus::Accepted)
            .max_by_key(|b| b.id);
        let change = |c: Count| -> Option<i64> {
            let u = u?;
            let now = c.value(now_counts?.counts(u))?;
            let before = c.value(before_counts?.counts(u))?;
            Some(now as i64 - before as i64)
        };
        units.push(UnitStatus {
            kode: kab,
            nama,
            status,
            batches: own.iter().map(|b| b.id).chain(province).collect(),
            households,
            counted,
            rows_accepted: own.iter().map(|b| b.counts.rows_accepted).sum(),
            rows_rejected: own.iter().map(|b| b.counts.rows_rejected).sum(),
            placed,
            to_review,
            submitted_by: latest.and_then(|b| b.state.submitted_by.clone()),
            submitted_at: latest.and_then(|b| b.state.submitted_at.clone()),
            accepted_by: accepted.and_then(|b| b.state.decided_by.clone()),
            accepted_at: accepted.and_then(|b| b.state.decided_at.clone()),
            note: latest
                .filter(|b| b.state.status == BatchStatus::Returned)
                .and_then(|b| b.state.note.clone()),
            change_households: change(Count::Households),
            change_desil_1: change(Count::Desil1),
        });
    }
    Ok(RoundStatus {
        days_left: round.days_left(SystemTime::now()),
        open: round.is_open(),
        previous,
        accepted: units.iter().filter(|u| u.status == "diterima").count(),
        units,
        round,
    })
}

fn parse_period(text: &str) -> Result<Period, ApiError> {
    text.parse()
        .map_err(|e: crate::model::BadPeriod| ApiError::bad_request(e.to_string()))
}

/// `GET /api/rounds/{period}`: where each expected kabupaten/kota stands.
pub async fn status(
    State(st): State<AppState>,
    caller: Caller,
    Path(period): Path<String>,
) -> Result<Json<RoundStatus>, ApiError> {
    logged_in(&caller)?;
    Ok(Json(round_status(&st, parse_period(&period)?).await?))
}

/// Columns of the status workbook.
const STATUS_COLUMNS: [&str; 16] = [
    "Kode",
    "Kabupaten/Kota",
    "Status",
    "Batch",
    "Keluarga",
    "Keluarga terhitung",
    "Baris diterima",
    "Baris ditolak",
    "Lokasi GPS (%)",
    "Lokasi kode (%)",
    "Lokasi nama (%)",
    "Perlu ditinjau",
    "Diserahkan oleh",
    "Diserahkan pada",
    "Diterima oleh",
    "Perubahan keluarga",
];

/// `GET /api/rounds/{period}/status.xlsx`: the status table as a workbook.
pub async fn status_xlsx(
    State(st): State<AppState>,
    caller: Caller,
    Path(period): Path<String>,
) -> Result<Response, ApiError> {
    logged_in(&caller)?;
    let status = round_status(&st, parse_period(&period)?).await?;
    let bytes = status_workbook(&status).map_err(ApiError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"status-verval-{}.xlsx\"",
                    status.round.period
                ),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

fn status_workbook(s: &RoundStatus) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Status verval")?;
    let bold = Format::new().set_bold();
    let days = match s.days_left {
        Some(d) if d >= 0 => format!("{d} hari lagi"),
        Some(d) => format!("lewat {} hari", -d),
        None => String::new(),
    };
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "Status verval periode {} — tenggat {} ({days}); {} dari {} kabupaten/kota diterima",
            s.round.period,
            s.round.deadline,
            s.accepted,
            s.units.len()
        ),
        &bold,
    )?;
    for (c, h) in STATUS_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold)?;
    }
    for (i, u) in s.units.iter().enumerate() {
        let r = i as u32 + 3;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let pct = |k: &str| u.placed.get(k).map_or(0.0, |v| (v * 1000.0).round() / 10.0);
        sheet.write_string(r, 0, u.kode.to_string())?;
        sheet.write_string(r, 1, &u.nama)?;
        sheet.write_string(r, 2, u.status)?;
        sheet.write_string(
            r,
            3,
            u.batches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        )?;
        sheet.write_number(r, 4, u.households as f64)?;
        match u.counted {
            Some(n) => sheet.write_number(r, 5, n as f64)?,
            None => sheet.write_string(r, 5, "tidak ada data")?,
        };
        sheet.write_number(r, 6, u.rows_accepted as f64)?;
        sheet.write_number(r, 7, u.rows_rejected as f64)?;
        sheet.write_number(r, 8, pct("gps"))?;
        sheet.write_number(r, 9, pct("kode"))?;
        sheet.write_number(r, 10, pct("nama"))?;
        sheet.write_number(r, 11, u.to_review as f64)?;
        sheet.write_string(r, 12, text(&u.submitted_by))?;
        sheet.write_string(r, 13, text(&u.submitted_at))?;
        sheet.write_string(r, 14, text(&u.accepted_by))?;
        match u.change_households {
            Some(n) => sheet.write_number(r, 15, n as f64)?,
            None => sheet.write_string(r, 15, "tidak ada data")?,
        };
    }
    sheet.set_column_width(1, 28)?;
    book.save_to_buffer()
}
