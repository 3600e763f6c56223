//! Benchmark: serving the desa layer of the real Kalimantan Timur boundaries as vector tiles,
//! Lentera against Martin on the same data in the same run.
//!
//! Lentera serves from its snapshot (households generated and imported first, so the tiles
//! carry their indicators). Martin (`martin` on `PATH`, or `MARTIN_BIN`; build it with
//! `cargo install martin@1.14.0 --locked --no-default-features --features postgres --root DIR`)
//! serves a PostGIS table of the same desa polygons with the same indicator columns. Both are
//! asked for every tile of zooms 8–12 over the province, over HTTP on two keep-alive
//! connections; Lentera once with its tile cache off (every tile rendered) and once warm.
//! Prints tiles/s, bytes, and the ratios.
//!
//! Then the cost of the audit trail: the household layer over the same tiles, served warm to
//! an admin's API token, once with every tile read appended to the audit trail in PostGIS
//! (as the server does) and once with the records discarded; the ratio is what auditing
//! costs tile serving. `cargo bench --bench tiles`.

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lentera::model::SourceFormat;
use lentera::model::{AuditAction, AuditFilter, Role};
use lentera::server::audit::AuditLog;
use lentera::server::{router_over, router_with, AppState, Live, ServerOptions};
use lentera::store::{PostgisStore, Store};
use lentera::tiles::mercator::tiles_covering;

/// Indicator columns both servers put in every desa feature.
const COLUMNS: [&str; 6] = [
    "households",
    "people",
    "desil_1",
    "desil_1_4",
    "pkh",
    "desa_unknown",
];

/// One HTTP/1.1 keep-alive connection that GETs paths and returns the body sizes.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).expect("server is listening");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            host: addr.to_string(),
        }
    }

    /// Status and body length of `GET path` (gzip accepted, as browsers do).
    fn get(&mut self, path: &str) -> (u16, usize) {
        let auth = std::env::var("BENCH_BEARER")
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            self.writer,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: gzip\r\n{auth}\r\n",
            self.host
        )
        .unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let (mut length, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        if !chunked {
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).unwrap();
            return (status, length);
        }
        let mut total = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk).unwrap();
            total += size;
            if size == 0 {
                return (status, total);
            }
        }
    }
}

/// Fetches every path on two connections; returns seconds, tiles with data and bytes.
fn fetch_all(addr: &str, paths: &[String]) -> (f64, usize, usize) {
    let started = Instant::now();
    let halves: Vec<&[String]> = paths.chunks(paths.len().div_ceil(2)).collect();
    let results: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = halves
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    let mut c = Client::connect(addr);
                    let (mut tiles, mut bytes) = (0, 0);
                    for p in part {
                        let (status, len) = c.get(p);
                        assert!(status == 200 || status == 204, "{p}: HTTP {status}");
                        tiles += usize::from(status == 200);
                        bytes += len;
                    }
                    (tiles, bytes)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let tiles = results.iter().map(|r| r.0).sum();
    let bytes = results.iter().map(|r| r.1).sum();
    (secs, tiles, bytes)
}

fn wait_for(addr: &str, path: &str) {
    for _ in 0..300 {
        if let Ok(s) = TcpStream::connect(addr) {
            drop(s);
            let mut c = Client::connect(addr);
            if c.get(path).0 == 200 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{addr}{path} never answered");
}

#[tokio::main]
async fn main() {
    let url = common::fresh_postgis_url().await;
    let store = Arc::new(PostgisStore::connect(&url).await.unwrap());
    let regions = common::load_kaltim(store.as_ref()).await;
    common::import_generated(
        store.as_ref(),
        &regions,
        SourceFormat::P3ke,
        100_000,
        3,
        "2025-06",
    )
    .await;
    let live = Live::load(store.clone() as Arc<dyn Store>).await.unwrap();
    let snap = live.snapshot();

    // The same desa with the same indicator columns, as a table Martin publishes.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let cols: Vec<String> = COLUMNS.iter().map(|c| format!("{c} bigint")).collect();
    client
        .batch_execute(&format!(
            "CREATE TABLE desa_indikator (kode text PRIMARY KEY, nama text, {});",
            cols.join(", ")
        ))
        .await
        .unwrap();
    let period = snap.period(None);
    for u in 0..snap.units().len() as u32 {
        let info = &snap.unit(u).info;
        if info.level != lentera::region::Level::Desa {
            continue;
        }
        let values: Vec<Option<i64>> = COLUMNS
            .iter()
            .map(|c| {
                c.parse::<lentera::aggregate::Indicator>()
                    .ok()
                    .and_then(|i| i.value(period.and_then(|p| p.counts(u)), snap.denominators(u)))
                    .map(|v| v as i64)
            })
            .collect();
        let placeholders: Vec<String> = (3..3 + COLUMNS.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO desa_indikator VALUES ($1, $2, {})",
            placeholders.join(", ")
        );
        let kode = info.kode.to_string();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&kode, &info.nama];
        for v in &values {
            params.push(v);
        }
        client.execute(&sql, &params).await.unwrap();
    }
    client
        .batch_execute(
            "CREATE TABLE desa_tiles AS
               SELECT d.*, ST_Transform(r.geom, 3857)::geometry(MultiPolygon, 3857) AS geom
               FROM desa_indikator d JOIN regions r ON r.kode = d.kode;
             CREATE INDEX ON desa_tiles USING gist (geom); ANALYZE desa_tiles;",
        )
        .await
        .unwrap();

    // Every tile of zooms 8–12 over the province.
    let bbox = [113.8, -2.5, 119.1, 2.6];
    let mut tiles = Vec::new();
    for z in 8..=12u8 {
        let (x0, y0, x1, y1) = tiles_covering(bbox, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                tiles.push((z, x, y));
            }
        }
    }
    println!("{} tiles of zooms 8–12 over Kalimantan Timur", tiles.len());

    // Lentera, cache off, then warm.
    let mut results = Vec::new();
    for (name, cache) in [
        ("lentera (every tile rendered)", 0u64),
        ("lentera (warm cache)", 256 << 20),
    ] {
        let app = router_with(
            live.clone(),
            ServerOptions {
                tile_cache_bytes: cache,
                ..Default::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let paths: Vec<String> = tiles
            .iter()
            .map(|(z, x, y)| format!("/tiles/desa/{z}/{x}/{y}.mvt"))
            .collect();
        let a = addr.clone();
        if cache > 0 {
            let p = paths.clone();
            tokio::task::spawn_blocking(move || fetch_all(&a, &p))
                .await
                .unwrap();
        }
        let a = addr.clone();
        let (secs, n, bytes) = tokio::task::spawn_blocking(move || fetch_all(&a, &paths))
            .await
            .unwrap();
        server.abort();
        results.push((name.to_string(), secs, n, bytes));
    }

    // Martin on the same table.
    let martin = std::env::var("MARTIN_BIN").unwrap_or_else(|_| "martin".into());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    match std::process::Command::new(&martin)
        .args(["--listen-addresses", &addr, "--workers", "2", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Err(e) => println!("Martin not run ({martin}: {e}); set MARTIN_BIN"),
        Ok(mut child) => {
            wait_for(&addr, "/catalog");
            let paths: Vec<String> = tiles
                .iter()
                .map(|(z, x, y)| format!("/desa_tiles/{z}/{x}/{y}"))
                .collect();
            let a = addr.clone();
            let (secs, n, bytes) = tokio::task::spawn_blocking(move || fetch_all(&a, &paths))
                .await
                .unwrap();
            let _ = child.kill();
            let _ = child.wait();
            results.push(("martin 1.14 (PostGIS ST_AsMVT)".into(), secs, n, bytes));
        }
    }
    for (name, secs, n, bytes) in &results {
        println!(
            "{name:<34} {:>8.0} tiles/s  ({} tiles, {n} with data, {:.1} MB gzip, {secs:.2} s)",
            tiles.len() as f64 / secs,
            tiles.len(),
            *bytes as f64 / 1e6
        );
    }
    if let Some(m) = results.iter().find(|r| r.0.starts_with("martin")) {
        for r in results.iter().filter(|r| r.0.starts_with("lentera")) {
            println!("ratio, {} / martin = {:.1}×", r.0, m.1 / r.1);
        }
    }

    audit_cost(&live, store.as_ref(), &tiles).await;
}

/// Timed passes over the household tiles per mode.
const PASSES: usize = 5;

/// Household tiles served warm to an admin token, audited to PostGIS and with the records
/// discarded.
async fn audit_cost(live: &Live, store: &dyn Store, tiles: &[(u8, u32, u32)]) {
    let token = "lt_bench_admin_token_0123456789abcdef";
    common::user_with_token(store, "bench.admin", Role::Admin, &[], token).await;
    // The client threads read the token from the environment (set before they start).
    std::env::set_var("BENCH_BEARER", token);
    let paths: Vec<String> = tiles
        .iter()
        .map(|(z, x, y)| format!("/tiles/households/{z}/{x}/{y}.mvt"))
        .collect();
    let filter = AuditFilter {
        action: Some(AuditAction::HouseholdRead),
        ..Default::default()
    };
    let mut rates = Vec::new();
    for audited in [true, false] {
        let mut state = AppState::new(live.clone(), ServerOptions::default());
        if !audited {
            state.audit = AuditLog::discarding();
        }
        let app = router_over(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let (a, p) = (addr.clone(), paths.clone());
        tokio::task::spawn_blocking(move || fetch_all(&a, &p))
            .await
            .unwrap();
        state.audit.flush().await;
        let before = store
            .audit(&filter, 0, 10_000_000)
            .await
            .unwrap()
            .last()
            .map_or(0, |r| r.id);
        // Five passes; the median is reported (one pass is a fraction of a second).
        let mut passes = Vec::new();
        let (mut n, mut bytes) = (0, 0);
        for _ in 0..PASSES {
            let (a, p) = (addr.clone(), paths.clone());
            let got = tokio::task::spawn_blocking(move || fetch_all(&a, &p))
                .await
                .unwrap();
            passes.push(got.0);
            (n, bytes) = (got.1, got.2);
        }
        passes.sort_by(f64::total_cmp);
        let secs = passes[PASSES / 2];
        state.audit.flush().await;
        let records = store.audit(&filter, before, 10_000_000).await.unwrap();
        let appended = records.len();
        let reads: usize = records
            .iter()
            .map(|r| r.entry.params.split(' ').count())
            .sum();
        server.abort();
        let name = if audited {
            "households, audited (PostGIS)"
        } else {
            "households, records discarded"
        };
        println!(
            "{name:<34} {:>8.0} tiles/s  (median of {PASSES} passes; {n} with data, {:.1} MB gzip, {secs:.2} s; {appended} audit records appended, listing {reads} tile reads)",
            paths.len() as f64 / secs,
            bytes as f64 / 1e6
        );
        rates.push(paths.len() as f64 / secs);
    }
    println!(
        "ratio, audited / discarded = {:.2}× (1.00: auditing costs nothing measurable)",
        rates[0] / rates[1]
    );
}
