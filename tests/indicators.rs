//! Indicators end to end: the snapshot built from either store, its refresh when the store
//! changes, and the indicator API over the demo province.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lentera::aggregate::Indicator;
use lentera::app::{load_demo_households, load_snapshot};
use lentera::demo::{synthetic_denominators, synthetic_province, synthetic_stats};
use lentera::export::unit_rows;
use lentera::region::Kode;
use lentera::server::{router, Live};
use lentera::store::{PostgisStore, SqliteStore, Store};
use serde_json::Value;
use tower::ServiceExt;

const SEED: u64 = 11;

async fn with_demo(store: Arc<dyn Store>) -> Arc<dyn Store> {
    let g0 = store.generation().await.unwrap();
    let regions = synthetic_province(SEED);
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let g1 = store.generation().await.unwrap();
    assert!(g1 > g0, "boundaries change the generation");
    load_demo_households(store.as_ref(), SEED).await.unwrap();
    let g2 = store.generation().await.unwrap();
    assert!(g2 > g1, "imports change the generation");
    let expected = synthetic_denominators(&synthetic_stats(&regions, SEED));
    assert_eq!(store.denominators().await.unwrap(), expected);
    store
}

/// Every unit's indicators in every period, as the API would serve them.
async fn all_rows(store: &dyn Store) -> Value {
    let snap = load_snapshot(store, 2).await.unwrap();
    let units: Vec<u32> = (0..snap.units().len() as u32).collect();
    let mut out = Vec::new();
    for p in snap.periods() {
        let rows = unit_rows(
            &snap,
            &units,
            Some(p),
            snap.period(Some("2025-03".parse().unwrap())),
        );
        out.push(serde_json::to_value(rows).unwrap());
    }
    Value::Array(out)
}

#[tokio::test]
async fn both_stores_give_the_same_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let pg: Arc<dyn Store> = Arc::new(
        PostgisStore::connect(&common::fresh_postgis_url().await)
            .await
            .unwrap(),
    );
    let sqlite = with_demo(sqlite).await;
    let pg = with_demo(pg).await;
    let a = all_rows(sqlite.as_ref()).await;
    let b = all_rows(pg.as_ref()).await;
    assert_eq!(a.as_array().unwrap().len(), 2, "two periods");
    assert!(a == b, "SQLite and PostGIS snapshots differ");

    let snap = load_snapshot(pg.as_ref(), 2).await.unwrap();
    for b in snap.batches() {
        assert!(b.reconciles(), "{b:?}");
        assert!(b.tally.counted() > 0);
    }
    let by_period = |p: &str| {
        snap.batches()
            .iter()
            .find(|b| b.period == p)
            .unwrap()
            .tally
            .households
    };
    assert_eq!(by_period("2025-03"), 6_000);
    assert_eq!(by_period("2025-09"), 8_000);
}

#[tokio::test]
async fn the_live_snapshot_follows_the_store_and_old_readers_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let store = with_demo(store).await;
    let live = Live::load(store.clone()).await.unwrap();
    let before = live.snapshot();
    assert_eq!(before.periods().len(), 2);
    assert!(!live.refresh().await.unwrap(), "nothing changed");

    let first = store
        .batches()
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.period == "2025-03")
        .unwrap();
    store.remove_batch(first.id).await.unwrap();
    assert!(live.refresh().await.unwrap());
    let after = live.snapshot();
    assert!(after.generation > before.generation);
    assert_eq!(after.periods().len(), 1);
    assert_eq!(after.periods()[0].period, "2025-09");
    // A request that took the old snapshot still reads it whole.
    assert_eq!(before.periods().len(), 2);
    assert_eq!(before.batches().len(), 2);

    // New denominators change the rates without any import.
    let mut den = store.denominators().await.unwrap();
    den.clear();
    store.replace_denominators(&den).await.unwrap();
    assert!(live.refresh().await.unwrap());
    let kab = live.snapshot();
    let u = kab.unit_index(Kode::parse("99.01").unwrap()).unwrap();
    assert_eq!(kab.denominators(u).households, None);
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, Value) {
    common::get_json(router, uri).await
}

fn num(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a count in {v}"))
}

#[tokio::test]
async fn the_indicator_api_serves_sums_no_data_change_and_documents_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let store = with_demo(store).await;
    // Exact small counts (as for a logged-in reader), so that sums can be checked.
    let app = common::exact_router(Live::load(store).await.unwrap());

    let (status, kab) = get(&app, "/api/indicators?level=kabupaten").await;
    assert_eq!(status, StatusCode::OK);
    let kab = kab.as_array().unwrap().clone();
    assert_eq!(kab.len(), 5);
    let (_, prov) = get(&app, "/api/indicators?level=provinsi").await;
    let prov = &prov[0];
    assert_eq!(prov["period"], "2025-09", "the latest period by default");
    for field in [
        "households",
        "people",
        "desil_1",
        "desil_1_4",
        "desil_7",
        "pkh",
        "quality_code",
    ] {
        let sum: u64 = kab.iter().map(|k| num(k, field)).sum();
        assert_eq!(
            num(prov, field),
            sum,
            "{field}: province = sum of kabupaten"
        );
    }
    // Rates from the denominators file, at kabupaten level only (the file has no kecamatan).
    assert!(kab[0]["desil_1_rate"].as_f64().unwrap() > 0.0);
    let (_, kec) = get(&app, "/api/indicators?level=kecamatan&parent=99.01").await;
    let kec = kec.as_array().unwrap();
    assert!(!kec.is_empty());
    assert!(kec
        .iter()
        .all(|k| k["desil_1_rate"].is_null() && k["parent"] == "99.01"));
    let kab_sum: u64 = kec.iter().map(|k| num(k, "households")).sum();
    let k0 = kab.iter().find(|k| k["kode"] == "99.01").unwrap();
    assert_eq!(kab_sum + num(k0, "desa_unknown"), num(k0, "households"));

    // P3KE ranks desil 1–4 and states no member counts: desil 5–10 and people are no data.
    let (_, old) = get(&app, "/api/indicators?level=provinsi&period=2025-03").await;
    let old = &old[0];
    assert!(old["desil_5"].is_null() && old["people"].is_null());
    assert!(num(old, "desil_4") > 0);
    assert_eq!(old["has_data"], true);

    // Change from a base period.
    let (_, ch) = get(&app, "/api/indicators?level=provinsi&base=2025-03").await;
    let ch = &ch[0];
    assert_eq!(ch["base_period"], "2025-03");
    let d = num(prov, "households") as f64 - num(old, "households") as f64;
    assert_eq!(ch["households_change"].as_f64().unwrap(), d);
    assert!(
        (ch["households_change_rel"].as_f64().unwrap() - d / num(old, "households") as f64).abs()
            < 1e-12
    );
    // The demo's base period is P3KE (desil 1–4), the latest DTSEN (desil 1–10): their desil
    // are not the same measure, so no desil change is measured, and the row says why.
    assert!(ch["desil_1_change"].is_null());
    assert_eq!(
        ch["change_notes"]["desil_1"],
        "tidak sebanding: skala desil berbeda (2025-03: 1–4, 2025-09: 1–10)"
    );
    assert!(
        ch["people_change"].is_null(),
        "no data in the base period: no change"
    );

    // A region with its parents and children.
    let (status, r) = get(&app, "/api/regions/99.01.01").await;
    assert_eq!(status, StatusCode::OK);
    let parents: Vec<&str> = r["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kode"].as_str().unwrap())
        .collect();
    assert_eq!(parents, ["99", "99.01"]);
    let children = r["children"].as_array().unwrap();
    assert!(children.iter().all(|c| c["level"] == "desa"));
    let sum: u64 = children.iter().map(|c| num(c, "households")).sum();
    assert_eq!(sum + num(&r, "desa_unknown"), num(&r, "households"));

    // Reconciliation.
    let (_, rec) = get(&app, "/api/reconciliation").await;
    assert_eq!(rec["reconciles"], true);
    assert_eq!(num(&rec["totals"], "households"), 14_000);
    let (_, periods) = get(&app, "/api/periods").await;
    assert_eq!(periods[1]["households"], prov["households"]);

    // Errors in words.
    for (uri, want) in [
        ("/api/indicators?level=planet", StatusCode::BAD_REQUEST),
        ("/api/indicators?period=1999-01", StatusCode::NOT_FOUND),
        ("/api/indicators?parent=99.98", StatusCode::NOT_FOUND),
        ("/api/indicators?parent=nine", StatusCode::BAD_REQUEST),
        ("/api/regions/99.01.01?base=2020-01", StatusCode::NOT_FOUND),
    ] {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got, want, "{uri}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{uri}"
        );
    }

    // The OpenAPI document names every field a row can carry, with a description.
    let (_, doc) = get(&app, "/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    // Every endpoint of the API is described.
    for path in [
        "/api/indicators",
        "/api/regions/{kode}",
        "/api/regions",
        "/api/choropleth",
        "/api/targets",
        "/api/periods",
        "/api/reconciliation",
        "/api/sources",
        "/api/transitions",
        "/api/export/{file}",
        "/api/search",
        "/api/templates/{file}",
        "/tiles/{layer}/{z}/{x}/{y}.mvt",
        "/tiles/{layer}.json",
        "/style.json",
        "/ogc",
        "/healthz",
    ] {
        assert!(doc["paths"][path]["get"]["summary"].is_string(), "{path}");
    }
    let props = &doc["components"]["schemas"]["UnitIndicators"]["properties"];
    for row in [prov, old, ch] {
        for key in row.as_object().unwrap().keys() {
            assert!(
                props[key]["type"].is_string()
                    || props[key]["type"].is_array()
                    || props[key]["enum"].is_array(),
                "{key} is not documented"
            );
        }
    }
    for f in Indicator::all().map(Indicator::name) {
        assert!(
            props[f]["description"]
                .as_str()
                .is_some_and(|d| d.len() > 10),
            "{f}"
        );
    }
    assert!(doc["paths"]["/api/indicators"]["get"].is_object());
    assert!(doc["paths"]["/api/regions/{kode}"]["get"].is_object());
}

#[tokio::test]
async fn choropleth_classes_cover_every_unit_once_and_the_style_uses_the_same_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let store = with_demo(store).await;
    let app = router(Live::load(store).await.unwrap());

    let (status, c) = get(
        &app,
        "/api/choropleth?level=desa&indicator=desil_1&method=quantile&classes=5",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let breaks: Vec<f64> = c["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_f64().unwrap())
        .collect();
    assert!(breaks.windows(2).all(|w| w[0] <= w[1]));
    let k = c["classes"].as_u64().unwrap() as usize;
    assert_eq!(breaks.len(), k + 1);
    assert_eq!(c["colors"].as_array().unwrap().len(), k);
    assert_eq!(c["labels"].as_array().unwrap().len(), k);
    let units = c["units"].as_array().unwrap();
    let counts: Vec<u64> = c["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    // Every unit is in a class, without data, or hidden from the public (1–4 households).
    assert_eq!(
        counts.iter().sum::<u64>()
            + c["no_data"].as_u64().unwrap()
            + c["suppressed"].as_u64().unwrap(),
        units.len() as u64
    );
    assert_eq!(
        units.iter().filter(|u| u["suppressed"] == true).count() as u64,
        c["suppressed"].as_u64().unwrap()
    );
    let mut per_class = vec![0u64; k];
    for u in units {
        match (u["value"].as_f64(), u["class"].as_u64()) {
            (Some(v), Some(i)) => {
                let i = i as usize;
                per_class[i] += 1;
                assert!(v >= breaks[i] && (v < breaks[i + 1] || (i == k - 1 && v <= breaks[k])));
            }
            (None, None) => {}
            other => panic!("value and class disagree: {other:?}"),
        }
    }
    assert_eq!(per_class, counts);

    // The style draws the same classes as the default choropleth.
    let (_, def) = get(&app, "/api/choropleth?level=desa&indicator=desil_1").await;
    assert_eq!(def["method"], "ckmeans");
    let (_, style) = get(&app, "/style.json").await;
    let legend = &style["metadata"]["lentera:legend"]["desa"];
    assert_eq!(legend["breaks"], def["breaks"]);
    assert_eq!(legend["colors"], def["colors"]);
    assert_eq!(legend["labels"], def["labels"]);

    // Change between periods: diverging colours by default, and it needs a base period.
    let (status, ch) = get(
        &app,
        "/api/choropleth?level=kecamatan&indicator=desil_1_change&base=2025-03",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ch}");
    assert_eq!(ch["palette"], "-RdBu");
    let (_, rel) = get(
        &app,
        "/api/choropleth?level=kabupaten&indicator=desil_1_rate&classes=3",
    )
    .await;
    assert!(rel["labels"][0].as_str().unwrap().contains('%'), "{rel}");
    let (_, manual) = get(
        &app,
        "/api/choropleth?level=desa&indicator=households&method=manual&breaks=10,20,40",
    )
    .await;
    assert_eq!(manual["classes"], 4);
    for uri in [
        "/api/choropleth?indicator=desil_1_change",
        "/api/choropleth?indicator=planet",
        "/api/choropleth?method=astrology",
        "/api/choropleth?classes=12",
        "/api/choropleth?palette=Rainbow",
        "/api/choropleth?method=manual&breaks=5,x",
        "/style.json?indicator=people_rate",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    }
}

#[tokio::test]
async fn targets_rank_units_deterministically_and_export_csv_and_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let store = with_demo(store).await;
    let app = router(Live::load(store).await.unwrap());

    let (status, t) = get(
        &app,
        "/api/targets?level=desa&parent=99.01&indicator=desil_1&top=5",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let list = t["targets"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    let (_, all) = get(&app, "/api/indicators?level=desa&parent=99.01").await;
    let mut expected: Vec<(i64, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| Some((-u["desil_1"].as_i64()?, u["kode"].as_str()?.to_string())))
        .collect();
    expected.sort();
    for (i, row) in list.iter().enumerate() {
        assert_eq!(row["rank"], i + 1);
        assert_eq!(
            row["kode"].as_str().unwrap(),
            expected[i].1,
            "rank {}",
            i + 1
        );
        assert_eq!(row["value"].as_f64().unwrap(), -expected[i].0 as f64);
        assert!(row["kabupaten"].as_str().unwrap().contains("Kabupaten"));
    }

    let resp = app
        .clone()
        .oneshot(
            Request::get("/api/targets?level=desa&parent=99.01&top=7&format=csv")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        resp.headers()[axum::http::header::CONTENT_DISPOSITION],
        "attachment; filename=\"sasaran-desa-desil_1-99.01.csv\""
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 8, "{text}");
    // Headers a planner reads, the period on every row, and the ranked figure once.
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        headers,
        [
            "Peringkat",
            "Kode",
            "Nama",
            "Kecamatan",
            "Kabupaten/Kota",
            "Periode",
            "Rumah tangga desil 1 (sangat miskin)",
            "Jumlah rumah tangga BNBA",
            "Rumah tangga desil 1–4",
            "Desil 1 belum menerima PKH",
            "Jumlah jiwa",
        ],
        "{text}"
    );
    let (_, periods) = get(&app, "/api/periods").await;
    let latest = periods.as_array().unwrap().last().unwrap()["period"]
        .as_str()
        .unwrap()
        .to_string();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let (_, seven) = get(&app, "/api/targets?level=desa&parent=99.01&top=7").await;
    let seven = seven["targets"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(&row[0], (i + 1).to_string(), "{text}");
        assert_eq!(&row[1], seven[i]["kode"].as_str().unwrap(), "{text}");
        assert_eq!(&row[5], latest, "every row names its period: {text}");
    }
    // A change names both periods; a kabupaten list has no parent columns.
    let first = periods.as_array().unwrap()[0]["period"].as_str().unwrap();
    let resp = app
        .clone()
        .oneshot(
            Request::get(format!(
                "/api/targets?level=kabupaten&indicator=desil_1_change&base={first}&format=csv"
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.starts_with(
            "Peringkat,Kode,Nama,Periode,Periode pembanding,\
             Perubahan rumah tangga desil 1 (sangat miskin),Jumlah rumah tangga BNBA,\
             Rumah tangga desil 1 (sangat miskin),"
        ),
        "{text}"
    );

    let resp = app
        .clone()
        .oneshot(
            Request::get("/api/targets?level=kecamatan&top=4&format=xlsx&indicator=desil_1_no_pkh")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let path = dir.path().join("sasaran.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(&path).unwrap();
    let range = book.worksheet_range("Sasaran").unwrap();
    assert_eq!(range.height(), 5);
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        header,
        [
            "Peringkat",
            "Kode",
            "Nama",
            "Kabupaten/Kota",
            "Periode",
            "Desil 1 belum menerima PKH",
            "Jumlah rumah tangga BNBA",
            "Rumah tangga desil 1 (sangat miskin)",
            "Rumah tangga desil 1–4",
            "Jumlah jiwa",
        ],
        "a kecamatan list ranked by a key figure shows it once"
    );
    assert!(range.rows().skip(1).all(|r| r[4].to_string() == latest));

    for uri in [
        "/api/targets?top=0",
        "/api/targets?order=sideways",
        "/api/targets?format=pdf",
        "/api/targets?indicator=planet",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    }
}

#[tokio::test]
async fn household_tiles_show_the_households_of_the_period_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let store = with_demo(store).await;
    let token = "demo-token-0123456789abcdefghij";
    common::user_with_token(
        store.as_ref(),
        "admin",
        lentera::model::Role::Admin,
        &[],
        token,
    )
    .await;
    let live = Live::load(store).await.unwrap();
    let app = lentera::server::router_with(live.clone(), lentera::server::ServerOptions::default());
    let snap = live.snapshot();
    let bbox = snap.units()[0].info.bbox.unwrap();
    let (x0, y0, x1, y1) = lentera::tiles::mercator::tiles_covering(bbox, 6);
    for period in ["2025-03", "2025-09"] {
        let mut total = 0u64;
        for x in x0..=x1 {
            for y in y0..=y1 {
                let resp = app
                    .clone()
                    .oneshot(
                        Request::get(format!("/tiles/households/6/{x}/{y}.mvt?period={period}"))
                            .header("authorization", format!("Bearer {token}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                if resp.status() == StatusCode::NO_CONTENT {
                    continue;
                }
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                let reader = fast_mvt::MvtReaderRef::new(&body).unwrap();
                for layer in reader.layers() {
                    for f in layer.features() {
                        for (k, v) in f.properties_vec().unwrap() {
                            if k == "point_count" {
                                if let fast_mvt::MvtValueRef::UInt(n) = v {
                                    total += n;
                                }
                            }
                        }
                    }
                }
            }
        }
        let batch = snap.batches().iter().find(|b| b.period == period).unwrap();
        assert_eq!(total, batch.tally.counted_desa, "period {period}");
    }
}
