//! The demo command, the crosswalk command and the HTTP API.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use lentera::store::{SqliteStore, Store};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/fixtures")
        .join(name)
}

#[test]
fn demo_builds_the_synthetic_province_once_and_refuses_real_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let out = common::lentera(&data, &["demo", "--no-serve"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Synthetic demo province ready: 5 kabupaten/kota"),
        "{stdout}"
    );
    assert!(stdout.contains("14000 synthetic households"), "{stdout}");
    // Indicators from the command line: every kabupaten, and every batch reconciled.
    let ind = common::lentera(
        &data,
        &["indicators", "--level", "kabupaten", "--format", "csv"],
    );
    assert!(ind.status.success());
    let csv = String::from_utf8_lossy(&ind.stdout);
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.starts_with("kode,nama,level,parent,period,households,people,"));
    let err = String::from_utf8_lossy(&ind.stderr);
    assert_eq!(err.matches(" not placed").count(), 2, "{err}");
    let list = common::lentera(
        &data,
        &["regions", "list", "--level", "kabupaten", "--format", "csv"],
    );
    let csv = String::from_utf8_lossy(&list.stdout);
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.contains("99.71,Kota "));
    // Running it again keeps the same province.
    let again = common::lentera(&data, &["demo", "--no-serve"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("14000 synthetic households"));
    assert_eq!(
        common::lentera(
            &data,
            &["regions", "list", "--level", "kabupaten", "--format", "csv"]
        )
        .stdout,
        list.stdout
    );

    // A store with real boundaries is not overwritten by the demo.
    let real = tmp.path().join("real");
    let kab = common::kaltim().join("kabupaten.geojson");
    assert!(
        common::lentera(&real, &["regions", "import", kab.to_str().unwrap()])
            .status
            .success()
    );
    let refused = common::lentera(&real, &["demo", "--no-serve"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds real boundaries"));
}

#[test]
fn crosswalk_command_reports_every_row_it_cannot_use() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    assert!(common::lentera(&data, &["demo", "--no-serve"])
        .status
        .success());
    let report = tmp.path().join("cw.csv");
    let out = common::lentera(
        &data,
        &[
            "regions",
            "crosswalk",
            fixture("crosswalk-sample.csv").to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("6 rows; 4 map to loaded boundaries, 1 map to codes not in the boundaries, 1 have no Kemendagri code, 4 rows refused"),
        "{stdout}"
    );
    let report = std::fs::read_to_string(report).unwrap();
    for needle in [
        "9901010001",
        "9901010002",
        "9901010003",
        "99010100x4",
        "9901010005",
        "twice",
    ] {
        assert!(
            report.contains(needle),
            "{needle} missing from report:\n{report}"
        );
    }
}

async fn demo_router() -> (tempfile::TempDir, axum::Router) {
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(tmp.path()).await.unwrap();
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    store
        .set_meta("dataset", lentera::demo::DATASET_SYNTHETIC)
        .await
        .unwrap();
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let live = lentera::server::Live::load(Arc::new(store)).await.unwrap();
    (tmp, lentera::server::router(live))
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String) {
    let got = common::fetch(router, uri, &[]).await;
    (got.status, got.text())
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[tokio::test]
async fn api_lists_regions_and_explains_bad_requests() {
    let (_tmp, router) = demo_router().await;

    let (status, body) = get(&router, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let health = json(&body);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["backend"], "sqlite");
    assert_eq!(health["dataset"], "synthetic");
    assert_eq!(health["regions"]["kota"], 1);

    let (status, body) = get(&router, "/api/regions?level=kabupaten").await;
    assert_eq!(status, StatusCode::OK);
    let kab = json(&body);
    assert_eq!(kab.as_array().unwrap().len(), 5);
    assert_eq!(kab[0]["kode"], "99.01");
    assert_eq!(kab[0]["level"], "kabupaten");
    assert_eq!(kab[4]["jenis"], "kota");
    assert_eq!(kab[0]["bbox"].as_array().unwrap().len(), 4);

    let (_, body) = get(&router, "/api/regions?level=desa&parent=9971").await;
    let kel = json(&body);
    assert!(!kel.as_array().unwrap().is_empty());
    assert!(kel
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["jenis"] == "kelurahan"));

    let (status, body) = get(&router, "/api/regions/99.71.01").await;
    assert_eq!(status, StatusCode::OK);
    let kec = json(&body);
    assert_eq!(kec["level"], "kecamatan");
    let parents: Vec<&str> = kec["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kode"].as_str().unwrap())
        .collect();
    assert_eq!(parents, ["99", "99.71"]);
    assert!(kec["children"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["parent"] == "99.71.01"));

    for (uri, status, words) in [
        (
            "/api/regions?level=planet",
            StatusCode::BAD_REQUEST,
            "unknown level",
        ),
        (
            "/api/regions?parent=64-72",
            StatusCode::BAD_REQUEST,
            "characters other than digits",
        ),
        (
            "/api/regions/abc",
            StatusCode::BAD_REQUEST,
            "characters other than digits",
        ),
        (
            "/api/regions/6472010001",
            StatusCode::BAD_REQUEST,
            "BPS code",
        ),
        (
            "/api/regions/99.98",
            StatusCode::NOT_FOUND,
            "no region with code 99.98",
        ),
        ("/nothing/here", StatusCode::NOT_FOUND, "no such endpoint"),
    ] {
        let (got, body) = get(&router, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert!(
            json(&body)["error"].as_str().unwrap().contains(words),
            "{uri}: {body}"
        );
    }

    let (status, page) = get(&router, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("lang=\"id\"") && page.contains("Data sintetis"));
}

/// Every endpoint reads its query into a typed struct: a parameter it does not know, one given
/// twice, an empty or malformed value is a 400 that names it.
#[tokio::test]
async fn unknown_repeated_and_malformed_parameters_are_refused_in_words() {
    let (_tmp, router) = demo_router().await;
    for (uri, words) in [
        (
            "/api/indicators?color=red",
            "unknown query parameter `color`",
        ),
        (
            "/api/regions?level%5B%5D=desa",
            "unknown query parameter `level[]`",
        ),
        ("/api/regions?level=", "level: unknown level ``"),
        ("/api/indicators?level=desa&level=kecamatan", "given twice"),
        (
            "/api/indicators?period=2025-3",
            "period: period `2025-3` is not of the form YYYY-MM",
        ),
        (
            "/api/choropleth?classes=%2B5",
            "classes: `+5` is not a whole number from 3 to 9",
        ),
        (
            "/api/choropleth?indicator=planet",
            "unknown indicator `planet`",
        ),
        (
            "/api/targets?top=5&sort=up",
            "unknown query parameter `sort`",
        ),
        (
            "/api/targets?order=sideways",
            "order: unknown variant `sideways`",
        ),
        (
            "/api/export/desa.csv?bbox=-Infinity,0,1,1",
            "bbox must be four numbers",
        ),
        (
            "/api/export/desa.csv?colour=1",
            "unknown query parameter `colour`",
        ),
        (
            "/api/export/desa.geojson?geometry=point",
            "geometry= is for CSV exports",
        ),
        ("/api/periods?x=1", "unknown query parameter `x`"),
        (
            "/api/search?q=a&limit=1.5",
            "limit: `1.5` is not a whole number",
        ),
        (
            "/tiles/desa/10/0/0.mvt?period=2025-03&v=2",
            "unknown query parameter `v`",
        ),
        (
            "/tiles/desa/ten/0/0.mvt",
            "the tile's zoom must be a whole number",
        ),
        (
            "/style.json?indicator=desil_1&palette=Rainbow",
            "unknown palette `Rainbow`",
        ),
        (
            "/ogc/collections/desa/items?limit=1&offset=-1",
            "offset: `-1` is not a whole number",
        ),
    ] {
        let got = common::fetch(&router, uri, &[]).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{uri}: {}", got.text());
        let error = got.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(words), "{uri}: {error}");
    }
}

/// The web page's indicator lists come from `/api/fields`: every served indicator has a label
/// and a kind there, and the map and panel lists name served indicators only.
#[tokio::test]
async fn the_field_list_labels_every_indicator_the_api_serves() {
    let (_tmp, router) = demo_router().await;
    let (status, fields) = common::get_json(&router, "/api/fields").await;
    assert_eq!(status, StatusCode::OK);
    let fields = fields["fields"].as_array().unwrap().clone();
    let (_, rows) = common::get_json(&router, "/api/indicators?level=provinsi").await;
    let served: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    for f in &fields {
        let name = f["name"].as_str().unwrap();
        assert!(served.iter().any(|s| *s == name), "{name} is not served");
        assert!(!f["label"].as_str().unwrap().is_empty(), "{name}");
        assert!(
            ["count", "rate"].contains(&f["kind"].as_str().unwrap()),
            "{name}"
        );
    }
    for key in ["households", "desil_1", "pkh_coverage", "flagged_share"] {
        assert!(fields.iter().any(|f| f["name"] == key), "{key}");
    }
    let mut on_map: Vec<(u64, &str)> = fields
        .iter()
        .filter_map(|f| Some((f["map"].as_u64()?, f["name"].as_str()?)))
        .collect();
    on_map.sort();
    assert_eq!(on_map.first().map(|m| m.1), Some("desil_1"));
    assert!(fields.iter().filter(|f| f["panel"].is_u64()).count() >= 10);
    let desil_1 = fields.iter().find(|f| f["name"] == "desil_1").unwrap();
    assert_eq!(desil_1["label"], "Rumah tangga desil 1 (sangat miskin)");
    assert_eq!(desil_1["short_label"], "Desil 1");
}

fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_with(port, path, "")
}

/// `GET path` with extra header lines (each ending in `\r\n`).
fn http_get_with(port: u16, path: &str, headers: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn demo_command_serves_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args([
            "demo",
            "--port",
            &port.to_string(),
            "--header-timeout-secs",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut health = None;
    while Instant::now() < deadline {
        if let Some(r) = http_get(port, "/healthz") {
            health = Some(r);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let regions = http_get(port, "/api/regions?level=kabupaten");
    // A client that trickles its headers is dropped after the header timeout; a head past
    // 64 KiB is refused; the server goes on serving.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(slow, "GET /healthz HTTP/1.1\r\nHost: loc").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let dropped_after = started.elapsed();
    let huge = http_get_with(
        port,
        "/healthz",
        &format!("X-Pad: {}\r\n", "a".repeat(300_000)),
    );
    let after = http_get(port, "/healthz");
    // A household tile read by the demo admin's token, then SIGTERM at once: the server
    // stops cleanly and the read, still batched for the audit trail, is written first.
    let token = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["tokens", "create", "demo.admin"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let tile = http_get_with(
        port,
        "/tiles/households/6/50/31.mvt",
        &format!("Authorization: Bearer {token}\r\n"),
    );
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.wait();
    let health = health.expect("the demo server answers /healthz");
    assert!(
        dropped_after < Duration::from_secs(5),
        "a slow client is dropped after the header timeout ({dropped_after:?}): {}",
        String::from_utf8_lossy(&rest)
    );
    assert!(
        !String::from_utf8_lossy(&rest).contains("200 OK"),
        "the slow request was not served"
    );
    let huge = huge.unwrap_or_default();
    assert!(huge.starts_with("HTTP/1.1 431"), "{huge}");
    assert!(after.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"dataset\":\"synthetic\""), "{health}");
    assert!(regions.unwrap().contains("\"kode\":\"99.71\""));
    let tile = tile.expect("the tile is served");
    assert!(tile.starts_with("HTTP/1.1 20"), "{tile}");
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM stops the server cleanly: {status:?}"
    );
    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["audit", "--action", "household_read", "--format", "csv"])
        .output()
        .unwrap();
    let audit = String::from_utf8(audit.stdout).unwrap();
    assert!(
        audit.contains("demo.admin") && audit.contains("/tiles/households/6/50/31.mvt"),
        "the tile read is in the trail: {audit}"
    );
}

#[test]
fn serve_needs_a_secret_outside_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("real");
    let kab = common::kaltim().join("kabupaten.geojson");
    assert!(
        common::lentera(&data, &["regions", "import", kab.to_str().unwrap()])
            .status
            .success()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--port", "0"])
        .env_remove("LENTERA_SECRET")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LENTERA_SECRET is not set"));
}

#[test]
fn a_configuration_file_sets_options_and_logs_can_be_json() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let config = tmp.path().join("lentera.toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = \"{}\"\nport = {port}\nlog-format = \"json\"\nheader-timeout-secs = 5\n",
            tmp.path().join("store").display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .args(["--config", config.to_str().unwrap(), "demo"])
        .env_remove("DATABASE_URL")
        .env_remove("LENTERA_PORT")
        .env_remove("LENTERA_DATA_DIR")
        .env_remove("LENTERA_LOG_FORMAT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Every line is read (on a thread, so the log stream stays open while the test runs).
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut listening = None;
    while let Ok(line) = received.recv_timeout(Duration::from_secs(60)) {
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["message"]
            .as_str()
            .is_some_and(|m| m.contains("listening"))
        {
            listening = Some(v);
            break;
        }
    }
    // The line is written once the port is bound; requests are taken a moment later.
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        match http_get(port, "/healthz") {
            Some(h) => break Some(h),
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let listening = listening.expect("the server logs where it listens");
    assert_eq!(listening["level"], "INFO");
    assert!(listening["message"]
        .as_str()
        .unwrap()
        .contains(&port.to_string()));
    assert!(health.unwrap().starts_with("HTTP/1.1 200"));
    assert!(tmp.path().join("store").join("lentera.sqlite").exists());
    // A mistyped setting is refused in words.
    std::fs::write(&config, "prot = 8080\n").unwrap();
    let out = common::lentera(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "regions", "list"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting `prot`"));
}

#[test]
fn the_server_outlives_its_log_stream() {
    // A supervisor or log reader that goes away closes stderr: log lines are dropped, and
    // the server goes on serving instead of dying on the first line it cannot write.
    let tmp = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let empty_web = tmp.path().join("web");
    std::fs::create_dir_all(&empty_web).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["demo", "--port", &port.to_string()])
        // No MapLibre: the server logs a warning after it starts listening.
        .env("LENTERA_WEB_DIR", &empty_web)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server stopped when its log stream closed: {status}");
        }
        match http_get(port, "/healthz") {
            Some(h) => break Some(h),
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => break None,
        }
    };
    // Requests log lines too: still serving after them.
    let again = http_get(port, "/api/regions?level=kabupaten");
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(health.is_some_and(|h| h.starts_with("HTTP/1.1 200")));
    assert!(again.is_some_and(|h| h.starts_with("HTTP/1.1 200")));
    assert!(alive, "the server is still running");
}
