//! Benchmark: sustained load on a province's map server while a large import runs.
//!
//! A server on the embedded store with the real Kaltim boundaries and 200,000 P3KE
//! households serves a mixed workload from 100 concurrent connections — the map's requests in
//! their proportions: boundary tiles 70 %, region panels 10 %, choropleths 8 %, search 8 %,
//! unit exports 4 % — for 60 s; then the same workload for 60 s while a 1,000,000-row DTSEN
//! file is imported into the same store and the server swaps its snapshot. Prints per route
//! and phase the requests, errors (any non-2xx answer or broken connection: must be 0), p50
//! and p99 latency, the import's time and when the new snapshot arrived, and the resident
//! memory over time and at its peak. The phase without the import is the peer of the phase
//! with it. Run with `cargo bench --bench load` (optionally `-- SECONDS CONNECTIONS ROWS`).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{peak_rss_mib, rss_mib};
use lentera::app::{import_households, store_geocoder, HouseholdImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::model::SourceFormat;
use lentera::region::Level;
use lentera::server::{Live, ServerOptions};
use lentera::store::{SqliteStore, Store};

const SECRET: &str = "load-benchmark-secret-0123456789abcdef";

/// The routes of the workload and their shares (percent).
const MIX: [(&str, u32); 5] = [
    ("tile", 70),
    ("region", 10),
    ("choropleth", 8),
    ("search", 8),
    ("export", 4),
];

/// What the workload asks for.
struct Targets {
    tiles: Vec<String>,
    units: Vec<String>,
    kabupaten: Vec<String>,
    names: Vec<String>,
}

/// A small deterministic generator per connection (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &'a [String]) -> &'a str {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

impl Targets {
    /// The next request of the mix: its route name and path.
    fn request(&self, rng: &mut Rng) -> (&'static str, String) {
        let mut roll = (rng.next() % 100) as u32;
        let route = MIX
            .iter()
            .find(|(_, share)| {
                if roll < *share {
                    true
                } else {
                    roll -= share;
                    false
                }
            })
            .map_or("tile", |(r, _)| *r);
        let path = match route {
            "tile" => rng.pick(&self.tiles).to_string(),
            "region" => format!("/api/regions/{}", rng.pick(&self.units)),
            "choropleth" => {
                let levels = ["desa", "kecamatan", "kabupaten"];
                let indicators = [
                    "desil_1",
                    "desil_1_4",
                    "households",
                    "pkh",
                    "desil_1_no_pkh",
                    "flagged_share",
                ];
                format!(
                    "/api/choropleth?level={}&indicator={}&classes=5",
                    levels[(rng.next() % 3) as usize],
                    indicators[(rng.next() % indicators.len() as u64) as usize]
                )
            }
            "search" => {
                let name = rng.pick(&self.names);
                let prefix: String = name.chars().take(4).collect();
                format!("/api/search?q={}", prefix.replace(' ', "%20"))
            }
            _ => format!("/api/export/desa.csv?parent={}", rng.pick(&self.kabupaten)),
        };
        (route, path)
    }
}

/// `GET path` on a new connection (`Connection: close`), read to the end: the status, or an
/// error in words.
async fn get(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    conn.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::with_capacity(16 * 1024);
    conn.read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let line = answer.split(|&b| b == b'\r').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line ({} bytes)", answer.len()))
}

/// Latencies (seconds) and errors of one route in one phase.
#[derive(Default)]
struct Tally {
    latencies: Vec<f64>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs the workload from `connections` tasks for `seconds`; returns the tallies per route.
async fn phase(
    addr: SocketAddr,
    targets: Arc<Targets>,
    connections: usize,
    seconds: u64,
) -> BTreeMap<&'static str, Tally> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tallies: Arc<Mutex<BTreeMap<&'static str, Tally>>> = Arc::default();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (targets, tallies) = (targets.clone(), tallies.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((c as u64 + 1) * 0x2545_F491_4F6C_DD1D));
            let mut mine: BTreeMap<&'static str, Tally> = BTreeMap::new();
            while Instant::now() < deadline {
                let (route, path) = targets.request(&mut rng);
                let t = Instant::now();
                let got = get(addr, &path).await;
                let tally = mine.entry(route).or_default();
                tally.latencies.push(t.elapsed().as_secs_f64());
                match got {
                    Ok(s) if (200..300).contains(&s) => {}
                    Ok(s) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(format!("{s} on {path}"));
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(format!("{e} on {path}"));
                    }
                }
            }
            let mut all = tallies.lock().unwrap();
            for (route, t) in mine {
                let total = all.entry(route).or_default();
                total.latencies.extend(t.latencies);
                total.errors += t.errors;
                if total.first_error.is_none() {
                    total.first_error = t.first_error;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(tallies).ok().unwrap().into_inner().unwrap()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(name: &str, seconds: u64, tallies: &mut BTreeMap<&'static str, Tally>) -> u64 {
    println!("\n{name}");
    println!(
        "{:<11} {:>9} {:>8} {:>7} {:>9} {:>9}",
        "route", "requests", "req/s", "errors", "p50 ms", "p99 ms"
    );
    let mut errors = 0;
    for (route, t) in tallies.iter_mut() {
        t.latencies.sort_by(f64::total_cmp);
        errors += t.errors;
        println!(
            "{route:<11} {:>9} {:>8.0} {:>7} {:>9.1} {:>9.1}",
            t.latencies.len(),
            t.latencies.len() as f64 / seconds as f64,
            t.errors,
            quantile(&t.latencies, 0.5) * 1e3,
            quantile(&t.latencies, 0.99) * 1e3
        );
        if let Some(e) = &t.first_error {
            println!("  first error: {e}");
        }
    }
    errors
}

/// Samples the resident memory every 500 ms while `running`; returns (seconds, MiB) pairs.
fn sample_memory(running: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<(f64, f64)>> {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut out = Vec::new();
        while running.load(Ordering::Relaxed) {
            out.push((start.elapsed().as_secs_f64(), rss_mib()));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        out
    })
}

fn memory_line(samples: &[(f64, f64)]) -> String {
    samples
        .iter()
        .filter(|(t, _)| (t % 10.0) < 0.5)
        .map(|(t, m)| format!("{t:.0}s {m:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let seconds = args.next().unwrap_or(60);
    let connections = args.next().unwrap_or(100) as usize;
    let rows = args.next().unwrap_or(1_000_000) as usize;
    let dir = tempfile::tempdir().unwrap();
    let regions = lentera::ingest::boundaries::regions_from_files(&[common::kaltim()]).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let secret = Secret::new(SECRET).unwrap();
    let base = dir.path().join("p3ke.csv");
    common::write_generated(&regions, SourceFormat::P3ke, 200_000, 5, &base);
    let big = dir.path().join("dtsen.csv");
    let t = Instant::now();
    common::write_generated(&regions, SourceFormat::Dtsen, rows, 6, &big);
    println!(
        "generated 200,000 P3KE and {rows} DTSEN rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let import = |file: std::path::PathBuf, period: &str| {
        let (store, secret) = (store.clone(), secret.clone());
        let options = HouseholdImportOptions {
            file: Default::default(),
            period: period.parse().unwrap(),
            state: Default::default(),
            file_name: None,
        };
        async move {
            let geocoder = store_geocoder(store.as_ref()).await.unwrap();
            import_households(store.as_ref(), &file, &options, &secret, geocoder)
                .await
                .unwrap();
        }
    };
    import(base, "2025-09").await;

    let live = Live::load(store.clone()).await.unwrap();
    let snap = live.snapshot();
    let bbox = snap
        .bbox_of(
            (0..snap.units().len() as u32).filter(|&u| snap.unit(u).info.level == Level::Kabupaten),
        )
        .unwrap();
    let mut tiles = Vec::new();
    for (layer, zooms) in [
        ("kabupaten", 6..=7),
        ("kecamatan", 8..=9),
        ("desa", 10..=12),
    ] {
        for z in zooms {
            let (x0, y0, x1, y1) = lentera::tiles::mercator::tiles_covering(bbox, z);
            for x in x0..=x1 {
                for y in y0..=y1 {
                    tiles.push(format!("/tiles/{layer}/{z}/{x}/{y}.mvt"));
                }
            }
        }
    }
    let codes = |level: Level| -> Vec<String> {
        snap.units()
            .iter()
            .filter(|u| u.info.level == level)
            .map(|u| u.info.kode.to_string())
            .collect()
    };
    let targets = Arc::new(Targets {
        tiles,
        units: snap
            .units()
            .iter()
            .map(|u| u.info.kode.to_string())
            .collect(),
        kabupaten: codes(Level::Kabupaten),
        names: snap
            .units()
            .iter()
            .filter(|u| u.info.level == Level::Desa)
            .map(|u| u.info.nama.clone())
            .collect(),
    });
    println!(
        "workload: {} tile addresses, {} units, {} connections, {seconds} s per phase",
        targets.tiles.len(),
        targets.units.len(),
        connections
    );
    drop(snap);
    let addr: SocketAddr = format!("127.0.0.1:{}", common::free_port())
        .parse()
        .unwrap();
    let server_live = live.clone();
    tokio::spawn(async move {
        lentera::server::serve(
            server_live,
            addr,
            Duration::from_secs(1),
            ServerOptions::default(),
        )
        .await
        .unwrap();
    });
    // Until the server answers.
    for _ in 0..100 {
        if get(addr, "/healthz").await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A short warm-up, not counted.
    phase(addr, targets.clone(), connections, 5).await;

    let running = Arc::new(AtomicBool::new(true));
    let memory = sample_memory(running.clone());
    let mut quiet = phase(addr, targets.clone(), connections, seconds).await;
    running.store(false, Ordering::Relaxed);
    let quiet_memory = memory.await.unwrap();

    let running = Arc::new(AtomicBool::new(true));
    let memory = sample_memory(running.clone());
    let generation = live.snapshot().generation;
    let started = Instant::now();
    let importing = {
        let run = import(big, "2026-03");
        tokio::spawn(async move {
            let t = Instant::now();
            run.await;
            t.elapsed().as_secs_f64()
        })
    };
    let watcher = {
        let live = live.clone();
        tokio::spawn(async move {
            loop {
                if live.snapshot().generation != generation && live.snapshot().periods().len() > 1 {
                    return started.elapsed().as_secs_f64();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut busy = phase(addr, targets.clone(), connections, seconds).await;
    let within = importing.is_finished();
    let import_s = importing.await.unwrap();
    running.store(false, Ordering::Relaxed);
    let busy_memory = memory.await.unwrap();
    let swapped = tokio::time::timeout(Duration::from_secs(120), watcher)
        .await
        .ok()
        .and_then(Result::ok);

    let e1 = report("without an import", seconds, &mut quiet);
    let e2 = report(
        &format!("while importing {rows} DTSEN rows"),
        seconds,
        &mut busy,
    );
    println!(
        "\nimport of {rows} rows: {import_s:.1} s ({}); new snapshot served {} after the \
         import started",
        if within {
            "within the phase"
        } else {
            "longer than the phase"
        },
        swapped.map_or("not within 2 min".to_string(), |s| format!("{s:.1} s"))
    );
    println!(
        "memory without the import (MiB): {}",
        memory_line(&quiet_memory)
    );
    println!(
        "memory with the import (MiB): {}",
        memory_line(&busy_memory)
    );
    println!(
        "peak resident memory: {:.0} MiB; errors: {e1} without, {e2} with the import",
        peak_rss_mib()
    );
    println!("\np99 with / without the import, per route:");
    for (route, t) in &busy {
        if let Some(q) = quiet.get(route) {
            println!(
                "  {route:<11} {:.2}×",
                quantile(&t.latencies, 0.99) / quantile(&q.latencies, 0.99)
            );
        }
    }
}
