//! The web map in a real headless Chromium (playwright-core driving `/usr/bin/chromium`):
//! over the real Kalimantan Timur boundaries with generated households, and over the demo the
//! README's run command starts. The checks themselves are in `web/e2e/` (`map.mjs`, and
//! `everyday.mjs` for names, tooltips, the priority list, typos, QGIS, help, offline base map
//! and a phone's layout); screenshots go to `test-artifacts/`.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// It reports what it measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lentera::model::{NewUser, Password, Role, SourceFormat, UserName};
use lentera::region::Kode;
use lentera::server::{router_with, Live, ServerOptions};

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Installs the web map's npm packages (MapLibre, playwright-core) from the lockfile once.
fn npm_ci() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let dir = web_dir();
        let installed = [
            "maplibre-gl/dist/maplibre-gl.js",
            "playwright-core/package.json",
            "pmtiles/package.json",
        ]
        .iter()
        .all(|f| dir.join("node_modules").join(f).exists());
        if installed {
            return;
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm runs (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "npm ci in web/: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Runs the browser checks against `base`; panics with their output when one fails.
fn run_browser_checks(base: &str, place: &str, artifacts: &Path) {
    run_node("map.mjs", &[base, artifacts.to_str().unwrap()], place);
}

/// Runs the browser check script `web/e2e/{script}` with `args`; panics with its output when
/// a check fails.
fn run_node(script: &str, args: &[&str], place: &str) {
    npm_ci();
    let out = Command::new("node")
        .arg(web_dir().join("e2e").join(script))
        .args(args)
        .env("LENTERA_E2E_PLACE", place)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "browser checks failed:\n{text}");
}

fn artifacts(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test-artifacts")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_works_over_kaltim_in_chromium() {
    tokio::task::spawn_blocking(npm_ci).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::kaltim_sqlite(
        dir.path(),
        &[
            (SourceFormat::P3ke, 15_000, 31, "2025-03"),
            (SourceFormat::Verval, 20_000, 32, "2025-09"),
        ],
    )
    .await;
    let operator = account(store.as_ref(), "op.samarinda", Role::Operator, "64.72").await;
    let analyst = account(store.as_ref(), "analis.bpp", Role::Analyst, "64.71").await;
    let admin = account(store.as_ref(), "admin.prov", Role::Admin, "").await;
    // The province's target: no desil-1 household by 2026 (the trend chart draws it).
    let goal = lentera::aggregate::goals::Goal::new(
        lentera::aggregate::Indicator::Count(lentera::aggregate::Count::Desil1),
        0.0,
        2026,
        Some(Kode::parse("64").unwrap()),
    )
    .unwrap();
    lentera::app::goals::set_goal(store.as_ref(), goal)
        .await
        .unwrap();
    let live = Live::load(store).await.unwrap();
    // As `lentera serve` does: the first view's tiles are prepared while the server starts.
    live.prepare_tiles().await.unwrap();
    let base = serve(
        live,
        ServerOptions {
            web_dir: web_dir(),
            ..Default::default()
        },
    )
    .await;
    let out = artifacts("web-map-kaltim");
    tokio::task::spawn_blocking(move || {
        run_browser_checks(&base, "kaltim", &out);
        let out = artifacts("web-accounts");
        run_node(
            "accounts.mjs",
            &[&base, out.to_str().unwrap(), &operator, &analyst, &admin],
            "kaltim",
        );
        let out = artifacts("web-everyday");
        run_node("everyday.mjs", &[&base, out.to_str().unwrap()], "kaltim");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verval_round_works_in_chromium() {
    tokio::task::spawn_blocking(npm_ci).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, regions) =
        common::kaltim_sqlite(dir.path(), &[(SourceFormat::Dtsen, 8_000, 41, "2025-09")]).await;
    let operator = account(store.as_ref(), "op.samarinda", Role::Operator, "64.72").await;
    let admin = account(store.as_ref(), "admin.prov", Role::Admin, "").await;
    store
        .open_round(
            &lentera::model::Round {
                period: "2026-03".parse().unwrap(),
                deadline: "2026-04-30".into(),
                expected: regions
                    .iter()
                    .filter(|r| r.kode.level() == lentera::region::Level::Kabupaten)
                    .map(|r| r.kode)
                    .collect(),
                opened_by: "admin.prov".into(),
                opened_at: lentera::model::account::now(),
                closed_by: None,
                closed_at: None,
            }
            .checked()
            .unwrap(),
        )
        .await
        .unwrap();
    let file = dir.path().join("verval-samarinda.xlsx");
    common::write_generated(&regions, SourceFormat::Verval, 2_500, 43, &file);
    let live = Live::load(store).await.unwrap();
    let _refresher = live.spawn_refresher(Duration::from_millis(500));
    let base = serve(live, with_uploads(dir.path())).await;
    let out = artifacts("web-verval");
    tokio::task::spawn_blocking(move || {
        run_node(
            "verval.mjs",
            &[
                &base,
                out.to_str().unwrap(),
                &operator,
                &admin,
                file.to_str().unwrap(),
                "2026-03",
            ],
            "kaltim",
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_list_is_built_in_the_program_view() {
    tokio::task::spawn_blocking(npm_ci).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, regions) =
        common::kaltim_sqlite(dir.path(), &[(SourceFormat::P3ke, 6_000, 51, "2026-03")]).await;
    let admin = account(store.as_ref(), "admin.prov", Role::Admin, "").await;
    // The beneficiary list: every third household of the imported file, and three numbers
    // the BNBA does not hold.
    let households = dir.path().join("p3ke.csv");
    common::write_generated(&regions, SourceFormat::P3ke, 6_000, 51, &households);
    let mut list = String::from("NIK;Nama\n");
    for (i, nik) in common::generated_niks(&households)
        .iter()
        .enumerate()
        .step_by(3)
    {
        list.push_str(&format!("'{nik};PENERIMA {i}\n"));
    }
    for i in 1..=3 {
        list.push_str(&format!("647201550190000{i};BUKAN BNBA\n"));
    }
    let list_file = dir.path().join("penerima-bedah-rumah.csv");
    std::fs::write(&list_file, list).unwrap();
    let live = Live::load(store).await.unwrap();
    let _refresher = live.spawn_refresher(Duration::from_millis(500));
    let base = serve(live, with_uploads(dir.path())).await;
    let out = artifacts("web-programs");
    tokio::task::spawn_blocking(move || {
        run_node(
            "programs.mjs",
            &[
                &base,
                out.to_str().unwrap(),
                &admin,
                list_file.to_str().unwrap(),
                "2026-03",
                "64.72",
            ],
            "kaltim",
        );
    })
    .await
    .unwrap();
}

/// The page's options with uploads into `dir/uploads`, hashed with the generated households'
/// secret.
fn with_uploads(dir: &Path) -> ServerOptions {
    ServerOptions {
        web_dir: web_dir(),
        uploads: lentera::server::batches::UploadOptions {
            dir: dir.join("uploads"),
            secret: Some(
                lentera::ingest::households::privacy::Secret::new(
                    "generated-households-secret-0123456789",
                )
                .unwrap(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Adds a user with a known password; returns `name:password:scope` for the browser checks.
async fn account(store: &dyn lentera::store::Store, name: &str, role: Role, scope: &str) -> String {
    let password = format!("sandi-{name}-2026");
    let user = NewUser::new(
        UserName::parse(name).unwrap(),
        role,
        scope
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| Kode::parse(k).unwrap())
            .collect(),
        &Password::new(password.clone()).unwrap(),
    )
    .unwrap();
    store.add_user(&user).await.unwrap();
    format!("{name}:{password}:{scope}")
}

/// Serves `live` on a free local port; returns its address.
async fn serve(live: Live, options: ServerOptions) -> String {
    let app = router_with(live, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_says_what_its_figures_rest_on_in_chromium() {
    tokio::task::spawn_blocking(npm_ci).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::scenario(dir.path()).await;
    let live = Live::load(store).await.unwrap();
    // A kabupaten with both files of 2025-06.
    let kabupaten = {
        let snap = live.snapshot();
        let p = snap
            .period(Some("2025-06".parse().unwrap()))
            .unwrap()
            .period;
        snap.units()
            .iter()
            .enumerate()
            .find(|(u, unit)| {
                unit.info.level == lentera::region::Level::Kabupaten
                    && snap.sources_of(*u as u32, p).count() == 2
            })
            .map(|(_, unit)| unit.info.kode.to_string())
            .unwrap()
    };
    let base = serve(
        live,
        ServerOptions {
            web_dir: web_dir(),
            ..Default::default()
        },
    )
    .await;
    let out = artifacts("web-map-sumber");
    tokio::task::spawn_blocking(move || {
        run_node(
            "sources.mjs",
            &[
                &base,
                out.to_str().unwrap(),
                "2025-06",
                "2024-12",
                &kabupaten,
            ],
            "kaltim",
        );
    })
    .await
    .unwrap();
}

/// Kills the demo server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the server on `port` answers `/healthz` with 200.
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    s.write_all(request.as_bytes()).is_ok()
        && s.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

#[test]
fn the_demo_command_serves_a_working_map() {
    npm_ci();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Child(
        Command::new(env!("CARGO_BIN_EXE_lentera"))
            .args(["demo", "--port", &port.to_string(), "--data-dir"])
            .arg(dir.path())
            .env("LENTERA_WEB_DIR", web_dir())
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if healthy(port) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the demo server did not start"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    run_browser_checks(&base, "demo", &artifacts("web-map-demo"));
}

#[tokio::test]
async fn the_search_finds_units_by_name_variant_and_code() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let (store, regions) = common::kaltim_sqlite(dir.path(), &[]).await;
    let without_maplibre = tempfile::tempdir().unwrap();
    let app = router_with(
        Live::load(store).await.unwrap(),
        ServerOptions {
            web_dir: without_maplibre.path().to_path_buf(),
            ..Default::default()
        },
    );
    let get = |uri: String| {
        let app = app.clone();
        async move {
            let resp = app
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let first = |body: &str| -> (String, String) {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let r = &v["results"][0];
        (
            r["kode"].as_str().unwrap_or_default().into(),
            r["level"].as_str().unwrap_or_default().into(),
        )
    };
    // A name: the kecamatan before desa of a similar name, with its kota as parent.
    let (status, body) = get("/api/search?q=palaran".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first(&body), ("64.72.01".into(), "kecamatan".into()));
    assert!(body.contains("Kota Samarinda"), "{body}");
    // A clerk's spelling: "Sei" for "Sungai", with the administrative prefix.
    let (_, body) = get("/api/search?q=Kel.%20Sei%20Kapih".into()).await;
    let (kode, level) = first(&body);
    assert_eq!(level, "desa", "{body}");
    let nama = regions.iter().find(|r| r.kode.to_string() == kode).unwrap();
    assert_eq!(nama.nama.to_lowercase(), "sungai kapih");
    // A code, dotted or not.
    for q in ["64.72.01", "647201"] {
        let (_, body) = get(format!("/api/search?q={q}")).await;
        assert_eq!(first(&body).0, "64.72.01", "{q}: {body}");
    }
    let (_, body) = get("/api/search?q=zzzz-tidak-ada".into()).await;
    assert!(body.contains("\"results\":[]"), "{body}");
    assert!(body.contains("\"did_you_mean\":[]"), "{body}");
    // A typo finds nothing, and the closest names are offered ("Maksud Anda …?").
    let meant = |body: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["did_you_mean"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    for (typo, name) in [
        ("Tengarong", "Tenggarong"),
        ("Sangata", "Sangatta"),
        ("Balikpapn", "Balikpapan"),
        ("kutai timr", "Kutai Timur"),
    ] {
        let (status, body) = get(format!("/api/search?q={}", typo.replace(' ', "%20"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            meant(&body).first().map(String::as_str),
            Some(name),
            "{typo}: {body}"
        );
        // The name offered finds the unit.
        let (_, found) = get(format!("/api/search?q={}", name.replace(' ', "%20"))).await;
        let v: serde_json::Value = serde_json::from_str(&found).unwrap();
        assert!(
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["nama"].as_str().unwrap().contains(name)),
            "{name}: {found}"
        );
        assert!(meant(&found).is_empty(), "{name}: {found}");
    }
    // A name that matches is not second-guessed, and a short query gets no guesses.
    for q in ["Palaran", "sam", "64.72"] {
        let (_, body) = get(format!("/api/search?q={q}")).await;
        assert!(meant(&body).is_empty(), "{q}: {body}");
    }
    for uri in [
        "/api/search",
        "/api/search?q=a&limit=0",
        "/api/search?q=a&limit=x",
    ] {
        let (status, _) = get(uri.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
    }
    // The page and its own script are in the binary; MapLibre missing is said in words.
    let (status, page) = get("/".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/vendor/maplibre-gl.js") && page.contains("lang=\"id\""));
    let (status, script) = get("/app.js".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains("maplibregl.Map"));
    let (status, message) = get("/vendor/maplibre-gl.js".into()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(message.contains("npm ci"), "{message}");
    let (status, _) = get("/vendor/other.js".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Installed after the server started (`npm ci` in another terminal), MapLibre is found on
    // the next request and served gzip-compressed to browsers that accept it.
    let dist = without_maplibre
        .path()
        .join("node_modules/maplibre-gl/dist");
    std::fs::create_dir_all(&dist).unwrap();
    let script = "/* maplibre */ var maplibregl = {};".repeat(100);
    std::fs::write(dist.join("maplibre-gl.js"), &script).unwrap();
    std::fs::write(dist.join("maplibre-gl.css"), ".maplibregl-map {}").unwrap();
    let (status, css) = get("/vendor/maplibre-gl.css".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(css, ".maplibregl-map {}");
    let resp = app
        .clone()
        .oneshot(
            Request::get("/vendor/maplibre-gl.js")
                .header("accept-encoding", "gzip, br")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let gz = resp.into_body().collect().await.unwrap().to_bytes();
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    assert_eq!(plain, script);
    assert!(gz.len() < script.len() / 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pmtiles_archive_holds_the_tiles_the_server_serves() {
    use lentera::tiles::mercator::tiles_covering;
    tokio::task::spawn_blocking(npm_ci).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (store, _) =
        common::kaltim_sqlite(&data, &[(SourceFormat::P3ke, 4_000, 51, "2025-03")]).await;
    let archive = dir.path().join("kaltim.pmtiles");
    let out = common::lentera(
        &data,
        &[
            "export",
            "pmtiles",
            "--maxzoom",
            "12",
            "-o",
            archive.to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("up to zoom 12"), "{said}");
    // The server anonymous visitors see: the same figures, small units hidden the same way.
    let live = Live::load(store).await.unwrap();
    let base = serve(live.clone(), ServerOptions::default()).await;
    // Tiles over Samarinda, Balikpapan and a corner of the Makassar Strait, at every zoom the
    // archive holds from 4 up, and one outside the province.
    let mut samples = Vec::new();
    for (lon, lat) in [(117.15, -0.50), (116.85, -1.24), (118.4, -1.6)] {
        for z in 4..=12u8 {
            let (x, y, _, _) = tiles_covering([lon, lat, lon, lat], z);
            samples.push(format!("{z}/{x}/{y}"));
        }
    }
    samples.push("9/300/200".into());
    let archive_path = archive.to_str().unwrap().to_string();
    let json = tokio::task::spawn_blocking(move || {
        npm_ci();
        let out = Command::new("node")
            .arg(web_dir().join("e2e").join("pmtiles.mjs"))
            .args([&archive_path, &base, &samples.join(",")])
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap();
    let header = &json["header"];
    assert_eq!(header["specVersion"], 3);
    assert_eq!(header["tileType"], 1, "MVT");
    assert_eq!(header["tileCompression"], 2, "gzip");
    assert_eq!(header["clustered"], true);
    assert_eq!(
        (header["minZoom"].as_u64(), header["maxZoom"].as_u64()),
        (Some(0), Some(12))
    );
    assert!(header["numTileContents"].as_u64() < header["numAddressedTiles"].as_u64());
    let layers: Vec<&str> = json["metadata"]["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        layers,
        [
            "kabupaten",
            "kabupaten_label",
            "kecamatan",
            "kecamatan_label",
            "kecamatan_batas",
            "desa",
            "desa_label",
            "desa_batas"
        ]
    );
    assert_eq!(json["metadata"]["lentera:period"], "2025-03");
    let results = json["results"].as_array().unwrap();
    for r in results {
        assert_eq!(r["equal"], true, "{r}");
    }
    let filled = results
        .iter()
        .filter(|r| r["archived"].as_u64() > Some(0))
        .count();
    assert!(
        filled >= 20,
        "{filled} of the samples hold tiles: {results:?}"
    );
    assert!(
        results.iter().any(|r| r["archived"] == 0),
        "an empty tile among them"
    );

    // The page draws the archive instead of the server's tiles.
    let page_base = serve(
        live,
        ServerOptions {
            web_dir: web_dir(),
            ..Default::default()
        },
    )
    .await;
    let out = artifacts("web-pmtiles");
    let archive_path = archive.to_str().unwrap().to_string();
    tokio::task::spawn_blocking(move || {
        run_node(
            "pmtiles.page.mjs",
            &[&page_base, &archive_path, out.to_str().unwrap()],
            "kaltim",
        );
    })
    .await
    .unwrap();
}
