//! OGC API – Features under `/ogc`, over the real Kalimantan Timur boundaries: GDAL's OAPIF
//! driver lists the collections and pages through every desa; the API answers the Core
//! requirements (links, paging, bbox, errors) and keeps households behind a token.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// It reports what it measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use axum::http::{header, StatusCode};
use geo::Intersects;
use lentera::model::Role;
use lentera::model::SourceFormat;
use lentera::region::{Level, Region};
use lentera::server::{router_with, Live, ServerOptions};
use serde_json::Value;

const TOKEN_ALL: &str = "ogc-token-all-0123456789abcdefgh";
const TOKEN_BALIKPAPAN: &str = "ogc-token-balikpapan-0123456789ab";

async fn kaltim_app() -> (axum::Router, Vec<Region>, Live) {
    let dir = tempfile::tempdir().unwrap().keep();
    let (store, regions) =
        common::kaltim_sqlite(&dir, &[(SourceFormat::Verval, 4_000, 21, "2025-09")]).await;
    common::user_with_token(store.as_ref(), "admin", Role::Admin, &[], TOKEN_ALL).await;
    common::user_with_token(
        store.as_ref(),
        "op.balikpapan",
        Role::Operator,
        &["64.71"],
        TOKEN_BALIKPAPAN,
    )
    .await;
    let live = Live::load(store).await.unwrap();
    let app = router_with(live.clone(), ServerOptions::default());
    (app, regions, live)
}

async fn get_json(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![(header::HOST, "lentera.test")];
    if let Some(b) = &bearer {
        headers.push((header::AUTHORIZATION, b.as_str()));
    }
    let got = common::fetch(app, uri, &headers).await;
    (got.status, got.json())
}

fn rels(doc: &Value) -> Vec<&str> {
    doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect()
}

/// Runs `ogrinfo` with `args` and GDAL's debug output (which lists every HTTP fetch).
fn ogrinfo(args: Vec<String>, header: Option<String>) -> String {
    let mut cmd = Command::new("ogrinfo");
    cmd.args(&args).env("CPL_DEBUG", "ON");
    if let Some(h) = header {
        cmd.args(["--config", "GDAL_HTTP_HEADERS", &h]);
    }
    let out = cmd.output().expect("ogrinfo (gdal-bin) runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_lists_the_collections_and_pages_through_every_desa() {
    let (app, regions, live) = kaltim_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("OAPIF:http://127.0.0.1:{port}/ogc");

    let u = url.clone();
    let list =
        tokio::task::spawn_blocking(move || ogrinfo(vec!["-ro".into(), "-so".into(), u], None))
            .await
            .unwrap();
    for (i, name) in ["kabupaten", "kecamatan", "desa"].iter().enumerate() {
        assert!(
            list.contains(&format!("{}: {name} ", i + 1)),
            "{name} not listed:\n{list}"
        );
    }
    assert!(!list.contains("households"), "{list}");

    // Every desa, page by page, each once.
    let u = url.clone();
    let all = tokio::task::spawn_blocking(move || {
        ogrinfo(
            vec![
                "-ro".into(),
                "-al".into(),
                "-nogeomtype".into(),
                u,
                "desa".into(),
            ],
            None,
        )
    })
    .await
    .unwrap();
    let features = all.matches("OGRFeature(desa)").count();
    assert_eq!(features, 1038, "{}", &all[..all.len().min(3000)]);
    let kodes: BTreeSet<&str> = all
        .lines()
        .filter_map(|l| l.trim().strip_prefix("kode (String) = "))
        .collect();
    let expected: BTreeSet<String> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .map(|r| r.kode.to_string())
        .collect();
    assert_eq!(kodes.len(), 1038);
    assert!(kodes.iter().all(|k| expected.contains(*k)));
    let pages = all
        .lines()
        .filter(|l| l.contains("Fetch(") && l.contains("/collections/desa/items"))
        .count();
    assert!(pages >= 2, "GDAL read everything in {pages} page(s)");
    eprintln!("GDAL read the 1,038 desa in {pages} pages");

    // With a token, GDAL sees the households of the latest period.
    let u = url.clone();
    let households = tokio::task::spawn_blocking(move || {
        ogrinfo(
            vec!["-ro".into(), "-so".into(), u, "households".into()],
            Some(format!("Authorization: Bearer {TOKEN_ALL}")),
        )
    })
    .await
    .unwrap();
    let snap = live.snapshot();
    let period = snap.period(None).unwrap().period;
    let counted = snap
        .households()
        .iter()
        .filter(|h| h.unit().is_some() && snap.batches()[h.batch_index()].period == period)
        .count();
    assert!(
        households.contains(&format!("Feature Count: {counted}")),
        "{counted}\n{households}"
    );
    assert!(households.contains("Geometry: Point"), "{households}");
}

#[tokio::test]
async fn the_api_answers_the_core_requirements() {
    let (app, regions, _live) = kaltim_app().await;
    let base = "http://lentera.test/ogc";

    let (status, landing) = get_json(&app, "/ogc", None).await;
    assert_eq!(status, StatusCode::OK);
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels(&landing).contains(&rel), "{rel}: {landing}");
    }
    let (_, conf) = get_json(&app, "/ogc/conformance", None).await;
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"));
    let (status, api) = get_json(&app, "/ogc/api", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api["openapi"], "3.0.3");
    assert!(api["paths"]["/collections/{collectionId}/items"].is_object());

    let (_, collections) = get_json(&app, "/ogc/collections", None).await;
    let ids: Vec<&str> = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kabupaten", "kecamatan", "desa"]);
    let (_, with_token) = get_json(&app, "/ogc/collections", Some(TOKEN_ALL)).await;
    assert_eq!(with_token["collections"].as_array().unwrap().len(), 4);
    let (_, desa) = get_json(&app, "/ogc/collections/desa", None).await;
    let bbox = desa["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    assert!(bbox[0].as_f64().unwrap() > 113.0 && bbox[2].as_f64().unwrap() < 120.0);
    assert!(rels(&desa).contains(&"items"));
    let (status, schema) = get_json(&app, "/ogc/collections/desa/schema", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(schema["properties"]["desil_1"]["type"], "integer");

    // Paging: the last page has no next link; offset + returned walks the whole set.
    let (_, page) = get_json(
        &app,
        "/ogc/collections/desa/items?limit=5&offset=1035",
        None,
    )
    .await;
    assert_eq!(page["numberMatched"], 1038);
    assert_eq!(page["numberReturned"], 3);
    assert!(!rels(&page).contains(&"next"));
    assert!(rels(&page).contains(&"prev"));
    let (_, first) = get_json(&app, "/ogc/collections/kecamatan/items?limit=7", None).await;
    assert_eq!(first["numberReturned"], 7);
    let next = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap();
    assert_eq!(
        next,
        format!("{base}/collections/kecamatan/items?limit=7&offset=7")
    );

    // bbox: exactly the desa whose outline meets the box.
    let b = [117.10, -0.55, 117.20, -0.45];
    let (_, boxed) = get_json(
        &app,
        &format!(
            "/ogc/collections/desa/items?limit=1000&bbox={},{},{},{}",
            b[0], b[1], b[2], b[3]
        ),
        None,
    )
    .await;
    let rect = geo::Rect::new(
        geo::coord! { x: b[0], y: b[1] },
        geo::coord! { x: b[2], y: b[3] },
    );
    let expected: BTreeSet<String> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa && r.geometry.intersects(&rect))
        .map(|r| r.kode.to_string())
        .collect();
    let got: BTreeSet<String> = boxed["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert_eq!(boxed["numberMatched"], expected.len());

    // One feature by its code.
    let (status, one) = get_json(&app, "/ogc/collections/kecamatan/items/64.72.01", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["properties"]["nama"], "Palaran");
    assert_eq!(one["geometry"]["type"], "MultiPolygon");
    for (uri, want) in [
        ("/ogc/collections/desa/items/64.72", StatusCode::NOT_FOUND),
        ("/ogc/collections/desa/items/garbage", StatusCode::NOT_FOUND),
        ("/ogc/collections/planet/items", StatusCode::NOT_FOUND),
        (
            "/ogc/collections/desa/items?limit=0",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/ogc/collections/desa/items?limit=20000",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/ogc/collections/desa/items?limit=abc",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/ogc/collections/desa/items?offset=-1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/ogc/collections/desa/items?bbox=1,2,3",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/ogc/collections/desa/items?color=red",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/ogc/collections/desa/items?period=1999-01",
            StatusCode::NOT_FOUND,
        ),
        (
            "/ogc/collections/households/items",
            StatusCode::UNAUTHORIZED,
        ),
        ("/ogc/collections/households", StatusCode::UNAUTHORIZED),
    ] {
        let (status, body) = get_json(&app, uri, None).await;
        assert_eq!(status, want, "{uri}: {body}");
        if status != StatusCode::UNAUTHORIZED {
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{uri}"
            );
        }
    }

    // Households: a kabupaten's token pages through its own households only.
    let (status, hh) = get_json(
        &app,
        "/ogc/collections/households/items?limit=10000",
        Some(TOKEN_BALIKPAPAN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let features = hh["features"].as_array().unwrap();
    assert!(!features.is_empty());
    assert_eq!(hh["numberMatched"], features.len());
    assert!(features.iter().all(|f| f["properties"]["kode_unit"]
        .as_str()
        .unwrap()
        .starts_with("64.71")));
    for f in features {
        let p = f["properties"].as_object().unwrap();
        assert!(!p.contains_key("head_name") && !p.contains_key("nik_masked"));
    }
    let id = features[0]["id"].as_str().unwrap();
    let (status, one) = get_json(
        &app,
        &format!("/ogc/collections/households/items/{id}"),
        Some(TOKEN_BALIKPAPAN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["properties"], features[0]["properties"]);
    let (_, all) = get_json(
        &app,
        "/ogc/collections/households/items?limit=1",
        Some(TOKEN_ALL),
    )
    .await;
    assert!(all["numberMatched"].as_u64().unwrap() > features.len() as u64);
}
