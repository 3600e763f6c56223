//! Loading a snapshot from a store, and bringing it up to date: by adding the batches that
//! came to count since it was built when nothing else changed, else by building it again.

use std::collections::HashSet;

use crate::aggregate::{BatchMeta, Snapshot, SnapshotBuilder};
use crate::model::{BatchInfo, HouseholdFacts};
use crate::region::Level;
use crate::store::{Store, StoreError};

/// What a snapshot was built from, to tell whether batches can later be added to it.
#[derive(Debug, Clone, Default)]
pub struct Basis {
    /// The store's [`Store::rewrites`] counter when it was read.
    rewrites: u64,
    /// The batches counted.
    counted: HashSet<i64>,
    /// Batches not counted that counted households repeat: once such a batch counts, those
    /// households become duplicates, which adding batches cannot follow.
    repeated: HashSet<i64>,
}

/// How [`refresh_snapshot`] brought a snapshot up to date.
pub enum Refreshed {
    /// Nothing the snapshot counts changed (a draft arrived, say): it stands for generation
    /// `.0` as it is.
    Same(u64),
    /// The batches that came to count were added to it.
    Added(Snapshot),
    /// It was built again from the whole store, for the reason given.
    Rebuilt(Snapshot, String),
}

/// Reads everything a snapshot needs from `store` and builds it on `threads` threads.
pub async fn load_snapshot(store: &dyn Store, threads: usize) -> Result<Snapshot, StoreError> {
    Ok(load_with_basis(store, threads).await?.0)
}

/// [`load_snapshot`], with what the snapshot was built from.
pub async fn load_with_basis(
    store: &dyn Store,
    threads: usize,
) -> Result<(Snapshot, Basis), StoreError> {
    // The counters are read first: data newer than them is read again at the next check.
    let rewrites = store.rewrites().await?;
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
    let mut basis = Basis {
        rewrites,
        counted: counted.iter().map(|b| b.id).collect(),
        repeated: HashSet::new(),
    };
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
    let mut facts = store.household_facts(None).await?;
    // With every batch counted there is nothing to leave out or unmark: no pass over the
    // households (25 M nationally) for it.
    if !waiting.is_empty() {
        basis.keep_counted(&mut facts);
    }
    let snapshot = tokio::task::spawn_blocking(move || {
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
    .map_err(|e| StoreError::Task(e.to_string()))?;
    Ok((snapshot, basis))
}

impl Basis {
    /// Leaves out of `facts` the households of batches not counted, and clears the duplicate
    /// mark of a household whose earlier copy is in such a batch (remembering that batch).
    fn keep_counted(&mut self, facts: &mut Vec<HouseholdFacts>) {
        facts.retain(|f| self.counted.contains(&f.batch_id));
        for f in facts {
            if let Some(b) = f.duplicate_of_batch {
                if !self.counted.contains(&b) {
                    f.duplicate = false;
                    self.repeated.insert(b);
                }
            }
        }
    }
}

/// Brings `current` (built from `basis`) up to date with `store`: when only new batches came
/// to count since, their households alone are read and added ([`Snapshot::with_batches`]);
/// anything else (boundaries, denominators, programmes, corrections, a batch removed or
/// returned) builds the snapshot again from the whole store. `basis` is updated.
pub async fn refresh_snapshot(
    store: &dyn Store,
    current: &std::sync::Arc<Snapshot>,
    basis: &mut Basis,
    threads: usize,
) -> Result<Refreshed, StoreError> {
    let rewrites = store.rewrites().await?;
    let generation = store.generation().await?;
    let why = if rewrites == basis.rewrites {
        let batches = store.batches().await?;
        let now: HashSet<i64> = batches
            .iter()
            .filter(|b| b.counts())
            .map(|b| b.id)
            .collect();
        let added: Vec<BatchInfo> = batches
            .into_iter()
            .filter(|b| b.counts() && !basis.counted.contains(&b.id))
            .collect();
        if let Some(gone) = basis.counted.iter().find(|id| !now.contains(id)) {
            format!("batch {gone} no longer counts")
        } else if let Some(b) = added.iter().find(|b| basis.repeated.contains(&b.id)) {
            format!("batch {} repeats households counted already", b.id)
        } else if added.is_empty() {
            return Ok(Refreshed::Same(generation));
        } else {
            let ids: Vec<i64> = added.iter().map(|b| b.id).collect();
            let mut facts = store.household_facts(Some(&ids)).await?;
            let mut next = basis.clone();
            next.counted.extend(&ids);
            next.keep_counted(&mut facts);
            let metas: Vec<BatchMeta> = added.into_iter().map(BatchMeta::from).collect();
            let from = current.clone();
            let made = tokio::task::spawn_blocking(move || {
                from.with_batches(metas, &facts, generation, threads)
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
            match made {
                Ok(snapshot) => {
                    *basis = next;
                    return Ok(Refreshed::Added(snapshot));
                }
                Err(e) => e.to_string(),
            }
        }
    } else {
        "boundaries, denominators, programmes or stored households changed".to_string()
    };
    let (snapshot, rebuilt) = load_with_basis(store, threads).await?;
    *basis = rebuilt;
    Ok(Refreshed::Rebuilt(snapshot, why))
}
