//! Spreadsheet formulas in household files never come out live: a verval file whose names,
//! addresses and ids hold `=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…` and `-2+3` is imported, then
//! every CSV Lentera writes from it (household export, review file, geocode output, reject
//! report, audit trail) is read back and no cell would run as a formula; the review file
//! applied unchanged gives back the names as they were.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use lentera::model::{AuditAction, AuditEntry, SourceFormat};
use lentera::store::{SqliteStore, Store};

const FORMULAS: [&str; 6] = [
    "=HYPERLINK(\"http://contoh.test\",\"klik\")",
    "@SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "=1+1",
    "\t=2+2",
];

/// Whether a spreadsheet would run `cell`.
fn live(cell: &str) -> bool {
    let number = cell.trim_start_matches(['-', '+']).parse::<f64>().is_ok();
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) && !number
}

/// Every cell of the CSV text `csv`; fails on a live formula. Returns the cells that were
/// guarded.
fn guarded_cells(what: &str, csv: &[u8]) -> usize {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv);
    let mut guarded = 0;
    for rec in r.records() {
        for cell in rec.unwrap().iter() {
            assert!(!live(cell), "{what}: a live formula `{cell}`");
            guarded += usize::from(cell.starts_with('\'') && live(&cell[1..]));
        }
    }
    guarded
}

fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = common::lentera(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formulas_in_household_files_never_come_out_live() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let regions = {
        let store = SqliteStore::open_dir(&data).await.unwrap();
        common::load_kaltim(&store).await
    };
    let plain = dir.path().join("verval.csv");
    common::write_generated(&regions, SourceFormat::Verval, 300, 5, &plain);
    let hostile = dir.path().join("verval-formula.csv");
    let mut n = 0;
    common::edit_csv(&plain, &hostile, |h, row| {
        let f = FORMULAS[n % FORMULAS.len()];
        row[common::col(h, "nama_kepala_keluarga")] = f.to_string();
        row[common::col(h, "alamat")] = format!("{f} RT 1");
        if n % 3 == 0 {
            // Placed by names only, so that the household is reviewed.
            row[common::col(h, "kode_desa")] = String::new();
            row[common::col(h, "latitude")] = String::new();
            row[common::col(h, "longitude")] = String::new();
            row[common::col(h, "desa")] = format!("{f} desa");
        }
        if n % 10 == 1 {
            // A rejected coordinate: the reject report shows the value.
            row[common::col(h, "latitude")] = f.to_string();
        }
        n += 1;
    });
    let secret = [("LENTERA_SECRET", "formula-test-secret-0123456789abcdef")];
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(&data)
        .args(["households", "import"])
        .arg(&hostile)
        .args(["--period", "2025-06", "--format", "verval"])
        .envs(secret)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    // The household export.
    let export = dir.path().join("rt.csv");
    run(
        &data,
        &[
            "export",
            "csv",
            "--households",
            "-o",
            export.to_str().unwrap(),
        ],
    );
    let guarded = guarded_cells("household export", &std::fs::read(&export).unwrap());
    assert!(guarded > 100, "{guarded} guarded cells in the export");

    // The review file, and applying it unchanged.
    let review = dir.path().join("tinjau.csv");
    run(
        &data,
        &["households", "review", "1", "-o", review.to_str().unwrap()],
    );
    let text = std::fs::read(&review).unwrap();
    assert!(guarded_cells("review file", &text) > 10);
    run(
        &data,
        &[
            "households",
            "review",
            "1",
            "--apply",
            review.to_str().unwrap(),
        ],
    );
    let store = SqliteStore::open_dir(&data).await.unwrap();
    let names: Vec<String> = store
        .households(Some(1))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|h| h.household.head_name.map(|n| n.to_string()))
        .collect();
    assert!(
        names.iter().any(|n| n == FORMULAS[0]),
        "names read back as typed"
    );
    assert!(names.iter().all(|n| !n.starts_with('\'')));

    // The reject report and the geocoder's output.
    let rejects = run(&data, &["households", "rejects", "1"]);
    assert!(
        guarded_cells("reject report", &rejects) > 0,
        "{}",
        String::from_utf8_lossy(&rejects)
    );
    let geocoded = dir.path().join("hasil.csv");
    run(
        &data,
        &[
            "geocode",
            hostile.to_str().unwrap(),
            "-o",
            geocoded.to_str().unwrap(),
        ],
    );
    guarded_cells("geocode output", &std::fs::read(&geocoded).unwrap());

    // A purpose typed by an analyst, in the audit trail's CSV.
    let mut e = AuditEntry::new(AuditAction::HouseholdRead, "GET /api/export/households.csv");
    e.purpose = Some(FORMULAS[2].into());
    store.append_audit(&[e]).await.unwrap();
    let audit = run(&data, &["audit", "--format", "csv"]);
    assert!(guarded_cells("audit trail", &audit) > 0);
}
