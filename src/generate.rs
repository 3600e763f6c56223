//! The synthetic household generator (`lentera generate households`).
//!
//! Deterministic from a seed, it writes P3KE, DTKS, DTSEN or verval files for any set of desa:
//! made-up Indonesian names, NIK/KK numbers that start with the household's kecamatan code,
//! addresses in the forms clerks type (abbreviations, upper case, `Sei` for `Sungai`, typos),
//! region codes dotted, plain, in BPS form, truncated or missing, and phone GPS with the usual
//! errors (swapped, zero, in the neighbouring desa, decimal comma). Households are spread over
//! the desa following the kabupaten poverty figures. Nothing real ever enters such a file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use geo::{BoundingRect, Contains, InteriorPoint, Point};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::SourceFormat;
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region};

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The inputs cannot be used.
    #[error("{0}")]
    Input(String),
    /// The workbook cannot be written.
    #[error("{path}: cannot write the workbook: {message}")]
    Xlsx {
        /// The file.
        path: PathBuf,
        /// The error.
        message: String,
    },
}

/// Text encoding of written CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputEncoding {
    /// UTF-8.
    Utf8,
    /// Windows-1252.
    Windows1252,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// File format.
    pub format: SourceFormat,
    /// Number of households.
    pub count: usize,
    /// Seed.
    pub seed: u64,
    /// CSV delimiter (DTKS files are written with `|` when this is `,`).
    pub delimiter: u8,
    /// CSV encoding.
    pub encoding: OutputEncoding,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Households.
    pub households: usize,
    /// Data rows (persons for DTKS).
    pub rows: usize,
}

/// Population and poverty rate of a kabupaten/kota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KabupatenStats {
    /// Population.
    pub population: f64,
    /// Share of poor people, percent.
    pub poverty_pct: f64,
}

/// Reads `kode_kemendagri,…,penduduk_2025,persen_miskin_2024[,persen_miskin_2023]`; a missing
/// 2024 rate falls back to 2023, then to the province-wide mean.
pub fn read_kabupaten_stats(path: &Path) -> Result<HashMap<Kode, KabupatenStats>, GenerateError> {
    let bad = |m: String| GenerateError::Input(format!("{}: {m}", path.display()));
    let mut rdr = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let headers = rdr.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(c_kode), Some(c_pop), Some(c_pct)) = (
        col("kode_kemendagri"),
        col("penduduk_2025"),
        col("persen_miskin_2024"),
    ) else {
        return Err(bad(
            "needs kode_kemendagri, penduduk_2025, persen_miskin_2024".into(),
        ));
    };
    let c_old = col("persen_miskin_2023");
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let kode = Kode::parse(rec.get(c_kode).unwrap_or("")).map_err(|e| bad(e.to_string()))?;
        let population: f64 = rec
            .get(c_pop)
            .unwrap_or("")
            .parse()
            .map_err(|_| bad(format!("{kode}: population")))?;
        let pct = [Some(c_pct), c_old]
            .into_iter()
            .flatten()
            .find_map(|c| rec.get(c).and_then(|v| v.parse::<f64>().ok()));
        match pct {
            Some(p) => {
                out.insert(
                    kode,
                    KabupatenStats {
                        population,
                        poverty_pct: p,
                    },
                );
            }
            None => missing.push((kode, population)),
        }
    }
    let mean = if out.is_empty() {
        6.0
    } else {
        out.values().map(|s| s.poverty_pct).sum::<f64>() / out.len() as f64
    };
    for (kode, population) in missing {
        out.insert(
            kode,
            KabupatenStats {
                population,
                poverty_pct: mean,
            },
        );
    }
    Ok(out)
}

const MALE: [&str; 40] = [
    "Ahmad",
    "Muhammad",
    "Budi",
    "Agus",
    "Hendra",
    "Rudi",
    "Joko",
    "Slamet",
    "Bambang",
    "Andi",
    "Dedi",
    "Eko",
    "Fajar",
    "Hasan",
    "Imam",
    "Irwan",
    "Junaidi",
    "Kurniawan",
    "Lukman",
    "Mulyadi",
    "Rahmat",
    "Syahrul",
    "Taufik",
    "Wahyu",
    "Yusuf",
    "Zainal",
    "Arif",
    "Darmawan",
    "Gusti",
    "Herman",
    "Iwan",
    "Jamal",
    "Karim",
    "Saleh",
    "Suparman",
    "Sutrisno",
    "Abdul",
    "Daeng",
    "Baharuddin",
    "Sahrani",
];
const FEMALE: [&str; 26] = [
    "Siti",
    "Sri",
    "Nur",
    "Dewi",
    "Rina",
    "Wati",
    "Yuliana",
    "Fitri",
    "Hartini",
    "Indah",
    "Kartini",
    "Lestari",
    "Maryam",
    "Nurhayati",
    "Puspita",
    "Ratna",
    "Suryani",
    "Titin",
    "Wulan",
    "Aminah",
    "Halimah",
    "Rahmawati",
    "Salmah",
    "Yanti",
    "Stéfani",
    "Norhayati",
];
const FAMILY: [&str; 26] = [
    "Saputra",
    "Hidayat",
    "Wijaya",
    "Kusuma",
    "Santoso",
    "Rahman",
    "Hakim",
    "Pratama",
    "Susanto",
    "Gunawan",
    "Setiawan",
    "Nugroho",
    "Hasibuan",
    "Lubis",
    "Siregar",
    "Ramadhan",
    "Firmansyah",
    "Syahputra",
    "Anwar",
    "Effendi",
    "Sulaiman",
    "Bakri",
    "Latif",
    "Aji",
    "Noor",
    "Arsyad",
];
const STREETS: [&str; 20] = [
    "Merdeka",
    "Pahlawan",
    "Sudirman",
    "Ahmad Yani",
    "Diponegoro",
    "Gajah Mada",
    "Pramuka",
    "Cendana",
    "Kenanga",
    "Melati",
    "Ampera",
    "Pesantren",
    "Slamet Riyadi",
    "Juanda",
    "Antasari",
    "Usaha Tani",
    "Poros",
    "Trans",
    "Gotong Royong",
    "Flamboyan",
];

/// One synthetic person.
struct Person {
    name: String,
    nik: String,
    birth: (u32, u32, i32),
    female: bool,
    relation: &'static str,
}

/// One synthetic household with the forms its fields are written in.
struct Synth {
    desa: usize,
    head: Person,
    others: Vec<Person>,
    kk: String,
    desil4: u8,
    desil10: u8,
    programs: [bool; 5],
    street: String,
    rt: u32,
    rw: u32,
    dusun: u32,
    desa_name: String,
    kec_name: String,
    kab_name: String,
    code: String,
    code_form: &'static str,
    gps: (String, String),
    gps_case: &'static str,
}

struct World<'a> {
    desa: Vec<&'a Region>,
    names: HashMap<Kode, &'a str>,
    province: String,
    cumulative: Vec<f64>,
    bps: HashMap<Kode, String>,
    by_kec: HashMap<Kode, Vec<usize>>,
}

impl<'a> World<'a> {
    fn new(
        regions: &'a [Region],
        crosswalk: &[CrosswalkEntry],
        stats: &HashMap<Kode, KabupatenStats>,
        rng: &mut ChaCha8Rng,
    ) -> Result<World<'a>, GenerateError> {
        let desa: Vec<&Region> = regions
            .iter()
            .filter(|r| r.kode.level() == Level::Desa)
            .collect();
        if desa.is_empty() {
            return Err(GenerateError::Input(
                "no desa to generate households for: import boundaries or pass --regions".into(),
            ));
        }
        let names: HashMap<Kode, &str> =
            regions.iter().map(|r| (r.kode, r.nama.as_str())).collect();
        let mut per_kab: HashMap<Kode, usize> = HashMap::new();
        for d in &desa {
            *per_kab
                .entry(
                    d.kode
                        .ancestor(Level::Kabupaten)
                        .expect("desa have a kabupaten"),
                )
                .or_default() += 1;
        }
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(desa.len());
        let mut by_kec: HashMap<Kode, Vec<usize>> = HashMap::new();
        for (i, d) in desa.iter().enumerate() {
            let kab = d
                .kode
                .ancestor(Level::Kabupaten)
                .expect("desa have a kabupaten");
            let poor = stats
                .get(&kab)
                .map(|s| s.population * s.poverty_pct / 100.0)
                .unwrap_or(1000.0);
            total += poor / per_kab[&kab] as f64 * rng.random_range(0.5..1.5);
            cumulative.push(total);
            by_kec
                .entry(d.kode.parent().expect("desa have a kecamatan"))
                .or_default()
                .push(i);
        }
        let bps = crosswalk
            .iter()
            .filter_map(|e| {
                e.kode_kemendagri
                    .map(|k| (k, e.kode_bps.as_str().to_string()))
            })
            .collect();
        let prov = desa[0]
            .kode
            .ancestor(Level::Provinsi)
            .expect("codes have a province");
        let province = names.get(&prov).map(|s| s.to_string()).unwrap_or_else(|| {
            if prov.to_string() == "64" {
                "Kalimantan Timur".into()
            } else {
                format!("Provinsi {prov}")
            }
        });
        Ok(World {
            desa,
            names,
            province,
            cumulative,
            bps,
            by_kec,
        })
    }

    fn pick_desa(&self, rng: &mut ChaCha8Rng) -> usize {
        let x = rng.random_range(0.0..*self.cumulative.last().expect("not empty"));
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.desa.len() - 1)
    }

    fn name_of(&self, k: Kode) -> String {
        self.names
            .get(&k)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }
}

fn pick<'s>(rng: &mut ChaCha8Rng, items: &[&'s str]) -> &'s str {
    items[rng.random_range(0..items.len())]
}

fn person(
    rng: &mut ChaCha8Rng,
    kec_digits: &str,
    female: bool,
    age: std::ops::Range<i32>,
    relation: &'static str,
    serial: &mut u32,
) -> Person {
    let first = if female {
        pick(rng, &FEMALE)
    } else {
        pick(rng, &MALE)
    };
    let name = if rng.random_bool(0.7) {
        format!("{first} {}", pick(rng, &FAMILY))
    } else {
        first.to_string()
    };
    let year = 2025 - rng.random_range(age);
    let (d, m) = (rng.random_range(1..=28), rng.random_range(1..=12));
    *serial += 1;
    let dd = if female { d + 40 } else { d };
    let nik = format!(
        "{kec_digits}{dd:02}{m:02}{:02}{:04}",
        year % 100,
        *serial % 10_000
    );
    Person {
        name,
        nik,
        birth: (d, m, year),
        female,
        relation,
    }
}

/// Clerk-style variants of a place name: case, prefixes, spelling variants, typos.
fn clerk_name(rng: &mut ChaCha8Rng, name: &str, prefixes: &[&str]) -> String {
    let mut s = name.to_string();
    for (a, b) in [("Sungai ", "Sei "), ("Ulu", "Hulu"), ("Paser", "Pasir")] {
        if s.contains(a) && rng.random_bool(0.3) {
            s = s.replace(a, b);
        }
    }
    if s.contains('-') && rng.random_bool(0.3) {
        s = s.replace('-', " ");
    }
    if rng.random_bool(0.05) {
        let mut c: Vec<char> = s.chars().collect();
        let letters: Vec<usize> = (1..c.len().saturating_sub(1))
            .filter(|&i| c[i].is_alphabetic() && c[i + 1].is_alphabetic() && c[i] != c[i + 1])
            .collect();
        if !letters.is_empty() {
            let i = letters[rng.random_range(0..letters.len())];
            c.swap(i, i + 1);
            s = c.into_iter().collect();
        }
    }
    if !prefixes.is_empty() && rng.random_bool(0.2) {
        s = format!("{} {s}", pick(rng, prefixes));
    }
    if rng.random_bool(0.5) {
        s = s.to_uppercase();
    }
    s
}

fn random_point_in(rng: &mut ChaCha8Rng, r: &Region) -> (f64, f64) {
    if let Some(b) = r.geometry.bounding_rect() {
        for _ in 0..200 {
            let p = Point::new(
                rng.random_range(b.min().x..=b.max().x),
                rng.random_range(b.min().y..=b.max().y),
            );
            if r.geometry.contains(&p) {
                return (p.x(), p.y());
            }
        }
    }
    r.geometry
        .interior_point()
        .map(|p| (p.x(), p.y()))
        .unwrap_or((0.0, 0.0))
}

fn synth(world: &World<'_>, rng: &mut ChaCha8Rng, serial: &mut u32, format: SourceFormat) -> Synth {
    let i = world.pick_desa(rng);
    let desa = world.desa[i];
    let kode = desa.kode;
    let kec = kode.parent().expect("desa have a kecamatan");
    let kab = kec.parent().expect("kecamatan have a kabupaten");
    let kec_digits = kec.digits();
    let female_head = rng.random_bool(0.18);
    let head = person(
        rng,
        &kec_digits,
        female_head,
        22..80,
        "KEPALA KELUARGA",
        serial,
    );
    let mut others = Vec::new();
    let n_members = rng.random_range(1..=7);
    if n_members > 1 {
        others.push(person(
            rng,
            &kec_digits,
            !female_head,
            20..75,
            if female_head { "SUAMI" } else { "ISTRI" },
            serial,
        ));
    }
    for _ in 2..n_members {
        let f = rng.random_bool(0.5);
        others.push(person(rng, &kec_digits, f, 0..25, "ANAK", serial));
    }
    *serial += 1;
    let kk = format!(
        "{kec_digits}{:02}{:02}{:02}{:04}",
        rng.random_range(1..=28),
        rng.random_range(1..=12),
        rng.random_range(5..=24),
        *serial % 10_000
    );
    let desil4 = [1u8, 1, 1, 2, 2, 3, 3, 4, 4, 4][rng.random_range(0..10)];
    let desil10 = (1..=10u8)
        .find(|d| rng.random_bool(0.17 + 0.02 * f64::from(*d)) || *d == 10)
        .unwrap_or(10);
    let receive = |rng: &mut ChaCha8Rng, base: f64| {
        rng.random_bool((base - 0.08 * f64::from(desil4 - 1)).clamp(0.02, 0.95))
    };
    let programs = [
        receive(rng, 0.55),
        receive(rng, 0.6),
        receive(rng, 0.5),
        receive(rng, 0.2),
        receive(rng, 0.7),
    ];
    let street = match rng.random_range(0..4) {
        0 => format!(
            "{} {} {} {}",
            pick(rng, &["JL.", "Jl.", "Jln.", "Jalan", "jl"]),
            pick(rng, &STREETS),
            pick(rng, &["No.", "NO", "no."]),
            rng.random_range(1..200)
        ),
        1 => format!(
            "{} {}",
            pick(rng, &["Gg.", "GG", "Gang"]),
            pick(rng, &STREETS)
        ),
        2 => format!(
            "Blok {} No. {}",
            pick(rng, &["A", "B", "C", "D"]),
            rng.random_range(1..40)
        ),
        _ => format!(
            "{} {}",
            pick(rng, &["Kp.", "Kampung", "Dusun"]),
            pick(rng, &FAMILY)
        ),
    };
    let kampung = matches!(kab.to_string().as_str(), "64.07" | "64.03");
    let desa_prefixes: &[&str] = if kode.is_kelurahan() {
        &["Kel.", "Kelurahan", "KEL"]
    } else if kampung {
        &["Kampung", "Kp."]
    } else {
        &["Ds.", "Desa"]
    };
    let desa_name = clerk_name(rng, &desa.nama, desa_prefixes);
    let kec_name = if rng.random_bool(0.08) {
        String::new()
    } else {
        clerk_name(rng, &world.name_of(kec), &["Kec.", "Kecamatan"])
    };
    let kab_name = clerk_name(rng, &world.name_of(kab), &[]);
    let (code, code_form) = code_form(world, rng, kode, format);
    let (gps, gps_case) = gps_form(world, rng, i, format);
    Synth {
        desa: i,
        head,
        others,
        kk,
        desil4,
        desil10,
        programs,
        street,
        rt: rng.random_range(1..40),
        rw: rng.random_range(1..12),
        dusun: rng.random_range(1..6),
        desa_name,
        kec_name,
        kab_name,
        code,
        code_form,
        gps,
        gps_case,
    }
}

fn code_form(
    world: &World<'_>,
    rng: &mut ChaCha8Rng,
    kode: Kode,
    format: SourceFormat,
) -> (String, &'static str) {
    if format == SourceFormat::Dtks {
        return (String::new(), "none");
    }
    let roll = rng.random_range(0..100);
    match roll {
        0..=9 => (kode.to_string(), "dotted"),
        10..=19 => match world.bps.get(&kode) {
            Some(b) => (b.clone(), "bps"),
            None => (kode.digits(), "plain"),
        },
        20..=29 => (String::new(), "missing"),
        30..=34 => (
            kode.parent().map(|k| k.digits()).unwrap_or_default(),
            "truncated",
        ),
        35..=37 => match stale_code(world, kode) {
            Some(stale) => (stale.to_string(), "stale"),
            None => (kode.digits(), "plain"),
        },
        _ => (kode.digits(), "plain"),
    }
}

/// A well-formed desa code of the same kecamatan that names no loaded desa, as left by a
/// renumbering.
fn stale_code(world: &World<'_>, kode: Kode) -> Option<Kode> {
    let kec = kode.parent()?;
    let digits = kec.digits();
    let (prov, kab, kc) = (
        digits[0..2].parse().ok()?,
        digits[2..4].parse().ok()?,
        digits[4..6].parse().ok()?,
    );
    let base = if kode.is_kelurahan() { 1000 } else { 2000 };
    (1..999)
        .rev()
        .filter_map(|n| Kode::from_parts(prov, kab, kc, base + n).ok())
        .find(|k| !world.names.contains_key(k))
}

fn gps_form(
    world: &World<'_>,
    rng: &mut ChaCha8Rng,
    i: usize,
    format: SourceFormat,
) -> ((String, String), &'static str) {
    if format != SourceFormat::Verval {
        return ((String::new(), String::new()), "none");
    }
    let text = |v: f64| format!("{v:.6}");
    let roll = rng.random_range(0..100);
    let desa = world.desa[i];
    match roll {
        0..=6 => ((String::new(), String::new()), "missing"),
        7..=9 => (("0".into(), "0".into()), "zero"),
        10..=14 => {
            let (lon, lat) = random_point_in(rng, desa);
            ((text(lon), text(lat)), "swapped")
        }
        15..=19 => {
            let kec = desa.kode.parent().expect("desa have a kecamatan");
            let siblings: Vec<usize> = world.by_kec[&kec]
                .iter()
                .copied()
                .filter(|j| *j != i)
                .collect();
            if siblings.is_empty() {
                let (lon, lat) = random_point_in(rng, desa);
                return ((text(lat), text(lon)), "ok");
            }
            let j = siblings[rng.random_range(0..siblings.len())];
            // Simplified outlines overlap a little: a point in both desa is no error.
            let mut point = random_point_in(rng, world.desa[j]);
            for _ in 0..20 {
                if !desa.geometry.contains(&Point::new(point.0, point.1)) {
                    break;
                }
                point = random_point_in(rng, world.desa[j]);
            }
            let (lon, lat) = point;
            ((text(lat), text(lon)), "neighbour")
        }
        20..=29 => {
            let (lon, lat) = random_point_in(rng, desa);
            (
                (text(lat).replace('.', ","), text(lon).replace('.', ",")),
                "decimal_comma",
            )
        }
        _ => {
            let (lon, lat) = random_point_in(rng, desa);
            ((text(lat), text(lon)), "ok")
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "Ya" } else { "Tidak" }.to_string()
}

fn date_dmy(b: (u32, u32, i32)) -> String {
    format!("{:02}-{:02}-{}", b.0, b.1, b.2)
}

fn status_of(desil: u8) -> &'static str {
    match desil {
        1 => "Sangat Miskin",
        2 => "Miskin",
        3 => "Hampir Miskin",
        4 => "Rentan",
        _ => "Lainnya",
    }
}

fn header(format: SourceFormat) -> Vec<&'static str> {
    match format {
        SourceFormat::P3ke => vec![
            "ID Keluarga P3KE",
            "Provinsi",
            "Kabupaten/Kota",
            "Kecamatan",
            "Desa/Kelurahan",
            "Kode Kemdagri",
            "Desil Kesejahteraan",
            "Alamat",
            "Kepala Keluarga",
            "NIK",
            "Padan Dukcapil",
            "Jenis Kelamin",
            "Tanggal Lahir",
            "Pekerjaan",
            "Pendidikan",
            "Kepemilikan Rumah",
            "Memiliki Simpanan",
            "Jenis Atap",
            "Jenis Dinding",
            "Jenis Lantai",
            "Sumber Penerangan",
            "Bahan Bakar Memasak",
            "Sumber Air Minum",
            "Memiliki Fasilitas Buang Air Besar",
            "Penerima BPNT",
            "Penerima BPUM",
            "Penerima BST",
            "Penerima PKH",
            "Penerima SEMBAKO",
            "Resiko Stunting",
        ],
        SourceFormat::Dtks => vec![
            "iddtks",
            "provinsi",
            "kabupaten_kota",
            "kecamatan",
            "desa_kelurahan",
            "alamat",
            "dusun",
            "rt",
            "rw",
            "nomor_kk",
            "nomor_nik",
            "nama",
            "tanggal_lahir",
            "tempat_lahir",
            "jenis_kelamin",
            "nama_ibu_kandung",
            "hubungan_keluarga",
        ],
        SourceFormat::Dtsen => vec![
            "id_keluarga",
            "nomor_kartu_keluarga",
            "nomor_induk_kependudukan",
            "nama_kepala_keluarga",
            "jenis_kelamin",
            "tanggal_lahir",
            "jumlah_anggota_keluarga",
            "alamat",
            "rt",
            "rw",
            "provinsi",
            "kabupaten_kota",
            "kecamatan",
            "desa_kelurahan",
            "kode_wilayah",
            "desil_nasional",
            "desil_provinsi",
            "desil_kabupaten_kota",
            "penerima_pkh",
            "penerima_bpnt",
            "penerima_pbi",
            "b2_r201",
            "b2_r208",
        ],
        SourceFormat::Verval | SourceFormat::Custom => {
            crate::ingest::households::formats::VERVAL_COLUMNS
                .iter()
                .map(|(c, _)| *c)
                .collect()
        }
    }
}

/// The rows of one household in `format` (several persons for DTKS).
fn rows(
    s: &Synth,
    n: usize,
    world: &World<'_>,
    format: SourceFormat,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<String>> {
    let address = format!("{} RT. {:03} RW. {:03}", s.street, s.rt, s.rw);
    let sex = |p: &Person| if p.female { "P" } else { "L" }.to_string();
    match format {
        SourceFormat::P3ke => {
            let h = &s.head;
            vec![vec![
                format!("P3KE{:09}", n + 1),
                world.province.clone(),
                s.kab_name.clone(),
                s.kec_name.clone(),
                s.desa_name.clone(),
                s.code.clone(),
                s.desil4.to_string(),
                address,
                h.name.clone(),
                h.nik.clone(),
                pick(rng, &["Padan", "Padan", "Tidak Padan"]).into(),
                if h.female { "Perempuan" } else { "Laki-laki" }.into(),
                date_dmy(h.birth),
                pick(
                    rng,
                    &["Petani", "Nelayan", "Buruh", "Pedagang", "Tidak Bekerja"],
                )
                .into(),
                pick(rng, &["SD", "SMP", "SMA", "Tidak Sekolah"]).into(),
                pick(rng, &["Milik Sendiri", "Sewa", "Bebas Sewa"]).into(),
                yes_no(rng.random_bool(0.1)),
                pick(rng, &["Seng", "Genteng", "Asbes", "Daun"]).into(),
                pick(rng, &["Kayu", "Tembok", "Bambu"]).into(),
                pick(rng, &["Tanah", "Semen", "Keramik", "Kayu"]).into(),
                pick(rng, &["PLN", "Non-PLN"]).into(),
                pick(rng, &["LPG", "Kayu Bakar", "Minyak Tanah"]).into(),
                pick(rng, &["Sumur", "PDAM", "Sungai", "Air Hujan"]).into(),
                yes_no(rng.random_bool(0.7)),
                yes_no(s.programs[1]),
                yes_no(rng.random_bool(0.05)),
                yes_no(rng.random_bool(0.1)),
                yes_no(s.programs[0]),
                yes_no(s.programs[2]),
                yes_no(rng.random_bool(0.15)),
            ]]
        }
        SourceFormat::Dtks => std::iter::once(&s.head)
            .chain(&s.others)
            .enumerate()
            .map(|(k, p)| {
                vec![
                    format!("{}", n * 10 + k + 1),
                    world.province.to_uppercase(),
                    s.kab_name.clone(),
                    s.kec_name.clone(),
                    s.desa_name.clone(),
                    s.street.clone(),
                    format!("{}", s.dusun),
                    format!("{:03}", s.rt),
                    format!("{:03}", s.rw),
                    s.kk.clone(),
                    p.nik.clone(),
                    p.name.to_uppercase(),
                    date_dmy(p.birth),
                    s.kab_name.clone(),
                    sex(p),
                    pick(rng, &FEMALE).to_uppercase(),
                    p.relation.into(),
                ]
            })
            .collect(),
        SourceFormat::Dtsen => {
            let h = &s.head;
            vec![vec![
                format!("DTSEN{:09}", n + 1),
                s.kk.clone(),
                h.nik.clone(),
                h.name.clone(),
                sex(h),
                format!("{}-{:02}-{:02}", h.birth.2, h.birth.1, h.birth.0),
                (s.others.len() + 1).to_string(),
                s.street.clone(),
                format!("{:03}", s.rt),
                format!("{:03}", s.rw),
                world.province.clone(),
                s.kab_name.clone(),
                s.kec_name.clone(),
                s.desa_name.clone(),
                s.code.clone(),
                s.desil10.to_string(),
                s.desil10
                    .saturating_sub(rng.random_range(0..2))
                    .max(1)
                    .to_string(),
                s.desil10
                    .saturating_sub(rng.random_range(0..3))
                    .max(1)
                    .to_string(),
                yes_no(s.programs[0]),
                yes_no(s.programs[1]),
                yes_no(s.programs[4]),
                rng.random_range(1..=3).to_string(),
                rng.random_range(1..=9).to_string(),
            ]]
        }
        SourceFormat::Verval | SourceFormat::Custom => {
            let h = &s.head;
            vec![vec![
                format!("VV-{:07}", n + 1),
                h.nik.clone(),
                h.name.clone(),
                s.code.clone(),
                s.desa_name.clone(),
                s.kec_name.clone(),
                s.kab_name.clone(),
                address,
                s.gps.0.clone(),
                s.gps.1.clone(),
                status_of(s.desil4).into(),
                format!(
                    "{:02}/{:02}/2025",
                    rng.random_range(1..=28),
                    rng.random_range(1..=12)
                ),
                s.desil4.to_string(),
                (s.others.len() + 1).to_string(),
                format!("Petugas {}", pick(rng, &MALE)),
                String::new(),
            ]]
        }
    }
}

/// Title rows above the header in generated workbooks, as real exports have.
const XLSX_TITLE_ROWS: u32 = 3;

/// Writes `opts.count` synthetic households to `out` (`.xlsx` → workbook with title rows,
/// otherwise CSV), and optionally the true desa of each to `truth`
/// (`row,source_id,kode_desa,code_form,gps_case,names`; `names` is `full` or `no_kecamatan`).
pub fn write_households(
    regions: &[Region],
    crosswalk: &[CrosswalkEntry],
    stats: &HashMap<Kode, KabupatenStats>,
    opts: &GenerateOptions,
    out: &Path,
    truth: Option<&Path>,
) -> Result<GenerateSummary, GenerateError> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let world = World::new(regions, crosswalk, stats, &mut rng)?;
    let xlsx = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    let mut truth_w = match truth {
        Some(p) => {
            let mut w =
                csv::Writer::from_path(p).map_err(|e| GenerateError::Input(e.to_string()))?;
            w.write_record([
                "row",
                "source_id",
                "kode_desa",
                "code_form",
                "gps_case",
                "names",
            ])
            .map_err(|e| GenerateError::Input(e.to_string()))?;
            Some(w)
        }
        None => None,
    };
    let mut sink =
        if xlsx {
            Sink::Xlsx(XlsxSink::new(opts.format))
        } else {
            let delimiter = if opts.format == SourceFormat::Dtks && opts.delimiter == b',' {
                b'|'
            } else {
                opts.delimiter
            };
            let w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(
                std::io::BufWriter::new(std::fs::File::create(out).map_err(io(out))?),
            );
            Sink::Csv(w, opts.encoding)
        };
    sink.row(
        &header(opts.format)
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )?;
    let first_data_row = if xlsx { XLSX_TITLE_ROWS + 2 } else { 2 } as usize;
    let mut written = 0usize;
    let mut serial = 0u32;
    for n in 0..opts.count {
        let s = synth(&world, &mut rng, &mut serial, opts.format);
        let rows = rows(&s, n, &world, opts.format, &mut rng);
        if let Some(w) = truth_w.as_mut() {
            let source_id = match opts.format {
                SourceFormat::Dtks => s.kk.clone(),
                _ => rows[0][0].clone(),
            };
            let kode = world.desa[s.desa].kode.to_string();
            w.write_record([
                (first_data_row + written).to_string(),
                source_id,
                kode,
                s.code_form.into(),
                s.gps_case.into(),
                if s.kec_name.is_empty() {
                    "no_kecamatan"
                } else {
                    "full"
                }
                .into(),
            ])
            .map_err(|e| GenerateError::Input(e.to_string()))?;
        }
        for r in &rows {
            sink.row(r)?;
        }
        written += rows.len();
    }
    sink.finish(out)?;
    if let Some(mut w) = truth_w {
        w.flush().map_err(io(truth.unwrap_or(out)))?;
    }
    Ok(GenerateSummary {
        households: opts.count,
        rows: written,
    })
}

/// Where generated rows go. One lives per run, so the size difference between the variants
/// does not matter.
#[allow(clippy::large_enum_variant)]
enum Sink {
    Csv(
        csv::Writer<std::io::BufWriter<std::fs::File>>,
        OutputEncoding,
    ),
    Xlsx(XlsxSink),
}

impl Sink {
    fn row(&mut self, cells: &[String]) -> Result<(), GenerateError> {
        match self {
            Sink::Csv(w, OutputEncoding::Utf8) => w.write_record(cells),
            Sink::Csv(w, OutputEncoding::Windows1252) => w.write_record(
                cells
                    .iter()
                    .map(|c| encoding_rs::WINDOWS_1252.encode(c).0.into_owned()),
            ),
            Sink::Xlsx(x) => return x.row(cells),
        }
        .map_err(|e| GenerateError::Input(e.to_string()))
    }

    fn finish(self, out: &Path) -> Result<(), GenerateError> {
        match self {
            Sink::Csv(mut w, _) => w.flush().map_err(|source| GenerateError::Io {
                path: out.to_path_buf(),
                source,
            }),
            Sink::Xlsx(x) => x.finish(out),
        }
    }
}

struct XlsxSink {
    book: rust_xlsxwriter::Workbook,
    next_row: u32,
    err: Option<String>,
}

impl XlsxSink {
    fn new(format: SourceFormat) -> XlsxSink {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let mut err = sheet
            .set_name(if format == SourceFormat::P3ke {
                "Keluarga"
            } else {
                "Data"
            })
            .err()
            .map(|e| e.to_string());
        let titles = [
            format!(
                "DATA {} (SINTETIS, BUKAN DATA SEBENARNYA)",
                format.as_str().to_uppercase()
            ),
            "Dibuat oleh lentera generate households".to_string(),
        ];
        for (i, t) in titles.iter().enumerate() {
            if let Err(e) = sheet.write_string(i as u32, 0, t) {
                err = Some(e.to_string());
            }
        }
        XlsxSink {
            book,
            next_row: XLSX_TITLE_ROWS,
            err,
        }
    }

    fn row(&mut self, cells: &[String]) -> Result<(), GenerateError> {
        let sheet = self
            .book
            .worksheet_from_index(0)
            .map_err(|e| GenerateError::Input(e.to_string()))?;
        for (c, v) in cells.iter().enumerate() {
            if let Err(e) = sheet.write_string(self.next_row, c as u16, v) {
                self.err = Some(e.to_string());
            }
        }
        self.next_row += 1;
        Ok(())
    }

    fn finish(mut self, out: &Path) -> Result<(), GenerateError> {
        let xlsx_err = |message: String| GenerateError::Xlsx {
            path: out.to_path_buf(),
            message,
        };
        if let Some(e) = self.err {
            return Err(xlsx_err(e));
        }
        self.book.save(out).map_err(|e| xlsx_err(e.to_string()))
    }
}
