//! The synthetic demo province: a deterministic, made-up province with kabupaten, kecamatan
//! and desa/kelurahan whose polygons tile the area exactly (no gaps, no overlaps), so Lentera
//! can be shown and tried without any real data.
//!
//! The area is a grid of cells whose corners are jittered; units are grown from random seed
//! cells inside their parent (so each unit is one connected piece) and their outlines are
//! traced along the shared cell edges, which makes neighbouring boundaries identical.

use std::collections::{HashMap, HashSet};

use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::generate::KabupatenStats;
use crate::model::{Denominators, SourceFormat};
use crate::region::{Kode, Region};

/// Province code of the demo (no real province uses it).
pub const PROVINCE_CODE: u8 = 99;
/// Name of the demo province, which says it is synthetic.
pub const PROVINCE_NAME: &str = "Provinsi Sintetis (Demo)";
/// Metadata value of `dataset` for a store holding the demo province.
pub const DATASET_SYNTHETIC: &str = "synthetic";
/// Default seed of `lentera demo`.
pub const DEFAULT_SEED: u64 = 64;

const NX: usize = 96;
const NY: usize = 72;
const CELL_DEG: f64 = 0.0125;
const ORIGIN: (f64, f64) = (124.0, -6.2);

/// The grid the province is cut from: cell corners (jittered) and which cells are land.
struct Grid {
    corners: Vec<Coord<f64>>,
    land: Vec<bool>,
}

impl Grid {
    fn new(rng: &mut ChaCha8Rng) -> Grid {
        let mut corners = Vec::with_capacity((NX + 1) * (NY + 1));
        for j in 0..=NY {
            for i in 0..=NX {
                let jx: f64 = rng.random_range(-0.35..0.35);
                let jy: f64 = rng.random_range(-0.35..0.35);
                corners.push(Coord {
                    x: ORIGIN.0 + (i as f64 + jx) * CELL_DEG,
                    y: ORIGIN.1 + (j as f64 + jy) * CELL_DEG,
                });
            }
        }
        let (a, b): (f64, f64) = (
            rng.random_range(0.0..std::f64::consts::TAU),
            rng.random_range(0.0..std::f64::consts::TAU),
        );
        let land = (0..NX * NY)
            .map(|c| {
                let (i, j) = (c % NX, c / NX);
                let dx = (i as f64 + 0.5 - NX as f64 / 2.0) / (NX as f64 / 2.0);
                let dy = (j as f64 + 0.5 - NY as f64 / 2.0) / (NY as f64 / 2.0);
                let theta = dy.atan2(dx);
                let r =
                    0.9 * (1.0 + 0.12 * (3.0 * theta + a).sin() + 0.07 * (5.0 * theta + b).sin());
                (dx * dx + dy * dy).sqrt() < r
            })
            .collect();
        Grid { corners, land }
    }

    fn neighbours(c: usize) -> impl Iterator<Item = usize> {
        let (i, j) = (c % NX, c / NX);
        [
            (i > 0).then(|| c - 1),
            (i + 1 < NX).then(|| c + 1),
            (j > 0).then(|| c - NX),
            (j + 1 < NY).then(|| c + NX),
        ]
        .into_iter()
        .flatten()
    }

    /// Outline of a set of cells as a multipolygon, traced along cell edges.
    fn outline(&self, cells: &[usize]) -> MultiPolygon<f64> {
        let set: HashSet<usize> = cells.iter().copied().collect();
        let inside = |i: isize, j: isize| {
            i >= 0
                && j >= 0
                && (i as usize) < NX
                && (j as usize) < NY
                && set.contains(&(j as usize * NX + i as usize))
        };
        let v = |i: usize, j: usize| j * (NX + 1) + i;
        // Directed boundary edges with the cells on their left: (from, to, direction 0=E 1=N 2=W 3=S).
        let mut out: HashMap<usize, Vec<(usize, u8)>> = HashMap::new();
        for &c in cells {
            let (i, j) = (c % NX, c / NX);
            let (ii, jj) = (i as isize, j as isize);
            let edges = [
                (!inside(ii, jj - 1), v(i, j), v(i + 1, j), 0u8),
                (!inside(ii + 1, jj), v(i + 1, j), v(i + 1, j + 1), 1),
                (!inside(ii, jj + 1), v(i + 1, j + 1), v(i, j + 1), 2),
                (!inside(ii - 1, jj), v(i, j + 1), v(i, j), 3),
            ];
            for (is_boundary, from, to, dir) in edges {
                if is_boundary {
                    out.entry(from).or_default().push((to, dir));
                }
            }
        }
        let mut used: HashSet<(usize, usize)> = HashSet::new();
        let mut starts: Vec<(usize, usize, u8)> = out
            .iter()
            .flat_map(|(&f, tos)| tos.iter().map(move |&(t, d)| (f, t, d)))
            .collect();
        starts.sort_unstable();
        let mut rings: Vec<LineString<f64>> = Vec::new();
        for (f0, t0, d0) in starts {
            if used.contains(&(f0, t0)) {
                continue;
            }
            let mut pts = vec![self.corners[f0]];
            let (mut from, mut to, mut dir) = (f0, t0, d0);
            loop {
                used.insert((from, to));
                pts.push(self.corners[to]);
                // Leftmost turn first: keeps cells touching at one corner in separate rings.
                let options = &out[&to];
                // A boundary traced along cell edges is closed: every corner it reaches has an
                // edge going on, so the ring always ends back at its start.
                let Some(next) = [(dir + 1) % 4, dir, (dir + 3) % 4]
                    .iter()
                    .find_map(|d| options.iter().find(|o| o.1 == *d).copied())
                else {
                    break;
                };
                (from, to, dir) = (to, next.0, next.1);
                if (from, to) == (f0, t0) {
                    break;
                }
            }
            rings.push(LineString::new(pts));
        }
        assemble(rings)
    }
}

/// Sorts traced rings into exteriors (counter-clockwise) and the holes inside them.
fn assemble(rings: Vec<LineString<f64>>) -> MultiPolygon<f64> {
    use geo::Area;
    let (exteriors, holes): (Vec<_>, Vec<_>) = rings
        .into_iter()
        .partition(|r| Polygon::new(r.clone(), vec![]).signed_area() > 0.0);
    let mut polys: Vec<Polygon<f64>> = exteriors
        .into_iter()
        .map(|e| Polygon::new(e, vec![]))
        .collect();
    for h in holes {
        let probe = Point::from((h.0[0] + h.0[1]) / 2.0);
        if let Some(p) = polys.iter_mut().find(|p| p.contains(&probe)) {
            p.interiors_push(h);
        }
    }
    MultiPolygon::new(polys)
}

/// Splits `cells` (one connected piece) into `n` connected pieces grown from random seeds;
/// `weights` sets how fast each piece grows, and so its share of the area.
fn partition(cells: &[usize], weights: &[f64], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let n = weights.len().min(cells.len());
    let member: HashSet<usize> = cells.iter().copied().collect();
    let mut owner: HashMap<usize, usize> = HashMap::new();
    let mut frontier: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pool = cells.to_vec();
    for (k, f) in frontier.iter_mut().enumerate() {
        let seed = pool.swap_remove(rng.random_range(0..pool.len()));
        owner.insert(seed, k);
        f.extend(Grid::neighbours(seed).filter(|c| member.contains(c)));
    }
    let total: f64 = weights[..n].iter().sum();
    while frontier.iter().any(|f| !f.is_empty()) {
        let mut pick = rng.random_range(0.0..total);
        let mut k = 0;
        for (idx, w) in weights[..n].iter().enumerate() {
            k = idx;
            if pick < *w {
                break;
            }
            pick -= w;
        }
        if frontier[k].is_empty() {
            continue;
        }
        let idx = rng.random_range(0..frontier[k].len());
        let c = frontier[k].swap_remove(idx);
        if owner.contains_key(&c) {
            continue;
        }
        owner.insert(c, k);
        frontier[k]
            .extend(Grid::neighbours(c).filter(|x| member.contains(x) && !owner.contains_key(x)));
    }
    let mut groups = vec![Vec::new(); n];
    for &c in cells {
        groups[owner[&c]].push(c);
    }
    groups
}

/// The largest 4-connected piece of land, so that the province is one island.
fn main_island(grid: &Grid) -> Vec<usize> {
    let start = (NY / 2) * NX + NX / 2;
    let mut seen = HashSet::from([start]);
    let mut stack = vec![start];
    while let Some(c) = stack.pop() {
        for n in Grid::neighbours(c) {
            if grid.land[n] && seen.insert(n) {
                stack.push(n);
            }
        }
    }
    let mut cells: Vec<usize> = seen.into_iter().collect();
    cells.sort_unstable();
    cells
}

const PREFIXES: [&str; 16] = [
    "Sungai", "Muara", "Long", "Tanjung", "Loa", "Batu", "Teluk", "Bukit", "Gunung", "Karang",
    "Sumber", "Tanah", "Rantau", "Lempake", "Sebulu", "Tering",
];
const SUFFIXES: [&str; 18] = [
    "Jaya", "Makmur", "Sari", "Baru", "Indah", "Lestari", "Harapan", "Mulia", "Raya", "Damai",
    "Ilir", "Ulu", "Tengah", "Seberang", "Merah", "Rejo", "Mekar", "Bakti",
];
const SYLLABLES: [&str; 20] = [
    "ba", "ra", "ma", "ta", "ka", "sa", "la", "pa", "na", "wa", "ke", "lu", "ti", "bo", "ngi",
    "dang", "pan", "tung", "rik", "sam",
];

fn root_word(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(2..=3);
    let w: String = (0..n)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect();
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn place_name(rng: &mut ChaCha8Rng) -> String {
    let prefix = PREFIXES[rng.random_range(0..PREFIXES.len())];
    match rng.random_range(0..3) {
        0 => format!("{prefix} {}", SUFFIXES[rng.random_range(0..SUFFIXES.len())]),
        1 => format!("{prefix} {}", root_word(rng)),
        _ => format!(
            "{} {}",
            root_word(rng),
            SUFFIXES[rng.random_range(0..SUFFIXES.len())]
        ),
    }
}

fn unique_name(rng: &mut ChaCha8Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let n = place_name(rng);
        if taken.insert(n.clone()) {
            return n;
        }
    }
}

#[allow(
    clippy::expect_used,
    reason = "the demo's parts stay within the ranges codes allow (kabupaten 1–71, kecamatan under 100, desa 1001–2999)"
)]
fn code(prov: u8, kab: u8, kec: u8, desa: u16) -> Kode {
    Kode::from_parts(prov, kab, kec, desa).expect("demo codes are well formed")
}

/// Generates the demo province: one province, four kabupaten and one kota, about 40
/// kecamatan and 400 desa/kelurahan. The same seed always gives the same province.
pub fn synthetic_province(seed: u64) -> Vec<Region> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let grid = Grid::new(&mut rng);
    let island = main_island(&grid);
    let mut out = vec![Region {
        kode: code(PROVINCE_CODE, 0, 0, 0),
        nama: PROVINCE_NAME.to_string(),
        geometry: grid.outline(&island),
    }];
    let kab_codes: [u8; 5] = [1, 2, 3, 4, 71];
    let kab_cells = partition(&island, &[1.0, 1.0, 1.0, 1.0, 0.3], &mut rng);
    let mut kab_names = HashSet::new();
    for (kab_cells, kab) in kab_cells.iter().zip(kab_codes) {
        let is_kota = kab >= 71;
        let kab_name = root_word(&mut rng);
        kab_names.insert(kab_name.clone());
        out.push(Region {
            kode: code(PROVINCE_CODE, kab, 0, 0),
            nama: format!("{} {kab_name}", if is_kota { "Kota" } else { "Kabupaten" }),
            geometry: grid.outline(kab_cells),
        });
        let n_kec = if is_kota {
            rng.random_range(4..=5)
        } else {
            rng.random_range(8..=10)
        };
        let kec_weights: Vec<f64> = (0..n_kec).map(|_| rng.random_range(0.6..1.4)).collect();
        let mut kec_names = HashSet::new();
        for (k, kec_cells) in partition(kab_cells, &kec_weights, &mut rng)
            .iter()
            .enumerate()
        {
            let kec = (k + 1) as u8;
            out.push(Region {
                kode: code(PROVINCE_CODE, kab, kec, 0),
                nama: unique_name(&mut rng, &mut kec_names),
                geometry: grid.outline(kec_cells),
            });
            let n_desa = if is_kota {
                rng.random_range(5..=7)
            } else {
                rng.random_range(8..=12)
            };
            // The first kecamatan of a kabupaten is its capital: a few kelurahan there.
            let n_kelurahan = if is_kota {
                n_desa
            } else if k == 0 {
                3
            } else {
                0
            };
            let desa_weights: Vec<f64> = (0..n_desa).map(|_| rng.random_range(0.5..1.5)).collect();
            let mut desa_names = HashSet::new();
            let (mut next_kel, mut next_desa) = (1001u16, 2001u16);
            for (d, desa_cells) in partition(kec_cells, &desa_weights, &mut rng)
                .iter()
                .enumerate()
            {
                let desa = if d < n_kelurahan {
                    next_kel += 1;
                    next_kel - 1
                } else {
                    next_desa += 1;
                    next_desa - 1
                };
                out.push(Region {
                    kode: code(PROVINCE_CODE, kab, kec, desa),
                    nama: unique_name(&mut rng, &mut desa_names),
                    geometry: grid.outline(desa_cells),
                });
            }
        }
    }
    out.sort_by_key(|r| r.kode);
    out
}

/// Made-up population and poverty rate of each demo kabupaten/kota (the same seed always
/// gives the same figures).
pub fn synthetic_stats(regions: &[Region], seed: u64) -> HashMap<Kode, KabupatenStats> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_57a7);
    regions
        .iter()
        .filter(|r| r.kode.level() == crate::region::Level::Kabupaten)
        .map(|r| {
            let stats = KabupatenStats {
                population: rng.random_range(120_000.0..650_000.0_f64).round(),
                poverty_pct: rng.random_range(4.0..13.0_f64),
            };
            (r.kode, stats)
        })
        .collect()
}

/// People per household in the demo's denominators.
const PEOPLE_PER_HOUSEHOLD: f64 = 3.6;

/// Denominators of the demo kabupaten/kota (population, and households from it), so the demo
/// shows rates.
pub fn synthetic_denominators(
    stats: &HashMap<Kode, KabupatenStats>,
) -> HashMap<Kode, Denominators> {
    stats
        .iter()
        .map(|(k, s)| {
            let d = Denominators {
                households: Some((s.population / PEOPLE_PER_HOUSEHOLD).round() as u64),
                population: Some(s.population as u64),
            };
            (*k, d)
        })
        .collect()
}

/// The household files of the demo: a P3KE export (desil 1–4) for one period and a DTSEN
/// export (desil 1–10) for the next, so the change view has two periods.
pub const DEMO_FILES: [(SourceFormat, &str, usize); 2] = [
    (SourceFormat::P3ke, "2025-03", 6_000),
    (SourceFormat::Dtsen, "2025-09", 8_000),
];

/// The keyed-hash secret of the demo store. The demo's households are synthetic, so a fixed
/// secret protects nothing real; a store with real data needs `LENTERA_SECRET`.
pub const DEMO_SECRET: &str = "lentera-demo-synthetic-households";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::{brute, random_points};
    use crate::index::DesaGrid;
    use crate::region::Level;
    use geo::{Area, BooleanOps, Validation};

    fn level_area(regions: &[Region], level: Level) -> f64 {
        regions
            .iter()
            .filter(|r| r.kode.level() == level)
            .map(|r| r.geometry.unsigned_area())
            .sum()
    }

    #[test]
    fn demo_province_has_the_promised_shape() {
        let regions = synthetic_province(DEFAULT_SEED);
        let count = |l: Level| regions.iter().filter(|r| r.kode.level() == l).count();
        assert_eq!(count(Level::Provinsi), 1);
        assert_eq!(count(Level::Kabupaten), 5);
        assert!(
            (36..=50).contains(&count(Level::Kecamatan)),
            "{}",
            count(Level::Kecamatan)
        );
        assert!(
            (330..=480).contains(&count(Level::Desa)),
            "{}",
            count(Level::Desa)
        );
        assert!(regions.iter().any(|r| r.kode.is_kelurahan()));
        assert!(regions
            .iter()
            .any(|r| r.kode.level() == Level::Desa && !r.kode.is_kelurahan()));
        assert!(regions[0].nama.contains("Sintetis"));
    }

    #[test]
    fn units_tile_their_parents_without_gaps_or_overlaps() {
        let regions = synthetic_province(DEFAULT_SEED);
        let province = regions[0].geometry.unsigned_area();
        for level in [Level::Kabupaten, Level::Kecamatan, Level::Desa] {
            let sum = level_area(&regions, level);
            assert!(
                (sum - province).abs() < 1e-9 * province,
                "{level}: {sum} vs {province}"
            );
        }
        // Overlaps would make the union smaller than the sum; gaps, smaller than the province.
        let desa: Vec<&Region> = regions
            .iter()
            .filter(|r| r.kode.level() == Level::Desa)
            .collect();
        let union = desa
            .iter()
            .fold(MultiPolygon::new(vec![]), |acc, r| acc.union(&r.geometry));
        assert!((union.unsigned_area() - province).abs() < 1e-6 * province);
        for r in &regions {
            assert!(r.geometry.is_valid(), "{} is invalid", r.kode);
            if r.kode.level() >= Level::Kabupaten {
                assert_eq!(r.geometry.0.len(), 1, "{} should be one piece", r.kode);
            }
        }
    }

    #[test]
    fn every_unit_lies_in_its_parent_by_code_and_geometry() {
        let regions = synthetic_province(DEFAULT_SEED);
        let by_code: HashMap<Kode, &Region> = regions.iter().map(|r| (r.kode, r)).collect();
        for r in &regions {
            let Some(parent) = r.kode.parent() else {
                continue;
            };
            let p = by_code
                .get(&parent)
                .unwrap_or_else(|| panic!("{} has no parent", r.kode));
            let outside = r.geometry.difference(&p.geometry).unsigned_area();
            assert!(
                outside < 1e-9,
                "{} sticks out of {parent} by {outside}",
                r.kode
            );
        }
    }

    #[test]
    fn same_seed_same_province() {
        assert_eq!(synthetic_province(7), synthetic_province(7));
        assert_ne!(synthetic_province(7)[1].nama, synthetic_province(8)[1].nama);
    }

    #[test]
    fn the_desa_grid_counts_the_province_as_brute_force_does() {
        let desa: Vec<(Kode, MultiPolygon<f64>)> = synthetic_province(3)
            .into_iter()
            .filter(|r| r.kode.level() == Level::Desa)
            .map(|r| (r.kode, r.geometry))
            .collect();
        let bbox = geo::Rect::new((123.9, -6.3), (125.3, -5.2));
        let points = random_points(20_000, 1, bbox);
        for cells in [50, 5_000, 200_000] {
            let grid = DesaGrid::new(&desa, cells);
            assert_eq!(
                grid.count(&points, 2),
                brute(&desa, &points),
                "{cells} cells"
            );
        }
        let grid = DesaGrid::new(&desa, 200_000);
        let s = grid.stats();
        assert!(s.inside > s.mixed, "{s:?}");
    }
}
