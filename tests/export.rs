//! Exports of the real Kalimantan Timur desa, read back by GDAL.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use lentera::model::SourceFormat;
use lentera::region::{Kode, Level};
use lentera::server::{router, router_with, Live, ServerOptions};
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
    let (store, _) =
        common::kaltim_sqlite(&data, &[(SourceFormat::P3ke, 5_000, 4, "2025-06")]).await;
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
    let features = v["features"].as_array().unwrap();
    let households: u64 = features
        .iter()
        .filter_map(|f| f["properties"]["households"].as_u64())
        .sum();
    // An anonymous export hides desa with 1–4 households: their figures are null, flagged.
    let hidden: Vec<&serde_json::Value> = features
        .iter()
        .filter(|f| f["properties"]["suppressed"] == true)
        .collect();
    assert!(!hidden.is_empty());
    assert!(hidden
        .iter()
        .all(|f| f["properties"]["households"].is_null() && f["properties"]["desil_1"].is_null()));
    assert!(
        households + 4 * hidden.len() as u64 >= 4_900,
        "{households}"
    );
    assert!(features
        .iter()
        .filter_map(|f| f["properties"]["households"].as_u64())
        .all(|n| n == 0 || n > 4));

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

/// Every export format at every level, written by the command line and read back by GDAL.
#[tokio::test]
async fn gdal_reads_every_format_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (store, regions) =
        common::kaltim_sqlite(&data, &[(SourceFormat::Dtsen, 3_000, 8, "2025-09")]).await;
    drop(store);
    for level in [Level::Kabupaten, Level::Kecamatan, Level::Desa] {
        let expected = regions.iter().filter(|r| r.kode.level() == level).count();
        for format in ["geojson", "csv", "xlsx", "gpkg"] {
            let path = dir.path().join(format!("{level}.{format}"));
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
                .arg("--data-dir")
                .arg(&data)
                .args(["export", format, "--level", level.as_str(), "-o"])
                .arg(&path)
                .env_remove("DATABASE_URL")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{level} {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let extra: &[&str] = match format {
                "csv" => &[
                    "-oo",
                    "GEOM_POSSIBLE_NAMES=geometry_wkt",
                    "-oo",
                    "KEEP_GEOM_COLUMNS=NO",
                ],
                "xlsx" => &["-oo", "HEADERS=FORCE"],
                _ => &[],
            };
            let info = ogrinfo_summary(&path, extra);
            assert!(
                info.contains(&format!("Feature Count: {expected}")),
                "{level} {format}: expected {expected} features\n{info}"
            );
            // CSV carries no types: GDAL reads every column as text.
            let households = if format == "csv" {
                "households: String"
            } else {
                "households: Integer"
            };
            for field in ["kode: String", "nama: String", households] {
                assert!(info.contains(field), "{level} {format}: {field}\n{info}");
            }
            if format != "xlsx" {
                assert!(
                    info.contains("Multi Polygon") || info.contains("Geometry: Unknown"),
                    "{level} {format}: geometry\n{info}"
                );
            }
        }
    }
}

const TOKEN_ALL: &str = "export-token-all-0123456789abcdef";
const TOKEN_SAMARINDA: &str = "export-token-samarinda-0123456789";

/// Households leave the server only for a token, only inside its units, never with NIK/KK in
/// clear; GDAL reads the GeoJSON; the command line writes the same rows.
#[tokio::test]
async fn household_exports_need_a_token_and_stay_in_its_units() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (store, _) = common::kaltim_sqlite(
        &data,
        &[
            (SourceFormat::Verval, 6_000, 12, "2025-06"),
            (SourceFormat::P3ke, 2_000, 13, "2025-03"),
        ],
    )
    .await;
    let expected: Vec<_> = store
        .households(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.period == "2025-06" && h.household.duplicate_of.is_none())
        .collect();
    common::admin_and_samarinda(store.as_ref(), TOKEN_ALL, TOKEN_SAMARINDA).await;
    let live = Live::load(store.clone()).await.unwrap();
    let snap = live.snapshot();
    let app = router_with(live, ServerOptions::default());
    let get = |uri: &str, token: Option<&str>| {
        let app = app.clone();
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Body::empty()).unwrap();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        }
    };
    let (status, _) = get("/api/export/households.csv", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get(
        "/api/export/households.csv",
        Some("not-a-valid-token-0123456789abc"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get("/api/export/households.shp", Some(TOKEN_ALL)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every household of the latest period, masked.
    let (status, body) = get("/api/export/households.csv", Some(TOKEN_ALL)).await;
    assert_eq!(status, StatusCode::OK);
    let mut rows = csv::Reader::from_reader(&body[..]);
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (nik, kk, unit, period) = (
        col("nik_masked"),
        col("kk_masked"),
        col("kode_unit"),
        col("period"),
    );
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), expected.len());
    let sixteen_digits = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_digit());
    for r in &records {
        assert_eq!(&r[period], "2025-06");
        assert!(r.iter().all(|cell| !sixteen_digits(cell)), "{r:?}");
        assert!(r[nik].is_empty() || r[nik].contains('*'), "{r:?}");
        assert!(r[kk].is_empty() || r[kk].contains('*'), "{r:?}");
    }
    let api_ids: Vec<&str> = records.iter().map(|r| &r[0]).collect();
    let store_ids: Vec<String> = expected.iter().map(|h| h.id.to_string()).collect();
    assert_eq!(api_ids, store_ids);

    // A kabupaten's token sees that kabupaten only: as many as the snapshot counts there.
    let (_, body) = get("/api/export/households.csv", Some(TOKEN_SAMARINDA)).await;
    let mut rows = csv::Reader::from_reader(&body[..]);
    let scoped: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert!(!scoped.is_empty());
    assert!(scoped.iter().all(|r| r[unit].starts_with("64.72")));
    let samarinda = snap.unit_index(Kode::parse("64.72").unwrap()).unwrap();
    let counted = lentera::aggregate::Indicator::Count(lentera::aggregate::Count::Households)
        .value(
            snap.period(Some("2025-06".parse().unwrap()))
                .unwrap()
                .counts(samarinda),
            snap.denominators(samarinda),
        )
        .unwrap();
    assert_eq!(scoped.len() as f64, counted);
    // Asking outside the token's units gives nothing, not an error.
    let (status, body) = get(
        "/api/export/households.csv?parent=64.71&period=2025-06",
        Some(TOKEN_SAMARINDA),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv::Reader::from_reader(&body[..]).records().count(), 0);

    // GeoJSON points, read by GDAL.
    let (_, body) = get(
        "/api/export/households.geojson?period=2025-03",
        Some(TOKEN_ALL),
    )
    .await;
    let path = dir.path().join("households.geojson");
    std::fs::write(&path, &body).unwrap();
    let info = ogrinfo_summary(&path, &[]);
    let march = store
        .households(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.period == "2025-03" && h.household.duplicate_of.is_none())
        .count();
    assert!(
        info.contains(&format!("Feature Count: {march}")),
        "{march}\n{info}"
    );
    assert!(info.contains("Geometry: Point"), "{info}");
    assert!(info.contains("desil: Integer"), "{info}");

    // The command line writes the same rows as the API.
    drop(app);
    let cli_csv = dir.path().join("households.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(&data)
        .args(["export", "csv", "--households", "-o"])
        .arg(&cli_csv)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = csv::Reader::from_path(&cli_csv).unwrap();
    let cli_ids: Vec<String> = rows.records().map(|r| r.unwrap()[0].to_string()).collect();
    assert_eq!(cli_ids, store_ids);
}
