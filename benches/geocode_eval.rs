//! Evaluation and benchmark of the geocoder on generated households over the real Kalimantan
//! Timur desa (`$LENTERA_SHARED_DATA/kaltim`, default `../shared/data/kaltim`).
//!
//! For each format (P3KE, DTSEN, DTKS, verval) it generates households with their true desa,
//! geocodes them and prints an accuracy table by case (code form, names given, GPS case):
//! how many households are *determinable* (their data singles out the desa), how many of
//! those get the right desa, how many of the others get a desa anyway, and how many of the
//! bad GPS points are flagged. Then it times the geocoder alone, and as a peer in the same
//! run a brute-force point-in-polygon over every desa (what a geocoder without the R-tree
//! would do for the GPS step only), with the ratio.
//!
//! Run with `cargo bench --bench geocode_eval` (optionally `-- HOUSEHOLDS_PER_FORMAT`).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use geo::{Contains, Point};
use lentera::generate::{read_kabupaten_stats, write_households};
use lentera::generate::{GenerateOptions, OutputEncoding};
use lentera::geocode::Geocoder;
use lentera::ingest::boundaries::regions_from_files;
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::households::{FileOptions, HouseholdFile};
use lentera::model::{Flag, Geocode};
use lentera::model::{Household, SourceFormat};
use lentera::region::crosswalk::{read_crosswalk, Crosswalk};
use lentera::region::{Kode, Level, Region};

/// One truth row of the generator.
#[derive(Debug, Clone)]
struct Truth {
    kode: Kode,
    code_form: String,
    gps_case: String,
    names: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    n: u64,
    determinable: u64,
    right: u64,
    wrong: u64,
    other_placed: u64,
    flagged: u64,
}

impl Tally {
    fn add(&mut self, determinable: bool, g: &Geocode, truth: Kode, flagged: bool) {
        self.n += 1;
        self.flagged += u64::from(flagged);
        if determinable {
            self.determinable += 1;
            match g.kode_desa {
                Some(k) if k == truth => self.right += 1,
                Some(_) => self.wrong += 1,
                None => {}
            }
        } else if g.kode_desa.is_some() {
            self.other_placed += 1;
        }
    }

    fn merge(&mut self, o: &Tally) {
        self.n += o.n;
        self.determinable += o.determinable;
        self.right += o.right;
        self.wrong += o.wrong;
        self.other_placed += o.other_placed;
        self.flagged += o.flagged;
    }
}

fn pct(a: u64, b: u64) -> String {
    if b == 0 {
        "—".into()
    } else {
        format!("{:.2}", 100.0 * a as f64 / b as f64)
    }
}

fn print_row(case: &str, t: &Tally, flag_col: bool) {
    println!(
        "  {case:<28} {:>8} {:>8} {:>9} {:>7} {:>11} {:>9}",
        t.n,
        t.determinable,
        pct(t.right, t.determinable),
        t.wrong,
        pct(t.other_placed, t.n - t.determinable),
        if flag_col {
            pct(t.flagged, t.n)
        } else {
            String::new()
        }
    );
}

/// The lower-case official names of the desa, and how many desa share each name per
/// kecamatan and per kabupaten.
struct Names {
    name: HashMap<Kode, String>,
    count: HashMap<(Kode, String), usize>,
}

impl Names {
    fn new(regions: &[Region]) -> Names {
        let mut name = HashMap::new();
        let mut count = HashMap::new();
        for r in regions.iter().filter(|r| r.kode.level() == Level::Desa) {
            let n = r.nama.to_lowercase();
            for scope in [Level::Kecamatan, Level::Kabupaten] {
                let a = r.kode.ancestor(scope).expect("desa have ancestors");
                *count.entry((a, n.clone())).or_insert(0usize) += 1;
            }
            name.insert(r.kode, n);
        }
        Names { name, count }
    }

    fn unique_in(&self, kode: Kode, scope: Level) -> bool {
        let a = kode.ancestor(scope).expect("desa have ancestors");
        self.count.get(&(a, self.name[&kode].clone())) == Some(&1)
    }
}

/// Whether the household's own data singles out its desa, judged from the generator's record
/// of what it wrote (not from the geocoder).
fn determinable(t: &Truth, names: &Names) -> bool {
    if matches!(t.code_form.as_str(), "dotted" | "plain" | "bps") {
        return true;
    }
    if matches!(t.gps_case.as_str(), "ok" | "decimal_comma" | "swapped") {
        return true;
    }
    let scope = if t.names == "full" || t.code_form == "truncated" {
        Level::Kecamatan
    } else {
        Level::Kabupaten
    };
    names.unique_in(t.kode, scope)
}

fn expected_flag(gps_case: &str) -> Option<Flag> {
    match gps_case {
        "swapped" => Some(Flag::GpsSwapped),
        "zero" => Some(Flag::GpsZero),
        "neighbour" => Some(Flag::GpsMismatch),
        _ => None,
    }
}

async fn read_all(path: &std::path::Path) -> Vec<Household> {
    let file = HouseholdFile::open(path, &FileOptions::default()).unwrap();
    let secret = Secret::new("geocode-evaluation-secret").unwrap();
    tokio::task::spawn_blocking(move || {
        let mut out: Vec<Household> = Vec::new();
        file.feed(secret, None, &mut out).unwrap();
        out
    })
    .await
    .unwrap()
}

#[tokio::main]
async fn main() {
    let per_format: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let shared = std::env::var_os("LENTERA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let kaltim = shared.join("kaltim");
    let regions = regions_from_files(std::slice::from_ref(&kaltim)).unwrap();
    let cw_entries =
        read_crosswalk(std::fs::File::open(kaltim.join("bps_kemendagri.csv")).unwrap())
            .unwrap()
            .entries;
    let stats = read_kabupaten_stats(&kaltim.join("kabupaten_stats.csv")).unwrap();
    let known = regions.iter().map(|r| r.kode).collect();
    let t = Instant::now();
    let geocoder = Arc::new(Geocoder::new(
        &regions,
        Crosswalk::new(cw_entries.clone(), known),
    ));
    println!(
        "geocoder over {} desa built in {:.2} s",
        geocoder.desa_index().len(),
        t.elapsed().as_secs_f64()
    );
    let names = Names::new(&regions);
    let dir = tempfile::tempdir().unwrap();

    let mut by_case: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut all: Vec<Household> = Vec::new();
    for (i, format) in [
        SourceFormat::P3ke,
        SourceFormat::Dtsen,
        SourceFormat::Dtks,
        SourceFormat::Verval,
    ]
    .into_iter()
    .enumerate()
    {
        let file = dir.path().join(format!("{format}.csv"));
        let truth_path = dir.path().join(format!("{format}-truth.csv"));
        let opts = GenerateOptions {
            format,
            count: per_format,
            seed: 100 + i as u64,
            delimiter: b',',
            encoding: OutputEncoding::Utf8,
        };
        write_households(
            &regions,
            &cw_entries,
            &stats,
            &opts,
            &file,
            Some(&truth_path),
        )
        .unwrap();
        let mut truth: HashMap<u64, Truth> = HashMap::new();
        for r in csv::Reader::from_path(&truth_path).unwrap().records() {
            let r = r.unwrap();
            truth.insert(
                r[0].parse().unwrap(),
                Truth {
                    kode: Kode::parse(&r[2]).unwrap(),
                    code_form: r[3].to_string(),
                    gps_case: r[4].to_string(),
                    names: r[5].to_string(),
                },
            );
        }
        let households = read_all(&file).await;
        let mut session = geocoder.session();
        for h in &households {
            let t = &truth[&h.source_row];
            let g = session.geocode(h);
            let det = determinable(t, &names);
            let expected = expected_flag(&t.gps_case);
            let flagged = expected.is_some_and(|f| g.flags.has(f));
            for case in [
                format!("code {}", t.code_form),
                format!("names {}", t.names),
                format!("gps {}", t.gps_case),
            ] {
                by_case
                    .entry(case)
                    .or_default()
                    .add(det, &g, t.kode, flagged);
            }
            total.add(det, &g, t.kode, flagged);
        }
        all.extend(households);
    }

    println!(
        "\naccuracy on {} generated households over {} real Kaltim desa",
        total.n,
        geocoder.desa_index().len()
    );
    println!(
        "  {:<28} {:>8} {:>8} {:>9} {:>7} {:>11} {:>9}",
        "case", "n", "determ.", "right %", "wrong", "placed %¹", "flagged %²"
    );
    for (case, t) in &by_case {
        let gps_bad = ["gps swapped", "gps zero", "gps neighbour"].contains(&case.as_str());
        print_row(case, t, gps_bad);
    }
    let mut bad_gps = Tally::default();
    for c in ["gps swapped", "gps zero", "gps neighbour"] {
        if let Some(t) = by_case.get(c) {
            bad_gps.merge(t);
        }
    }
    print_row("all", &total, false);
    println!("  ¹ of the households that are not determinable: placed in a desa anyway");
    println!("  ² of the households in the case: carrying the flag of their GPS error");
    println!(
        "\nright desa among determinable: {} % (target ≥ 99 %)",
        pct(total.right, total.determinable)
    );
    println!(
        "placed although not determinable: {} % (target ≤ 0.5 %)",
        pct(total.other_placed, total.n - total.determinable)
    );
    println!(
        "bad GPS points flagged (swapped, zero, neighbour): {} % of {}",
        pct(bad_gps.flagged, bad_gps.n),
        bad_gps.n
    );

    // Throughput: the geocoder alone, one thread, cold name cache; best of five.
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut session = geocoder.session();
        let t = Instant::now();
        let mut placed = 0usize;
        for h in &all {
            placed += usize::from(session.geocode(h).kode_desa.is_some());
        }
        best = best.min(t.elapsed().as_secs_f64());
        assert!(placed > 0);
    }
    let rate = all.len() as f64 / best;
    println!(
        "\ngeocoder: {} households in {best:.3} s = {rate:.0} households/s (one thread; target ≥ 100,000)",
        all.len()
    );

    // Peer: brute-force point-in-polygon over every desa for the households with GPS.
    let desa: Vec<&Region> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .collect();
    let points: Vec<Point<f64>> = all
        .iter()
        .filter_map(|h| Some(Point::new(h.lon?, h.lat?)))
        .take(2000)
        .collect();
    let t = Instant::now();
    let mut found = 0usize;
    for p in &points {
        found += usize::from(desa.iter().any(|d| d.geometry.contains(p)));
    }
    let brute = points.len() as f64 / t.elapsed().as_secs_f64();
    let mut session = geocoder.session();
    let gps_households: Vec<&Household> = all.iter().filter(|h| h.lat.is_some()).collect();
    let t = Instant::now();
    for h in &gps_households {
        session.geocode(h);
    }
    let ours_gps = gps_households.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "peer: brute-force point-in-polygon over all desa, {} GPS points ({found} inside): \
         {brute:.0} points/s; the geocoder on households with GPS (full geocode): \
         {ours_gps:.0}/s; ratio {:.0}×",
        points.len(),
        ours_gps / brute
    );
}

/// The allocator of the `lentera` binary, so that the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
