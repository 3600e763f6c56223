//! Benchmark: importing the real Kalimantan Timur desa (1,038 units, 202 k vertices) into the
//! embedded SQLite store and into PostGIS, in the same run. Prints seconds per store, the
//! split between reading/checking and writing, and the ratio.
//!
//! Run with `cargo bench --bench region_import` (needs PostGIS, like the tests).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use lentera::ingest::boundaries::{expand_paths, prepare, read_file, ImportOptions};
use lentera::store::{ImportRecord, PostgisStore, SqliteStore, Store};

const ROUNDS: usize = 3;

#[tokio::main]
async fn main() {
    let desa = common::kaltim().join("desa.geojson");
    let files = expand_paths(&[desa]).unwrap();

    let mut read_check = f64::MAX;
    let mut prepared = None;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let (layers, _) = read_file(&files[0]).unwrap();
        let p = prepare(layers, &ImportOptions::default(), &Default::default());
        read_check = read_check.min(t.elapsed().as_secs_f64());
        prepared = Some(p);
    }
    let prepared = prepared.unwrap();
    assert_eq!(prepared.regions.len(), 1038);
    let record = ImportRecord {
        sources: prepared.sources.clone(),
        features_read: prepared.features_read,
        ..Default::default()
    };

    let tmp = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open_dir(tmp.path()).await.unwrap();
    let url = common::fresh_postgis_url().await;
    let postgis = PostgisStore::connect(&url).await.unwrap();
    let stores: [(&str, &dyn Store); 2] = [("sqlite", &sqlite), ("postgis", &postgis)];
    let mut write = [f64::MAX; 2];
    for _ in 0..ROUNDS {
        for (i, (_, store)) in stores.iter().enumerate() {
            let t = Instant::now();
            store
                .replace_regions(&prepared.regions, &record)
                .await
                .unwrap();
            write[i] = write[i].min(t.elapsed().as_secs_f64());
        }
    }
    println!("region import, 1,038 Kaltim desa (best of {ROUNDS}):");
    println!("  read + check GeoJSON     {read_check:>8.3} s");
    for (i, (name, _)) in stores.iter().enumerate() {
        println!(
            "  {name:<7} write {:>8.3} s   whole import {:>8.3} s",
            write[i],
            read_check + write[i]
        );
    }
    println!("  postgis/sqlite write ratio {:.2}", write[1] / write[0]);
}
