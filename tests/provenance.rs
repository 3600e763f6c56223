//! Numbers a decision can rest on, on the real Kaltim boundaries: "no data" is decided per
//! indicator from what each source states, every unit knows its sources, change is measured
//! only where comparable, and households are followed from one period to the next.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use lentera::ingest::households::FileOptions;
use lentera::model::{Denominators, SourceFormat};
use lentera::region::{Kode, Level, Region};
use lentera::server::Live;
use lentera::store::{PostgisStore, SqliteStore, Store};

/// The fields an indicator rests on, as this test reads the formats (not from the code):
/// desil figures need a desil, desil 5–10 one on the 1–10 scale, `people` member counts,
/// `extreme_poor` the source's own mark, a programme its column.
fn needs(name: &str) -> Vec<&'static str> {
    let desil_low = ["desil_1", "desil_2", "desil_3", "desil_4", "desil_1_4"];
    let programs = [
        "pkh", "bpnt", "sembako", "blt", "pbi", "bpum", "bst", "prakerja", "kur",
    ];
    match name {
        n if desil_low.contains(&n) => vec!["desil"],
        "desil_1_rate" | "desil_1_4_rate" | "desil_1_program_known" | "desil_1_pkh_known" => {
            vec!["desil"]
        }
        "desil_5" | "desil_6" | "desil_7" | "desil_8" | "desil_9" | "desil_10" => {
            vec!["desil_10"]
        }
        "people" | "people_rate" => vec!["members"],
        "extreme_poor" | "extreme_poor_rate" => vec!["extreme_poor"],
        "pkh_coverage" => vec!["pkh"],
        "desil_1_no_program" | "desil_1_no_program_share" => vec!["desil", "programs"],
        "desil_1_no_pkh" | "desil_1_no_pkh_share" => vec!["desil", "pkh"],
        n if programs.contains(&n) => vec![programs.iter().copied().find(|p| *p == n).unwrap()],
        // Regional programmes' figures rest on their lists, which no household file states.
        "program_eligible"
        | "program_covered"
        | "program_uncovered"
        | "program_uncovered_share" => {
            vec!["desil", "regional_programs"]
        }
        "program_uncovered_any" => vec!["desil", "regional_programs", "programs"],
        "program_beneficiaries" | "program_leakage" | "program_overlap" => {
            vec!["regional_programs"]
        }
        _ => Vec::new(),
    }
}

/// For a share over a count of the same unit, that count (zero makes it null).
fn share_denominator(name: &str) -> Option<&'static str> {
    match name {
        "pkh_coverage" => Some("pkh_known"),
        "desil_1_no_program_share" => Some("desil_1_program_known"),
        "desil_1_no_pkh_share" => Some("desil_1_pkh_known"),
        "flagged_share" => Some("households"),
        _ => None,
    }
}

#[tokio::test]
async fn every_indicator_is_null_exactly_where_its_source_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&d.join("store")).await.unwrap());
    let regions = common::load_kaltim(store.as_ref()).await;
    // Every kabupaten/kota has all-household and population denominators, so rates over
    // them are null only where the indicator is.
    let denominators: HashMap<Kode, Denominators> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Kabupaten)
        .map(|r| {
            (
                r.kode,
                Denominators {
                    households: Some(100_000),
                    population: Some(400_000),
                },
            )
        })
        .collect();
    store.replace_denominators(&denominators).await.unwrap();

    let gen = |format, name: &str, seed| {
        let path = d.join(name);
        common::write_generated(&regions, format, 400, seed, &path);
        path
    };
    // A verval round that left the "desil" column empty (it is "bila diketahui").
    let verval = gen(SourceFormat::Verval, "verval.csv", 4);
    let verval_no_desil = d.join("verval-tanpa-desil.csv");
    common::edit_csv(&verval, &verval_no_desil, |h, row| {
        row[common::col(h, "desil")].clear();
    });
    // A local list read through a mapping that names a PKH column and no desil.
    let dtsen_for_custom = gen(SourceFormat::Dtsen, "lokal.csv", 5);
    let mapping = d.join("lokal.toml");
    std::fs::write(
        &mapping,
        "[columns]\nsource_id = \"id_keluarga\"\nhead_name = \"nama_kepala_keluarga\"\nnik = \"nomor_induk_kependudukan\"\nkk = \"nomor_kartu_keluarga\"\nstreet = \"alamat\"\ndesa = \"desa_kelurahan\"\nkecamatan = \"kecamatan\"\nkabupaten = \"kabupaten_kota\"\nregion_code = \"kode_wilayah\"\npkh = \"penerima_pkh\"\n",
    )
    .unwrap();
    let sets = |s: &[&str]| -> BTreeSet<String> { s.iter().map(|x| x.to_string()).collect() };
    let cases: Vec<(&str, PathBuf, FileOptions, BTreeSet<String>)> = vec![
        (
            "2024-01",
            gen(SourceFormat::P3ke, "p3ke.csv", 1),
            FileOptions::default(),
            // Desil 1–4 and five programme columns; no member count, no status.
            sets(&[
                "desil", "desil_4", "programs", "pkh", "bpnt", "sembako", "bpum", "bst",
            ]),
        ),
        (
            "2024-02",
            gen(SourceFormat::Dtks, "dtks.csv", 2),
            FileOptions::default(),
            // Persons grouped into households: members only.
            sets(&["members"]),
        ),
        (
            "2024-03",
            gen(SourceFormat::Dtsen, "dtsen.csv", 3),
            FileOptions::default(),
            sets(&[
                "members", "desil", "desil_10", "programs", "pkh", "bpnt", "pbi",
            ]),
        ),
        (
            "2024-04",
            verval,
            FileOptions::default(),
            sets(&["members", "desil", "desil_10", "extreme_poor"]),
        ),
        (
            "2024-05",
            verval_no_desil,
            FileOptions::default(),
            sets(&["members", "extreme_poor"]),
        ),
        (
            "2024-06",
            dtsen_for_custom,
            FileOptions {
                mapping: Some(mapping),
                ..Default::default()
            },
            sets(&["programs", "pkh"]),
        ),
    ];
    for (period, file, options, _) in &cases {
        common::import_file(store.as_ref(), file, period, options.clone()).await;
    }
    // A source that states no desil has no desil scale.
    let facts = store.household_facts(None).await.unwrap();
    assert!(facts.iter().all(|f| f.desil.is_some() || f.scale.is_none()));

    let app = common::exact_router(Live::load(store.clone()).await.unwrap());
    let (_, fields) = common::get_json(&app, "/api/fields").await;
    let names: Vec<String> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let mut checked = 0;
    for (period, _, _, stated) in &cases {
        let (_, sources) = common::get_json(
            &app,
            &format!("/api/sources?level=provinsi&period={period}"),
        )
        .await;
        let states: BTreeSet<String> = sources[0]["sources"][0]["states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(&states, stated, "{period}: the fields its source states");
        for level in ["provinsi", "kabupaten"] {
            let (_, units) = common::get_json(
                &app,
                &format!("/api/indicators?level={level}&period={period}&min_households=0"),
            )
            .await;
            for u in units.as_array().unwrap() {
                if u["households"].as_u64().unwrap_or(0) == 0 {
                    continue;
                }
                for name in &names {
                    let silent = needs(name).iter().any(|f| !stated.contains(*f));
                    let zero_denominator =
                        share_denominator(name).is_some_and(|c| u[c].as_u64() == Some(0));
                    // A rate over all households is null where only part of the counted
                    // households state its numerator (it would be diluted by the silent rest).
                    let partly_stated = name == "extreme_poor_rate"
                        && u["extreme_poor_known"].as_u64() < u["households"].as_u64();
                    let v = &u[name.as_str()];
                    if silent {
                        assert!(
                            v.is_null(),
                            "{period} {}: {name} = {v}, its source is silent",
                            u["kode"]
                        );
                    } else if !zero_denominator && !partly_stated {
                        assert!(
                            !v.is_null(),
                            "{period} {}: {name} is null, its source states it",
                            u["kode"]
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 2000, "{checked} figures checked");
}

#[tokio::test]
async fn a_period_without_desil_shows_no_desil_and_no_desil_change() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::scenario(dir.path()).await;
    let app = common::exact_router(Live::load(store).await.unwrap());
    let desil_fields: Vec<String> = (1..=10)
        .map(|d| format!("desil_{d}"))
        .chain(
            [
                "desil_1_4",
                "desil_1_rate",
                "desil_1_4_rate",
                "desil_1_no_pkh",
                "desil_1_no_program",
            ]
            .map(String::from),
        )
        .collect();
    for level in ["provinsi", "kabupaten", "kecamatan", "desa"] {
        let (_, units) = common::get_json(
            &app,
            &format!("/api/indicators?level={level}&period=2025-06&base=2024-12"),
        )
        .await;
        let units = units.as_array().unwrap();
        assert!(!units.is_empty());
        for u in units {
            for f in &desil_fields {
                assert!(
                    u[f.as_str()].is_null(),
                    "{level} {}: {f} = {}",
                    u["kode"],
                    u[f.as_str()]
                );
            }
            assert!(u["desil_1_change"].is_null());
            if u["has_data"] == true {
                assert_eq!(
                    u["change_notes"]["desil_1"], "tidak sebanding: 2025-06 tidak memuat desil",
                    "{level} {}",
                    u["kode"]
                );
            }
        }
        // Household counts still compare.
        if level == "provinsi" || level == "kabupaten" {
            assert!(units.iter().any(|u| u["households_change"].is_number()));
        }
        // The choropleth of desil 1 shows every unit as "Tidak ada data".
        let (status, c) = common::get_json(
            &app,
            &format!("/api/choropleth?level={level}&indicator=desil_1&period=2025-06"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(c["classes"], 0);
        assert_eq!(c["no_data"].as_u64().unwrap() as usize, units.len());
        assert!(c["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["class"].is_null()));
        assert_eq!(
            c["no_data_reasons"],
            serde_json::json!([{ "reason": "sumber 2025-06 tidak memuat desil", "units": units.len() }]),
            "{level}"
        );
        // And the change map of desil 1 too.
        let (_, c) = common::get_json(
            &app,
            &format!("/api/choropleth?level={level}&indicator=desil_1_change&period=2025-06&base=2024-12"),
        )
        .await;
        assert_eq!(c["classes"], 0, "{level}");
        let covered = units.iter().filter(|u| u["has_data"] == true).count();
        assert_eq!(
            c["no_data_reasons"][0],
            serde_json::json!({ "reason": "tidak sebanding: 2025-06 tidak memuat desil", "units": covered }),
            "{level}"
        );
    }
    // 2024-12 (P3KE) states desil: the same map there is classified.
    let (_, c) = common::get_json(
        &app,
        "/api/choropleth?level=kabupaten&indicator=desil_1&period=2024-12",
    )
    .await;
    assert!(c["classes"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn every_unit_knows_the_batches_its_figures_rest_on() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::scenario(dir.path()).await;
    let app = common::exact_router(Live::load(store).await.unwrap());
    let (_, rec) = common::get_json(&app, "/api/reconciliation").await;
    for period in ["2024-12", "2025-06"] {
        for level in ["provinsi", "kabupaten", "kecamatan"] {
            let (_, units) =
                common::get_json(&app, &format!("/api/sources?level={level}&period={period}"))
                    .await;
            let (_, figures) = common::get_json(
                &app,
                &format!("/api/indicators?level={level}&period={period}"),
            )
            .await;
            let by_kode: HashMap<String, &Value> = figures
                .as_array()
                .unwrap()
                .iter()
                .map(|u| (u["kode"].as_str().unwrap().to_string(), u))
                .collect();
            let mut per_batch: HashMap<i64, u64> = HashMap::new();
            for u in units.as_array().unwrap() {
                let kode = u["kode"].as_str().unwrap();
                let sum: u64 = u["sources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        let n = s["households"].as_u64().unwrap();
                        assert!(
                            s["placed_gps"].as_u64().unwrap()
                                + s["placed_code"].as_u64().unwrap()
                                + s["placed_names"].as_u64().unwrap()
                                <= n
                        );
                        *per_batch
                            .entry(s["batch_id"].as_i64().unwrap())
                            .or_default() += n;
                        n
                    })
                    .sum();
                let households = by_kode[kode]["households"].as_u64().unwrap_or(0);
                assert_eq!(
                    sum, households,
                    "{period} {level} {kode}: sources add up to the households counted"
                );
                assert_eq!(u["households"].as_u64().unwrap(), households);
            }
            // Each batch of the period: what the units of a level hold of it is what the
            // reconciliation counts for it at that level or below.
            for b in rec["batches"].as_array().unwrap() {
                if b["period"] != period {
                    continue;
                }
                let id = b["id"].as_i64().unwrap();
                let n = |k: &str| b[k].as_u64().unwrap();
                let want = match level {
                    "kecamatan" => n("counted_desa") + n("counted_kecamatan"),
                    _ => n("counted_desa") + n("counted_kecamatan") + n("counted_kabupaten"),
                };
                assert_eq!(
                    per_batch.get(&id).copied().unwrap_or(0),
                    want,
                    "{period} {level} batch {id}"
                );
            }
        }
    }
    // The verval file states the extreme-poor mark, DTKS only members; the 2025-06
    // kabupaten name both, with their file names and import times.
    let (_, kab) = common::get_json(&app, "/api/sources?level=kabupaten&period=2025-06").await;
    let k = kab
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["sources"].as_array().unwrap().len() == 2)
        .expect("a kabupaten with both 2025-06 files");
    let mut s = k["sources"].as_array().unwrap().clone();
    s.sort_by_key(|x| x["source"].as_str().unwrap().to_string());
    assert_eq!(s[0]["source"], "dtks");
    assert_eq!(s[0]["file_name"], "dtks.csv");
    assert_eq!(s[0]["states"], serde_json::json!(["members"]));
    assert_eq!(s[1]["source"], "verval");
    assert_eq!(
        s[1]["states"],
        serde_json::json!(["members", "extreme_poor"])
    );
    assert!(
        s[1]["share_gps"].as_f64().unwrap() > 0.5,
        "verval households are placed by GPS"
    );
    assert!(s[0]["imported_at"].as_str().unwrap().starts_with("20"));
    // The region detail carries them for the panel.
    let (_, r) = common::get_json(
        &app,
        &format!(
            "/api/regions/{}?period=2025-06",
            k["kode"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(r["sources"], k["sources"]);
    // The GeoJSON export says what the figures rest on.
    let got = common::fetch(&app, "/api/export/kabupaten.geojson?period=2025-06", &[]).await;
    let fc = got.json();
    let note = fc["note"].as_str().unwrap();
    assert!(
        note.starts_with("Periode 2025-06: DTKS (dtks.csv, diimpor 20"),
        "{note}"
    );
    assert!(note.contains("verval (verval.csv"));
    assert_eq!(fc["sources"].as_array().unwrap().len(), 2);
    // The XLSX export has a `sumber` sheet: one row per kabupaten and batch counted there.
    let got = common::fetch(&app, "/api/export/kabupaten.xlsx?period=2025-06", &[]).await;
    assert_eq!(got.status, StatusCode::OK);
    let path = dir.path().join("kabupaten.xlsx");
    std::fs::write(&path, &got.body).unwrap();
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(&path).unwrap();
    let sheet = book.worksheet_range("sumber").unwrap();
    let pairs: usize = kab
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["sources"].as_array().unwrap().len())
        .sum();
    assert_eq!(sheet.height(), pairs + 1);
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &header[..6],
        ["kode", "nama", "periode", "batch", "berkas", "sumber"]
    );
    assert!(
        sheet
            .rows()
            .skip(1)
            .any(|r| r[5] == "verval"
                && r[12] == "jumlah anggota rumah tangga, status miskin ekstrem")
    );
    // A base period is refused on /api/sources, in words.
    let (status, e) = common::get_json(&app, "/api/sources?base=2024-12").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        e["error"],
        "`base` is not a parameter of /api/sources (flows: /api/transitions)"
    );
}

/// One household of the constructed files: its KK (the key), desa and desil.
#[derive(Debug, Clone)]
struct Truth {
    kk: String,
    nik: String,
    desa: Kode,
    desil: u8,
}

/// Expected flows per unit of `level` (by code), computed from the constructed truth with
/// the documented definitions.
fn expected_flows(
    before: &[Truth],
    now: &[Truth],
    level: Level,
) -> HashMap<String, HashMap<&'static str, u64>> {
    let at = |k: Kode| k.ancestor(level).unwrap_or(k).to_string();
    let mut out: HashMap<String, HashMap<&'static str, u64>> = HashMap::new();
    let mut add = |unit: String, field: &'static str| {
        *out.entry(unit).or_default().entry(field).or_default() += 1;
    };
    let by_kk: HashMap<&str, &Truth> = before.iter().map(|t| (t.kk.as_str(), t)).collect();
    let by_nik: HashMap<&str, &Truth> = before.iter().map(|t| (t.nik.as_str(), t)).collect();
    let mut matched_before = BTreeSet::new();
    for t in now {
        let here = at(t.desa);
        add(here.clone(), "households");
        let b = by_kk
            .get(t.kk.as_str())
            .or_else(|| by_nik.get(t.nik.as_str()));
        let Some(b) = b else {
            add(here, "entered");
            continue;
        };
        matched_before.insert(b.nik.clone());
        let there = at(b.desa);
        add(here.clone(), "matched");
        if there == here {
            add(here.clone(), "stayed");
        } else {
            add(here.clone(), "moved_in");
            add(there, "moved_out");
        }
        add(here.clone(), "desil_both");
        let f = match t.desil.cmp(&b.desil) {
            std::cmp::Ordering::Less => "desil_down",
            std::cmp::Ordering::Equal => "desil_same",
            std::cmp::Ordering::Greater => "desil_up",
        };
        add(here.clone(), f);
        if b.desil == 1 && t.desil != 1 {
            add(here.clone(), "left_desil_1");
        }
        if t.desil == 1 && b.desil != 1 {
            add(here, "entered_desil_1");
        }
    }
    for b in before {
        add(at(b.desa), "base_households");
        if !matched_before.contains(&b.nik) {
            add(at(b.desa), "left");
        }
    }
    out
}

/// Writes a DTSEN file of the generator's rows with each household placed in `truth`'s desa
/// (code and names), its desil and KK.
fn write_dtsen(
    path: &Path,
    rows: &[(Vec<String>, Truth)],
    header: &[String],
    regions: &HashMap<Kode, &Region>,
) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for (row, t) in rows {
        let mut row = row.clone();
        let name = |k: Kode| regions[&k].nama.clone();
        row[common::col(header, "kode_wilayah")] = t.desa.to_string();
        row[common::col(header, "desa_kelurahan")] = name(t.desa);
        row[common::col(header, "kecamatan")] = name(t.desa.parent().unwrap());
        row[common::col(header, "kabupaten_kota")] =
            name(t.desa.ancestor(Level::Kabupaten).unwrap());
        row[common::col(header, "nomor_kartu_keluarga")] = t.kk.clone();
        for c in ["desil_nasional", "desil_provinsi", "desil_kabupaten_kota"] {
            row[common::col(header, c)] = t.desil.to_string();
        }
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

fn read_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

async fn transitions_through(store: Arc<dyn Store>, dir: &Path, regions: &[Region]) {
    let by_kode: HashMap<Kode, &Region> = regions.iter().map(|r| (r.kode, r)).collect();
    let desa: Vec<Kode> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .map(|r| r.kode)
        .step_by(23)
        .take(40)
        .collect();
    let gen = |name: &str, count, seed| {
        let p = dir.join(name);
        common::write_generated(regions, SourceFormat::Dtsen, count, seed, &p);
        read_rows(&p)
    };
    let (header, base_rows) = gen("dtsen-a.csv", 300, 31);
    let (_, new_rows) = gen("dtsen-b.csv", 30, 32);
    let truth_of = |row: &Vec<String>, i: usize| Truth {
        kk: row[common::col(&header, "nomor_kartu_keluarga")].clone(),
        nik: row[common::col(&header, "nomor_induk_kependudukan")].clone(),
        desa: desa[i % desa.len()],
        desil: (1 + (i * 7) % 10) as u8,
    };
    let before: Vec<(Vec<String>, Truth)> = base_rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), truth_of(r, i)))
        .collect();
    // The second period: every tenth household dropped, some moved to another desa (some to
    // another kabupaten), some re-ranked (into and out of desil 1), some with a new KK
    // (matched by NIK), and 30 new.
    let mut after: Vec<(Vec<String>, Truth)> = Vec::new();
    for (i, (row, t)) in before.iter().enumerate() {
        let mut t = t.clone();
        match i % 10 {
            9 => continue,
            1 => t.desa = desa[(i + 17) % desa.len()],
            // Desil 5 → 1: poorer, into desil 1.
            2 => t.desil = 1,
            // Desil 2 → 3.
            3 => t.desil = 3,
            // A new family card: matched by the head's NIK.
            4 => t.kk = format!("9{}", &t.kk[1..]),
            // Half of desil 1 leaves it.
            0 if i % 20 == 0 => t.desil = 2,
            _ => {}
        }
        after.push((row.clone(), t));
    }
    for (i, row) in new_rows.iter().enumerate() {
        let mut row = row.clone();
        row[common::col(&header, "id_keluarga")] = format!("BARU{i:05}");
        after.push((row.clone(), truth_of(&row, i + 5)));
    }
    let (a, b) = (dir.join("periode-1.csv"), dir.join("periode-2.csv"));
    write_dtsen(&a, &before, &header, &by_kode);
    write_dtsen(&b, &after, &header, &by_kode);
    common::import_file(store.as_ref(), &a, "2025-03", FileOptions::default()).await;
    common::import_file(store.as_ref(), &b, "2025-09", FileOptions::default()).await;
    let app = common::exact_router(Live::load(store).await.unwrap());
    let (_, rec) = common::get_json(&app, "/api/reconciliation").await;
    let counted: u64 = rec["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["counted_desa"].as_u64().unwrap())
        .sum();
    assert_eq!(
        counted as usize,
        before.len() + after.len(),
        "every constructed household is counted in its desa"
    );

    let truth_before: Vec<Truth> = before.into_iter().map(|(_, t)| t).collect();
    let truth_after: Vec<Truth> = after.into_iter().map(|(_, t)| t).collect();
    let fields = [
        "households",
        "base_households",
        "matched",
        "stayed",
        "entered",
        "left",
        "moved_in",
        "moved_out",
        "desil_both",
        "desil_down",
        "desil_same",
        "desil_up",
        "left_desil_1",
        "entered_desil_1",
    ];
    for (level, name) in [
        (Level::Provinsi, "provinsi"),
        (Level::Kabupaten, "kabupaten"),
        (Level::Desa, "desa"),
    ] {
        let want = expected_flows(&truth_before, &truth_after, level);
        let (status, got) = common::get_json(
            &app,
            &format!("/api/transitions?level={name}&period=2025-09&base=2025-03"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        for u in got.as_array().unwrap() {
            let kode = u["kode"].as_str().unwrap();
            let w = want.get(kode);
            if let Some(note) = u["note"].as_str() {
                // A kabupaten/kota no file of a period covers: no data, not zero flows.
                assert!(note.starts_with("tidak ada data untuk"), "{note}");
                assert!(fields.iter().all(|f| u[*f].is_null()));
                // …exactly where one of the periods has no constructed household in the
                // unit's kabupaten/kota.
                let kab = |t: &Truth| t.desa.ancestor(Level::Kabupaten);
                let unit_kab = kode.parse::<Kode>().unwrap().ancestor(Level::Kabupaten);
                let covers = |list: &[Truth]| list.iter().any(|t| kab(t) == unit_kab);
                assert!(
                    !covers(&truth_before) || !covers(&truth_after),
                    "{name} {kode}: covered in both periods, but no data"
                );
                continue;
            }
            for f in fields {
                let expected = w.and_then(|w| w.get(f)).copied().unwrap_or(0);
                assert_eq!(u[f].as_u64(), Some(expected), "{name} {kode} {f}");
            }
            let n = |f: &str| u[f].as_u64().unwrap();
            assert_eq!(n("households"), n("stayed") + n("moved_in") + n("entered"));
            assert_eq!(
                n("base_households"),
                n("stayed") + n("moved_out") + n("left")
            );
        }
        if level == Level::Provinsi {
            let p = &got[0];
            assert_eq!(
                (
                    p["left"].as_u64(),
                    p["entered"].as_u64(),
                    p["matched"].as_u64()
                ),
                (Some(30), Some(30), Some(270))
            );
            assert_eq!(
                (p["desil_down"].as_u64(), p["desil_up"].as_u64()),
                (Some(30), Some(45))
            );
            assert_eq!(
                (p["entered_desil_1"].as_u64(), p["left_desil_1"].as_u64()),
                (Some(30), Some(15))
            );
        }
    }
    // Every flow is a map indicator: the choropleth's values are the API's counts.
    let (_, flows) = common::get_json(
        &app,
        "/api/transitions?level=kabupaten&period=2025-09&base=2025-03",
    )
    .await;
    for flow in [
        "entered",
        "left",
        "moved_in",
        "desil_down",
        "entered_desil_1",
    ] {
        let (status, c) = common::get_json(
            &app,
            &format!("/api/choropleth?level=kabupaten&indicator=transition_{flow}&period=2025-09&base=2025-03&min_households=0"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{c}");
        for (u, f) in c["units"]
            .as_array()
            .unwrap()
            .iter()
            .zip(flows.as_array().unwrap())
        {
            assert_eq!(u["kode"], f["kode"]);
            assert_eq!(
                u["value"].as_f64(),
                f[flow].as_u64().map(|v| v as f64),
                "{flow} {}",
                u["kode"]
            );
        }
    }
    let (status, e) = common::get_json(&app, "/api/choropleth?indicator=transition_entered").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("needs a base period"));
    let (status, _) = common::get_json(
        &app,
        "/api/choropleth?indicator=transition_nowhere&base=2025-03",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The base defaults to the period before; a period without an earlier one says so.
    let (_, d) = common::get_json(&app, "/api/transitions?level=provinsi").await;
    assert_eq!(d[0]["base_period"], "2025-03");
    let (status, e) = common::get_json(&app, "/api/transitions?period=2025-03").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e["error"]
        .as_str()
        .unwrap()
        .contains("no period before 2025-03"));
}

#[tokio::test]
async fn households_are_followed_across_periods_through_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_dir(&dir.path().join("store"))
            .await
            .unwrap(),
    );
    let regions = common::load_kaltim(store.as_ref()).await;
    transitions_through(store, dir.path(), &regions).await;
}

#[tokio::test]
async fn households_are_followed_across_periods_through_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    let regions = common::load_kaltim(store.as_ref()).await;
    transitions_through(store, dir.path(), &regions).await;
}

#[tokio::test]
async fn rates_over_few_households_are_flagged_and_left_out_of_rankings() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::scenario(dir.path()).await;
    let app = common::exact_router(Live::load(store).await.unwrap());
    let (_, desa) = common::get_json(
        &app,
        "/api/indicators?level=desa&period=2024-12&min_households=10",
    )
    .await;
    let known: HashMap<String, u64> = desa
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["kode"].as_str().unwrap().to_string(),
                u["pkh_known"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let few_listed = desa
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["few_households"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "pkh_coverage")
        })
        .count();
    let base = "/api/choropleth?level=desa&indicator=pkh_coverage&period=2024-12";
    let (_, c) = common::get_json(&app, &format!("{base}&min_households=10")).await;
    let units = c["units"].as_array().unwrap();
    let few: Vec<&Value> = units.iter().filter(|u| u["few"] == true).collect();
    assert!(
        !few.is_empty(),
        "1,500 households over 1,038 desa: most desa have few"
    );
    assert_eq!(few.len(), few_listed);
    assert_eq!(c["few"].as_u64().unwrap() as usize, few.len());
    for u in units {
        let k = known[u["kode"].as_str().unwrap()];
        assert_eq!(u["few"] == true, u["value"].is_number() && k < 10, "{u}");
        if u["few"] == true {
            assert!(u["class"].is_null());
        }
    }
    assert_eq!(c["few_label"], "Terlalu sedikit data (< 10 rumah tangga)");
    let (_, all) = common::get_json(&app, &format!("{base}&min_households=0")).await;
    assert_eq!(all["few"], 0);
    // Share rankings leave them out unless asked for.
    let targets = "/api/targets?level=desa&indicator=pkh_coverage&period=2024-12&top=2000";
    let (_, t) = common::get_json(&app, targets).await;
    let ranked = t["targets"].as_array().unwrap();
    assert!(!ranked.is_empty());
    assert!(ranked
        .iter()
        .all(|r| known[r["kode"].as_str().unwrap()] >= 10));
    let (_, t0) = common::get_json(&app, &format!("{targets}&min_households=0")).await;
    assert!(t0["targets"].as_array().unwrap().len() > ranked.len());
    // Counts are never "few": a count of 3 is a count of 3.
    let (_, c) = common::get_json(
        &app,
        "/api/choropleth?level=desa&indicator=desil_1&period=2024-12",
    )
    .await;
    assert_eq!(c["few"], 0);
}
