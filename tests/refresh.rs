//! Bringing a snapshot up to date in both stores: batches that came to count are added to it,
//! a draft changes nothing it counts, and what adding cannot follow (an earlier period,
//! denominators, a batch removed) builds it again; every time the result equals a snapshot
//! built from the whole store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use lentera::aggregate::Snapshot;
use lentera::app::load_snapshot;
use lentera::app::snapshot::{load_with_basis, refresh_snapshot, Basis, Refreshed};
use lentera::model::{BatchState, BatchStatus, Denominators, SourceFormat};
use lentera::store::{PostgisStore, SqliteStore, Store};

/// Asserts that `a` counts what `b` counts: batches, periods, every unit's figures.
fn assert_same(a: &Snapshot, b: &Snapshot, step: &str) {
    assert_eq!(a.batches(), b.batches(), "{step}");
    assert_eq!(a.households().len(), b.households().len(), "{step}");
    assert_eq!(a.periods().len(), b.periods().len(), "{step}");
    // Each unit's households, each with its batch.
    let groups = |s: &Snapshot, u: u32| {
        let mut g: Vec<(i64, u32, u32)> = s
            .households_of(u)
            .map(|h| {
                (
                    s.batches()[h.batch_index()].id,
                    h.lon.to_bits(),
                    h.lat.to_bits(),
                )
            })
            .collect();
        g.sort_unstable();
        g
    };
    for u in 0..b.units().len() as u32 {
        assert_eq!(groups(a, u), groups(b, u), "{step}: unit {u}");
    }
    for (pa, pb) in a.periods().iter().zip(b.periods()) {
        assert_eq!(pa.period, pb.period, "{step}");
        for u in 0..b.units().len() as u32 {
            assert_eq!(pa.counts(u), pb.counts(u), "{step}: {} unit {u}", pb.period);
        }
    }
}

/// Refreshes `current`, checks it went the way `expect` says (`same`, `added`, `rebuilt`) and
/// that it equals a snapshot built from the whole store.
async fn step(
    store: &dyn Store,
    current: Arc<Snapshot>,
    mut basis: Basis,
    expect: &str,
) -> (Arc<Snapshot>, Basis) {
    let refreshed = refresh_snapshot(store, &current, &mut basis, 2)
        .await
        .unwrap();
    let next = match (expect, refreshed) {
        ("same", Refreshed::Same(generation)) => {
            assert!(generation > current.generation);
            current
        }
        ("added", Refreshed::Added(s)) => Arc::new(s),
        ("rebuilt", Refreshed::Rebuilt(s, why)) => {
            assert!(!why.is_empty());
            Arc::new(s)
        }
        (_, Refreshed::Same(_)) => panic!("{expect}: nothing counted changed"),
        (_, Refreshed::Added(_)) => panic!("{expect}: batches added"),
        (_, Refreshed::Rebuilt(_, why)) => panic!("{expect}: built again ({why})"),
    };
    let whole = load_snapshot(store, 2).await.unwrap();
    assert_same(&next, &whole, expect);
    (next, basis)
}

async fn refreshes_follow_the_store(store: Arc<dyn Store>) {
    let regions = common::load_kaltim(store.as_ref()).await;
    let import = |count: usize, seed: u64, period: &'static str, status: BatchStatus| {
        let (store, regions) = (store.clone(), regions.clone());
        async move {
            let state = BatchState {
                status,
                ..Default::default()
            };
            common::import_generated_as(
                store.as_ref(),
                &regions,
                SourceFormat::Dtsen,
                (count, seed),
                period,
                state,
            )
            .await
        }
    };
    import(2_000, 1, "2025-06", BatchStatus::Accepted).await;
    let (first, mut basis) = load_with_basis(store.as_ref(), 2).await.unwrap();
    let mut current = Arc::new(first);
    // A batch of the same period: added.
    let _ = import(1_000, 2, "2025-06", BatchStatus::Accepted).await;
    (current, basis) = step(store.as_ref(), current, basis, "added").await;
    // An operator's draft counts nowhere: the snapshot stays.
    let draft = import(700, 4, "2025-09", BatchStatus::Draft).await;
    (current, basis) = step(store.as_ref(), current, basis, "same").await;
    // A later period: added.
    let _ = import(500, 3, "2025-09", BatchStatus::Accepted).await;
    (current, basis) = step(store.as_ref(), current, basis, "added").await;
    // The draft accepted by the province: added between the batches counted already.
    let accepted = BatchState {
        status: BatchStatus::Accepted,
        ..Default::default()
    };
    store.set_batch_state(draft, &accepted).await.unwrap();
    (current, basis) = step(store.as_ref(), current, basis, "added").await;
    // An earlier period would renumber the periods: built again.
    let _ = import(300, 5, "2025-03", BatchStatus::Accepted).await;
    (current, basis) = step(store.as_ref(), current, basis, "rebuilt").await;
    // Denominators: built again.
    let denominators: HashMap<_, _> = regions
        .iter()
        .take(3)
        .map(|r| {
            (
                r.kode,
                Denominators {
                    households: Some(10_000),
                    population: Some(40_000),
                },
            )
        })
        .collect();
    store.replace_denominators(&denominators).await.unwrap();
    (current, basis) = step(store.as_ref(), current, basis, "rebuilt").await;
    // A batch removed: built again.
    store.remove_batch(draft).await.unwrap();
    (current, basis) = step(store.as_ref(), current, basis, "rebuilt").await;
    // After a rebuild, batches are added again.
    let _ = import(200, 6, "2025-09", BatchStatus::Accepted).await;
    let _ = step(store.as_ref(), current, basis, "added").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_adds_batches_to_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    refreshes_follow_the_store(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgis_adds_batches_to_its_snapshot() {
    let url = common::fresh_postgis_url().await;
    let store = Arc::new(PostgisStore::connect(&url).await.unwrap());
    refreshes_follow_the_store(store).await;
}
