//! Regional programmes for the agencies: the registry, beneficiary lists, coverage per unit,
//! the targeting builder with its household list, and saved target lists compared over time.
//!
//! Everything here needs a login: programme budgets and who receives what are the agencies'
//! working data. Admins and analysts register programmes and upload lists; every role reads
//! coverage and rankings; the household list of a target follows the household rules (a
//! role with a scope, only inside it, a purpose for analysts, every read audited).

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::{Caller, HouseholdAccess};
use super::batches::{clean_name, spool, Progress};
use super::query::{parsed, ApiQuery};
use super::table::{number, Table, TableFormat};
use super::{ApiError, AppState};
use crate::aggregate::{Criteria, Measure, ProgramTally, Ranking, Snapshot, Target, TargetError};
use crate::app::{upload_program_list, ListReport, ListUpload, ProgramListError};
use crate::export::{stream_households, HouseholdFilter};
use crate::ingest::households::privacy::Secret;
use crate::model::{
    AuditAction, Coverage, DesilRange, HouseholdFacts, NewProgram, Period, ProgramInfo,
    ProgramKind, Role, Scope, TargetList, TargetMember,
};
use crate::region::{Kode, Level};

/// The caller, when logged in.
fn logged_in(caller: &Caller) -> Result<&crate::model::Principal, ApiError> {
    caller.principal.as_ref().ok_or_else(|| {
        ApiError::Unauthorized(
            "programmes and targeting need a login (POST /api/session) or a personal API \
             token (Authorization: Bearer …)"
                .into(),
        )
    })
}

/// The caller's name, when an admin or analyst (who manage programmes).
fn manager(caller: &Caller) -> Result<String, ApiError> {
    let p = logged_in(caller)?;
    match p.role {
        Role::Admin | Role::Analyst => Ok(p.name.to_string()),
        _ => Err(ApiError::Forbidden(
            "only admins and analysts manage programmes and their lists".into(),
        )),
    }
}

/// The caller, when its role sees small counts exactly: rankings and follow-ups count the
/// households of single desa, which viewers see only suppressed.
fn sees_small_counts(caller: &Caller) -> Result<(), ApiError> {
    let p = logged_in(caller)?;
    if p.role.sees_small_counts() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the role {} sees only aggregates with small counts hidden; targeting counts \
             single households per desa",
            p.role
        )))
    }
}

/// A household list is matched against every household of its period, and its report says
/// which rows match: the uploader must be allowed to read households everywhere the data
/// is (an admin, or an analyst whose scope covers every loaded kabupaten/kota), or the
/// upload would tell whether a number outside their area is in the BNBA.
fn reads_everywhere(caller: &Caller, snap: &Snapshot) -> Result<(), ApiError> {
    let p = logged_in(caller)?;
    let everywhere = match p.household_scope() {
        Some(Scope::All) => true,
        Some(scope) => snap
            .units()
            .iter()
            .filter(|u| u.info.level == Level::Kabupaten)
            .all(|u| scope.allows(u.info.kode)),
        None => false,
    };
    if everywhere {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "a beneficiary list is matched against the households of the whole area: only an \
             admin, or an analyst whose scope covers every kabupaten/kota, may upload one"
                .into(),
        ))
    }
}

/// `period`, or the latest period with data.
fn period_or_latest(snap: &Snapshot, period: Option<Period>) -> Result<Period, ApiError> {
    match period {
        Some(p) => Ok(p),
        None => snap
            .periods()
            .last()
            .map(|p| p.period)
            .ok_or_else(|| ApiError::not_found("no households are loaded")),
    }
}

/// A programme with what the snapshot matched of its list.
fn program_json(p: &ProgramInfo, tally: Option<&ProgramTally>) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let (Some(obj), Some(t)) = (v.as_object_mut(), tally) {
        obj.insert("rows".into(), t.rows.into());
        if p.program.kind == ProgramKind::Household {
            obj.insert("matched".into(), t.rows_matched.into());
            obj.insert("unmatched".into(), (t.unmatched.len() as u64).into());
        }
        obj.insert(
            "measures".into(),
            Measure::of(p.program.kind)
                .iter()
                .map(|m| json!({ "name": m.name(), "label": m.label(), "share": m.is_share() }))
                .collect(),
        );
    }
    v
}

/// `GET /api/programs`: every programme, newest year first.
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    logged_in(&caller)?;
    let snap = st.live.snapshot();
    let programs = st.live.store().programs().await?;
    Ok(Json(json!({
        "programs": programs
            .iter()
            .map(|p| program_json(p, snap.programs().by_id(p.id).map(|(_, t)| t)))
            .collect::<Vec<_>>(),
    })))
}

/// The body of `POST /api/programs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramBody {
    name: String,
    agency: String,
    year: i32,
    #[serde(default)]
    kind: Option<ProgramKind>,
    #[serde(default)]
    desil: Option<DesilRange>,
    #[serde(default)]
    budget: Option<u64>,
    #[serde(default)]
    unit_cost: Option<u64>,
}

/// `POST /api/programs` (admins, analysts): registers a programme.
pub async fn add(
    State(st): State<AppState>,
    caller: Caller,
    body: Result<Json<ProgramBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let Json(b) =
        body.map_err(|e| ApiError::bad_request(format!("the programme is unreadable: {e}")))?;
    let program = NewProgram {
        name: b.name,
        agency: b.agency,
        year: b.year,
        kind: b.kind.unwrap_or(ProgramKind::Household),
        desil: b.desil,
        budget: b.budget,
        unit_cost: b.unit_cost,
    }
    .checked()
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let stored = st
        .live
        .store()
        .add_program(&program, &by, &crate::model::account::now())
        .await?;
    let e = caller.audit_entry(
        AuditAction::ProgramAdd,
        "POST /api/programs",
        &format!("program {} ({})", stored.id, stored.program.name),
    );
    st.audit.record_durably(e).await?;
    Ok((StatusCode::CREATED, Json(program_json(&stored, None))).into_response())
}

/// The programme `id`, or `404`.
async fn find(st: &AppState, id: i64) -> Result<ProgramInfo, ApiError> {
    st.live
        .store()
        .programs()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found(format!("programme {id} is not registered")))
}

/// `GET /api/programs/{id}`.
pub async fn one(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    logged_in(&caller)?;
    let p = find(&st, id).await?;
    let snap = st.live.snapshot();
    Ok(Json(program_json(
        &p,
        snap.programs().by_id(id).map(|(_, t)| t),
    )))
}

/// `DELETE /api/programs/{id}` (admins, analysts): removes a programme and its list.
pub async fn remove(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    manager(&caller)?;
    let removed = st
        .live
        .store()
        .remove_program(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("programme {id} is not registered")))?;
    let e = caller.audit_entry(
        AuditAction::ProgramRemove,
        "DELETE /api/programs/{id}",
        &format!("program {id} ({})", removed.program.name),
    );
    st.audit.record_durably(e).await?;
    Ok(Json(program_json(&removed, None)))
}

/// The query of a list upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The period whose households the list is matched to.
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// The file's name (when the body is the file itself).
    name: Option<String>,
}

/// `POST /api/programs/{id}/list?period=&name=` (admins, analysts): the programme's list as
/// the body or the `file` part of a multipart form (CSV or XLSX); replaces the list before.
/// Answers once the server's snapshot has matched it: rows read, kept, refused (with
/// reasons), matched, and the rows matching no household with NIK and KK masked.
pub async fn upload_list(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ListQuery>,
    request: Request,
) -> Result<Json<ListReport>, ApiError> {
    let by = manager(&caller)?;
    let program = find(&st, id).await?;
    let snap = st.live.snapshot();
    if program.program.kind == ProgramKind::Household {
        reads_everywhere(&caller, &snap)?;
    }
    // A household list is matched to a period named on purpose; a list of places may take the
    // latest.
    if q.period.is_none() && program.program.kind == ProgramKind::Household {
        return Err(ApiError::bad_request(
            "period= is required: the period whose households the list is matched to (YYYY-MM)",
        ));
    }
    let period = period_or_latest(&snap, q.period)?;
    let secret: Secret = st.uploads.secret().cloned().ok_or_else(|| {
        ApiError::Conflict(
            "uploads are switched off: the server runs without LENTERA_SECRET, which NIK and \
             KK are hashed with"
                .into(),
        )
    })?;
    let progress = Progress::default();
    let (file, _, part_name) = spool(&st, request, &progress).await?;
    let file_name = clean_name(q.name.as_deref().or(part_name.as_deref()));
    let upload = ListUpload {
        program: id,
        path: file.path(),
        file_name,
        period,
        by,
    };
    let (stored, read) = upload_program_list(st.live.store().as_ref(), upload, secret)
        .await
        .map_err(|e| match e {
            ProgramListError::NoProgram(_) => ApiError::not_found(e.to_string()),
            ProgramListError::Store(s) => ApiError::from(s),
            other => ApiError::bad_request(other.to_string()),
        })?;
    drop(file);
    let mut e = caller.audit_entry(
        AuditAction::ProgramList,
        "POST /api/programs/{id}/list",
        &format!("program {id} period {period}"),
    );
    e.count = Some(read.members.len() as u64);
    st.audit.record_durably(e).await?;
    // The report says what the map will show: the snapshot with the new list.
    st.live.refresh().await?;
    let snap = st.live.snapshot();
    Ok(Json(ListReport::new(stored, &read, &snap)))
}

/// The query of a programme's coverage list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    #[serde(default, deserialize_with = "parsed")]
    level: Option<Level>,
    #[serde(default, deserialize_with = "parsed")]
    parent: Option<Kode>,
    format: Option<TableFormat>,
}

/// `GET /api/programs/{id}/coverage?level=&parent=&format=json|csv|xlsx`: the programme's
/// figures for every unit of a level in its list's period, the units with the most eligible
/// households not reached first (the gap list).
pub async fn coverage(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> Result<Response, ApiError> {
    logged_in(&caller)?;
    let snap = st.live.snapshot();
    let (_, tally) = snap
        .programs()
        .by_id(id)
        .ok_or_else(|| ApiError::not_found(format!("programme {id} is not registered")))?;
    let period = tally
        .list_period()
        .ok_or_else(|| ApiError::not_found(format!("programme {id} has no list uploaded yet")))?;
    let indicators = snap
        .period(Some(period))
        .map(|p| p.disclosed(caller.disclosure(&st.auth.config)));
    let level = q.level.unwrap_or(Level::Desa);
    let parent = q
        .parent
        .map(|k| {
            snap.unit_index(k)
                .ok_or_else(|| ApiError::not_found(format!("{k} is not a loaded region")))
        })
        .transpose()?;
    let units: Vec<u32> = match parent {
        Some(p) => snap.descendants(p).collect(),
        None => (0..snap.units().len() as u32).collect(),
    };
    let measures = Measure::of(tally.info.program.kind);
    let mut rows: Vec<(u32, Vec<Option<f64>>)> = units
        .into_iter()
        .filter(|&u| snap.unit(u).info.level == level)
        .map(|u| {
            let counts = indicators.as_ref().and_then(|p| p.counts(u));
            (
                u,
                measures
                    .iter()
                    .map(|&m| tally.value(m, u, counts))
                    .collect(),
            )
        })
        .collect();
    // The gap list: most uncovered (or most places) first, ties to the lower code.
    let first = match tally.info.program.kind {
        ProgramKind::Household => Measure::Uncovered,
        ProgramKind::Location => Measure::Places,
    };
    let at = measures.iter().position(|&m| m == first).unwrap_or(0);
    let key = |v: &[Option<f64>]| v[at];
    rows.sort_by(|a, b| {
        key(&b.1)
            .unwrap_or(-1.0)
            .total_cmp(&key(&a.1).unwrap_or(-1.0))
            .then(snap.unit(a.0).info.kode.cmp(&snap.unit(b.0).info.kode))
    });
    let format = q.format.unwrap_or_default();
    if format == TableFormat::Json {
        return Ok(Json(json!({
            "program": program_json(&tally.info, Some(tally)),
            "period": period,
            "level": level,
            "units": rows.iter().map(|(u, v)| {
                let info = &snap.unit(*u).info;
                let mut o = serde_json::Map::new();
                o.insert("kode".into(), info.kode.to_string().into());
                o.insert("nama".into(), info.nama.clone().into());
                for (m, x) in measures.iter().zip(v) {
                    o.insert(m.name().into(), x.map_or(serde_json::Value::Null, serde_json::Value::from));
                }
                serde_json::Value::Object(o)
            }).collect::<Vec<_>>(),
        }))
        .into_response());
    }
    let mut headers = vec!["kode".to_string(), "nama".to_string()];
    headers.extend(measures.iter().map(|m| m.label().to_string()));
    Table {
        sheet: "Cakupan",
        headers,
        rows: rows
            .iter()
            .map(|(u, v)| {
                let info = &snap.unit(*u).info;
                let mut r = vec![info.kode.to_string(), info.nama.clone()];
                r.extend(
                    v.iter()
                        .map(|x| x.map(number).unwrap_or_else(|| "tidak ada data".into())),
                );
                r
            })
            .collect(),
        text_columns: vec![0],
    }
    .download(format, &format!("cakupan-program-{id}-{period}"))
}

/// What units are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankBy {
    /// Targeted households.
    #[default]
    Count,
    /// Their share of the unit's households.
    Share,
}

/// The criteria of the targeting builder, as a query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetQuery {
    /// The period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
    /// Households up to this desil (default 1).
    #[serde(default, deserialize_with = "parsed")]
    desil_max: Option<u8>,
    /// Not reached by: a programme id, `regional`, `any`, or a national programme (`pkh`).
    #[serde(default, deserialize_with = "parsed")]
    not_covered: Option<Coverage>,
    /// Only inside this unit.
    #[serde(default, deserialize_with = "parsed")]
    area: Option<Kode>,
    /// The level units are ranked at (default desa).
    #[serde(default, deserialize_with = "parsed")]
    level: Option<Level>,
    /// Units with fewer households are left out (default 1).
    #[serde(default, deserialize_with = "parsed")]
    min_households: Option<u64>,
    /// `count` (default) or `share`.
    rank_by: Option<RankBy>,
    /// Budget in rupiah (with `unit_cost`: the quota).
    #[serde(default, deserialize_with = "parsed")]
    budget: Option<u64>,
    /// Cost per household in rupiah.
    #[serde(default, deserialize_with = "parsed")]
    unit_cost: Option<u64>,
    /// Households to take (instead of a budget).
    #[serde(default, deserialize_with = "parsed")]
    quota: Option<u64>,
    /// `json` (default), `csv` or `xlsx`.
    format: Option<TableFormat>,
}

impl TargetQuery {
    /// The criteria over `snap`.
    fn criteria(&self, snap: &Snapshot) -> Result<Criteria, ApiError> {
        let period = period_or_latest(snap, self.period)?;
        let desil_max = self.desil_max.unwrap_or(1);
        if !(1..=10).contains(&desil_max) {
            return Err(ApiError::bad_request("desil_max must be 1 to 10"));
        }
        let quota =
            match (self.quota, self.budget, self.unit_cost) {
                (Some(q), _, _) => Some(q),
                (None, Some(_), Some(0)) => {
                    return Err(ApiError::bad_request("unit_cost must be more than 0"))
                }
                (None, Some(b), Some(c)) => Some(b / c),
                (None, Some(_), None) => return Err(ApiError::bad_request(
                    "a budget needs unit_cost= (rupiah per household) to set how many households \
                     it reaches",
                )),
                (None, None, _) => None,
            };
        Ok(Criteria {
            period,
            desil_max,
            not_covered: self.not_covered,
            area: self.area,
            level: self.level.unwrap_or(Level::Desa),
            min_households: self.min_households.unwrap_or(1),
            by_share: self.rank_by == Some(RankBy::Share),
            quota,
        })
    }
}

fn target_error(e: TargetError) -> ApiError {
    match e {
        TargetError::Level => ApiError::bad_request(e.to_string()),
        _ => ApiError::not_found(e.to_string()),
    }
}

/// The ranking as a table.
fn ranking_table(snap: &Snapshot, r: &Ranking) -> Table {
    Table {
        sheet: "Sasaran",
        headers: [
            "peringkat",
            "kode",
            "nama",
            "kecamatan",
            "kabupaten_kota",
            "rumah_tangga",
            "rumah_tangga_sasaran",
            "porsi_sasaran",
            "diambil",
            "kumulatif",
        ]
        .map(str::to_string)
        .to_vec(),
        rows: r
            .units
            .iter()
            .map(|u| {
                let parent_name = |level: Level| {
                    snap.ancestor_name(u.unit, level)
                        .unwrap_or_default()
                        .to_string()
                };
                vec![
                    u.rank.to_string(),
                    u.kode.to_string(),
                    u.nama.clone(),
                    parent_name(Level::Kecamatan),
                    parent_name(Level::Kabupaten),
                    u.households.to_string(),
                    u.targeted.to_string(),
                    format!("{:.4}", u.share),
                    u.take.to_string(),
                    u.cumulative.to_string(),
                ]
            })
            .collect(),
        text_columns: vec![1],
    }
}

/// `GET /api/targeting?period=&desil_max=&not_covered=&area=&level=&min_households=&rank_by=&budget=&unit_cost=&quota=&format=`:
/// units ranked by the households the criteria target, with the quota's cut-off.
pub async fn targeting(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TargetQuery>,
) -> Result<Response, ApiError> {
    sees_small_counts(&caller)?;
    let snap = st.live.snapshot();
    let criteria = q.criteria(&snap)?;
    let format = q.format.unwrap_or_default();
    let snap2 = snap.clone();
    let (ranking, criteria) = tokio::task::spawn_blocking(move || {
        let t = Target::new(&snap2, criteria)?;
        Ok::<_, TargetError>((t.rank(), t.criteria().clone()))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(target_error)?;
    if format == TableFormat::Json {
        return Ok(Json(json!({
            "period": criteria.period,
            "level": criteria.level,
            "desil_max": criteria.desil_max,
            "not_covered": criteria.not_covered,
            "area": criteria.area,
            "ranking": ranking,
        }))
        .into_response());
    }
    ranking_table(&snap, &ranking).download(format, &format!("sasaran-{}", criteria.period))
}

/// One household of a target list, as the list shows it.
struct ListRow {
    rank: usize,
    desil: u8,
    id: i64,
    member: TargetMember,
    cells: Vec<String>,
}

/// The households the criteria take (the quota's share in each unit, the lowest desil
/// first, then the order they were stored in), read from the store inside `scope`.
async fn target_households(
    st: &AppState,
    snap: std::sync::Arc<Snapshot>,
    criteria: Criteria,
    scope: Scope,
) -> Result<(Ranking, Vec<ListRow>), ApiError> {
    let batches = snap.batch_ids_of(criteria.period);
    let mut chunks = stream_households(st.live.reads().clone(), batches);
    tokio::task::spawn_blocking(move || {
        let target = Target::new(&snap, criteria).map_err(target_error)?;
        let ranking = target.rank();
        let place: HashMap<u32, (usize, u64)> = ranking
            .units
            .iter()
            .filter(|u| u.take > 0)
            .map(|u| (u.unit, (u.rank, u.take)))
            .collect();
        let filter = HouseholdFilter {
            scope,
            parent: target.criteria().area,
            bbox: None,
        };
        let period = target.criteria().period;
        let mut rows = Vec::new();
        while let Some(chunk) = chunks.blocking_recv() {
            for h in chunk? {
                if !filter.keeps(&h) {
                    continue;
                }
                let hh = &h.household;
                let facts = HouseholdFacts::of(h.batch_id, hh);
                let Some(unit) = target.unit_of_facts(&facts) else {
                    continue;
                };
                let Some(&(rank, _)) = place.get(&unit) else {
                    continue;
                };
                let regional = snap
                    .programs()
                    .programs_of(period, facts.nik_key, facts.kk_key);
                if !target.wants(hh.desil, hh.programs, &regional) {
                    continue;
                }
                let info = &snap.unit(unit).info;
                let text = |t: &Option<crate::model::Text>| t.as_deref().unwrap_or("").to_string();
                let a = &hh.address;
                let alamat = [&a.street, &a.rt, &a.rw, &a.dusun]
                    .iter()
                    .zip(["", "RT ", "RW ", "Dusun "])
                    .filter_map(|(v, p)| v.as_deref().map(|v| format!("{p}{v}")))
                    .collect::<Vec<_>>()
                    .join(", ");
                rows.push(ListRow {
                    rank,
                    desil: hh.desil.unwrap_or(0),
                    id: h.id,
                    member: TargetMember {
                        nik_key: facts.nik_key,
                        kk_key: facts.kk_key,
                        kode: info.kode,
                        desil: hh.desil,
                    },
                    cells: vec![
                        text(&hh.nik_masked),
                        text(&hh.kk_masked),
                        text(&hh.head_name),
                        alamat,
                        hh.desil.map(|d| d.to_string()).unwrap_or_default(),
                        info.kode.to_string(),
                        info.nama.clone(),
                        target.program_names(hh.programs, &regional).join(", "),
                    ],
                });
            }
        }
        rows.sort_by_key(|r| (r.rank, r.desil, r.id));
        // Each unit gives the quota's share: its first households in that order.
        let mut taken: HashMap<usize, u64> = HashMap::new();
        let takes: HashMap<usize, u64> = place.values().copied().collect();
        rows.retain(|r| {
            let n = taken.entry(r.rank).or_default();
            *n += 1;
            *n <= takes.get(&r.rank).copied().unwrap_or(0)
        });
        Ok((ranking, rows))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Headers of a household target list.
const LIST_HEADERS: [&str; 10] = [
    "no",
    "peringkat_wilayah",
    "nik",
    "no_kk",
    "nama_kepala_rumah_tangga",
    "alamat",
    "desil",
    "kode_wilayah",
    "nama_wilayah",
    "program_diterima",
];

/// `GET /api/targeting/households?…&format=csv|xlsx&purpose=`: the households of a target
/// (NIK and KK masked), for a role that may read households, inside its scope; audited with
/// the purpose.
pub async fn target_list(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<TargetQuery>,
    access: HouseholdAccess,
) -> Result<Response, ApiError> {
    let snap = st.live.snapshot();
    let criteria = q.criteria(&snap)?;
    check_area(&access.scope, criteria.area)?;
    let period = criteria.period;
    let (_, rows) = target_households(&st, snap, criteria, access.scope.clone()).await?;
    access.record_durably(rows.len() as u64).await?;
    let format = match q.format.unwrap_or(TableFormat::Csv) {
        TableFormat::Json => TableFormat::Csv,
        f => f,
    };
    Table {
        sheet: "Daftar sasaran",
        headers: LIST_HEADERS.map(str::to_string).to_vec(),
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut cells = vec![(i + 1).to_string(), r.rank.to_string()];
                cells.extend(r.cells);
                cells
            })
            .collect(),
        text_columns: vec![2, 3, 7],
    }
    .download(format, &format!("daftar-sasaran-{period}"))
}

/// A household list is drawn inside the caller's scope: a limited scope needs an area
/// inside it.
fn check_area(scope: &Scope, area: Option<Kode>) -> Result<(), ApiError> {
    match (scope, area) {
        (Scope::All, _) => Ok(()),
        (s, Some(a)) if s.allows(a) => Ok(()),
        _ => Err(ApiError::Forbidden(
            "the household list is limited to your area: set area= to a unit inside it".into(),
        )),
    }
}

/// The body of `POST /api/target-lists`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveBody {
    /// The list's name.
    name: String,
    /// The criteria, as the targeting query string (`desil_max=1&not_covered=any&…`).
    criteria: String,
}

/// `POST /api/target-lists` (a role that may read households; analysts with `purpose=`):
/// saves the households of a target (their keys, desa and desil: no names, no numbers) to
/// compare with later periods.
pub async fn save(
    State(st): State<AppState>,
    access: HouseholdAccess,
    body: Result<Json<SaveBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) =
        body.map_err(|e| ApiError::bad_request(format!("the list is unreadable: {e}")))?;
    let name = b.name.trim().chars().take(200).collect::<String>();
    if name.is_empty() {
        return Err(ApiError::bad_request("a target list needs a name"));
    }
    let q: TargetQuery = super::query::parse_query(&b.criteria)?;
    let snap = st.live.snapshot();
    let criteria = q.criteria(&snap)?;
    check_area(&access.scope, criteria.area)?;
    let period = criteria.period;
    let (_, rows) = target_households(&st, snap, criteria, access.scope.clone()).await?;
    let members: Vec<TargetMember> = rows.iter().map(|r| r.member).collect();
    let by = access
        .caller
        .principal
        .as_ref()
        .map(|p| p.name.to_string())
        .unwrap_or_default();
    let list = TargetList {
        id: 0,
        name,
        period,
        criteria: b.criteria,
        created_by: by,
        created_at: crate::model::account::now(),
        households: members.len() as u64,
    };
    let saved = st.live.store().save_target_list(&list, &members).await?;
    access.record_durably(members.len() as u64).await?;
    let mut e = access.caller.audit_entry(
        AuditAction::TargetSave,
        "POST /api/target-lists",
        &format!("target list {} ({})", saved.id, saved.name),
    );
    e.count = Some(saved.households);
    st.audit.record_durably(e).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// `GET /api/target-lists`: the saved target lists.
pub async fn saved(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    logged_in(&caller)?;
    let lists = st.live.store().target_lists().await?;
    Ok(Json(json!({ "lists": lists })))
}

/// The query of a comparison.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// The later period (default the latest).
    #[serde(default, deserialize_with = "parsed")]
    period: Option<Period>,
}

/// `GET /api/target-lists/{id}/compare?period=`: what became of a saved list's households in
/// a later period — still listed, no longer in desil 1 (or their desil), moved to another
/// desa, reached by a programme since, no longer listed.
pub async fn compare(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    sees_small_counts(&caller)?;
    let store = st.live.store();
    let list = store
        .target_lists()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| ApiError::not_found(format!("target list {id} does not exist")))?;
    let members = store
        .target_members(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("target list {id} does not exist")))?;
    let snap = st.live.snapshot();
    let period = period_or_latest(&snap, q.period)?;
    if snap.period(Some(period)).is_none() {
        return Err(ApiError::not_found(format!(
            "no households of period {period} are loaded"
        )));
    }
    let outcome = tokio::task::spawn_blocking(move || snap.follow_up(&members, period))
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "list": list,
        "period": period,
        "outcome": outcome,
    })))
}
