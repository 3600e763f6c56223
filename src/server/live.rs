//! The snapshot the handlers read, swapped whole when the store changes.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::aggregate::Snapshot;
use crate::app::load_snapshot;
use crate::store::{Store, StoreError};
use crate::tiles::TileSet;

/// The store and the current snapshot built from it. Cloning shares both.
#[derive(Clone)]
pub struct Live {
    store: Arc<dyn Store>,
    current: Arc<ArcSwap<TileSet>>,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    threads: usize,
    /// When the current snapshot was swapped in.
    swapped_at: Arc<std::sync::Mutex<std::time::Instant>>,
}

impl Live {
    /// Builds the first snapshot of `store`.
    pub async fn load(store: Arc<dyn Store>) -> Result<Live, StoreError> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let snapshot = load_snapshot(store.as_ref(), threads).await?;
        Ok(Live {
            store,
            current: Arc::new(ArcSwap::from_pointee(TileSet::new(Arc::new(snapshot)))),
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
            threads,
            swapped_at: Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
        })
    }

    /// How long the current snapshot has been served.
    pub fn snapshot_age(&self) -> Duration {
        self.swapped_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current snapshot. Readers keep the one they got for the whole request, so a swap
    /// in the middle never mixes two versions.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load().snapshot().clone()
    }

    /// The tiles of the current snapshot (they hold it, so a tile request reads one snapshot
    /// from start to end).
    pub fn tiles(&self) -> Arc<TileSet> {
        self.current.load_full()
    }

    /// Rebuilds the snapshot if the store changed since it was built, and swaps it in.
    /// Returns whether it did. Concurrent calls wait for one rebuild instead of starting
    /// their own.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let _one_at_a_time = self.rebuilding.lock().await;
        let generation = self.store.generation().await?;
        if generation == self.current.load().snapshot().generation {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let snapshot = load_snapshot(self.store.as_ref(), self.threads).await?;
        tracing::info!(
            generation = snapshot.generation,
            households = snapshot.households().len(),
            seconds = started.elapsed().as_secs_f64(),
            "new snapshot"
        );
        // Prepared before the swap: the first tiles of the new data never wait for it.
        let tiles = Arc::new(TileSet::new(Arc::new(snapshot)));
        let warming = tiles.clone();
        tokio::task::spawn_blocking(move || warming.warm())
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        self.current.store(tiles);
        *self.swapped_at.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        Ok(true)
    }

    /// Prepares the current tiles for a first view on a blocking thread (see
    /// [`TileSet::warm`]); requests are served meanwhile.
    pub fn warm_tiles(&self) -> tokio::task::JoinHandle<()> {
        let tiles = self.tiles();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            tiles.warm();
            tracing::info!(seconds = started.elapsed().as_secs_f64(), "tiles prepared");
        })
    }

    /// Checks the store every `every`, and at once when the store announces a change made
    /// by another process ([`Store::changes`]: another server over the same PostGIS, the
    /// command line), and refreshes the snapshot when it changed (imports, corrections, new
    /// boundaries or denominators).
    pub fn spawn_refresher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let live = self.clone();
        let mut changes = self.store.changes();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let announced = async {
                    match changes.as_mut() {
                        Some(rx) => {
                            if rx.changed().await.is_err() {
                                // The listener ended: polling only from now on.
                                std::future::pending::<()>().await;
                            }
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    _ = tick.tick() => {}
                    () = announced => {}
                }
                if let Err(e) = live.refresh().await {
                    tracing::warn!(error = %e, "cannot refresh the snapshot; serving the previous one");
                }
            }
        })
    }
}
