//! Exports of the real Kalimantan Timur desa, read back by GDAL.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use lentera::generate::regions_from_files;
use lentera::ingest::households::model::SourceFormat;
use lentera::server::{router, Live};
use lentera::store::{SqliteStore, Store};
use tower::ServiceExt;

fn ogrinfo_summary(path: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["-so"];
    args.extend_from_slice(extra);
    common::ogrinfo(&args, path)
}

#[tokio::test]
async fn gdal_reads_every_desa_from_geojson_and_csv_exports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&data).await.unwrap());
    let regions = regions_from_files(&[common::kaltim()]).unwrap();
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    common::import_generated(
        store.as_ref(),
        &regions,
        SourceFormat::P3ke,
        5_000,
        4,
        "2025-06",
    )
    .await;
    let app = router(Live::load(store.clone()).await.unwrap());

    // The API, streamed.
    let resp = app
        .clone()
        .oneshot(
            Request::get("/api/export/desa.geojson")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/geo+json");
    assert_eq!(
        resp.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"lentera-desa-2025-06.geojson\""
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let geojson = dir.path().join("desa.geojson");
    std::fs::write(&geojson, &body).unwrap();
    let info = ogrinfo_summary(&geojson, &[]);
    assert!(info.contains("Feature Count: 1038"), "{info}");
    for field in [
        "kode: String",
        "nama: String",
        "households: Integer",
        "desil_1: Integer",
        "desil_1_rate: ",
        "flagged_share: Real",
    ] {
        assert!(info.contains(field), "{field} missing:\n{info}");
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["bbox"].as_array().unwrap().len(), 4);
    let households: u64 = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["households"].as_u64())
        .sum();
    assert!(households > 4_900, "{households}");

    // Filters: inside Kota Samarinda, at least 5 desil-1 households.
    let resp = app
        .clone()
        .oneshot(
            Request::get("/api/export/desa.csv?parent=64.72&min_desil_1=5&geometry=point")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let kode = headers.iter().position(|h| h == "kode").unwrap();
    let desil = headers.iter().position(|h| h == "desil_1").unwrap();
    let mut n = 0;
    for r in rows.records() {
        let r = r.unwrap();
        assert!(r[kode].starts_with("64.72."));
        assert!(r[desil].parse::<u64>().unwrap() >= 5);
        n += 1;
    }
    assert!(n > 0);
    for uri in [
        "/api/export/desa.csv?bbox=1,2,3",
        "/api/export/desa.csv?min_planet=1",
        "/api/export/planet.geojson",
    ] {
        let resp = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{uri}");
    }

    // The command line, CSV with WKT.
    let csv_path = dir.path().join("desa.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(&data)
        .args(["export", "csv", "--level", "desa", "-o"])
        .arg(&csv_path)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = ogrinfo_summary(
        &csv_path,
        &[
            "-oo",
            "GEOM_POSSIBLE_NAMES=geometry_wkt",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
        ],
    );
    assert!(info.contains("Feature Count: 1038"), "{info}");
    assert!(
        info.contains("Geometry: Multi Polygon") || info.contains("Geometry: Unknown"),
        "{info}"
    );
}
