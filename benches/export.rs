//! Benchmark: GeoJSON export of all 1,038 real Kalimantan Timur desa with their indicators
//! (200,000 households counted), Lentera's streamed writer against a round trip through the
//! `geojson` crate's in-memory model (write, parse into a `FeatureCollection`, serialise it
//! again: what an exporter holding the whole collection in memory does), best of 5 each.
//! `cargo bench --bench export`.

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use lentera::aggregate::{BatchMeta, SnapshotBuilder};
use lentera::export::{select, write_geojson, UnitFilter};
use lentera::ingest::boundaries::regions_from_files;
use lentera::model::HouseholdFacts;
use lentera::model::Quality;
use lentera::region::Level;

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, size)
}

fn main() {
    let regions = regions_from_files(&[common::kaltim()]).unwrap();
    let desa: Vec<_> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .map(|r| r.kode)
        .collect();
    let batch = BatchMeta {
        id: 1,
        file_name: "bench".into(),
        source: lentera::model::SourceFormat::P3ke,
        period: "2025-06".parse().unwrap(),
        imported_at: String::new(),
    };
    let mut builder = SnapshotBuilder::new(regions, vec![batch]);
    for i in 0..200_000usize {
        let kode = desa[i % desa.len()];
        builder.push(&HouseholdFacts {
            batch_id: 1,
            desa: Some(kode),
            unit: Some(kode),
            quality: Some(Quality::Code),
            members: Some(1 + (i % 6) as u32),
            desil: Some(1 + (i % 4) as u8),
            ..Default::default()
        });
    }
    let snap = builder.finish(1, None, 2);
    let period = snap.period(None);
    let filter = UnitFilter {
        level: Level::Desa,
        parent: None,
        bbox: None,
        thresholds: Vec::new(),
    };
    let units = select(&snap, &filter, period);
    let (ours, size) = best_of(5, || {
        let mut out = Vec::with_capacity(8 << 20);
        write_geojson(&snap, &units, period, &mut out).unwrap();
        out.len()
    });
    let (peer, peer_size) = best_of(5, || {
        let mut buf = Vec::new();
        write_geojson(&snap, &units, period, &mut buf).unwrap();
        // The peer: parse into geojson's in-memory model and serialise it again, as an
        // exporter built on the model does.
        let fc: geojson::FeatureCollection = serde_json::from_slice(&buf).unwrap();
        fc.to_string().len()
    });
    println!(
        "{} desa: lentera streamed GeoJSON {:.1} ms ({:.1} MB); in-memory geojson model {:.1} ms ({:.1} MB); ratio {:.1}×; target < 100 ms",
        units.len(),
        ours * 1e3,
        size as f64 / 1e6,
        peer * 1e3,
        peer_size as f64 / 1e6,
        peer / ours
    );
}
