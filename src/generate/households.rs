//! Made-up households: where they live (spread by the kabupaten figures), their members,
//! desil and programmes, and the forms their region codes, addresses and GPS are written in,
//! errors included.

use std::collections::HashMap;

use geo::{BoundingRect, Contains, InteriorPoint, Point};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::people::{clerk_name, person, pick, Person, FAMILY, STREETS};
use super::{GenerateError, KabupatenStats};
use crate::model::SourceFormat;
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Level, Region};

/// One synthetic household with the forms its fields are written in.
pub(super) struct Synth {
    pub(super) desa: usize,
    pub(super) head: Person,
    pub(super) others: Vec<Person>,
    pub(super) kk: String,
    pub(super) desil4: u8,
    pub(super) desil10: u8,
    pub(super) programs: [bool; 5],
    pub(super) street: String,
    pub(super) rt: u32,
    pub(super) rw: u32,
    pub(super) dusun: u32,
    pub(super) desa_name: String,
    pub(super) kec_name: String,
    pub(super) kab_name: String,
    pub(super) code: String,
    pub(super) code_form: &'static str,
    pub(super) gps: (String, String),
    pub(super) gps_case: &'static str,
}

pub(super) struct World<'a> {
    pub(super) desa: Vec<&'a Region>,
    pub(super) names: HashMap<Kode, &'a str>,
    pub(super) province: String,
    pub(super) cumulative: Vec<f64>,
    pub(super) bps: HashMap<Kode, String>,
    pub(super) by_kec: HashMap<Kode, Vec<usize>>,
}

impl<'a> World<'a> {
    pub(super) fn new(
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
                .entry(d.kode.at_level(Level::Kabupaten))
                .or_default() += 1;
        }
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(desa.len());
        let mut by_kec: HashMap<Kode, Vec<usize>> = HashMap::new();
        for (i, d) in desa.iter().enumerate() {
            let kab = d.kode.at_level(Level::Kabupaten);
            let poor = stats
                .get(&kab)
                .map(|s| s.population * s.poverty_pct / 100.0)
                .unwrap_or(1000.0);
            total += poor / per_kab[&kab] as f64 * rng.random_range(0.5..1.5);
            cumulative.push(total);
            by_kec
                .entry(d.kode.at_level(Level::Kecamatan))
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
        let prov = desa[0].kode.at_level(Level::Provinsi);
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

    pub(super) fn pick_desa(&self, rng: &mut ChaCha8Rng) -> usize {
        // The world holds at least one desa (checked when it is made).
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.random_range(0.0..total);
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.desa.len() - 1)
    }

    pub(super) fn name_of(&self, k: Kode) -> String {
        self.names
            .get(&k)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }
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

pub(super) fn synth(
    world: &World<'_>,
    rng: &mut ChaCha8Rng,
    serial: &mut u32,
    format: SourceFormat,
) -> Synth {
    let i = world.pick_desa(rng);
    let desa = world.desa[i];
    let kode = desa.kode;
    let kec = kode.at_level(Level::Kecamatan);
    let kab = kec.at_level(Level::Kabupaten);
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
            let kec = desa.kode.at_level(Level::Kecamatan);
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
