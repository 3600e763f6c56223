//! The point-in-polygon counts of the desa grid against PostGIS as an oracle, on the real
//! Kalimantan Timur desa.

mod common;

use std::collections::HashMap;

use geo::{CoordsIter, MultiPolygon};
use lentera::generate::regions_from_files;
use lentera::index::DesaGrid;
use lentera::region::Kode;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random points over the province's box, points placed inside desa, and desa vertices
/// (exactly on edges: counted nowhere, as by `ST_Contains`).
fn points(desa: &[(Kode, MultiPolygon<f64>)], n: usize) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(64);
    let index = lentera::geocode::DesaIndex::sorted(desa.to_vec());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let p = match i % 4 {
            0 => (
                113.8 + rng.random::<f64>() * 5.5,
                -2.6 + rng.random::<f64>() * 5.1,
            ),
            1 => {
                let (_, g) = &desa[i % desa.len()];
                let c: Vec<_> = g.coords_iter().collect();
                c[rng.random_range(0..c.len())].x_y()
            }
            _ => {
                let (k, _) = &desa[rng.random_range(0..desa.len())];
                index.place(*k, i as u64).expect("desa have outlines")
            }
        };
        out.push(p);
    }
    out
}

#[tokio::test]
async fn grid_counts_equal_postgis_st_contains() {
    let regions = regions_from_files(&[common::kaltim()]).unwrap();
    let desa = common::desa_outlines(&regions);
    assert_eq!(desa.len(), 1038);
    let pts = points(&desa, 40_000);

    let grid = DesaGrid::new(&desa, 1 << 20);
    let counts = grid.count(&pts, 2);
    let ours: HashMap<String, i64> = grid
        .kodes()
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.to_string(), *n as i64))
        .collect();

    let client = common::postgis_with_points(&regions, &pts).await;
    let rows = client
        .query(
            "SELECT r.kode, count(*) FROM regions r JOIN pts p ON ST_Contains(r.geom, p.geom)
             WHERE r.level = 'desa' GROUP BY r.kode",
            &[],
        )
        .await
        .unwrap();
    let theirs: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let total: i64 = theirs.values().sum();
    assert!(total > 20_000, "only {total} points counted");
    let mut differing: Vec<_> = ours
        .keys()
        .chain(theirs.keys())
        .filter(|k| ours.get(*k) != theirs.get(*k))
        .collect();
    differing.sort();
    differing.dedup();
    assert!(
        differing.is_empty(),
        "{} desa differ, e.g. {:?}: ours {:?}, PostGIS {:?}",
        differing.len(),
        differing[0],
        ours.get(differing[0]),
        theirs.get(differing[0])
    );
}
