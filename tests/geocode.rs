//! Geocoding: `lentera geocode` on generated files over the real Kalimantan Timur desa, and
//! geocoding at import with the review queue, through both stores.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use lentera::app::{import_households, store_geocoder, HouseholdImport, HouseholdImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::review::{needing_review, read_corrections, write_review};
use lentera::model::{Flag, Quality};
use lentera::region::{Kode, Level};
use lentera::store::{ImportRecord, PostgisStore, SqliteStore, Store};

fn run_ok(data_dir: &Path, args: &[&str]) -> String {
    let out = common::lentera(data_dir, args);
    assert!(
        out.status.success(),
        "lentera {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}

/// Generates `format` households over Kaltim with their truth, geocodes them with the CLI
/// and checks the output against the truth.
fn check_format(dir: &Path, format: &str, count: usize, seed: u64) {
    let kaltim = common::kaltim();
    let k = kaltim.to_str().unwrap();
    let crosswalk = kaltim.join("bps_kemendagri.csv");
    let stats = kaltim.join("kabupaten_stats.csv");
    let input = dir.join(format!("{format}.csv"));
    let truth = dir.join(format!("{format}-truth.csv"));
    let output = dir.join(format!("{format}-geocoded.csv"));
    let data = dir.join("store");
    let count_s = count.to_string();
    let seed_s = seed.to_string();
    run_ok(
        &data,
        &[
            "generate",
            "households",
            "--format",
            format,
            "--count",
            &count_s,
            "--seed",
            &seed_s,
            "-o",
            input.to_str().unwrap(),
            "--regions",
            k,
            "--crosswalk",
            crosswalk.to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ],
    );
    let summary = run_ok(
        &data,
        &[
            "geocode",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--regions",
            k,
            "--crosswalk",
            crosswalk.to_str().unwrap(),
        ],
    );
    assert!(
        summary.contains(&format!("Geocoded {count} households")),
        "{summary}"
    );

    let (headers, out) = read_csv(&output);
    assert_eq!(
        headers,
        [
            "row",
            "source_id",
            "kode_desa",
            "quality",
            "flags",
            "lon",
            "lat",
            "candidates"
        ]
    );
    assert_eq!(out.len(), count);
    let (_, truth) = read_csv(&truth);
    let truth: HashMap<&str, &HashMap<String, String>> =
        truth.iter().map(|t| (t["row"].as_str(), t)).collect();
    let (mut coded, mut coded_right, mut wrong) = (0, 0, 0);
    for o in &out {
        let t = truth[o["row"].as_str()];
        let quality: Quality = o["quality"].parse().expect("known quality");
        // A desa is given exactly when the quality says it was found, with a point.
        assert_eq!(!o["kode_desa"].is_empty(), quality.has_desa(), "{o:?}");
        assert_eq!(!o["lon"].is_empty(), quality.has_desa(), "{o:?}");
        if quality == Quality::Ambiguous {
            assert!(o["candidates"].split(';').count() >= 2, "{o:?}");
        }
        if !o["kode_desa"].is_empty() && o["kode_desa"] != t["kode_desa"] {
            wrong += 1;
        }
        if matches!(t["code_form"].as_str(), "dotted" | "plain" | "bps") {
            coded += 1;
            coded_right += usize::from(o["kode_desa"] == t["kode_desa"]);
        }
        let expected = match t["gps_case"].as_str() {
            "swapped" => Some(Flag::GpsSwapped),
            "zero" => Some(Flag::GpsZero),
            "neighbour" => Some(Flag::GpsMismatch),
            _ => None,
        };
        if let Some(f) = expected {
            assert!(
                o["flags"].split(';').any(|x| x == f.as_str()),
                "{} GPS not flagged: {o:?}",
                t["gps_case"]
            );
        }
        if t["gps_case"] == "ok" && quality == Quality::Gps {
            assert_eq!(o["kode_desa"], t["kode_desa"], "{o:?}");
        }
    }
    assert!(
        coded_right * 1000 >= coded * 995,
        "{format}: {coded_right} of {coded} households with a full code placed right"
    );
    assert!(
        wrong * 1000 <= count * 5,
        "{format}: {wrong} of {count} households placed in a wrong desa"
    );
}

#[test]
fn geocode_command_places_generated_kaltim_households() {
    let dir = tempfile::tempdir().unwrap();
    check_format(dir.path(), "verval", 3000, 11);
    check_format(dir.path(), "p3ke", 3000, 12);
    check_format(dir.path(), "dtks", 1000, 13);
}

#[test]
fn geocode_command_explains_missing_regions() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("v.csv");
    std::fs::write(&input, "id,nik,latitude,longitude,tanggal_verval\n").unwrap();
    let out = common::lentera(
        &dir.path().join("store"),
        &["geocode", input.to_str().unwrap(), "-o", "/dev/null"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("regions import") && !err.contains("panicked"),
        "{err}"
    );
}

const VERVAL_HEADER: &str = "id,nik,nama_kepala_keluarga,kode_desa,desa,kecamatan,kabupaten,\
alamat,latitude,longitude,status,tanggal_verval\n";

/// Import geocodes with the store's regions; flagged households go to the review queue; a
/// corrected review file places them.
async fn review_round_trip(store: Arc<dyn Store>) {
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    let record = ImportRecord {
        sources: vec!["demo".into()],
        features_read: regions.len(),
        refused: 0,
        issues: "[]".into(),
    };
    store.replace_regions(&regions, &record).await.unwrap();
    let geocoder = store_geocoder(store.as_ref()).await.unwrap().unwrap();
    let desa: Vec<_> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .collect();
    let (a, b) = (desa[0], desa[10]);
    let kec_a = regions
        .iter()
        .find(|r| Some(r.kode) == a.kode.parent())
        .unwrap();
    let (lon, lat) = geocoder.desa_index().place(b.kode, 1).unwrap();
    let stale = format!("{}.2999", a.kode.parent().unwrap());
    let rows = [
        // 1: a good code.
        format!(
            "H1,{}0101800001,Ani,{},,,,,,,Miskin,01-02-2025",
            prefix(a.kode),
            a.kode
        ),
        // 2: a desa name nobody knows, in a known kecamatan: kecamatan only.
        format!(
            "H2,{}0101800002,Budi,,Tidak Ada Sama Sekali,{},,,,,Miskin,01-02-2025",
            prefix(a.kode),
            kec_a.nama
        ),
        // 3: a stale code and no names: its kabupaten only, flagged.
        format!(
            "H3,{}0101800003,Citra,{stale},,,,,,,Miskin,01-02-2025",
            prefix(a.kode)
        ),
        // 4: swapped GPS inside its coded desa.
        format!(
            "H4,{}0101800004,Dedi,{},,,,,{lon},{lat},Miskin,01-02-2025",
            prefix(b.kode),
            b.kode
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("verval.csv");
    std::fs::write(&file, format!("{VERVAL_HEADER}{}\n", rows.join("\n"))).unwrap();
    let secret = Secret::new("geocode-test-secret-0123456789").unwrap();
    let opts = HouseholdImportOptions {
        file: Default::default(),
        period: "2025-02".parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    let HouseholdImport::Imported { batch, .. } = import_households(
        store.as_ref(),
        &file,
        &opts,
        &secret,
        Some(geocoder.clone()),
    )
    .await
    .unwrap() else {
        panic!("new file")
    };
    assert_eq!(batch.counts.households, 4);

    let stored = store.households(Some(batch.id)).await.unwrap();
    let g = |i: usize| {
        stored[i]
            .household
            .geocode
            .clone()
            .expect("geocoded at import")
    };
    assert_eq!(
        (g(0).quality, g(0).kode_desa),
        (Quality::Code, Some(a.kode))
    );
    assert_eq!(g(1).quality, Quality::KecamatanOnly);
    assert_eq!(g(1).unit, Some(kec_a.kode));
    assert_eq!(g(2).quality, Quality::KabupatenOnly);
    assert_eq!(g(2).unit, a.kode.ancestor(Level::Kabupaten));
    assert!(g(2).flags.has(Flag::CodeStale));
    assert_eq!((g(3).quality, g(3).kode_desa), (Quality::Gps, Some(b.kode)));
    assert!(g(3).flags.has(Flag::GpsSwapped));
    assert_eq!(g(3).point, Some((lon, lat)));
    assert!(g(0).point.is_some() && g(0).approximate());

    // The review queue: everything but the clean code.
    let queue = needing_review(&stored);
    assert_eq!(queue.len(), 3);
    let mut file = Vec::new();
    write_review(&queue, geocoder.gazetteer(), &mut file).unwrap();
    let text = String::from_utf8(file).unwrap();
    assert!(!text.contains("0101800002"), "NIK must be masked:\n{text}");
    assert!(text.contains(&kec_a.kode.to_string()), "{text}");

    // The clerk fixes row H2 with the right code and desa name, and H3 with GPS in desa a.
    let (alon, alat) = geocoder.desa_index().place(a.kode, 2).unwrap();
    let mut fixed = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut cells: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(String::from)
            .collect();
        if i > 0 && cells[2] == "H2" {
            cells[5] = a.kode.digits();
            cells[6] = a.nama.to_uppercase();
        }
        if i > 0 && cells[2] == "H3" {
            cells[5].clear();
            cells[10] = alat.to_string().replace('.', ",");
            cells[11] = alon.to_string().replace('.', ",");
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&cells).unwrap();
        fixed.push_str(&String::from_utf8(w.into_inner().unwrap()).unwrap());
    }
    let (corrections, problems) = read_corrections(fixed.as_bytes()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let mut session = geocoder.session();
    let by_id: HashMap<i64, _> = stored.iter().map(|s| (s.id, s)).collect();
    let updates: Vec<_> = corrections
        .iter()
        .map(|c| {
            let mut h = c.apply_to(&by_id[&c.id].household);
            h.geocode = Some(session.geocode(&h));
            (c.id, h)
        })
        .collect();
    assert_eq!(
        store
            .correct_households(batch.id, updates.clone())
            .await
            .unwrap(),
        3
    );
    // Another batch's id is never touched.
    assert_eq!(
        store
            .correct_households(batch.id + 1, updates)
            .await
            .unwrap(),
        0
    );

    let after = store.households(Some(batch.id)).await.unwrap();
    let g = |i: usize| after[i].household.geocode.clone().unwrap();
    assert_eq!(
        (g(1).quality, g(1).kode_desa),
        (Quality::Code, Some(a.kode))
    );
    assert_eq!(
        after[1].household.region_code.as_deref(),
        Some(a.kode.digits().as_str())
    );
    assert_eq!((g(2).quality, g(2).kode_desa), (Quality::Gps, Some(a.kode)));
    assert!(g(2).flags.is_empty());
    assert_eq!(
        needing_review(&after).len(),
        1,
        "only the swapped GPS stays flagged"
    );
}

/// The first six digits of a desa code: a NIK prefix that passes validation.
fn prefix(k: Kode) -> String {
    k.parent().unwrap().digits()
}

#[tokio::test]
async fn import_geocodes_and_review_round_trips_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    review_round_trip(Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap())).await;
}

#[tokio::test]
async fn import_geocodes_and_review_round_trips_in_postgis() {
    let url = common::fresh_postgis_url().await;
    review_round_trip(Arc::new(PostgisStore::connect(&url).await.unwrap())).await;
}

/// Runs the binary with a secret set.
fn lentera_with_secret(data_dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LENTERA_SECRET", "geocode-cli-test-secret-0123456789")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lentera {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn review_queue_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    run_ok(&data, &["demo", "--no-serve", "--no-households"]);
    let file = dir.path().join("verval.csv");
    let f = file.to_str().unwrap();
    run_ok(
        &data,
        &[
            "generate",
            "households",
            "--format",
            "verval",
            "--count",
            "300",
            "--seed",
            "5",
            "-o",
            f,
        ],
    );
    let summary = lentera_with_secret(&data, &["households", "import", f, "--period", "2025-02"]);
    assert!(summary.contains("Batch 1"), "{summary}");
    let review = dir.path().join("tinjau.csv");
    let r = review.to_str().unwrap();
    let listed = lentera_with_secret(&data, &["households", "review", "1", "-o", r]);
    assert!(
        listed.contains("of 300 households of batch 1 need review"),
        "{listed}"
    );
    let (headers, rows) = read_csv(&review);
    assert_eq!(headers[0], "id");
    assert!(
        !rows.is_empty() && rows.len() < 300,
        "{} rows to review",
        rows.len()
    );
    assert!(rows.iter().all(|row| row["nik"].contains('*')));
    // The import's summary counted the same review queue.
    let to_review: usize = summary
        .lines()
        .find(|l| l.trim_start().starts_with("to review"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .expect("a `to review` line in the import summary");
    assert_eq!(to_review, rows.len(), "{summary}");
    assert!(summary.contains("geocoded code"), "{summary}");
    // Giving the file back unchanged geocodes the same households again, to the same result.
    let applied = lentera_with_secret(&data, &["households", "review", "1", "--apply", r]);
    assert!(
        applied.contains(&format!("{} households geocoded again", rows.len())),
        "{applied}"
    );
    let again = lentera_with_secret(&data, &["households", "review", "1", "-o", r]);
    assert_eq!(again, listed);
    let missing = common::lentera(&data, &["households", "review", "9", "-o", r]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no batch 9"));
}
