//! Regional programmes through HTTP, on both stores: a generated P3KE file for Kota Samarinda,
//! two programmes whose beneficiary lists are built from it with known covered households,
//! households outside the programme's desil range, rows matching nothing (some naming a
//! desa); per-desa eligible, covered, uncovered, leakage and overlap equal the constructed
//! truth. The targeting builder's ranking and household list equal a straightforward
//! computation over the same households; the list is refused to roles without a scope and
//! audited for those with one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use lentera::ingest::households::privacy::Secret;
use lentera::model::{AuditAction, AuditFilter, Role, SourceFormat};
use lentera::region::{Kode, Region};
use lentera::server::batches::UploadOptions;
use lentera::server::{router_over, AppState, Live, ServerOptions};
use lentera::store::{PostgisStore, SqliteStore, Store};

const ADMIN: &str = "lt_test_programs_admin_0123456789abcdef";
const ANALYST: &str = "lt_test_programs_analyst_0123456789abcd";
const PROVINCE: &str = "lt_test_programs_province_0123456789ab";
const VIEWER: &str = "lt_test_programs_viewer_0123456789abcde";
const PASER: &str = "lt_test_programs_paser_0123456789abcdef";
const PERIOD: &str = "2026-03";
const SAMARINDA: &str = "64.72";

struct Server {
    app: axum::Router,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn new(store: Arc<dyn Store>) -> Server {
        common::user_with_token(store.as_ref(), "admin", Role::Admin, &[], ADMIN).await;
        common::user_with_token(
            store.as_ref(),
            "bappeda",
            Role::Analyst,
            &[SAMARINDA],
            ANALYST,
        )
        .await;
        common::user_with_token(
            store.as_ref(),
            "bappeda.prov",
            Role::Analyst,
            &["64"],
            PROVINCE,
        )
        .await;
        common::user_with_token(store.as_ref(), "tamu", Role::Viewer, &[], VIEWER).await;
        common::user_with_token(
            store.as_ref(),
            "op.paser",
            Role::Operator,
            &["64.01"],
            PASER,
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let live = Live::load(store).await.unwrap();
        let state = AppState::new(
            live,
            ServerOptions {
                auth: lentera::server::auth::AuthConfig {
                    suppress_upto: 0,
                    ..Default::default()
                },
                uploads: UploadOptions {
                    dir: dir.path().join("uploads"),
                    secret: Some(Secret::new(common::SCENARIO_SECRET).unwrap()),
                    ..UploadOptions::default()
                },
                ..Default::default()
            },
        );
        Server {
            app: router_over(state),
            _dir: dir,
        }
    }

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
}

/// One household of the generated file as the store keeps it.
#[derive(Debug, Clone)]
struct Truth {
    nik: String,
    desa: Kode,
    desil: u8,
    national: bool,
    id: i64,
}

/// The generated file's households counted in a desa of the period (no duplicates).
async fn truth(store: &dyn Store, file: &Path) -> Vec<Truth> {
    let secret = Secret::new(common::SCENARIO_SECRET).unwrap();
    let mut by_hash = HashMap::new();
    for h in store.households(None).await.unwrap() {
        let hh = &h.household;
        let Some(desa) = hh.geocode.as_ref().and_then(|g| g.kode_desa) else {
            continue;
        };
        if hh.duplicate_of.is_some() || !hh.geocode.as_ref().unwrap().quality.has_desa() {
            continue;
        }
        by_hash.insert(
            hh.nik_hash.unwrap(),
            (desa, hh.desil.unwrap(), hh.programs.receives != 0, h.id),
        );
    }
    let mut out = Vec::new();
    for nik in common::generated_niks(file) {
        if let Some(&(desa, desil, national, id)) = by_hash.get(&secret.hash(&nik)) {
            out.push(Truth {
                nik,
                desa,
                desil,
                national,
                id,
            });
        }
    }
    out
}

/// Per-desa figures of a programme meant for desil `lo..=hi` whose list names `listed`
/// households and `stray` rows matching nothing in these desa: (eligible, covered,
/// uncovered, leakage, overlap).
fn expected(
    households: &[Truth],
    (lo, hi): (u8, u8),
    listed: &HashSet<String>,
    other: &HashSet<String>,
    stray: &HashMap<Kode, u64>,
) -> BTreeMap<Kode, [u64; 5]> {
    let mut out: BTreeMap<Kode, [u64; 5]> = BTreeMap::new();
    for h in households {
        let e = out.entry(h.desa).or_default();
        let eligible = (lo..=hi).contains(&h.desil);
        let on = listed.contains(&h.nik);
        e[0] += u64::from(eligible);
        e[1] += u64::from(eligible && on);
        e[3] += u64::from(on && !eligible);
        e[4] += u64::from(on && (other.contains(&h.nik) || h.national));
    }
    for (k, n) in stray {
        out.entry(*k).or_default()[3] += n;
    }
    for e in out.values_mut() {
        e[2] = e[0] - e[1];
    }
    out
}

/// A beneficiary list: the NIK of `listed` households plus `fake` rows matching no household
/// (those with a code name a desa).
fn list_csv(listed: &[&Truth], fake: &[(String, Option<Kode>)]) -> Vec<u8> {
    let mut s = String::from("No;NIK;Nama Penerima;Alamat;Kode Wilayah\n");
    for (i, h) in listed.iter().enumerate() {
        s.push_str(&format!("{};'{};PENERIMA {i};JL. MAWAR;\n", i + 1, h.nik));
    }
    for (i, (nik, kode)) in fake.iter().enumerate() {
        s.push_str(&format!(
            "{};{nik};BUKAN BNBA {i};;{}\n",
            listed.len() + i + 1,
            kode.map(|k| k.to_string()).unwrap_or_default()
        ));
    }
    s.into_bytes()
}

async fn programmes_and_targets(store: Arc<dyn Store>) {
    let regions = common::load_kaltim(store.as_ref()).await;
    let samarinda: Kode = SAMARINDA.parse().unwrap();
    let kota: Vec<Region> = regions
        .iter()
        .filter(|r| r.kode.is_within(&samarinda) || samarinda.is_within(&r.kode))
        .cloned()
        .collect();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("p3ke-samarinda.csv");
    common::write_generated(&kota, SourceFormat::P3ke, 900, 71, &file);
    common::import_file(store.as_ref(), &file, PERIOD, Default::default()).await;
    let households = truth(store.as_ref(), &file).await;
    assert!(households.len() > 700, "{}", households.len());
    let s = Server::new(store.clone()).await;

    // Registering is for admins and analysts.
    let body = json!({ "name": "Bedah Rumah", "agency": "Dinas Perumahan", "year": 2026,
        "desil": "1-2", "budget": 600_000_000, "unit_cost": 20_000_000 });
    let (st, _) = s
        .json(Method::POST, "/api/programs", VIEWER, body.clone())
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, bedah) = s.json(Method::POST, "/api/programs", ANALYST, body).await;
    assert_eq!(st, StatusCode::CREATED, "{bedah}");
    let bedah_id = bedah["id"].as_i64().unwrap();
    let (st, sembako) = s
        .json(
            Method::POST,
            "/api/programs",
            ADMIN,
            json!({ "name": "Sembako Daerah", "agency": "Dinas Sosial", "year": 2026, "desil": "1-4" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let sembako_id = sembako["id"].as_i64().unwrap();
    let (st, e) = s
        .json(
            Method::POST,
            "/api/programs",
            ADMIN,
            json!({ "name": "X", "agency": "Y", "year": 2026, "desil": "0-3" }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("desil"), "{e}");

    // Bedah Rumah reaches every third household (any desil), Sembako every fourth; five rows
    // match nothing, two of them name a desa.
    let bedah_list: Vec<&Truth> = households.iter().step_by(3).collect();
    let sembako_list: Vec<&Truth> = households.iter().skip(1).step_by(4).collect();
    let desa_a = households[0].desa;
    let fake = vec![
        ("6472015501900001".to_string(), Some(desa_a)),
        ("6472015501900002".to_string(), Some(desa_a)),
        ("6472015501900003".to_string(), None),
        ("6472015501900004".to_string(), None),
        ("6472015501900005".to_string(), None),
    ];
    let upload = |id: i64, token: &'static str, bytes: Vec<u8>| {
        let req = Request::post(format!(
            "/api/programs/{id}/list?period={PERIOD}&name=penerima.csv"
        ))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(bytes))
        .unwrap();
        let app = s.app.clone();
        async move {
            let got = common::send(&app, req).await;
            (
                got.status,
                serde_json::from_slice::<Value>(&got.body).unwrap_or(Value::Null),
            )
        }
    };
    let (st, _) = upload(bedah_id, PASER, list_csv(&bedah_list, &fake)).await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "operators do not manage programmes"
    );
    // An analyst of one kota would learn whether numbers elsewhere are in the BNBA.
    let (st, e) = upload(bedah_id, ANALYST, list_csv(&bedah_list, &fake)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    assert!(e["error"].as_str().unwrap().contains("whole area"), "{e}");
    let (st, report) = upload(bedah_id, PROVINCE, list_csv(&bedah_list, &fake)).await;
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!(report["rows_read"], bedah_list.len() + 5);
    assert_eq!(report["matched"], bedah_list.len());
    assert_eq!(report["unmatched"], 5);
    assert_eq!(report["unmatched_placed"], 2);
    let unmatched = report["unmatched_rows"].as_array().unwrap();
    assert_eq!(unmatched.len(), 5);
    assert_eq!(
        unmatched[0]["nik"], "647201********01",
        "masked: {}",
        unmatched[0]
    );
    assert_eq!(unmatched[0]["nama"], "BUKAN BNBA 0");
    let (st, report) = upload(sembako_id, ADMIN, list_csv(&sembako_list, &[])).await;
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!(report["matched"], sembako_list.len());
    // A period without households is refused in words.
    let req = Request::post(format!("/api/programs/{sembako_id}/list?period=2019-01"))
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::from(list_csv(&sembako_list, &[])))
        .unwrap();
    let got = common::send(&s.app, req).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert!(
        got.text()
            .contains("no accepted households of period 2019-01"),
        "{}",
        got.text()
    );

    // Per-desa coverage equals the constructed truth.
    let niks = |l: &[&Truth]| l.iter().map(|h| h.nik.clone()).collect::<HashSet<_>>();
    let (bedah_set, sembako_set) = (niks(&bedah_list), niks(&sembako_list));
    let stray: HashMap<Kode, u64> = [(desa_a, 2)].into();
    let want_bedah = expected(&households, (1, 2), &bedah_set, &sembako_set, &stray);
    let want_sembako = expected(
        &households,
        (1, 4),
        &sembako_set,
        &bedah_set,
        &HashMap::new(),
    );
    for (id, want) in [(bedah_id, &want_bedah), (sembako_id, &want_sembako)] {
        let (st, cov) = s
            .get(
                &format!("/api/programs/{id}/coverage?level=desa&parent={SAMARINDA}"),
                ANALYST,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{cov}");
        let got: BTreeMap<Kode, [u64; 5]> = cov["units"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| {
                u["eligible"].as_f64().unwrap_or(0.0) > 0.0
                    || u["beneficiaries"].as_f64().unwrap_or(0.0) > 0.0
                    || u["leakage"].as_f64().unwrap_or(0.0) > 0.0
            })
            .map(|u| {
                let n = |k: &str| u[k].as_f64().unwrap() as u64;
                (
                    u["kode"].as_str().unwrap().parse().unwrap(),
                    [
                        n("eligible"),
                        n("covered"),
                        n("uncovered"),
                        n("leakage"),
                        n("overlap"),
                    ],
                )
            })
            .collect();
        let want: BTreeMap<Kode, [u64; 5]> = want
            .iter()
            .filter(|(_, v)| v.iter().any(|&x| x > 0))
            .map(|(k, v)| (*k, *v))
            .collect();
        assert_eq!(got, want, "programme {id}");
        // The gap list puts the most uncovered first.
        let first = &cov["units"][0];
        let max_uncovered = want.values().map(|v| v[2]).max().unwrap();
        assert_eq!(first["uncovered"].as_f64().unwrap() as u64, max_uncovered);
    }
    // The same through the choropleth of a programme figure.
    let (st, ch) = s
        .get(
            &format!("/api/choropleth?level=desa&parent={SAMARINDA}&indicator=program_{bedah_id}_uncovered"),
            ANALYST,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ch}");
    let total: f64 = ch["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["value"].as_f64())
        .sum();
    assert_eq!(total as u64, want_bedah.values().map(|v| v[2]).sum::<u64>());

    // "Any regional programme": the eligible are desil 1–4 (the union of both ranges).
    let kec = desa_a.parent().unwrap();
    let (st, ind) = s
        .get(
            &format!("/api/indicators?level=desa&parent={kec}&period={PERIOD}"),
            ANALYST,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ind}");
    let ind = ind
        .as_array()
        .or_else(|| ind["units"].as_array())
        .unwrap_or_else(|| panic!("{ind}"))
        .iter()
        .find(|u| u["kode"] == desa_a.to_string())
        .unwrap()
        .clone();
    let in_a: Vec<&Truth> = households.iter().filter(|h| h.desa == desa_a).collect();
    let eligible = in_a.iter().filter(|h| h.desil <= 4).count() as u64;
    let covered = in_a
        .iter()
        .filter(|h| h.desil <= 4 && (bedah_set.contains(&h.nik) || sembako_set.contains(&h.nik)))
        .count() as u64;
    let values = ind.get("values").unwrap_or(&ind);
    assert_eq!(values["program_eligible"], eligible, "{ind}");
    assert_eq!(values["program_covered"], covered);
    assert_eq!(values["program_uncovered"], eligible - covered);
    let uncovered_any = in_a
        .iter()
        .filter(|h| {
            h.desil <= 4
                && !bedah_set.contains(&h.nik)
                && !sembako_set.contains(&h.nik)
                && !h.national
        })
        .count() as u64;
    assert_eq!(values["program_uncovered_any"], uncovered_any);

    // Targeting: desil ≤ 2, not reached by Bedah Rumah, desa of Samarinda with at least 5
    // households, ranked by number, the budget's quota (600 M / 20 M = 30 households).
    let criteria = format!(
        "period={PERIOD}&desil_max=2&not_covered={bedah_id}&area={SAMARINDA}&level=desa&min_households=5&budget=600000000&unit_cost=20000000"
    );
    let (st, _) = s.get(&format!("/api/targeting?{criteria}"), VIEWER).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "viewers see small counts hidden");
    let (st, t) = s.get(&format!("/api/targeting?{criteria}"), ANALYST).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let mut per_desa: BTreeMap<Kode, (u64, u64)> = BTreeMap::new();
    for h in &households {
        let e = per_desa.entry(h.desa).or_default();
        e.0 += 1;
        e.1 += u64::from(h.desil <= 2 && !bedah_set.contains(&h.nik));
    }
    let mut ranked: Vec<(Kode, u64)> = per_desa
        .iter()
        .filter(|(_, (n, t))| *n >= 5 && *t > 0)
        .map(|(k, (_, t))| (*k, *t))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut left = 30u64;
    let want_takes: Vec<(String, u64, u64)> = ranked
        .iter()
        .map(|(k, t)| {
            let take = (*t).min(left);
            left -= take;
            (k.to_string(), *t, take)
        })
        .collect();
    let got_takes: Vec<(String, u64, u64)> = t["ranking"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["kode"].as_str().unwrap().to_string(),
                u["targeted"].as_u64().unwrap(),
                u["take"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got_takes, want_takes);
    assert_eq!(t["ranking"]["taken"], 30);

    // The household list: refused to a viewer and to an operator outside the area; an
    // analyst needs a purpose, and the read is audited.
    let list_uri = format!("/api/targeting/households?{criteria}&format=csv");
    let got = s.call(Method::GET, &list_uri, VIEWER, Body::empty()).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    let got = s.call(Method::GET, &list_uri, PASER, Body::empty()).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN, "{}", got.text());
    let got = s.call(Method::GET, &list_uri, ANALYST, Body::empty()).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    let got = s
        .call(
            Method::GET,
            &format!("{list_uri}&purpose=usulan%20bedah%20rumah%202026"),
            ANALYST,
            Body::empty(),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    let mut rows = csv::Reader::from_reader(got.body.as_slice());
    let head = rows.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 30);
    // Each desa gives its take, lowest desil first, then the order households were stored.
    let mut want_rows: Vec<(String, u8, i64)> = Vec::new();
    for (kode, _, take) in &want_takes {
        let mut inside: Vec<&Truth> = households
            .iter()
            .filter(|h| h.desa.to_string() == *kode && h.desil <= 2 && !bedah_set.contains(&h.nik))
            .collect();
        inside.sort_by_key(|h| (h.desil, h.id));
        want_rows.extend(
            inside
                .iter()
                .take(*take as usize)
                .map(|h| (kode.clone(), h.desil, h.id)),
        );
    }
    let got_rows: Vec<(String, u8)> = rows
        .iter()
        .map(|r| {
            (
                r[col("kode_wilayah")].to_string(),
                r[col("desil")].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got_rows,
        want_rows
            .iter()
            .map(|(k, d, _)| (k.clone(), *d))
            .collect::<Vec<_>>()
    );
    for r in &rows {
        let nik = &r[col("nik")];
        assert!(
            nik.len() == 16 && &nik[6..14] == "********",
            "NIK masked: {nik}"
        );
    }
    let reads = store
        .audit(
            &AuditFilter {
                action: Some(AuditAction::HouseholdRead),
                ..Default::default()
            },
            0,
            100,
        )
        .await
        .unwrap();
    let read = reads
        .iter()
        .find(|r| r.entry.endpoint.contains("/api/targeting/households"))
        .expect("the list read is audited");
    assert_eq!(read.entry.count, Some(30));
    assert_eq!(
        read.entry.purpose.as_deref(),
        Some("usulan bedah rumah 2026")
    );

    // A saved target list, compared with the same period: everyone is still listed; those
    // reached by Sembako count as reached.
    let (st, saved) = s
        .json(
            Method::POST,
            "/api/target-lists",
            ADMIN,
            json!({ "name": "Usulan bedah rumah 2026", "criteria": criteria }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["households"], 30);
    let (st, cmp) = s
        .get(
            &format!("/api/target-lists/{}/compare?period={PERIOD}", saved["id"]),
            ANALYST,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{cmp}");
    assert_eq!(cmp["outcome"]["listed"], 30);
    assert_eq!(cmp["outcome"]["moved"], 0);
    let reached = want_rows
        .iter()
        .filter(|(_, _, id)| {
            let h = households.iter().find(|h| h.id == *id).unwrap();
            sembako_set.contains(&h.nik) || h.national
        })
        .count();
    assert_eq!(cmp["outcome"]["reached"], reached);

    // Removing a programme takes its figures away.
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/api/programs/{sembako_id}"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get("/api/programs", VIEWER).await;
    assert_eq!(list["programs"].as_array().unwrap().len(), 1);
    let actions: Vec<String> = store
        .audit(&AuditFilter::default(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.entry.action)
        .collect();
    for a in [
        "program_add",
        "program_list",
        "program_remove",
        "target_save",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
    let (_, doc) = s.get("/api/openapi.json", VIEWER).await;
    for path in [
        "/api/programs/{id}/list",
        "/api/targeting",
        "/api/target-lists/{id}/compare",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    // Anonymous callers see no programme.
    let got = common::send(
        &s.app,
        Request::get("/api/programs").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programmes_and_targets_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    programmes_and_targets(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programmes_and_targets_on_postgis() {
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    programmes_and_targets(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_registers_a_programme_and_reports_its_list() {
    let dir = tempfile::tempdir().unwrap();
    let (store, regions) =
        common::kaltim_sqlite(dir.path(), &[(SourceFormat::P3ke, 1_200, 81, PERIOD)]).await;
    drop(store);
    let file = dir.path().join("p3ke.csv");
    common::write_generated(&regions, SourceFormat::P3ke, 1_200, 81, &file);
    let mut list = String::from("NIK,NAMA\n");
    for nik in common::generated_niks(&file).iter().step_by(2) {
        list.push_str(&format!("'{nik},X\n"));
    }
    list.push_str("6472015501900009,BUKAN BNBA\n12345,SALAH\n");
    let list_file = dir.path().join("penerima.csv");
    std::fs::write(&list_file, list).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("LENTERA_SECRET", "generated-households-secret-0123456789")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run(&[
        "programs",
        "add",
        "Bantuan Lansia",
        "--agency",
        "Dinas Sosial",
        "--year",
        "2026",
        "--desil",
        "1-3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Programme 1 registered"));
    let bad = run(&[
        "programs", "add", "X", "--agency", "Y", "--year", "2026", "--desil", "4-1",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("desil range `4-1`"));
    let report = dir.path().join("laporan.csv");
    let out = run(&[
        "programs",
        "beneficiaries",
        "1",
        list_file.to_str().unwrap(),
        "--period",
        PERIOD,
        "--report",
        report.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("602 rows read: 601 kept, 0 repeated, 1 refused"),
        "{text}"
    );
    assert!(
        text.contains("600 rows match a household of 2026-03; 1 match none"),
        "{text}"
    );
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(report.contains("647201********09"), "{report}");
    assert!(
        !report.contains("6472015501900009"),
        "numbers are masked: {report}"
    );
    assert!(report.contains("NIK harus 16 digit"), "{report}");
    let out = run(&["programs", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("601 rows for 2026-03 (penerima.csv)"));
    let wrong = run(&[
        "programs",
        "beneficiaries",
        "1",
        list_file.to_str().unwrap(),
        "--period",
        "2019-01",
    ]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("no accepted households of period 2019-01")
    );
    let out = run(&["programs", "remove", "1"]);
    assert!(out.status.success());
    let out = run(&["audit", "--format", "csv"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    for a in ["program_add", "program_list", "program_remove"] {
        assert!(audit.contains(a), "{a}: {audit}");
    }
}
