//! Household import: every format through both stores, the malformed-input corpus,
//! deduplication, batches, privacy, the verval template and a killed import.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lentera::app::{
    import_households, store_geocoder, HouseholdImport, HouseholdImportError,
    HouseholdImportOptions,
};
use lentera::generate::{write_households, GenerateOptions, OutputEncoding};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::households::FileOptions;
use lentera::model::{BatchInfo, DuplicateOf, Period, Program, SourceFormat};
use lentera::region::Region;
use lentera::store::{PostgisStore, SqliteStore, Store};

const SECRET: &str = "households-test-secret-0123456789";

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

fn demo_regions() -> Vec<Region> {
    lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED)
}

fn generate(dir: &Path, name: &str, format: SourceFormat, count: usize, seed: u64) -> PathBuf {
    generate_with(dir, name, format, count, seed, b',', OutputEncoding::Utf8)
}

fn generate_with(
    dir: &Path,
    name: &str,
    format: SourceFormat,
    count: usize,
    seed: u64,
    delimiter: u8,
    encoding: OutputEncoding,
) -> PathBuf {
    let out = dir.join(name);
    let opts = GenerateOptions {
        format,
        count,
        seed,
        delimiter,
        encoding,
    };
    write_households(&demo_regions(), &[], &Default::default(), &opts, &out, None).unwrap();
    out
}

/// An embedded store in `dir` holding the synthetic province.
async fn demo_store(dir: &Path) -> SqliteStore {
    let store = SqliteStore::open_dir(dir).await.unwrap();
    store
        .replace_regions(&demo_regions(), &Default::default())
        .await
        .unwrap();
    store
}

fn opts(period: &str) -> HouseholdImportOptions {
    with_file(FileOptions::default(), period)
}

fn with_file(file: FileOptions, period: &str) -> HouseholdImportOptions {
    HouseholdImportOptions {
        file,
        period: period.parse().unwrap(),
        state: Default::default(),
        file_name: None,
    }
}

async fn import(store: &dyn Store, path: &Path) -> Result<BatchInfo, HouseholdImportError> {
    import_with(store, path, &opts("2024-12")).await
}

async fn import_with(
    store: &dyn Store,
    path: &Path,
    o: &HouseholdImportOptions,
) -> Result<BatchInfo, HouseholdImportError> {
    let geocoder = store_geocoder(store).await?;
    match import_households(store, path, o, &secret(), geocoder).await? {
        HouseholdImport::Imported { batch, .. } => Ok(batch),
        HouseholdImport::AlreadyImported(b) => {
            panic!("{} was already imported as batch {}", path.display(), b.id)
        }
    }
}

fn assert_balanced(b: &BatchInfo) {
    let c = b.counts;
    assert_eq!(c.rows_read, c.rows_accepted + c.rows_rejected, "{b:?}");
}

/// Every generated format (CSV and XLSX with title rows, UTF-8 and Windows-1252 with `;`)
/// imports completely into `store`.
async fn every_format_imports(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            generate(d, "p3ke.csv", SourceFormat::P3ke, 600, 1),
            SourceFormat::P3ke,
            600,
            600,
        ),
        (
            generate(d, "p3ke.xlsx", SourceFormat::P3ke, 300, 2),
            SourceFormat::P3ke,
            300,
            300,
        ),
        (
            generate(d, "dtsen.csv", SourceFormat::Dtsen, 400, 3),
            SourceFormat::Dtsen,
            400,
            400,
        ),
        (
            generate(d, "verval.xlsx", SourceFormat::Verval, 200, 4),
            SourceFormat::Verval,
            200,
            200,
        ),
        (
            generate(d, "verval.csv", SourceFormat::Verval, 300, 5),
            SourceFormat::Verval,
            300,
            300,
        ),
        (
            generate_with(
                d,
                "dtsen-1252.csv",
                SourceFormat::Dtsen,
                500,
                6,
                b';',
                OutputEncoding::Windows1252,
            ),
            SourceFormat::Dtsen,
            500,
            500,
        ),
    ];
    for (path, format, households, rows) in &cases {
        let (path, format, households, rows) = (path, *format, *households, *rows);
        let b = import(store.as_ref(), path)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The file is hashed while its rows are read; the batch keeps its SHA-256.
        assert_eq!(
            b.sha256,
            lentera::ingest::households::file_sha256(path).unwrap()
        );
        assert_eq!(b.source, format, "{}", path.display());
        assert_eq!(b.counts.households, households, "{}", path.display());
        assert_eq!(b.counts.rows_read, rows, "{}", path.display());
        assert_eq!(
            b.counts.rows_rejected,
            0,
            "{}: {:?}",
            path.display(),
            store.rejects(b.id).await.unwrap().first()
        );
        assert_balanced(&b);
    }
    // Each file again, CSV or workbook: a no-op naming the batch it already is.
    let listed = store.batches().await.unwrap();
    for (path, ..) in &cases {
        let again = import_households(store.as_ref(), path, &opts("2024-12"), &secret(), None)
            .await
            .unwrap();
        match again {
            HouseholdImport::AlreadyImported(b) => {
                assert_eq!(b.file_name, path.file_name().unwrap().to_str().unwrap());
            }
            other => panic!("{}: expected a no-op, got {other:?}", path.display()),
        }
    }
    assert_eq!(store.batches().await.unwrap(), listed);
    // DTKS: one row per person, grouped into households by nomor_kk.
    let dtks = generate(d, "dtks.txt", SourceFormat::Dtks, 300, 7);
    let persons = std::fs::read_to_string(&dtks).unwrap().lines().count() as u64 - 1;
    let b = import(store.as_ref(), &dtks).await.unwrap();
    assert_eq!(b.counts.households, 300);
    assert_eq!(b.counts.rows_read, persons);
    assert!(b.input.contains("'|'"), "{}", b.input);
    let hh = store.households(Some(b.id)).await.unwrap();
    assert_eq!(
        hh.iter()
            .map(|h| u64::from(h.household.members.unwrap()))
            .sum::<u64>(),
        persons
    );

    // The Windows-1252 file kept its accented names.
    let all = store.households(None).await.unwrap();
    // Streamed chunk by chunk, batch by batch: the same households.
    let mut streamed = Vec::new();
    for batch in store.batches().await.unwrap() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let reading = store.stream_households(Some(batch.id), tx);
        let collecting = async {
            while let Some(chunk) = rx.recv().await {
                assert!(!chunk.is_empty() && chunk.len() <= lentera::store::STREAM_CHUNK);
                streamed.extend(chunk);
            }
        };
        let (read, ()) = tokio::join!(reading, collecting);
        read.unwrap();
    }
    streamed.sort_by_key(|h| h.id);
    let mut by_id = all.clone();
    by_id.sort_by_key(|h| h.id);
    assert!(
        streamed == by_id,
        "streamed {} households, stored {}",
        streamed.len(),
        by_id.len()
    );
    let accented = all
        .iter()
        .filter(|h| {
            h.household
                .head_name
                .as_deref()
                .is_some_and(|n| n.contains('é'))
        })
        .count();
    assert!(accented > 0, "no accented name survived");
    // Fields land where they belong.
    let p3ke = all.iter().find(|h| h.source == SourceFormat::P3ke).unwrap();
    assert_eq!(p3ke.household.desil_scale.map(|s| s.max()), Some(4));
    assert!(p3ke.household.programs.get(Program::Pkh).is_some());
    assert!(p3ke
        .household
        .attrs
        .iter()
        .any(|(k, _)| &**k == "Jenis Atap"));
    assert!(p3ke
        .household
        .nik_masked
        .as_ref()
        .unwrap()
        .contains("********"));
    let verval = all.iter().filter(|h| h.source == SourceFormat::Verval);
    assert!(verval.clone().any(|h| h.household.lat.is_some()));
    assert!(verval.clone().all(|h| h.household.extreme_poor.is_some()));
}

#[tokio::test]
async fn every_format_imports_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    every_format_imports(Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap())).await;
}

#[tokio::test]
async fn every_format_imports_into_postgis() {
    let url = common::fresh_postgis_url().await;
    every_format_imports(Arc::new(PostgisStore::connect(&url).await.unwrap())).await;
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const VERVAL_HEADER: &str = "id,nik,nama_kepala_keluarga,kode_desa,desa,kecamatan,kabupaten,alamat,latitude,longitude,status,tanggal_verval,desil,jumlah_anggota,petugas,keterangan\n";

#[tokio::test]
async fn bad_rows_are_rejected_with_reasons_and_good_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).await.unwrap();
    let text = format!(
        "{VERVAL_HEADER}\
         1,6472010107850001,Budi,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. A,-0.58,117.17,Miskin,01-02-2025,3,4,Ani,\n\
         2,64720101078500A1,Cici,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. B,-0.58,117.17,Miskin,01-02-2025,3,4,Ani,\n\
         3,6472010207850002,Dedi,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. C,-0.58,117.17,Miskin,01-02-2025,11,4,Ani,\n\
         4,6472010307850003,Eko,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. D,abc,117.17,Miskin,01-02-2025,3,4,Ani,\n\
         5,6472010407850004,Fajar,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. E,\"-0,58\",\"117,17\",Sangat Miskin,31-02-2025,1,4,Ani,\n\
         6,6472010507850005,,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. F,,,Rentan,01-02-2025,,2,Ani,\n\
         ,,,,,,,,,,,,,,,\n\
         7,6472010107850001,Budi,6472011004,Simpang Pasir,Palaran,Samarinda,Jl. A,-0.58,117.17,Miskin,01-02-2025,3,4,Ani,\n\
         8,6472010807850008,Gita,,,,,Jl. H,,,Lainnya,01-02-2025,,1,Ani,\n"
    );
    let path = write(dir.path(), "verval.csv", &text);
    let b = import(&store, &path).await.unwrap();
    assert_eq!(b.counts.rows_read, 8);
    assert_eq!(b.counts.blank_rows, 1);
    assert_eq!(b.counts.rows_accepted, 2, "rows 1 and 7 (7 repeats 1)");
    assert_eq!(b.counts.rows_rejected, 6);
    assert_eq!(b.counts.duplicates_in_batch, 1);
    assert_balanced(&b);
    let rejects = store.rejects(b.id).await.unwrap();
    let reason = |row: u64| {
        rejects
            .iter()
            .filter(|r| r.row == row)
            .map(|r| format!("{}: {}", r.column, r.reason))
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(
        reason(3).contains("nik: NIK must be 16 digits; it contains other characters"),
        "{}",
        reason(3)
    );
    assert!(
        reason(4).contains("desil: desil 11 is outside the 1–10 scale"),
        "{}",
        reason(4)
    );
    assert!(
        reason(5).contains("latitude: coordinate `abc` is not a number"),
        "{}",
        reason(5)
    );
    assert!(reason(6).contains("tanggal_verval"), "{}", reason(6));
    assert!(
        !reason(6).contains("latitude"),
        "decimal commas are accepted: {}",
        reason(6)
    );
    assert!(
        reason(7).contains("nama_kepala_keluarga: required value is empty"),
        "{}",
        reason(7)
    );
    assert!(reason(10).contains("no location"), "{}", reason(10));
    assert!(
        rejects
            .iter()
            .all(|r| !r.value.contains("64720101078500A1")),
        "NIK values are masked in reports"
    );
    let hh = store.households(Some(b.id)).await.unwrap();
    assert_eq!(hh.len(), 2);
    assert_eq!(hh[1].household.duplicate_of, Some(DuplicateOf::Row(2)));
}

#[tokio::test]
async fn malformed_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = SqliteStore::open_dir(&d.join("store")).await.unwrap();
    let p3ke = generate(d, "p3ke.csv", SourceFormat::P3ke, 20, 9);
    let xlsx = generate(d, "p3ke.xlsx", SourceFormat::P3ke, 50, 9);
    let text = std::fs::read_to_string(&p3ke).unwrap();
    let bytes = std::fs::read(&xlsx).unwrap();
    let header_only = text.lines().next().unwrap().to_string() + "\n";
    let cases: Vec<(PathBuf, &str)> = vec![
        (write(d, "empty.csv", ""), "the file is empty"),
        (
            write(d, "header.csv", &header_only),
            "no data rows below the header",
        ),
        (write(d, "colon.csv", &text.replace(',', ":")), "no header"),
        (
            {
                let p = d.join("garbage.csv");
                std::fs::write(&p, [0x00u8, 0xff, 0x13, 0x37, 0x00, 0x42, 0x99]).unwrap();
                p
            },
            "binary content",
        ),
        (
            {
                let p = d.join("truncated.xlsx");
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
                p
            },
            "not a readable XLSX workbook",
        ),
        (write(d, "unrelated.csv", "a,b,c\n1,2,3\n"), "no header"),
    ];
    for (path, expected) in cases {
        let err = import(&store, &path)
            .await
            .err()
            .unwrap_or_else(|| panic!("{} accepted", path.display()));
        let msg = err.to_string();
        assert!(msg.contains(expected), "{}: {msg}", path.display());
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
    assert!(store.batches().await.unwrap().is_empty());
    assert!(store.households(None).await.unwrap().is_empty());

    // A sheet that does not exist is named with the ones that do.
    let o = with_file(
        FileOptions {
            sheet: Some("Nope".into()),
            ..Default::default()
        },
        "2024-12",
    );
    let msg = import_with(&store, &xlsx, &o)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("Nope") && msg.contains("Keluarga"), "{msg}");
    // The wrong explicit format is refused with the reason.
    let o = with_file(
        FileOptions {
            format: Some(SourceFormat::Dtks),
            ..Default::default()
        },
        "2024-12",
    );
    assert!(import_with(&store, &p3ke, &o)
        .await
        .unwrap_err()
        .to_string()
        .contains("no dtks header"));
    // A bad period.
    assert!("2024-13"
        .parse::<Period>()
        .unwrap_err()
        .to_string()
        .contains("YYYY-MM"));
}

#[tokio::test]
async fn batches_dedup_across_sources_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).await.unwrap();
    let a = write(dir.path(), "a.csv", &format!("{VERVAL_HEADER}1,6472010107850001,Budi,6472011004,,,,,,,Miskin,01-02-2025,,,,\n2,6472010207850002,Cici,6472011004,,,,,,,Miskin,01-02-2025,,,,\n"));
    let dtsen = write(
        dir.path(),
        "b.csv",
        "nomor_kartu_keluarga,nomor_induk_kependudukan,nama_kepala_keluarga,desil_nasional,kode_wilayah\n\
         6472011202100001,6472010107850001,BUDI,2,6472011004\n\
         6472011202100002,6472010907850009,Dodo,5,6472011004\n",
    );
    let first = import(&store, &a).await.unwrap();
    let second = import(&store, &dtsen).await.unwrap();
    assert_eq!(
        second.duplicates_other, 1,
        "Budi's NIK is in batch {}",
        first.id
    );
    let hh = store.households(Some(second.id)).await.unwrap();
    assert_eq!(
        hh[0].household.duplicate_of,
        Some(DuplicateOf::Batch(first.id))
    );
    assert_eq!(hh[1].household.duplicate_of, None);

    // Another period is another count: no duplicate there.
    let dtsen_later = write(
        dir.path(),
        "c.csv",
        &std::fs::read_to_string(&dtsen)
            .unwrap()
            .replace("Dodo", "Dodi"),
    );
    let third = import_with(&store, &dtsen_later, &opts("2025-03"))
        .await
        .unwrap();
    assert_eq!(third.duplicates_other, 0);

    // The same file again is a no-op.
    match import_households(&store, &a, &opts("2024-12"), &secret(), None)
        .await
        .unwrap()
    {
        HouseholdImport::AlreadyImported(b) => assert_eq!(b.id, first.id),
        other => panic!("expected a no-op, got {other:?}"),
    }

    // Removing the first batch makes Budi's DTSEN record the primary one.
    let removed = store.remove_batch(first.id).await.unwrap().unwrap();
    assert_eq!(removed.counts.households, 2);
    assert_eq!(store.remove_batch(first.id).await.unwrap(), None);
    let hh = store.households(Some(second.id)).await.unwrap();
    assert_eq!(hh[0].household.duplicate_of, None);
    assert_eq!(store.batches().await.unwrap().len(), 2);
    assert!(store.rejects(first.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn dtks_households_need_a_head_and_custom_mappings_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).await.unwrap();
    let dtks = write(
        dir.path(),
        "dtks.txt",
        "nomor_kk|nomor_nik|nama|hubungan_keluarga|desa_kelurahan\n\
         6472011202100001|6472010107850001|BUDI|KEPALA KELUARGA|RAWA MAKMUR\n\
         6472011202100001|6472014507900002|SITI|ISTRI|RAWA MAKMUR\n\
         6472011202100002|6472010207850003|ANAK SAJA|ANAK|HANDIL BAKTI\n",
    );
    let b = import(&store, &dtks).await.unwrap();
    assert_eq!(
        (
            b.counts.households,
            b.counts.rows_accepted,
            b.counts.rows_rejected
        ),
        (1, 2, 1)
    );
    let r = store.rejects(b.id).await.unwrap();
    assert_eq!(r[0].row, 4);
    assert!(r[0].reason.contains("no valid head row"));
    let h = &store.households(Some(b.id)).await.unwrap()[0].household;
    assert_eq!(h.members, Some(2));
    assert_eq!(h.source_id.as_deref(), Some("647201********01"));

    let mapping = write(dir.path(), "kolom.toml", "desil_scale = 4\n[columns]\nsource_id = \"No\"\nhead_name = \"Nama KRT\"\nnik = \"NIK KRT\"\ndesa = \"Kelurahan\"\ndesil = \"Desil\"\n");
    let custom = write(dir.path(), "lain.csv", "Laporan kelurahan\n\nNo;Nama KRT;NIK KRT;Kelurahan;Desil\n1;Budi;6472010107850001;Rawa Makmur;2\n2;Ani;6472014107850002;Rawa Makmur;5\n");
    let o = with_file(
        FileOptions {
            mapping: Some(mapping),
            ..Default::default()
        },
        "2025-01",
    );
    let b = import_with(&store, &custom, &o).await.unwrap();
    assert_eq!(b.source, SourceFormat::Custom);
    assert_eq!((b.counts.rows_accepted, b.counts.rows_rejected), (1, 1));
    assert!(store.rejects(b.id).await.unwrap()[0].reason.contains("1–4"));
}

#[tokio::test]
async fn identity_numbers_never_reach_the_store_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = generate(d, "dtsen.csv", SourceFormat::Dtsen, 300, 11);
    // Member NIKs under a header no rule names, and one in free text: kept as attributes,
    // never in clear.
    let file = d.join("dtsen-anggota.csv");
    let mut members = Vec::new();
    {
        let mut r = csv::Reader::from_path(&plain).unwrap();
        let mut w = csv::Writer::from_path(&file).unwrap();
        let mut header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        header.extend(["No. Identitas Anggota".to_string(), "Catatan".to_string()]);
        w.write_record(&header).unwrap();
        for (i, rec) in r.records().enumerate() {
            let mut row: Vec<String> = rec.unwrap().iter().map(String::from).collect();
            let member = format!("64720{:011}", 10_000_000 + i as u64);
            row.push(member.clone());
            row.push(format!("anak: {member} (sekolah)"));
            members.push(member);
            w.write_record(&row).unwrap();
        }
    }
    let store = SqliteStore::open_dir(&d.join("store")).await.unwrap();
    import(&store, &file).await.unwrap();
    let mut rdr = csv::Reader::from_path(&file).unwrap();
    let mut numbers: Vec<String> = rdr
        .records()
        .flat_map(|r| {
            let r = r.unwrap();
            [r[1].to_string(), r[2].to_string()]
        })
        .collect();
    assert_eq!(numbers.len(), 600);
    numbers.extend(members);
    // The raw files, and every household decoded from its compressed chunk (attributes too).
    let mut db = Vec::new();
    for entry in std::fs::read_dir(d.join("store")).unwrap() {
        db.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let db = String::from_utf8_lossy(&db);
    let decoded = format!("{:?}", store.households(None).await.unwrap());
    assert!(
        decoded.contains("(\"No. Identitas Anggota\", \"647200********00\")"),
        "member NIKs are kept masked"
    );
    for n in &numbers {
        assert!(
            !db.contains(n.as_str()) && !decoded.contains(n.as_str()),
            "an identity number is stored in clear"
        );
    }
}

#[test]
fn the_cli_needs_a_secret_and_keeps_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let file = generate(dir.path(), "p3ke.csv", SourceFormat::P3ke, 30, 12);
    let run = |secret: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"));
        cmd.arg("--data-dir")
            .arg(&data)
            .args(["households", "import"])
            .arg(&file)
            .args(["--period", "2024-12"]);
        cmd.env_remove("LENTERA_SECRET").env_remove("DATABASE_URL");
        if let Some(s) = secret {
            cmd.env("LENTERA_SECRET", s);
        }
        cmd.output().unwrap()
    };
    let none = run(None);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("LENTERA_SECRET is not set"));
    let ok = run(Some(SECRET));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.contains("rows read") && out.contains("30"), "{out}");
    let again = run(Some(SECRET));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already imported"));
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("P3KE000000001", "P3KE000000999"),
    )
    .unwrap();
    let other = run(Some("a-different-secret-0123456789"));
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("does not match the secret"));
}

/// A file of many chunks, mapped on several threads at once, comes out in file order: every
/// household in its row, repeats far apart in the file linked to their first row, and a
/// repeated row geocoded exactly as its first (the threads' geocoding sessions agree).
#[tokio::test]
async fn a_large_file_keeps_its_order_across_mapping_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path()).await;
    let generated = generate(dir.path(), "gen.csv", SourceFormat::P3ke, 50_000, 21);
    let text = std::fs::read_to_string(&generated).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Rows 3 and 9,001 again at the end, with a row without a name between them (and a
    // blank line, which is no row).
    let mut broken: Vec<String> = lines[5].split(',').map(str::to_string).collect();
    broken[8] = String::new();
    let file = write(
        dir.path(),
        "many.csv",
        &format!(
            "{text}{}\n\n{}\n{}\n",
            lines[2],
            broken.join(","),
            lines[9_000]
        ),
    );
    let b = import(&store, &file).await.unwrap();
    assert_balanced(&b);
    assert_eq!(b.counts.rows_rejected, 1, "{b:?}");
    assert_eq!(b.counts.duplicates_in_batch, 2, "{b:?}");
    let hh = store.households(Some(b.id)).await.unwrap();
    assert_eq!(hh.len(), 50_002);
    assert!(
        hh.windows(2)
            .all(|w| w[0].household.source_row < w[1].household.source_row),
        "households come back in file order"
    );
    let row = |r: u64| {
        hh.iter()
            .find(|h| h.household.source_row == r)
            .unwrap_or_else(|| panic!("row {r}"))
    };
    for (repeat, first) in [(50_002, 3), (50_004, 9_001)] {
        let (repeat, first) = (row(repeat), row(first));
        assert_eq!(
            repeat.household.duplicate_of,
            Some(DuplicateOf::Row(first.household.source_row))
        );
        assert_eq!(repeat.household.geocode, first.household.geocode);
        assert!(first.household.geocode.is_some());
    }
    let rejects = store.rejects(b.id).await.unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].row, 50_003);
}

/// An import returns once its batch is committed in the write-ahead log, where every
/// connection reads it; a checkpoint of its own then copies it into the database file while
/// the store stays open.
#[tokio::test]
async fn a_committed_batch_reaches_the_database_file_after_its_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path()).await;
    let db = store.path().to_path_buf();
    let size = || std::fs::metadata(&db).unwrap().len();
    let before = size();
    let file = generate(dir.path(), "gen.csv", SourceFormat::P3ke, 20_000, 31);
    let b = import(&store, &file).await.unwrap();
    let other = SqliteStore::open_dir(dir.path()).await.unwrap();
    assert_eq!(other.households(Some(b.id)).await.unwrap().len(), 20_000);
    // 20,000 households take some 3 MB in chunks and keys.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while size() < before + (2 << 20) {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stays at {} bytes (from {before})",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A second batch after the first one's checkpoint, and both read back.
    let second = generate(dir.path(), "gen2.csv", SourceFormat::P3ke, 5_000, 32);
    let b2 = import(&other, &second).await.unwrap();
    drop(other);
    assert_eq!(store.households(Some(b2.id)).await.unwrap().len(), 5_000);
    assert_eq!(store.households(None).await.unwrap().len(), 25_000);
}

#[test]
fn a_killed_import_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let small = generate(dir.path(), "small.csv", SourceFormat::P3ke, 10, 13);
    let big = generate(dir.path(), "big.csv", SourceFormat::P3ke, 250_000, 14);
    let lentera = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"));
        cmd.arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("LENTERA_SECRET", SECRET)
            .env_remove("DATABASE_URL");
        cmd
    };
    let first = lentera(&[
        "households",
        "import",
        small.to_str().unwrap(),
        "--period",
        "2024-12",
    ])
    .output()
    .unwrap();
    assert!(first.status.success());
    let mut child = lentera(&[
        "households",
        "import",
        big.to_str().unwrap(),
        "--period",
        "2024-12",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    // Kill it once the batch is visibly being written (the write-ahead log grows), or after a
    // few seconds of importing while the page cache still holds the batch so far.
    let wal = data.join("lentera.sqlite-wal");
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(120);
    let mut killed_mid_way = false;
    while std::time::Instant::now() < deadline {
        let wal_grew = std::fs::metadata(&wal)
            .map(|m| m.len() > 8 << 20)
            .unwrap_or(false);
        if wal_grew || started.elapsed() > std::time::Duration::from_secs(3) {
            child.kill().unwrap(); // SIGKILL
            killed_mid_way = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.wait();
    assert!(
        killed_mid_way,
        "the import finished before it could be killed"
    );
    let batches = lentera(&["households", "batches"]).output().unwrap();
    let listing = String::from_utf8_lossy(&batches.stdout);
    assert!(
        batches.status.success(),
        "{}",
        String::from_utf8_lossy(&batches.stderr)
    );
    assert!(
        listing.contains("small.csv") && !listing.contains("big.csv"),
        "{listing}"
    );
    // The store still works and takes the same file again.
    let small2 = generate(dir.path(), "small2.csv", SourceFormat::P3ke, 10, 15);
    let again = lentera(&[
        "households",
        "import",
        small2.to_str().unwrap(),
        "--period",
        "2024-12",
    ])
    .output()
    .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[tokio::test]
async fn the_verval_template_is_served_and_files_made_from_it_import() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let router = lentera::server::router(lentera::server::Live::load(store.clone()).await.unwrap());
    let get = |uri: &'static str| {
        let r = router.clone();
        async move {
            let resp = r
                .oneshot(axum::http::Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let headers = resp.headers().clone();
            (
                status,
                headers,
                resp.into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            )
        }
    };
    let (status, headers, csv) = get("/api/templates/verval.csv").await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("templat-verval.csv"));
    let header = String::from_utf8(csv).unwrap();
    assert_eq!(header.trim_end(), VERVAL_HEADER.trim_end());

    let (status, _, xlsx) = get("/api/templates/verval.xlsx").await;
    assert_eq!(status, 200);
    let path = dir.path().join("templat.xlsx");
    std::fs::write(&path, &xlsx).unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec!["Data".to_string(), "Petunjuk".to_string()]
    );
    let data = wb.worksheet_range("Data").unwrap();
    let cols: Vec<String> = data
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(cols.join(",") + "\n", VERVAL_HEADER);
    let help = wb.worksheet_range("Petunjuk").unwrap();
    assert!(help
        .rows()
        .any(|r| r.iter().any(|c| c.to_string().contains("Sangat Miskin"))));
    assert_eq!(get("/api/templates/other.pdf").await.0, 404);

    // A file filled in from the template imports as verval.
    let filled = write(dir.path(), "isi.csv", &format!("{header}1,6472010107850001,Budi,64.72.01.1004,Simpang Pasir,Palaran,Samarinda,Jl. A,\"-0,58\",\"117,17\",Sangat Miskin,01/02/2025,1,5,Ani,ok\n"));
    let b = import(store.as_ref(), &filled).await.unwrap();
    assert_eq!(b.source, SourceFormat::Verval);
    assert_eq!(b.counts.households, 1);
    let h = &store.households(Some(b.id)).await.unwrap()[0].household;
    assert_eq!(
        (h.lat, h.lon, h.extreme_poor),
        (Some(-0.58), Some(117.17), Some(true))
    );
}

#[test]
fn generated_kaltim_households_follow_poverty_figures_and_vary_like_real_files() {
    use lentera::generate::read_kabupaten_stats;
    use lentera::ingest::boundaries::regions_from_files;
    use lentera::region::crosswalk::read_crosswalk;
    use lentera::region::{Kode, Level};
    use std::collections::HashMap;
    let kaltim = common::kaltim();
    let regions = regions_from_files(std::slice::from_ref(&kaltim)).unwrap();
    let crosswalk = read_crosswalk(std::fs::File::open(kaltim.join("bps_kemendagri.csv")).unwrap())
        .unwrap()
        .entries;
    let stats = read_kabupaten_stats(&kaltim.join("kabupaten_stats.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (out, truth) = (dir.path().join("verval.csv"), dir.path().join("truth.csv"));
    let opts = GenerateOptions {
        format: SourceFormat::Verval,
        count: 20_000,
        seed: 21,
        delimiter: b',',
        encoding: OutputEncoding::Utf8,
    };
    write_households(&regions, &crosswalk, &stats, &opts, &out, Some(&truth)).unwrap();

    let mut per_kab: HashMap<Kode, f64> = HashMap::new();
    let mut forms: HashMap<String, usize> = HashMap::new();
    let mut gps: HashMap<String, usize> = HashMap::new();
    let mut rdr = csv::Reader::from_path(&truth).unwrap();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let desa = Kode::parse(&rec[2]).unwrap();
        assert_eq!(desa.level(), Level::Desa);
        *per_kab
            .entry(desa.ancestor(Level::Kabupaten).unwrap())
            .or_default() += 1.0;
        *forms.entry(rec[3].to_string()).or_default() += 1;
        *gps.entry(rec[4].to_string()).or_default() += 1;
    }
    // Each kabupaten's share of households is its share of poor people (±2 points).
    let poor: HashMap<Kode, f64> = stats
        .iter()
        .map(|(k, s)| (*k, s.population * s.poverty_pct))
        .collect();
    let total_poor: f64 = poor.values().sum();
    for (kab, p) in &poor {
        let expected = p / total_poor;
        let got = per_kab.get(kab).copied().unwrap_or(0.0) / 20_000.0;
        assert!(
            (got - expected).abs() < 0.02,
            "{kab}: {got:.3} vs {expected:.3}"
        );
    }
    for form in ["dotted", "plain", "bps", "missing", "truncated"] {
        assert!(
            forms.get(form).copied().unwrap_or(0) > 500,
            "code form {form}: {forms:?}"
        );
    }
    for case in [
        "ok",
        "swapped",
        "zero",
        "neighbour",
        "decimal_comma",
        "missing",
    ] {
        assert!(
            gps.get(case).copied().unwrap_or(0) > 300,
            "GPS case {case}: {gps:?}"
        );
    }
    // NIKs start with the kecamatan of the household's desa.
    let mut data = csv::Reader::from_path(&out).unwrap();
    let mut truth_rdr = csv::Reader::from_path(&truth).unwrap();
    for (row, t) in data.records().zip(truth_rdr.records()).take(2000) {
        let (row, t) = (row.unwrap(), t.unwrap());
        let kec = Kode::parse(&t[2]).unwrap().parent().unwrap().digits();
        assert!(row[1].starts_with(&kec), "{} vs {kec}", &row[1][..6]);
    }
}
