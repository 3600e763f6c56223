//! Benchmark: exporting 1,000,000 households from the embedded store as CSV and GeoJSON,
//! streamed a chunk at a time, against 100,000 households in the same run (memory must not
//! grow with the count) and against loading the same batch whole into memory (the peer an
//! exporter without streaming would be). Prints rows/s and the peak resident memory above the
//! baseline. `cargo bench --bench household_export` (optionally `-- ROWS`).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use common::{peak_rss_mib, reset_peak_rss, rss_mib};
use lentera::app::{import_households, store_geocoder, HouseholdImport, HouseholdImportOptions};
use lentera::export::{
    stream_households, write_households_csv, write_households_geojson, HouseholdFilter,
};
use lentera::ingest::households::privacy::Secret;
use lentera::model::Scope;
use lentera::model::SourceFormat;
use lentera::store::{SqliteStore, Store};

/// A writer that only counts bytes.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn import(
    store: &SqliteStore,
    dir: &std::path::Path,
    rows: usize,
    seed: u64,
    period: &str,
) -> i64 {
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    let file = dir.join(format!("p3ke-{rows}.csv"));
    common::write_generated(&regions, SourceFormat::P3ke, rows, seed, &file);
    let o = HouseholdImportOptions {
        file: Default::default(),
        period: period.parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    let secret = Secret::new("benchmark-secret-0123456789").unwrap();
    let geocoder = store_geocoder(store).await.unwrap();
    match import_households(store, &file, &o, &secret, geocoder)
        .await
        .unwrap()
    {
        HouseholdImport::Imported { batch, .. } => batch.id,
        other => panic!("not imported: {other:?}"),
    }
}

/// Streams batch `batch` through `write` into a byte counter: (seconds, households, bytes,
/// peak RSS above the RSS before, MiB).
async fn export(store: Arc<dyn Store>, batch: i64, geojson: bool) -> (f64, u64, u64, f64) {
    let before = rss_mib();
    reset_peak_rss();
    let t = Instant::now();
    let mut chunks = stream_households(store, vec![batch]);
    let (n, bytes) = tokio::task::spawn_blocking(move || {
        let filter = HouseholdFilter {
            scope: Scope::All,
            parent: None,
            bbox: None,
        };
        let source = std::iter::from_fn(|| chunks.blocking_recv());
        let mut out = Counter::default();
        let n = if geojson {
            write_households_geojson(source, &filter, &mut out)
        } else {
            write_households_csv(source, &filter, &mut out)
        }
        .unwrap();
        (n, out.0)
    })
    .await
    .unwrap();
    (t.elapsed().as_secs_f64(), n, bytes, peak_rss_mib() - before)
}

#[tokio::main]
async fn main() {
    let rows = common::rows_arg(1_000_000);
    let small_rows = rows / 10;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open_dir(&dir.path().join("store"))
        .await
        .unwrap();
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    sqlite
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let t = Instant::now();
    let small = import(&sqlite, dir.path(), small_rows, 7, "2025-01").await;
    let large = import(&sqlite, dir.path(), rows, 8, "2025-02").await;
    println!(
        "generated and imported {small_rows} + {rows} P3KE households in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let store: Arc<dyn Store> = Arc::new(sqlite);
    println!(
        "household export from the embedded store (RSS now {:.0} MiB):",
        rss_mib()
    );
    // A first pass warms the allocator's arenas, so that the figures compare exports only.
    export(store.clone(), small, false).await;
    let mut peaks = Vec::new();
    for (label, batch, geojson) in [
        ("CSV", small, false),
        ("CSV", large, false),
        ("GeoJSON", large, true),
    ] {
        let (secs, n, bytes, peak) = export(store.clone(), batch, geojson).await;
        println!(
            "  {label:<8} {n:>9} households {secs:>6.2} s {:>10.0} rows/s {:>7.1} MiB/s   peak RSS +{peak:.1} MiB",
            n as f64 / secs,
            bytes as f64 / secs / f64::from(1 << 20)
        );
        peaks.push(peak);
    }

    // Peer: the batch loaded whole, as an exporter without streaming holds it.
    let before = rss_mib();
    reset_peak_rss();
    let t = Instant::now();
    let all = store.households(Some(large)).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let whole = peak_rss_mib() - before;
    println!(
        "  peer: load whole {:>9} households {secs:>6.2} s (before writing a byte)   peak RSS +{whole:.1} MiB",
        all.len()
    );
    drop(all);
    // Peak RSS above a baseline moves by tens of MiB with the allocator's arenas alone, so
    // the growth is reported as a difference, and the peer ratio over a floor of that size.
    const RSS_NOISE_MIB: f64 = 32.0;
    println!(
        "  peak RSS growth, {rows} vs {small_rows} households (CSV): {:+.1} MiB; whole-load peer / streamed: {:.0}× or more",
        peaks[1] - peaks[0],
        whole / peaks[1].max(RSS_NOISE_MIB)
    );
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
