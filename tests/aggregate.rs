//! The point-in-polygon counts of the desa grid against PostGIS as an oracle, on the real
//! Kalimantan Timur desa.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use geo::{CoordsIter, MultiPolygon};
use lentera::index::DesaGrid;
use lentera::ingest::boundaries::regions_from_files;
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

/// Households generated over the real Kaltim desa (verval files carry GPS, with every kind of
/// GPS error), imported into a PostGIS store and geocoded there; the snapshot built from that
/// store counts them per desa. Two checks against PostGIS SQL over the same stored rows:
/// counted where the geocode chose (`kode_desa`), and — with every chosen desa made
/// unknown, so each household is placed by its point alone — counted by `ST_Contains` on the
/// stored points (as `f32`, as the snapshot keeps them), a point in two overlapping desa going
/// to the lower code, as the snapshot's rule says.
#[tokio::test]
async fn snapshot_counts_equal_postgis_on_the_stored_households() {
    use lentera::aggregate::{BatchMeta, Count, SnapshotBuilder};
    use lentera::app::{import_households, store_geocoder, HouseholdImportOptions};
    use lentera::generate::{write_households, GenerateOptions, OutputEncoding};
    use lentera::ingest::households::privacy::Secret;
    use lentera::model::SourceFormat;
    use lentera::region::Level;
    use lentera::store::{PostgisStore, Store};

    let regions = regions_from_files(&[common::kaltim()]).unwrap();
    let url = common::fresh_postgis_url().await;
    let store = PostgisStore::connect(&url).await.unwrap();
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let geocoder = store_geocoder(&store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("verval.csv");
    let opts = GenerateOptions {
        format: SourceFormat::Verval,
        count: 30_000,
        seed: 5,
        delimiter: b',',
        encoding: OutputEncoding::Utf8,
    };
    write_households(&regions, &[], &Default::default(), &opts, &file, None).unwrap();
    let secret = Secret::new("aggregate-oracle-secret-0123456789").unwrap();
    let import = HouseholdImportOptions {
        file: Default::default(),
        period: "2025-06".parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    import_households(&store, &file, &import, &secret, geocoder)
        .await
        .unwrap();
    let batches: Vec<BatchMeta> = store
        .batches()
        .await
        .unwrap()
        .into_iter()
        .map(BatchMeta::from)
        .collect();
    let facts = store.household_facts(None).await.unwrap();
    assert_eq!(facts.len(), 30_000);

    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let per_desa = |snap: &lentera::aggregate::Snapshot| -> HashMap<String, i64> {
        let p = snap.period(None).unwrap();
        (0..snap.units().len() as u32)
            .filter(|&u| snap.unit(u).info.level == Level::Desa)
            .filter_map(|u| {
                let n = p.counts(u).map_or(0, |c| c[Count::Households]);
                (n > 0).then(|| (snap.unit(u).info.kode.to_string(), n as i64))
            })
            .collect()
    };
    let compare = |ours: HashMap<String, i64>, theirs: HashMap<String, i64>, what: &str| {
        let mut differing: Vec<_> = ours
            .keys()
            .chain(theirs.keys())
            .filter(|k| ours.get(*k) != theirs.get(*k))
            .cloned()
            .collect();
        differing.sort();
        differing.dedup();
        assert!(
            differing.is_empty(),
            "{what}: {} desa differ, e.g. {}: ours {:?}, PostGIS {:?}",
            differing.len(),
            differing[0],
            ours.get(&differing[0]),
            theirs.get(&differing[0])
        );
        theirs.values().sum::<i64>()
    };

    // 1. As geocoded.
    let mut builder = SnapshotBuilder::new(regions.clone(), batches.clone());
    for f in &facts {
        builder.push(f);
    }
    let snap = builder.finish(1, None, 2);
    assert!(snap.batches()[0].reconciles());
    let rows = client
        .query(
            "SELECT kode_desa, count(*) FROM households
             WHERE kode_desa IS NOT NULL AND duplicate_of IS NULL GROUP BY kode_desa",
            &[],
        )
        .await
        .unwrap();
    let total = compare(
        per_desa(&snap),
        rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        "as geocoded",
    );
    assert!(total > 28_000, "only {total} placed in a desa");

    // 2. By the point alone.
    let gone = Kode::parse("64.99.99.2999").unwrap();
    let mut builder = SnapshotBuilder::new(regions.clone(), batches);
    for f in &facts {
        let mut f = f.clone();
        if f.desa.is_some() {
            f.desa = Some(gone);
            f.unit = Some(gone);
        }
        builder.push(&f);
    }
    let snap = builder.finish(2, None, 2);
    let report = &snap.batches()[0];
    assert!(report.reconciles());
    assert!(report.tally.relocated as i64 > 28_000);
    let rows = client
        .query(
            "SELECT kode, count(*) FROM (
                SELECT DISTINCT ON (h.id) d.kode FROM households h
                JOIN regions d ON d.level = 'desa' AND ST_Contains(d.geom, ST_SetSRID(
                    ST_MakePoint(h.geo_lon::float4::float8, h.geo_lat::float4::float8), 4326))
                WHERE h.kode_desa IS NOT NULL AND h.duplicate_of IS NULL
                ORDER BY h.id, d.kode
             ) located GROUP BY kode",
            &[],
        )
        .await
        .unwrap();
    let located = compare(
        per_desa(&snap),
        rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        "by point",
    );
    assert_eq!(located as u64, report.tally.relocated);
}
