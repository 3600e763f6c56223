//! Loading a snapshot from a store.

use crate::aggregate::{BatchMeta, Snapshot, SnapshotBuilder};
use crate::region::Level;
use crate::store::{Store, StoreError};

/// Reads everything a snapshot needs from `store` and builds it on `threads` threads.
pub async fn load_snapshot(store: &dyn Store, threads: usize) -> Result<Snapshot, StoreError> {
    let generation = store.generation().await?;
    let dataset = store.get_meta("dataset").await?;
    let mut regions = Vec::new();
    for level in Level::ALL {
        regions.extend(store.regions(level).await?);
    }
    let batches = store
        .batches()
        .await?
        .into_iter()
        .map(BatchMeta::from)
        .collect();
    let denominators = store.denominators().await?;
    let facts = store.household_facts().await?;
    tokio::task::spawn_blocking(move || {
        let mut builder = SnapshotBuilder::new(regions, batches).denominators(denominators);
        builder.reserve(facts.len());
        for f in &facts {
            builder.push(f);
        }
        drop(facts);
        builder.finish(generation, dataset, threads)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))
}
