//! Benchmark: importing 1,000,000 generated P3KE rows into the embedded store.
//!
//! Prints rows/s and the peak resident memory of the import, and, as a peer in the same run,
//! how fast the same file is merely parsed as CSV (no validation, no hashing, no writing),
//! with the ratio. Run with `cargo bench --bench household_import` (optionally `-- ROWS`).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{peak_rss_mib, reset_peak_rss, Discard};

use lentera::app::{import_households, HouseholdImport, HouseholdImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::households::{FileOptions, HouseholdFile};
use lentera::model::SourceFormat;

use lentera::store::{SqliteStore, Store};

/// CPU seconds (user + system) used so far by the whole process.
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p3ke.csv");
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    let t = Instant::now();
    common::write_generated(&regions, SourceFormat::P3ke, rows, 42, &file);
    let size = std::fs::metadata(&file).unwrap().len() as f64 / f64::from(1 << 20);
    println!(
        "generated {rows} P3KE rows ({size:.0} MiB) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Peer: parse the same CSV only.
    let t = Instant::now();
    let mut rdr = csv::Reader::from_path(&file).unwrap();
    let mut rec = csv::ByteRecord::new();
    let mut n = 0u64;
    while rdr.read_byte_record(&mut rec).unwrap() {
        n += 1;
    }
    let parse_rate = n as f64 / t.elapsed().as_secs_f64();

    // Stages without the store: hashing the file, then reading and mapping its rows.
    let t = Instant::now();
    lentera::ingest::households::file_sha256(&file).unwrap();
    let sha_secs = t.elapsed().as_secs_f64();
    let cpu0 = process_cpu_secs();
    let t = Instant::now();
    let opened = HouseholdFile::open(&file, &FileOptions::default()).unwrap();
    let stage_secret = Secret::new("stage-secret-0123").unwrap();
    tokio::task::spawn_blocking(move || opened.feed(stage_secret, None, &mut Discard))
        .await
        .unwrap()
        .unwrap();
    let map_secs = t.elapsed().as_secs_f64();
    let map_cpu = process_cpu_secs() - cpu0;

    let store = SqliteStore::open_dir(&dir.path().join("store"))
        .await
        .unwrap();
    let secret = Secret::new("benchmark-secret-0123456789").unwrap();
    let o = HouseholdImportOptions {
        file: FileOptions::default(),
        period: "2024-12".parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    reset_peak_rss();
    let cpu0 = process_cpu_secs();
    let t = Instant::now();
    let outcome = import_households(&store, &file, &o, &secret, None)
        .await
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let cpu = process_cpu_secs() - cpu0;
    let peak = peak_rss_mib();
    let HouseholdImport::Imported { batch, .. } = outcome else {
        panic!("fresh store")
    };
    assert_eq!(batch.counts.rows_read as usize, rows);
    assert_eq!(batch.counts.households as usize, rows);
    assert_eq!(store.batches().await.unwrap().len(), 1);
    let rate = rows as f64 / secs;
    let db_mib = ["lentera.sqlite", "lentera.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join("store").join(f)).ok())
        .map(|m| m.len() as f64)
        .sum::<f64>()
        / f64::from(1 << 20);
    println!("household import, {rows} P3KE rows into the embedded store:");
    println!("  import             {secs:>8.2} s   {rate:>10.0} rows/s   peak RSS {peak:.0} MiB");
    println!(
        "  CPU                {cpu:>8.2} s   {:>10.1} µs/row over all threads",
        cpu / rows as f64 * 1e6
    );
    println!("  store size         {db_mib:>8.0} MiB (database and write-ahead log)");
    println!(
        "  peer: CSV parse    {:>8.2} s   {parse_rate:>10.0} rows/s",
        n as f64 / parse_rate
    );
    println!("  import / parse rate ratio {:.3}", rate / parse_rate);
    println!(
        "  stages: file SHA-256 {sha_secs:.2} s (alone; an import hashes on a thread of its own); \
         read + map + hash rows (no store) {map_secs:.2} s ({:.0} rows/s, {:.1} µs CPU/row)",
        rows as f64 / map_secs,
        map_cpu / rows as f64 * 1e6
    );
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
