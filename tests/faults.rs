//! Faults while serving: PostGIS stopped under a running server (store-backed requests answer
//! 503 in words, the map keeps serving from memory, everything recovers without a restart
//! once PostGIS is back); the disk of either store filling up during an import. In a test binary of its own: it stops the process's throwaway
//! cluster.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// It says why a test could not run here, and what a refused import answered.
#![allow(clippy::print_stderr)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};

use lentera::model::{Role, SourceFormat};
use lentera::server::Live;
use lentera::store::{PostgisStore, Store};

const ADMIN: &str = "lt_test_faults_admin_0123456789abcdef";

/// Held by each test that uses the throwaway cluster: one of them stops it.
static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgis_stopped_and_back_while_serving() {
    let _cluster = CLUSTER.lock().await;
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    let regions = common::load_kaltim(store.as_ref()).await;
    common::import_generated(
        store.as_ref(),
        &regions,
        SourceFormat::Dtsen,
        2000,
        5,
        "2025-09",
    )
    .await;
    common::user_with_token(store.as_ref(), "admin", Role::Admin, &[], ADMIN).await;
    let live = Live::load(store).await.unwrap();
    let app = common::exact_router(live.clone());
    let auth = format!("Bearer {ADMIN}");
    let with_token = [(header::AUTHORIZATION, auth.as_str())];
    let get = |uri: &'static str, token: bool| {
        let app = app.clone();
        let headers: Vec<(header::HeaderName, &str)> = if token {
            with_token.to_vec()
        } else {
            Vec::new()
        };
        async move { common::fetch(&app, uri, &headers).await }
    };
    assert_eq!(get("/api/batches", true).await.status, StatusCode::OK);
    let before = get("/api/indicators?level=kabupaten", false).await;
    assert_eq!(before.status, StatusCode::OK);

    common::postgis_running(false);
    // The map keeps serving from memory.
    let during = get("/api/indicators?level=kabupaten", false).await;
    assert_eq!(during.status, StatusCode::OK);
    assert_eq!(during.body, before.body, "the same figures");
    assert!(get("/tiles/kabupaten/6/50/31.mvt", false)
        .await
        .status
        .is_success());
    // Store-backed requests say so in words.
    let health = get("/healthz", false).await;
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        health.text()
    );
    let rounds = get("/api/rounds", true).await;
    assert_eq!(
        rounds.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        rounds.text()
    );
    assert!(
        rounds.text().contains("the data store is not available"),
        "{}",
        rounds.text()
    );
    assert!(
        !rounds.text().contains("postgres"),
        "no detail leaks: {}",
        rounds.text()
    );
    // A refresh fails and keeps the snapshot.
    assert!(live.refresh().await.is_err());
    assert_eq!(
        get("/api/indicators?level=kabupaten", false).await.status,
        StatusCode::OK
    );

    common::postgis_running(true);
    // Back without a restart (a pooled connection cut by the stop may fail once).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = get("/api/rounds", true).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not back after 30 s: {}",
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get("/healthz", false).await.status, StatusCode::OK);
    assert!(live.refresh().await.is_ok());
}

/// Mounts a tmpfs of `mib` MiB at `dir`; `false` (with the reason printed) where this
/// machine does not allow mounting.
fn mount_tmpfs(dir: &std::path::Path, mib: u32) -> bool {
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
        .arg(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "skipped: cannot mount a tmpfs here ({})",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("skipped: cannot run mount ({e})");
            false
        }
    }
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// The store on a disk too small for a 300,000-household import: the import fails in words,
/// the store is as before, and a small import fits again once `make_room` has run (nothing
/// for SQLite, whose rollback gives the room back; PostgreSQL keeps the failed rows' pages,
/// and cannot even open a connection to a database whose disk is full, until an
/// administrator frees space). `settle` runs after the first small import (PostgreSQL's
/// autovacuum visits a table after its first inserts).
async fn fill_the_disk(
    store: Arc<dyn Store>,
    work: &std::path::Path,
    settle: Option<&tokio_postgres::Client>,
    make_room: impl FnOnce(),
) {
    use lentera::app::{import_households, store_geocoder, HouseholdImportOptions};
    use lentera::ingest::households::privacy::Secret;
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let secret = Secret::new("full-disk-secret-0123456789abcdef").unwrap();
    let geocoder = store_geocoder(store.as_ref()).await.unwrap();
    let opts = HouseholdImportOptions {
        file: Default::default(),
        period: "2025-09".parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    let small = work.join("small.csv");
    common::write_generated(&regions, SourceFormat::Dtsen, 500, 1, &small);
    import_households(store.as_ref(), &small, &opts, &secret, geocoder.clone())
        .await
        .unwrap();
    if let Some(client) = settle {
        client.batch_execute("VACUUM").await.unwrap();
    }
    let before = store.batches().await.unwrap();
    let households_before = store.household_facts(None).await.unwrap().len();

    // A file far larger than the disk's room.
    let big = work.join("big.csv");
    common::write_generated(&regions, SourceFormat::Dtsen, 300_000, 2, &big);
    let err = import_households(store.as_ref(), &big, &opts, &secret, geocoder.clone())
        .await
        .expect_err("the disk is too small for this import");
    let text = err.to_string();
    eprintln!("the import on a full disk answered: {text}");
    assert!(
        text.contains("the disk holding the store is full"),
        "the error says the disk is full: {text}"
    );
    make_room();
    assert_eq!(store.batches().await.unwrap(), before, "no batch recorded");
    assert_eq!(
        store.household_facts(None).await.unwrap().len(),
        households_before
    );

    // The store goes on working: the live snapshot loads, and a small import fits again.
    Live::load(store.clone()).await.unwrap();
    let again = work.join("again.csv");
    common::write_generated(&regions, SourceFormat::Dtsen, 200, 3, &again);
    import_households(store.as_ref(), &again, &opts, &secret, geocoder)
        .await
        .unwrap();
    assert_eq!(store.batches().await.unwrap().len(), before.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_during_an_import_leaves_the_store_as_it_was() {
    use lentera::store::SqliteStore;
    let work = tempfile::tempdir().unwrap();
    let disk = work.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    if !mount_tmpfs(&disk, 12) {
        return;
    }
    let _mounted = Mounted(disk.clone());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&disk).await.unwrap());
    fill_the_disk(store, work.path(), None, || {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_postgis_disk_during_an_import_leaves_the_store_as_it_was() {
    let _cluster = CLUSTER.lock().await;
    let work = tempfile::tempdir().unwrap();
    let disk = work.path().join("pgdisk");
    std::fs::create_dir_all(&disk).unwrap();
    // The PostGIS extension's own tables take about 8 MiB of it.
    if !mount_tmpfs(&disk, 40) {
        return;
    }
    let mounted = Mounted(disk.clone());
    let chown = std::process::Command::new("chown")
        .args(["postgres:postgres"])
        .arg(&disk)
        .status();
    if !chown.is_ok_and(|s| s.success()) {
        eprintln!("skipped: the tmpfs cannot be given to the postgres user");
        return;
    }
    // A database whose every table lives in a tablespace on the small disk.
    let url = common::fresh_postgis_url().await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE TABLESPACE kecil LOCATION '{}'",
            disk.display()
        ))
        .await
        .unwrap();
    client
        .batch_execute("CREATE DATABASE lentera_disk_full TABLESPACE kecil")
        .await
        .unwrap();
    let small_url = format!("{}/lentera_disk_full", url.rsplit_once('/').unwrap().0);
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&small_url).await.unwrap());
    let (settle, settle_conn) = tokio_postgres::connect(&small_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let settle_task = tokio::spawn(settle_conn);
    let grow = || {
        let grown = std::process::Command::new("mount")
            .args(["-o", "remount,size=120m"])
            .arg(&disk)
            .status();
        assert!(grown.is_ok_and(|s| s.success()), "the tmpfs grows");
    };
    fill_the_disk(store.clone(), work.path(), Some(&settle), grow).await;
    drop((store, settle));
    let _ = settle_task.await;
    // Leave the cluster without the tablespace, so that the disk can go.
    client
        .batch_execute("DROP DATABASE lentera_disk_full WITH (FORCE)")
        .await
        .unwrap();
    client.batch_execute("DROP TABLESPACE kecil").await.unwrap();
    drop(client);
    let _ = task.await;
    drop(mounted);
}

/// A `lentera demo` server on `port` over `data_dir`, killed when dropped.
struct Demo(std::process::Child);

impl Demo {
    fn start(data_dir: &std::path::Path, port: u16) -> Demo {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["demo", "--port", &port.to_string(), "--refresh-secs", "0.2"])
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let demo = Demo(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(
            port,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            &[],
        )
        .is_none_or(|r| !r.starts_with("HTTP/1.1 200"))
        {
            assert!(Instant::now() < deadline, "the demo server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        demo
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `head` then `body` to the server on `port`; the whole answer, if any.
fn http(port: u16, head: &str, body: &[u8]) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn a_server_killed_mid_upload_restarts_on_the_last_committed_state() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = common::free_port();
    let lentera = |args: &[&str]| common::lentera(&data, args);
    let demo = Demo::start(&data, port);
    let token = lentera(&["tokens", "create", "demo.admin"]);
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let batches_before = String::from_utf8(lentera(&["households", "batches"]).stdout).unwrap();
    // A large file over the demo province.
    let big = tmp.path().join("besar.csv");
    let out = lentera(&[
        "generate",
        "households",
        "--format",
        "dtsen",
        "--count",
        "400000",
        "--seed",
        "9",
        "-o",
        big.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&big).unwrap();
    let head = format!(
        "POST /api/batches?period=2026-03&name=besar.csv HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {token}\r\nX-Upload-Id: kill-test-0001\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    let uploading = std::thread::spawn(move || http(port, &head, &bytes));
    // Kill -9 once the import has begun reading rows.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let p = http(
            port,
            &format!(
                "GET /api/uploads/kill-test-0001 HTTP/1.1\r\nHost: x\r\n\
                 Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            ),
            &[],
        )
        .unwrap_or_default();
        if p.contains("\"phase\":\"mengimpor\"") && !p.contains("\"rows\":0,") {
            break;
        }
        assert!(Instant::now() < deadline, "the import did not start: {p}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut demo = demo;
    let _ = demo.0.kill(); // SIGKILL
    let _ = demo.0.wait();
    let _ = uploading.join();
    let left: Vec<_> = std::fs::read_dir(data.join("uploads")).unwrap().collect();
    assert_eq!(left.len(), 1, "the killed server left its upload behind");
    drop(demo);

    // Restarted: the last committed state, and the leftover upload removed.
    let _demo = Demo::start(&data, port);
    let batches_after = String::from_utf8(lentera(&["households", "batches"]).stdout).unwrap();
    assert_eq!(batches_after, batches_before, "no partial batch");
    assert_eq!(std::fs::read_dir(data.join("uploads")).unwrap().count(), 0);
    let health = http(
        port,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        &[],
    );
    assert!(health.unwrap().starts_with("HTTP/1.1 200"));
}
