//! Replays every stored fuzz corpus file (`tests/fuzz/corpus/<target>/`) through its target:
//! the inputs libFuzzer found interesting, the crashes it found (kept once fixed) and the seed
//! files, as ordinary tests on the stable toolchain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each replay says how many inputs it ran.
#![allow(clippy::print_stdout)]

#[path = "fuzz/targets.rs"]
mod targets;

use std::path::Path;

fn replay(name: &str) {
    let target = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus", dir.display());
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| target(&data));
        assert!(outcome.is_ok(), "{name}: {} fails", file.display());
    }
    println!("{name}: {} inputs replayed", files.len());
}

#[test]
fn household_file_corpus() {
    replay("household_file");
}

#[test]
fn program_list_corpus() {
    replay("program_list");
}

#[test]
fn boundary_geojson_corpus() {
    replay("boundary_geojson");
}

#[test]
fn boundary_file_corpus() {
    replay("boundary_file");
}

#[test]
fn values_corpus() {
    replay("values");
}

#[test]
fn stored_chunk_corpus() {
    replay("stored_chunk");
}

#[test]
fn http_request_corpus() {
    replay("http_request");
}

#[test]
fn every_target_has_a_replay() {
    let this = include_str!("fuzz_replay.rs");
    for (name, _) in targets::TARGETS {
        assert!(this.contains(&format!("replay(\"{name}\")")), "{name}");
        let bin =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{name}.rs"));
        assert!(bin.exists(), "{} is missing", bin.display());
    }
}
