//! The verval round through HTTP, on both stores: an admin opens a round; the operator of
//! Kota Samarinda uploads a verval workbook that also holds other kabupaten's rows (refused
//! as outside the area), reviews three households, submits; the draft changes nothing public
//! until the admin accepts it; the round status shows who delivered. An operator of another
//! kabupaten sees none of it. Uploads past the limit, broken transfers and closed rounds leave
//! nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use geo::InteriorPoint;
use serde_json::{json, Value};

use lentera::ingest::households::privacy::Secret;
use lentera::model::{AuditAction, AuditFilter, Role, SourceFormat};
use lentera::region::{Level, Region};
use lentera::server::batches::UploadOptions;
use lentera::server::{router_over, AppState, Live, ServerOptions};
use lentera::store::{PostgisStore, SqliteStore, Store};

const ADMIN: &str = "lt_test_verval_admin_0123456789abcdef";
const SAMARINDA: &str = "lt_test_verval_samarinda_0123456789ab";
const PASER: &str = "lt_test_verval_paser_0123456789abcdef";
const SECRET: &str = "verval-round-test-secret-0123456789abcdef";

struct Server {
    app: axum::Router,
    state: AppState,
    live: Live,
    uploads: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn server(store: Arc<dyn Store>, max_bytes: u64) -> Server {
    common::user_with_token(store.as_ref(), "admin", Role::Admin, &[], ADMIN).await;
    common::user_with_token(
        store.as_ref(),
        "op.samarinda",
        Role::Operator,
        &["64.72"],
        SAMARINDA,
    )
    .await;
    common::user_with_token(
        store.as_ref(),
        "op.paser",
        Role::Operator,
        &["64.01"],
        PASER,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    let live = Live::load(store).await.unwrap();
    let state = AppState::new(
        live.clone(),
        ServerOptions {
            auth: lentera::server::auth::AuthConfig {
                suppress_upto: 0,
                ..Default::default()
            },
            uploads: UploadOptions {
                dir: uploads.clone(),
                max_bytes,
                secret: Some(Secret::new(SECRET).unwrap()),
                stall: std::time::Duration::from_millis(500),
                ..UploadOptions::default()
            },
            ..Default::default()
        },
    );
    Server {
        app: router_over(state.clone()),
        state,
        live,
        uploads,
        _dir: dir,
    }
}

impl Server {
    async fn call(&self, method: Method, uri: &str, token: &str, body: Body) -> common::Fetched {
        common::call_with_token(&self.app, method, uri, token, body).await
    }

    async fn json(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        common::json_with_token(&self.app, method, uri, token, body).await
    }

    async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.json(Method::GET, uri, token, Value::Null).await
    }

    async fn upload(&self, uri: &str, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .unwrap();
        let got = common::send(&self.app, req).await;
        let v = serde_json::from_slice(&got.body).unwrap_or(Value::Null);
        (got.status, v)
    }

    fn uploads_left(&self) -> usize {
        std::fs::read_dir(&self.uploads).map_or(0, |d| d.count())
    }
}

/// A verval workbook made by the generator over all of Kaltim (so it holds every
/// kabupaten's rows), with the template's columns.
fn verval_workbook(regions: &[Region], dir: &Path, count: usize, seed: u64) -> Vec<u8> {
    let path = dir.join(format!("verval-{seed}.xlsx"));
    common::write_generated(regions, SourceFormat::Verval, count, seed, &path);
    std::fs::read(path).unwrap()
}

async fn the_round(store: Arc<dyn Store>) {
    let regions = common::load_kaltim(store.as_ref()).await;
    let s = server(store.clone(), 50 << 20).await;
    let work = tempfile::tempdir().unwrap();

    // The admin opens the round for all ten kabupaten/kota; an operator may not.
    let (st, round) = s
        .json(
            Method::POST,
            "/api/rounds",
            ADMIN,
            json!({"period": "2026-03", "deadline": "2026-04-30"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{round}");
    assert_eq!(round["expected"].as_array().unwrap().len(), 10);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/rounds",
            SAMARINDA,
            json!({"period": "2026-03", "deadline": "2026-04-30"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The operator of 64.72 uploads a workbook holding every kabupaten's rows.
    let book = verval_workbook(&regions, work.path(), 3000, 17);
    let (st, summary) = s
        .upload(
            "/api/batches?period=2026-03&name=verval-samarinda.xlsx",
            SAMARINDA,
            book,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{summary}");
    let id = summary["batch"]["id"].as_i64().unwrap();
    assert_eq!(summary["batch"]["status"], "draf");
    assert_eq!(summary["batch"]["area"], "64.72");
    assert_eq!(summary["batch"]["file_name"], "verval-samarinda.xlsx");
    let read = summary["rows_read"].as_u64().unwrap();
    let accepted = summary["rows_accepted"].as_u64().unwrap();
    let rejected = summary["rows_rejected"].as_u64().unwrap();
    let outside = summary["outside_area"].as_u64().unwrap();
    assert_eq!(read, accepted + rejected);
    assert!(
        outside > read / 2,
        "most rows lie outside Samarinda: {summary}"
    );
    assert!(accepted > 50, "{summary}");
    assert_eq!(
        s.uploads_left(),
        0,
        "the uploaded file is deleted after the import"
    );

    // The reject report names the scope reason, in Bahasa Indonesia, with masked values.
    let csv = s
        .call(
            Method::GET,
            &format!("/api/batches/{id}/rejects.csv"),
            SAMARINDA,
            Body::empty(),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    assert!(text.starts_with("baris,kolom,nilai,alasan"), "{text}");
    let scope_rows = text
        .lines()
        .filter(|l| l.ends_with(",di luar wilayah Anda"))
        .count();
    assert_eq!(scope_rows as u64, outside);
    assert!(!text.lines().any(|l| l
        .split(',')
        .any(|c| c.len() == 16 && c.bytes().all(|b| b.is_ascii_digit()))));
    let xlsx = s
        .call(
            Method::GET,
            &format!("/api/batches/{id}/rejects.xlsx"),
            SAMARINDA,
            Body::empty(),
        )
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK"));

    // Every household kept lies in Samarinda (or nowhere yet, for review).
    let (st, preview) = s
        .get(&format!("/api/batches/{id}/preview"), SAMARINDA)
        .await;
    assert_eq!(st, StatusCode::OK, "{preview}");
    for u in preview["units"].as_array().unwrap() {
        assert!(u["kode"].as_str().unwrap().starts_with("64.72"), "{u}");
    }

    // The draft changes nothing public.
    s.live.refresh().await.unwrap();
    let (_, periods) = s.get("/api/periods", ADMIN).await;
    assert!(!periods.to_string().contains("2026-03"), "{periods}");

    // An operator of another kabupaten sees none of it.
    let (_, list) = s.get("/api/batches", PASER).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    for path in ["", "/review", "/preview", "/rejects.csv"] {
        let (st, v) = s.get(&format!("/api/batches/{id}{path}"), PASER).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/submit"),
            PASER,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Review: a desa chosen, a point placed on the map, one not found.
    let (st, review) = s.get(&format!("/api/batches/{id}/review"), SAMARINDA).await;
    assert_eq!(st, StatusCode::OK, "{review}");
    let before = review["to_review"].as_u64().unwrap();
    let items = review["households"].as_array().unwrap();
    assert!(items.len() >= 3, "{review}");
    let samarinda_desa: Vec<&Region> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa && r.kode.to_string().starts_with("64.72"))
        .collect();
    let paser_desa = regions
        .iter()
        .find(|r| r.kode.level() == Level::Desa && r.kode.to_string().starts_with("64.01"))
        .unwrap();
    let point = samarinda_desa[3].geometry.interior_point().unwrap();
    let ids: Vec<i64> = items
        .iter()
        .take(3)
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    let (st, outcome) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/review"),
            SAMARINDA,
            json!({"corrections": [
                {"id": ids[0], "kode": samarinda_desa[0].kode.to_string()},
                {"id": ids[1], "titik": [point.x(), point.y()]},
                {"id": ids[2], "tidak_ditemukan": true},
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["applied"], 3, "{outcome}");
    assert_eq!(outcome["resolved"], 2, "{outcome}");
    assert_eq!(
        outcome["to_review"].as_u64().unwrap(),
        before - 3,
        "{outcome}"
    );
    // A desa outside the operator's area is refused.
    let other = items[3]["id"].as_i64().unwrap();
    let (_, outcome) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/review"),
            SAMARINDA,
            json!({"corrections": [{"id": other, "kode": paser_desa.kode.to_string()}]}),
        )
        .await;
    assert_eq!(outcome["applied"], 0, "{outcome}");
    assert!(outcome["problems"][0]["alasan"]
        .as_str()
        .unwrap()
        .contains("di luar wilayah Anda"));

    // Submit; only an admin accepts.
    let (st, b) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/submit"),
            SAMARINDA,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "diserahkan");
    assert_eq!(b["submitted_by"], "op.samarinda");
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/accept"),
            SAMARINDA,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, status) = s.get("/api/rounds/2026-03", PASER).await;
    assert_eq!(unit_of(&status, "64.72")["status"], "diserahkan");
    s.live.refresh().await.unwrap();
    let (_, periods) = s.get("/api/periods", ADMIN).await;
    assert!(
        !periods.to_string().contains("2026-03"),
        "submitted: still not counted"
    );

    let (st, b) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/accept"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "diterima");
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/batches/{id}/accept"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "accepted once");

    // Now it counts.
    s.live.refresh().await.unwrap();
    let (st, ind) = s
        .get("/api/indicators?level=kabupaten&period=2026-03", ADMIN)
        .await;
    assert_eq!(st, StatusCode::OK, "{ind}");
    let rows = ind["units"].as_array().or(ind.as_array()).unwrap().clone();
    let samarinda = rows
        .iter()
        .find(|r| r["kode"] == "64.72")
        .unwrap_or_else(|| panic!("{ind}"));
    let (_, preview) = s
        .get(&format!("/api/batches/{id}/preview"), SAMARINDA)
        .await;
    let kept = preview["households"].as_u64().unwrap();
    assert_eq!(samarinda["households"].as_u64(), Some(kept), "{samarinda}");

    // The round status: Samarinda accepted with its counts, the nine others not yet.
    let (st, status) = s.get("/api/rounds/2026-03", PASER).await;
    assert_eq!(st, StatusCode::OK, "{status}");
    let u = unit_of(&status, "64.72");
    assert_eq!(u["status"], "diterima", "{u}");
    assert_eq!(u["households"].as_u64(), Some(kept));
    assert_eq!(u["counted"].as_u64(), Some(kept));
    assert_eq!(u["rows_accepted"].as_u64(), Some(accepted));
    assert_eq!(u["rows_rejected"].as_u64(), Some(rejected));
    assert_eq!(u["submitted_by"], "op.samarinda");
    assert_eq!(u["accepted_by"], "admin");
    let belum = status["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "belum")
        .count();
    assert_eq!(belum, 9, "{status}");
    assert_eq!(status["accepted"], 1);
    let book = s
        .call(
            Method::GET,
            "/api/rounds/2026-03/status.xlsx",
            ADMIN,
            Body::empty(),
        )
        .await;
    assert_eq!(book.status, StatusCode::OK);
    assert!(book.body.starts_with(b"PK"));

    // Every step is in the audit trail, with who.
    s.state.audit.flush().await;
    let trail = store
        .audit(&AuditFilter::default(), 0, 10_000)
        .await
        .unwrap();
    for (action, actor) in [
        (AuditAction::RoundOpen, "admin"),
        (AuditAction::BatchImport, "op.samarinda"),
        (AuditAction::BatchCorrect, "op.samarinda"),
        (AuditAction::BatchSubmit, "op.samarinda"),
        (AuditAction::BatchAccept, "admin"),
    ] {
        assert!(
            trail
                .iter()
                .any(|r| r.entry.action == action.as_str()
                    && r.entry.actor.as_deref() == Some(actor)),
            "{action} by {actor} is recorded"
        );
    }
}

fn unit_of<'a>(status: &'a Value, kode: &str) -> &'a Value {
    status["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kode"] == kode)
        .unwrap_or_else(|| panic!("{kode} in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verval_round_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    the_round(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verval_round_on_postgis() {
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    the_round(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_the_limit_or_broken_off_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let regions = common::load_kaltim(store.as_ref()).await;
    let s = server(store.clone(), 1 << 20).await;
    let big = vec![b'a'; 3 << 20];

    // Declared too large: refused before reading.
    let (st, e) = s
        .upload("/api/batches?period=2026-03", SAMARINDA, big.clone())
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert!(e["error"].as_str().unwrap().contains("1 MiB"), "{e}");
    // Streamed without a length: refused once past the limit.
    let chunks = big
        .chunks(64 * 1024)
        .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    let req = Request::post("/api/batches?period=2026-03")
        .header(header::AUTHORIZATION, format!("Bearer {SAMARINDA}"))
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let got = common::send(&s.app, req).await;
    assert_eq!(got.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", got.text());
    assert_eq!(s.uploads_left(), 0);

    // A transfer that breaks off midway.
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("dtsen.csv");
    common::write_generated(&regions, SourceFormat::Dtsen, 500, 3, &csv);
    let bytes = std::fs::read(&csv).unwrap();
    let half = bytes[..bytes.len() / 2].to_vec();
    let parts: Vec<Result<axum::body::Bytes, std::io::Error>> = vec![
        Ok(half.into()),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset",
        )),
    ];
    let req = Request::post("/api/batches?period=2026-03")
        .header(header::AUTHORIZATION, format!("Bearer {SAMARINDA}"))
        .body(Body::from_stream(futures_util::stream::iter(parts)))
        .unwrap();
    let got = common::send(&s.app, req).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text());
    assert_eq!(s.uploads_left(), 0);
    assert!(store.batches().await.unwrap().is_empty());

    // A transfer that stops sending: given up after the stall limit.
    let stalled = futures_util::StreamExt::chain(
        futures_util::stream::iter(vec![Ok::<_, std::io::Error>(axum::body::Bytes::from(
            bytes[..1000].to_vec(),
        ))]),
        futures_util::stream::pending(),
    );
    let req = Request::post("/api/batches?period=2026-03")
        .header(header::AUTHORIZATION, format!("Bearer {SAMARINDA}"))
        .body(Body::from_stream(stalled))
        .unwrap();
    let got = common::send(&s.app, req).await;
    assert_eq!(got.status, StatusCode::REQUEST_TIMEOUT, "{}", got.text());
    assert!(got.text().contains("stalled"));
    assert_eq!(s.uploads_left(), 0);

    // A multipart upload by an admin counts at once.
    let boundary = "lenteraBoundary7";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"dtsen.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::post("/api/batches?period=2026-03")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let got = common::send(&s.app, req).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    let v: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(v["batch"]["status"], "diterima");
    assert_eq!(v["batch"]["file_name"], "dtsen.csv");
    assert_eq!(v["outside_area"], 0);
    // The same file again is refused in words.
    let (st, e) = s
        .upload("/api/batches?period=2026-03", ADMIN, bytes.clone())
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");

    // Viewers and analysts do not upload; a closed round takes no operator uploads.
    common::user_with_token(
        store.as_ref(),
        "viewer",
        Role::Viewer,
        &[],
        "lt_test_verval_viewer_0123456789",
    )
    .await;
    let (st, _) = s
        .upload(
            "/api/batches?period=2026-03",
            "lt_test_verval_viewer_0123456789",
            bytes.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/rounds",
            ADMIN,
            json!({"period": "2026-06", "deadline": "2026-07-31", "expected": ["64.72"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/rounds/2026-06/close",
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = s
        .upload("/api/batches?period=2026-06", SAMARINDA, bytes)
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(s.uploads_left(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_batch_is_replaced_by_the_next_submission() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let regions = common::load_kaltim(store.as_ref()).await;
    let s = server(store.clone(), 50 << 20).await;
    let work = tempfile::tempdir().unwrap();
    let upload = |seed: u64| {
        let csv = work.path().join(format!("v{seed}.csv"));
        common::write_generated(&regions, SourceFormat::Dtsen, 400, seed, &csv);
        std::fs::read(csv).unwrap()
    };
    let (_, first) = s
        .upload("/api/batches?period=2026-03", SAMARINDA, upload(1))
        .await;
    let first = first["batch"]["id"].as_i64().unwrap();
    s.json(
        Method::POST,
        &format!("/api/batches/{first}/submit"),
        SAMARINDA,
        Value::Null,
    )
    .await;
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/batches/{first}/return"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a return says why");
    let (st, b) = s
        .json(
            Method::POST,
            &format!("/api/batches/{first}/return"),
            ADMIN,
            json!({"note": "Desa Bukuan belum diverifikasi"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["status"], "dikembalikan");
    // Without a round for the period there is no status to read.
    let (st, _) = s.get("/api/rounds/2026-03", ADMIN).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, mine) = s.get("/api/batches", SAMARINDA).await;
    assert_eq!(
        mine[0]["note"], "Desa Bukuan belum diverifikasi",
        "the operator reads the note"
    );
    let (_, second) = s
        .upload("/api/batches?period=2026-03", SAMARINDA, upload(2))
        .await;
    let second = second["batch"]["id"].as_i64().unwrap();
    let (st, v) = s
        .json(
            Method::POST,
            &format!("/api/batches/{second}/submit"),
            SAMARINDA,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ids: Vec<i64> = store
        .batches()
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, vec![second], "the returned batch was replaced");
    let (st, removed) = s
        .json(
            Method::DELETE,
            &format!("/api/batches/{second}"),
            SAMARINDA,
            Value::Null,
        )
        .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "a submitted batch stays: {removed}"
    );
}

#[test]
fn rounds_are_opened_listed_and_closed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let kaltim = common::kaltim();
    let out = common::lentera(dir.path(), &["regions", "import", kaltim.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::lentera(
        dir.path(),
        &["rounds", "open", "2026-03", "--deadline", "2026-02-30"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let out = common::lentera(
        dir.path(),
        &[
            "rounds",
            "open",
            "2026-03",
            "--deadline",
            "2026-04-30",
            "--expect",
            "64.99",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("64.99 is not a loaded"));
    let out = common::lentera(
        dir.path(),
        &[
            "rounds",
            "open",
            "2026-03",
            "--deadline",
            "2026-04-30",
            "--expect",
            "64.01,64.72",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("open until 2026-04-30 for 2 kabupaten/kota"),
        "{text}"
    );
    let out = common::lentera(dir.path(), &["rounds", "close", "2026-03"]);
    assert!(out.status.success());
    let out = common::lentera(dir.path(), &["rounds", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2026-03") && text.contains("closed"),
        "{text}"
    );
    let out = common::lentera(dir.path(), &["audit", "--action", "round_open"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("lentera rounds open"));
}
