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
use lentera::server::{router_over, AppState, Live, ServerOptions};
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

    // The desa tiles of zooms 8–12 (where both servers draw desa), each tile that a desa's
    // box touches, in a fixed shuffled order.
    let mut tiles = std::collections::BTreeSet::new();
    for u in 0..snap.units().len() as u32 {
        let info = &snap.unit(u).info;
        let (Some(bbox), lentera::region::Level::Desa) = (info.bbox, info.level) else {
            continue;
        };
        for z in 8..=12u8 {
            let (x0, y0, x1, y1) = tiles_covering(bbox, z);
            for x in x0..=x1 {
                for y in y0..=y1 {
                    tiles.insert((z, x, y));
                }
            }
        }
    }
    let mut tiles: Vec<(u8, u32, u32)> = tiles.into_iter().collect();
    shuffle(&mut tiles, 0x5eed);
    println!(
        "{} desa tiles of zooms 8–12 over Kalimantan Timur, shuffled; wrk {WRK_THREADS} threads × {CONNECTIONS} connections, {}s per sustained regime; first pass: every tile once over {CONNECTIONS} connections",
        tiles.len(),
        sustained_secs()
    );
    let dir = tempfile::tempdir().unwrap();
    let lentera_paths: Vec<String> = tiles
        .iter()
        .map(|(z, x, y)| format!("/tiles/desa/{z}/{x}/{y}.mvt"))
        .collect();
    let martin_paths: Vec<String> = tiles
        .iter()
        .map(|(z, x, y)| format!("/desa_tiles/{z}/{x}/{y}"))
        .collect();

    let mut table: Vec<Regime> = Vec::new();
    // Lentera: the production server (`lentera serve`) on the same PostGIS.
    for (cache_mib, prerender) in [(256u64, true), (0, true), (256, false), (0, false)] {
        let server = Server::lentera(&url, cache_mib, prerender);
        let first = (cache_mib > 0).then(|| first_pass(&server.addr, &lentera_paths));
        let sustained = wrk(&server.addr, &lentera_paths, dir.path(), true);
        let identity = (cache_mib > 0 && prerender)
            .then(|| wrk(&server.addr, &lentera_paths, dir.path(), false));
        let name = match (cache_mib > 0, prerender) {
            (true, true) => "lentera",
            (true, false) => "lentera, pyramid off",
            (false, true) => "lentera, tile cache off",
            (false, false) => "lentera, tile cache and pyramid off",
        };
        table.push(Regime {
            server: name.into(),
            ready_secs: server.ready_secs,
            first,
            sustained,
            identity,
            cache: cache_mib > 0,
        });
    }
    // Martin on the same table, with its tile cache (default 512 MB) and without.
    let martin = std::env::var("MARTIN_BIN").unwrap_or_else(|_| "martin".into());
    for cache_mb in [512u64, 0] {
        let Some(server) = Server::martin(&martin, &url, cache_mb) else {
            println!("Martin not run ({martin}); set MARTIN_BIN");
            break;
        };
        let first = (cache_mb > 0).then(|| first_pass(&server.addr, &martin_paths));
        let sustained = wrk(&server.addr, &martin_paths, dir.path(), true);
        let identity = (cache_mb > 0).then(|| wrk(&server.addr, &martin_paths, dir.path(), false));
        table.push(Regime {
            server: if cache_mb > 0 {
                "martin 1.14".into()
            } else {
                "martin 1.14, cache off".into()
            },
            ready_secs: server.ready_secs,
            first,
            sustained,
            identity,
            cache: cache_mb > 0,
        });
    }
    print_regimes(&table);

    audit_cost(&live, store.as_ref(), &tiles).await;
}

/// wrk's threads and connections in the sustained regimes; also the first pass's
/// connections.
const WRK_THREADS: usize = 2;
const CONNECTIONS: usize = 64;

/// Seconds per sustained regime (`BENCH_SECS`, default 15).
fn sustained_secs() -> u64 {
    std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

/// Fisher–Yates with a fixed xorshift seed: the same order in every run.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Requests per second and latency percentiles (ms) of one regime.
#[derive(Debug, Clone, Copy, Default)]
struct Rate {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

struct Regime {
    server: String,
    ready_secs: f64,
    first: Option<Rate>,
    sustained: Rate,
    /// Warm, without `Accept-Encoding: gzip`.
    identity: Option<Rate>,
    cache: bool,
}

/// A tile server process, killed when dropped.
struct Server {
    child: std::process::Child,
    addr: String,
    ready_secs: f64,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `lentera serve` on the PostGIS at `url`; ready once it answers and its tiles are
    /// prepared (the pyramid pre-rendered when `prerender`).
    fn lentera(url: &str, cache_mib: u64, prerender: bool) -> Server {
        let port = common::free_port();
        let addr = format!("127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", url, "serve", "--port", &port.to_string()])
            .args(["--tile-cache-mib", &cache_mib.to_string()])
            .args(["--prerender-tiles", if prerender { "100000" } else { "0" }])
            .env("LENTERA_SECRET", "tile-benchmark-secret-0123456789abcdef")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            addr,
            ready_secs: 0.0,
            _dir: Some(dir),
        };
        for _ in 0..1200 {
            if let Some(body) = get_body(&server.addr, "/healthz") {
                if body.contains("\"prepared\":true") {
                    server.ready_secs = started.elapsed().as_secs_f64();
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("lentera serve never became ready");
    }

    /// Martin publishing the PostGIS at `url` with a tile cache of `cache_mb` (0: none).
    fn martin(bin: &str, url: &str, cache_mb: u64) -> Option<Server> {
        let port = common::free_port();
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        let child = std::process::Command::new(bin)
            .args(["--listen-addresses", &addr, "--workers", "2"])
            .args(["--cache-size", &cache_mb.to_string(), url])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let mut server = Server {
            child,
            addr,
            ready_secs: 0.0,
            _dir: None,
        };
        wait_for(&server.addr, "/catalog");
        server.ready_secs = started.elapsed().as_secs_f64();
        Some(server)
    }
}

/// The body of `GET path` on a fresh connection, if it answers 200.
fn get_body(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200").then_some(out)
}

/// Every path once, over `CONNECTIONS` keep-alive connections taking the next path in turn:
/// tiles per second and latency.
fn first_pass(addr: &str, paths: &[String]) -> Rate {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let mut latencies: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let next = &next;
                s.spawn(move || {
                    let mut c = Client::connect(addr);
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(p) = paths.get(i) else { break lat };
                        let t = Instant::now();
                        let (status, _) = c.get(p);
                        assert!(status == 200 || status == 204, "{p}: HTTP {status}");
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Rate {
        per_sec: paths.len() as f64 / secs,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        errors: 0,
    }
}

/// wrk against `addr`, each thread walking the shuffled `paths` from its own offset, gzip
/// accepted as browsers do (or not, as some GIS clients and scripts).
fn wrk(addr: &str, paths: &[String], dir: &std::path::Path, gzip: bool) -> Rate {
    let list = dir.join(format!("paths-{}.txt", addr.replace(':', "-")));
    std::fs::write(&list, paths.join("\n")).unwrap();
    let script = dir.join(if gzip { "gzip.lua" } else { "identity.lua" });
    let headers = if gzip {
        r#"{["Accept-Encoding"] = "gzip"}"#
    } else {
        "{}"
    };
    std::fs::write(
        &script,
        format!(
            r#"local paths = {{}}
for line in io.lines("{}") do paths[#paths + 1] = line end
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 997)
end
local i = 0
function init(args) i = offset or 0 end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {})
end
"#,
            list.display(),
            headers
        ),
    )
    .unwrap();
    let out = std::process::Command::new("wrk")
        .args([
            "-t",
            &WRK_THREADS.to_string(),
            "-c",
            &CONNECTIONS.to_string(),
        ])
        .args(["-d", &format!("{}s", sustained_secs()), "--latency", "-s"])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .output()
        .expect("wrk is installed (Debian package wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    let ms = |v: String| {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let n: f64 = n.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1e3,
            "s" => n * 1e3,
            "m" => n * 60e3,
            _ => n,
        }
    };
    let errors = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + field("Socket errors:").map_or(0, |_| 1);
    Rate {
        per_sec: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "wrk printed no rate: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            }),
        p50_ms: field("50%").map_or(f64::NAN, ms),
        p99_ms: field("99%").map_or(f64::NAN, ms),
        errors,
    }
}

fn print_regimes(table: &[Regime]) {
    println!(
        "{:<38} {:>8} {:>24} {:>30}",
        "server", "ready s", "first pass tiles/s (p99)", "sustained req/s (p50, p99)"
    );
    for r in table {
        let first = r.first.map_or_else(
            || "-".to_string(),
            |f| format!("{:.0} ({:.1} ms)", f.per_sec, f.p99_ms),
        );
        println!(
            "{:<38} {:>8.1} {:>24} {:>30}{}",
            r.server,
            r.ready_secs,
            first,
            format!(
                "{:.0} ({:.2}, {:.2} ms)",
                r.sustained.per_sec, r.sustained.p50_ms, r.sustained.p99_ms
            ),
            if r.sustained.errors > 0 {
                format!("  {} errors", r.sustained.errors)
            } else {
                String::new()
            }
        );
        if let Some(i) = r.identity {
            println!(
                "{:<38} {:>8} {:>24} {:>30}",
                format!("  the same, without gzip"),
                "",
                "",
                format!("{:.0} ({:.2}, {:.2} ms)", i.per_sec, i.p50_ms, i.p99_ms)
            );
        }
    }
    let find = |name: &str| table.iter().find(|r| r.server == name);
    let (Some(martin), Some(martin_off)) = (find("martin 1.14"), find("martin 1.14, cache off"))
    else {
        return;
    };
    for r in table.iter().filter(|r| r.server.starts_with("lentera")) {
        let peer = if r.cache { martin } else { martin_off };
        if let (Some(a), Some(b)) = (r.first, peer.first) {
            println!(
                "ratio, first pass, {} / martin = {:.2}×",
                r.server,
                a.per_sec / b.per_sec
            );
        }
        if let (Some(a), Some(b)) = (r.identity, peer.identity) {
            println!(
                "ratio, warm without gzip, {} / martin = {:.2}× (p99 {:.2} vs {:.2} ms)",
                r.server,
                a.per_sec / b.per_sec,
                a.p99_ms,
                b.p99_ms
            );
        }
        println!(
            "ratio, {}, {} / {} = {:.2}× (p99 {:.2} vs {:.2} ms)",
            if r.cache { "warm" } else { "cache off" },
            r.server,
            peer.server,
            r.sustained.per_sec / peer.sustained.per_sec,
            r.sustained.p99_ms,
            peer.sustained.p99_ms
        );
    }
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
        let state = if audited {
            AppState::new(live.clone(), ServerOptions::default())
        } else {
            AppState::with_audit(
                live.clone(),
                ServerOptions::default(),
                AuditLog::discarding(),
            )
        };
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
