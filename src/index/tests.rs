//! The grid against brute force on hand-made shapes with holes, overlaps and points on edges
//! (the demo module checks it on the synthetic province).

use geo::{polygon, Contains, MultiPolygon, Point};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// The counts of points in each desa, by testing every desa for every point.
pub(crate) fn brute(desa: &[(Kode, MultiPolygon<f64>)], points: &[(f64, f64)]) -> Vec<u64> {
    let mut counts = vec![0u64; desa.len()];
    for &(x, y) in points {
        for (i, (_, g)) in desa.iter().enumerate() {
            if g.contains(&Point::new(x, y)) {
                counts[i] += 1;
            }
        }
    }
    counts
}

/// `n` points spread uniformly over `bbox`.
pub(crate) fn random_points(n: usize, seed: u64, bbox: Rect<f64>) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (
                bbox.min().x + rng.random::<f64>() * bbox.width(),
                bbox.min().y + rng.random::<f64>() * bbox.height(),
            )
        })
        .collect()
}

#[test]
fn holes_overlaps_and_edges_follow_st_contains() {
    let k = |s: &str| Kode::parse(s).unwrap();
    let ring = MultiPolygon::new(vec![polygon!(
        exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
        interiors: [[(x: 4.0, y: 4.0), (x: 6.0, y: 4.0), (x: 6.0, y: 6.0), (x: 4.0, y: 6.0)]],
    )]);
    let inner = MultiPolygon::new(vec![polygon![
        (x: 4.0, y: 4.0), (x: 6.0, y: 4.0), (x: 6.0, y: 6.0), (x: 4.0, y: 6.0)
    ]]);
    // Overlaps the ring's right part.
    let overlap = MultiPolygon::new(vec![polygon![
        (x: 8.0, y: 0.0), (x: 14.0, y: 0.0), (x: 14.0, y: 10.0), (x: 8.0, y: 10.0)
    ]]);
    let desa = vec![
        (k("99.01.01.2001"), ring),
        (k("99.01.01.2002"), inner),
        (k("99.01.01.2003"), overlap),
    ];
    let grid = DesaGrid::new(&desa, 400);
    let at = |x, y| {
        let mut ids = Vec::new();
        grid.containing(x, y, |i| ids.push(i));
        ids
    };
    assert_eq!(at(1.0, 1.0), [0]);
    assert_eq!(at(5.0, 5.0), [1]);
    assert_eq!(at(9.0, 5.0), [0, 2]);
    assert_eq!(at(12.0, 5.0), [2]);
    // On edges: no desa, as with ST_Contains.
    assert!(at(4.0, 5.0).is_empty());
    assert!(at(0.0, 5.0).is_empty());
    assert!(at(-1.0, 5.0).is_empty());
    assert!(at(f64::NAN, 5.0).is_empty());
    let points = random_points(20_000, 2, Rect::new((-1.0, -1.0), (15.0, 11.0)));
    assert_eq!(grid.count(&points, 3), brute(&desa, &points));
}

#[test]
fn crossings_are_exact_and_degenerate_cases_are_named() {
    let c = |x: f64, y: f64| Coord { x, y };
    let seg = [c(1.0, -1.0), c(1.0, 1.0)];
    assert_eq!(crossing(c(0.0, 0.0), c(2.0, 0.0), &seg), Crossing::Proper);
    assert_eq!(crossing(c(0.0, 0.0), c(0.5, 0.0), &seg), Crossing::None);
    assert_eq!(crossing(c(1.0, 0.5), c(2.0, 0.0), &seg), Crossing::OnEdge);
    // Through the edge's end point, and along the edge's line beyond it.
    assert_eq!(
        crossing(c(0.0, 1.0), c(2.0, 1.0), &seg),
        Crossing::Degenerate
    );
    assert_eq!(crossing(c(1.0, 2.0), c(1.0, 3.0), &seg), Crossing::None);
    assert_eq!(crossing(c(1.0, 0.0), c(1.0, 3.0), &seg), Crossing::OnEdge);
    assert!(on_segment(c(1.0, 0.0), seg));
    assert!(!on_segment(c(1.0, 2.0), seg));
}

#[test]
fn work_split_over_threads_comes_back_in_order() {
    let items: Vec<u32> = (0..103).collect();
    for threads in [0, 1, 2, 3, 8, 200] {
        let parts = per_part(&items, threads, |first, part| {
            part.iter()
                .enumerate()
                .map(|(k, v)| (first + k, *v))
                .collect::<Vec<_>>()
        });
        let flat: Vec<(usize, u32)> = parts.into_iter().flatten().collect();
        assert_eq!(flat.len(), items.len(), "{threads} threads");
        assert!(
            flat.iter().all(|(i, v)| *i as u32 == *v),
            "{threads} threads"
        );
    }
    assert_eq!(per_part(&[] as &[u32], 2, |_, p| p.len()), vec![0]);
}

#[test]
fn sorted_runs_merge_into_one() {
    let runs = vec![vec![1, 4, 4, 9], vec![], vec![0, 4, 10], vec![2]];
    assert_eq!(merge_sorted(runs, |v| *v), vec![0, 1, 2, 4, 4, 4, 9, 10]);
    assert_eq!(
        merge_sorted(Vec::<Vec<u8>>::new(), |v| *v),
        Vec::<u8>::new()
    );
}
