//! National-scale aggregation: ~84,000 synthetic desa tiling Indonesia's extent and 25 M
//! households, counted into desa and summed up to kecamatan, kabupaten and province.
//!
//! The desa are a jittered grid tessellation (477 × 176 cells over 95°–141° E, 11° S–6° N)
//! whose edges are broken into wavy segments shared exactly by both neighbours. Codes nest
//! 12 desa to a kecamatan, 16 kecamatan to a kabupaten, 15 kabupaten to a province.
//! Households arrive desa by desa in code order, as BNBA exports are sorted by region code; their points are
//! spread over each desa's cell (some fall over a wavy edge into the neighbour and are reported
//! as `point_elsewhere`).
//!
//! Prints the time of each phase, households per second, and peak resident memory per
//! household (target: aggregation < 5 s, ≤ 64 bytes per household).
//!
//! `cargo bench --bench national [HOUSEHOLDS] [CELLS_PER_DESA]`

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use lentera::aggregate::Count;
use lentera::aggregate::{BatchMeta, HouseholdRecord, SnapshotBuilder};
use lentera::model::HouseholdFacts;
use lentera::model::Quality;
use lentera::model::{DesilScale, Program, Programs};
use lentera::region::{Kode, Level, Region};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const NX: usize = 477;
const NY: usize = 176;
const WEST: f64 = 95.0;
const SOUTH: f64 = -11.0;
const WIDTH: f64 = 46.0;
const HEIGHT: f64 = 17.0;
/// Segments per cell side.
const WAVES: usize = 8;

fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A deterministic number in [-1, 1) from a few integers.
fn noise(a: u64, b: u64, c: u64) -> f64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ c.wrapping_mul(0x1656_67B1_9E37_79F9);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

struct Tessellation {
    dx: f64,
    dy: f64,
}

impl Tessellation {
    fn corner(&self, i: usize, j: usize) -> Coord<f64> {
        let inner = i > 0 && j > 0 && i < NX && j < NY;
        let (jx, jy) = if inner {
            (
                noise(i as u64, j as u64, 1) * 0.3,
                noise(i as u64, j as u64, 2) * 0.3,
            )
        } else {
            (0.0, 0.0)
        };
        Coord {
            x: WEST + (i as f64 + jx) * self.dx,
            y: SOUTH + (j as f64 + jy) * self.dy,
        }
    }

    /// The wavy edge from corner `a` to corner `b` (without `b`), identical (reversed) when
    /// asked from the other side.
    fn edge(&self, a: (usize, usize), b: (usize, usize), out: &mut Vec<Coord<f64>>) {
        let (lo, hi, rev) = if a < b { (a, b, false) } else { (b, a, true) };
        let (p, q) = (self.corner(lo.0, lo.1), self.corner(hi.0, hi.1));
        let boundary = (lo.0 == hi.0 && (lo.0 == 0 || lo.0 == NX))
            || (lo.1 == hi.1 && (lo.1 == 0 || lo.1 == NY));
        let id = (lo.1 * (NX + 1) + lo.0) as u64 * 2 + u64::from(lo.0 == hi.0);
        let (nx, ny) = (-(q.y - p.y), q.x - p.x);
        let mut pts: Vec<Coord<f64>> = (0..WAVES)
            .map(|m| {
                let t = m as f64 / WAVES as f64;
                let amp = if m == 0 || boundary {
                    0.0
                } else {
                    noise(id, m as u64, 3) * 0.08
                };
                Coord {
                    x: p.x + (q.x - p.x) * t + nx * amp,
                    y: p.y + (q.y - p.y) * t + ny * amp,
                }
            })
            .collect();
        if rev {
            pts.push(q);
            pts.reverse();
            pts.pop();
        }
        out.extend(pts);
    }

    fn cell(&self, i: usize, j: usize) -> MultiPolygon<f64> {
        let mut ring = Vec::with_capacity(4 * WAVES + 1);
        let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
        for k in 0..4 {
            self.edge(corners[k], corners[(k + 1) % 4], &mut ring);
        }
        ring.push(ring[0]);
        MultiPolygon::new(vec![Polygon::new(LineString::new(ring), vec![])])
    }

    /// A point spread over cell `(i, j)` (bilinear in its jittered corners).
    fn point_in(&self, i: usize, j: usize, u: f64, v: f64) -> (f64, f64) {
        let [a, b, c, d] = [
            self.corner(i, j),
            self.corner(i + 1, j),
            self.corner(i + 1, j + 1),
            self.corner(i, j + 1),
        ];
        let x = (1.0 - v) * ((1.0 - u) * a.x + u * b.x) + v * ((1.0 - u) * d.x + u * c.x);
        let y = (1.0 - v) * ((1.0 - u) * a.y + u * b.y) + v * ((1.0 - u) * d.y + u * c.y);
        (x, y)
    }
}

/// The Kemendagri-shaped code of cell `(i, j)`.
fn code(i: usize, j: usize) -> Kode {
    let (kec_w, kec_h) = (4, 3);
    let (kab_w, kab_h) = (4 * kec_w, 4 * kec_h);
    let kab_cols = NX.div_ceil(kab_w);
    let kab_index = (j / kab_h) * kab_cols + i / kab_w;
    let prov = 11 + kab_index / 15;
    let kab = 1 + kab_index % 15;
    let kec = 1 + ((j % kab_h) / kec_h) * 4 + (i % kab_w) / kec_w;
    let desa = 2001 + ((j % kec_h) * kec_w + i % kec_w);
    Kode::from_parts(prov as u8, kab as u8, kec as u8, desa as u16).expect("codes in range")
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let households = args.first().copied().unwrap_or(25_000_000);
    let cells_per_desa = args
        .get(1)
        .copied()
        .unwrap_or(lentera::aggregate::DEFAULT_CELLS_PER_DESA);
    let threads = 2;
    let t = Tessellation {
        dx: WIDTH / NX as f64,
        dy: HEIGHT / NY as f64,
    };

    let started = Instant::now();
    let mut regions = Vec::with_capacity(NX * NY);
    for j in 0..NY {
        for i in 0..NX {
            regions.push(Region {
                kode: code(i, j),
                nama: format!("Desa {i}-{j}"),
                geometry: t.cell(i, j),
            });
        }
    }
    let vertices: usize = regions
        .iter()
        .map(|r| r.geometry.0[0].exterior().0.len() - 1)
        .sum();
    println!(
        "{} synthetic desa ({} vertices) made in {:.2} s",
        regions.len(),
        vertices,
        started.elapsed().as_secs_f64()
    );
    let desa_count = regions.len();

    let started = Instant::now();
    let batches = vec![BatchMeta {
        id: 1,
        file_name: "nasional.csv".into(),
        source: lentera::model::SourceFormat::Dtsen,
        period: "2025-09".parse().unwrap(),
        imported_at: String::new(),
    }];
    let mut builder = SnapshotBuilder::with_grid(regions, batches, cells_per_desa);
    let grid = format!(
        "{:?}, {:.0} MiB",
        builder.grid(),
        builder.grid().grid_bytes() as f64 / f64::from(1 << 20)
    );
    println!(
        "desa grid (asked {cells_per_desa} cells per desa, capped at 4 M cells): {grid}, built in {:.2} s; RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        rss_mib("VmRSS:")
    );
    let rss_before = rss_mib("VmRSS:");

    let started = Instant::now();
    builder.reserve(households);
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let per_desa = households as f64 / desa_count as f64;
    let mut left = households;
    let mut pushed = 0u64;
    // Desa by desa in code order, as exports sorted by region code arrive.
    let mut cells: Vec<(usize, usize)> =
        (0..NY).flat_map(|j| (0..NX).map(move |i| (i, j))).collect();
    cells.sort_by_key(|&(i, j)| code(i, j));
    let n_cells = cells.len();
    for (c, &(i, j)) in cells.iter().enumerate() {
        let n = if c == n_cells - 1 {
            left
        } else {
            ((per_desa * rng.random_range(0.5..1.5)) as usize).min(left)
        };
        for _ in 0..n {
            builder.push(&household(&t, (i, j), 1, pushed, &mut rng));
            pushed += 1;
        }
        left -= n;
        if left == 0 {
            break;
        }
    }
    println!(
        "{households} households loaded in {:.2} s ({}-byte records: {:.0} MiB)",
        started.elapsed().as_secs_f64(),
        size_of::<HouseholdRecord>(),
        (households * size_of::<HouseholdRecord>()) as f64 / f64::from(1 << 20)
    );

    let started = Instant::now();
    let snap = builder.finish(1, None, threads);
    let secs = started.elapsed().as_secs_f64();
    let report = &snap.batches()[0];
    let province_total: u64 = (0..snap.units().len() as u32)
        .filter(|&u| snap.unit(u).info.level == Level::Provinsi)
        .filter_map(|u| snap.period(None)?.counts(u).map(|c| c[Count::Households]))
        .sum();
    assert!(report.reconciles());
    assert_eq!(province_total, report.tally.counted());
    println!(
        "aggregated in {secs:.2} s ({:.2} s placing and counting, {:.2} s grouping by desa and indexing points, {:.2} s roll-up) on {threads} threads: {:.1} M households/s; \
         {} counted, {} with their point over a wavy edge in the neighbour desa; {} units",
        snap.timings.count,
        snap.timings.points,
        snap.timings.roll_up,
        households as f64 / secs / 1e6,
        report.tally.counted(),
        report.tally.point_elsewhere,
        snap.units().len()
    );
    let peak = rss_mib("VmHWM:");
    println!(
        "peak RSS {peak:.0} MiB = {:.1} bytes per household (all of it; {:.1} bytes per household above the boundaries and grid)",
        peak * 1048576.0 / households as f64,
        (peak - rss_before) * 1048576.0 / households as f64
    );
    println!("target: aggregation < 5 s, ≤ 64 bytes per household");

    println!(
        "households grouped by desa and their point index built in {:.2} s (inside the aggregation time above)",
        snap.timings.points
    );

    // Imports of more batches: 1 M households each of the same period over the whole country
    // (in code order, as an export arrives), each added to the snapshot before it instead of
    // building it again (`Snapshot::with_batches`, what a server does when only new batches
    // came to count). The peer is the full build above. The new households make a run of
    // their own beside the shared old runs; a run as large as half the one before it is
    // merged into it, which the later additions show.
    let added_n = (households / 25).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(26);
    let mut latest: Option<lentera::aggregate::Snapshot> = None;
    let mut total = households;
    for id in 2..=5 {
        let batch: Vec<HouseholdFacts> = (0..added_n)
            .map(|k| {
                let (i, j) = cells[k * cells.len() / added_n];
                household(&t, (i, j), id, (total + k) as u64, &mut rng)
            })
            .collect();
        let meta = BatchMeta {
            id,
            file_name: format!("tambahan-{id}.csv"),
            source: lentera::model::SourceFormat::Dtsen,
            period: "2025-09".parse().unwrap(),
            imported_at: String::new(),
        };
        let from = latest.as_ref().unwrap_or(&snap);
        let before = rss_mib("VmRSS:");
        let started = Instant::now();
        let next = from
            .with_batches(vec![meta], &batch, id as u64, threads)
            .expect("a batch of the same period adds");
        let add_secs = started.elapsed().as_secs_f64();
        let next_total: u64 = (0..next.units().len() as u32)
            .filter(|&u| next.unit(u).info.level == Level::Provinsi)
            .filter_map(|u| next.period(None)?.counts(u).map(|c| c[Count::Households]))
            .sum();
        assert_eq!(
            next_total,
            next.batches()
                .iter()
                .map(|b| b.tally.counted())
                .sum::<u64>()
        );
        println!(
            "a batch of {added_n} households added to the {total} in {add_secs:.2} s \
             ({:.2} s placing and counting, {:.2} s grouping the new households, indexing their \
             points and merging runs, {:.2} s roll-up and coverage); the full build above took \
             {secs:.2} s: {:.1}× faster; held in {} runs; {:.0} MiB more memory while both \
             snapshots are held (target: under 1 s)",
            next.timings.count,
            next.timings.points,
            next.timings.roll_up,
            secs / add_secs,
            next.households().runs(),
            rss_mib("VmRSS:") - before
        );
        total += added_n;
        latest = Some(next);
    }
    drop(latest);
    let started = Instant::now();
    let mut n = 0;
    for k in 0..1000 {
        let x = WEST + (f64::from(k) * 0.0457) % WIDTH;
        let y = SOUTH + (f64::from(k) * 0.0171) % HEIGHT;
        n += snap.households_in([x, y, x + 0.05, y + 0.05]).len();
    }
    println!(
        "1,000 bbox queries of 0.05° × 0.05° in {:.3} s ({n} households found)",
        started.elapsed().as_secs_f64()
    );

    // Following every household from one period to the next (`/api/transitions`): here the
    // period against itself, so each of the 25 M is looked up and matched.
    let period = snap.periods()[0].period;
    let before = rss_mib("VmHWM:");
    let started = Instant::now();
    let flows = snap.transitions(period, period, Level::Kabupaten);
    let secs = started.elapsed().as_secs_f64();
    let matched: u64 = flows.iter().map(|t| t.matched).sum();
    assert_eq!(matched, households as u64);
    println!(
        "transitions of {households} households per kabupaten in {secs:.2} s ({:.1} M households/s), {:.0} MiB more peak memory",
        households as f64 / secs / 1e6,
        rss_mib("VmHWM:") - before
    );
    let started = Instant::now();
    let flows = snap.transitions(period, period, Level::Desa);
    let stayed: u64 = flows.iter().map(|t| t.stayed).sum();
    assert_eq!(stayed, households as u64);
    println!(
        "the same per desa, households already matched: {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// Household number `n` of batch `batch_id` in cell `cell`, with its point spread over the
/// cell and keyed-hash prefixes as the stores give them (every household has a KK and a NIK
/// key).
fn household(
    t: &Tessellation,
    cell: (usize, usize),
    batch_id: i64,
    n: u64,
    rng: &mut ChaCha8Rng,
) -> HouseholdFacts {
    let kode = code(cell.0, cell.1);
    let point = t.point_in(cell.0, cell.1, rng.random::<f64>(), rng.random::<f64>());
    let mut programs = Programs::default();
    programs.set(Program::Pkh, rng.random_bool(0.3));
    programs.set(Program::Bpnt, rng.random_bool(0.4));
    HouseholdFacts {
        batch_id,
        desa: Some(kode),
        unit: Some(kode),
        point: Some(point),
        quality: Some(if rng.random_bool(0.2) {
            Quality::Gps
        } else {
            Quality::Code
        }),
        members: Some(rng.random_range(1..9)),
        desil: Some(rng.random_range(1..=10)),
        scale: Some(DesilScale::Ten),
        extreme_poor: None,
        programs,
        kk_key: Some(splitmix(n) as i64),
        nik_key: Some(splitmix(n ^ 0x5bd1_e995) as i64),
        ..Default::default()
    }
}

/// A well-mixed 64-bit number from `x` (SplitMix64), standing in for a keyed hash.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
