//! Household and boundary files made to hurt: a NUL byte or an over-long cell refuses its row
//! and keeps the rest; a workbook that is a compression bomb, or whose string table declares
//! two billion entries, and a zipped "shapefile" bomb are refused quickly, in words, with
//! nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each refusal says how long it took and how much memory.
#![allow(clippy::print_stderr)]

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use lentera::demo::synthetic_province;

const SECRET: &str = "hostile-files-secret-0123456789abcdef";

fn lentera(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("LENTERA_SECRET", SECRET)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

/// A store with the demo province and a generated verval file of 50 households.
fn fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("store");
    let province = dir.join("province.geojson");
    common::write_geojson(&province, &synthetic_province(3));
    assert!(
        lentera(&data, &["regions", "import", province.to_str().unwrap()])
            .status
            .success()
    );
    let file = dir.join("verval.csv");
    let out = lentera(
        &data,
        &[
            "generate",
            "households",
            "--format",
            "verval",
            "--count",
            "50",
            "--seed",
            "1",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (data, file)
}

fn zip_of(path: &Path, entries: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn a_broken_cell_refuses_its_row_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (data, file) = fixture(dir.path());
    let broken = dir.path().join("rusak.csv");
    let mut n = 0;
    common::edit_csv(&file, &broken, |h, row| {
        let name = common::col(h, "nama_kepala_keluarga");
        match n {
            2 => row[name] = "Siti\u{0}Aminah".to_string(),
            5 => row[name] = "a".repeat(40_000),
            _ => {}
        }
        n += 1;
    });
    let out = lentera(
        &data,
        &[
            "households",
            "import",
            broken.to_str().unwrap(),
            "--period",
            "2025-06",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rejects = String::from_utf8_lossy(&lentera(&data, &["households", "rejects", "1"]).stdout)
        .into_owned();
    assert!(rejects.contains("control characters"), "{rejects}");
    assert!(
        rejects.contains("longer than 32767 characters"),
        "{rejects}"
    );
    assert_eq!(rejects.lines().count(), 3, "{rejects}");
    assert!(!rejects.contains("aaaa"), "the cell itself is not repeated");
    let batches =
        String::from_utf8_lossy(&lentera(&data, &["households", "batches"]).stdout).into_owned();
    assert!(
        batches.contains("        50         48         2"),
        "{text}\n{batches}"
    );
}

/// Runs `lentera args` and watches its peak resident memory (`VmHWM`, read every
/// millisecond until it ends); returns the output and the peak in MiB.
fn lentera_measured(data: &Path, args: &[&str]) -> (std::process::Output, f64) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("LENTERA_SECRET", SECRET)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let watcher = std::thread::spawn(move || {
        let mut peak_kib = 0u64;
        while let Ok(text) = std::fs::read_to_string(&status) {
            let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:")) else {
                break;
            };
            let kib: u64 = line
                .trim_start_matches("VmHWM:")
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            peak_kib = peak_kib.max(kib);
            std::thread::sleep(Duration::from_millis(1));
        }
        peak_kib as f64 / 1024.0
    });
    let out = child.wait_with_output().unwrap();
    (out, watcher.join().unwrap())
}

/// Runs `args`; it must fail within 2 s and 200 MiB with `expect` in its one error line, and
/// leave no batch behind.
fn refused(data: &Path, args: &[&str], expect: &str) {
    let started = Instant::now();
    let (out, peak_mib) = lentera_measured(data, args);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert_eq!(err.matches(expect).count(), 1, "{args:?}: said once: {err}");
    assert!(took < Duration::from_secs(2), "{args:?} took {took:?}");
    assert!(peak_mib < 200.0, "{args:?} took {peak_mib:.0} MiB");
    eprintln!("{expect}: refused in {took:.2?}, peak {peak_mib:.0} MiB");
    let batches =
        String::from_utf8_lossy(&lentera(data, &["households", "batches"]).stderr).into_owned();
    assert!(batches.contains("0 batches"), "{batches}");
}

#[test]
fn compression_bombs_and_lying_workbooks_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = fixture(dir.path());
    // 256 MiB of one byte: a few hundred KiB compressed.
    let flood = vec![b'a'; 256 << 20];
    let bomb = dir.path().join("bom.xlsx");
    zip_of(
        &bomb,
        &[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/sharedStrings.xml", &flood),
        ],
    );
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 << 20);
    let import = |f: &Path| {
        vec![
            "households".to_string(),
            "import".into(),
            f.to_str().unwrap().into(),
            "--period".into(),
            "2025-06".into(),
        ]
    };
    let args = import(&bomb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&data, &args, "compression bomb");

    let liar = dir.path().join("dua-miliar.xlsx");
    let sst = br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2000000000" uniqueCount="2000000000"><si><t>nama</t></si></sst>"#;
    zip_of(
        &liar,
        &[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/sharedStrings.xml", sst),
        ],
    );
    let args = import(&liar);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&data, &args, "declares 2000000000 shared strings");

    let shp = dir.path().join("batas.zip");
    zip_of(&shp, &[("desa.shp", &flood), ("desa.dbf", b"")]);
    refused(
        &data,
        &["regions", "import", shp.to_str().unwrap()],
        "compression bomb",
    );
}

#[test]
fn a_file_without_location_columns_is_refused_in_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let (data, file) = fixture(dir.path());
    // A mapping that places nobody: names and NIK only.
    let mapping = dir.path().join("kolom.toml");
    std::fs::write(
        &mapping,
        "[columns]\nhead_name = \"nama_kepala_keluarga\"\nnik = \"nik\"\n",
    )
    .unwrap();
    refused(
        &data,
        &[
            "households",
            "import",
            file.to_str().unwrap(),
            "--period",
            "2025-06",
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        "no location column",
    );
}

#[test]
fn deeply_nested_geojson_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Properties and coordinates nested 100,000 deep: a recursive reader without a limit
    // would overflow its stack.
    let deep =
        |open: &str, close: &str| format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
    for (name, feature) in [
        (
            "sifat.geojson",
            format!(
                r#"{{"type":"Feature","properties":{{"kode":"64.01","nama":"A","x":{}}},"geometry":null}}"#,
                deep("[", "]")
            ),
        ),
        (
            "koordinat.geojson",
            format!(
                r#"{{"type":"Feature","properties":{{"kode":"64.01","nama":"A"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}"#,
                deep("[", "]")
            ),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(r#"{{"type":"FeatureCollection","features":[{feature}]}}"#),
        )
        .unwrap();
        let started = Instant::now();
        let out = lentera(
            &data,
            &[
                "regions",
                "import",
                path.to_str().unwrap(),
                "--level",
                "kabupaten",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            err.starts_with("error: "),
            "{name}: one error line, no crash: {err}"
        );
        assert!(err.contains("recursion limit"), "{name}: {err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[test]
fn programme_lists_are_read_under_the_same_limits() {
    use lentera::ingest::households::privacy::Secret;
    use lentera::ingest::programs::read_program_list;
    use lentera::model::ProgramKind;
    let dir = tempfile::tempdir().unwrap();
    let secret = Secret::new("hostile-programme-lists-0123456789").unwrap();
    let flood = vec![b'a'; 256 << 20];
    let bomb = dir.path().join("penerima.xlsx");
    zip_of(
        &bomb,
        &[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/sharedStrings.xml", &flood),
        ],
    );
    let binary = dir.path().join("penerima.csv");
    std::fs::write(&binary, [0u8; 4096]).unwrap();
    let empty = dir.path().join("kosong.csv");
    std::fs::write(&empty, b"").unwrap();
    // A cell of 10 MiB and a NIK of a million digits: the row is refused, the rest read.
    let wide = dir.path().join("lebar.csv");
    std::fs::write(
        &wide,
        format!(
            "NIK;NAMA\n6472014107850001;A\n{};B\n6472014107850002;{}\n",
            "9".repeat(1_000_000),
            "x".repeat(10 << 20)
        ),
    )
    .unwrap();
    for (file, expect) in [
        (&bomb, "compression bomb"),
        (&binary, "binary"),
        (&empty, "empty"),
    ] {
        let started = Instant::now();
        let e = read_program_list(file, ProgramKind::Household, &secret)
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", file.display()))
            .to_string();
        assert!(e.contains(expect), "{}: {e}", file.display());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let read = read_program_list(&wide, ProgramKind::Household, &secret).unwrap();
    assert_eq!(read.rows_read, 3);
    assert_eq!(read.members.len(), 2);
    assert_eq!(read.refused.len(), 1);
    assert!(
        read.refused[0].alasan.contains("16 digit"),
        "{:?}",
        read.refused
    );
    assert!(read.echo.iter().all(|e| e.nama.chars().count() <= 200));
}

#[test]
fn an_import_past_its_memory_budget_stops_in_words_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = fixture(dir.path());
    let big = dir.path().join("besar.csv");
    let out = lentera(
        &data,
        &[
            "generate",
            "households",
            "--format",
            "p3ke",
            "--count",
            "60000",
            "--seed",
            "2",
            "-o",
            big.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    // Imports `file` under a budget of `mib` MiB, which must refuse it; returns what it said.
    let over_budget = |file: &Path, mib: &str| {
        let out = lentera(
            &data,
            &[
                "households",
                "import",
                file.to_str().unwrap(),
                "--period",
                "2025-06",
                "--max-import-mib",
                mib,
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "the import went through: {err}");
        err
    };
    // The process grows by more than 1 MiB while 60,000 rows are read and checked.
    let err = over_budget(&big, "1");
    assert!(
        err.contains("more than the import memory budget of 1 MiB")
            && err.contains("nothing was imported")
            && err.contains("--max-import-mib"),
        "{err}"
    );
    let batches =
        String::from_utf8_lossy(&lentera(&data, &["households", "batches"]).stderr).into_owned();
    assert!(batches.contains("0 batches"), "{batches}");

    // A workbook whose string table alone is larger than the budget is refused before calamine
    // reads it.
    let book = dir.path().join("banyak-teks.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for i in 0..400_000u32 {
        sheet
            .write_string(
                i / 4,
                (i % 4) as u16,
                format!("Nama {i} {}", i.wrapping_mul(2_654_435_761)),
            )
            .unwrap();
    }
    wb.save(&book).unwrap();
    let started = Instant::now();
    let err = over_budget(&book, "8");
    assert!(
        err.contains("table of shared strings alone needs")
            && err.contains("more than the import memory budget of 8 MiB"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // With the default budget the same workbook is read (and refused for its lack of a
    // household header, which is what it lacks).
    let out = lentera(
        &data,
        &[
            "households",
            "import",
            book.to_str().unwrap(),
            "--period",
            "2025-06",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no header row"), "{err}");
}
