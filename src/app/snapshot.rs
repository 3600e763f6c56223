//! Loading a snapshot from a store.

use std::collections::HashSet;

use crate::aggregate::{BatchMeta, Snapshot, SnapshotBuilder};
use crate::model::BatchInfo;
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
    // Only accepted batches count: drafts, submitted and returned batches of a verval round
    // are left out, and a household repeating one of theirs counts after all.
    let (counted, waiting): (Vec<_>, Vec<_>) = store
        .batches()
        .await?
        .into_iter()
        .partition(BatchInfo::counts);
    let counted_ids: HashSet<i64> = counted.iter().map(|b| b.id).collect();
    let batches = counted.into_iter().map(BatchMeta::from).collect();
    let denominators = store.denominators().await?;
    let mut programs = Vec::new();
    for p in store.programs().await? {
        let members = if p.list.is_some() {
            store.program_members(p.id).await?
        } else {
            Vec::new()
        };
        programs.push((p, members));
    }
    let mut facts = store.household_facts().await?;
    if !waiting.is_empty() {
        facts.retain(|f| counted_ids.contains(&f.batch_id));
        for f in &mut facts {
            if f.duplicate_of_batch
                .is_some_and(|b| !counted_ids.contains(&b))
            {
                f.duplicate = false;
            }
        }
    }
    tokio::task::spawn_blocking(move || {
        let mut builder = SnapshotBuilder::new(regions, batches)
            .denominators(denominators)
            .programs(programs);
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
