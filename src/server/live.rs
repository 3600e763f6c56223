//! The snapshot the handlers read, swapped whole when the store changes.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::aggregate::Snapshot;
use crate::app::snapshot::{load_with_basis, refresh_snapshot, Basis, Refreshed};
use crate::store::{Store, StoreError};
use crate::tiles::TileSet;

use super::pyramid::{Prerender, Pyramid};

/// How long a refresh waits for the replica to replay a change before reading it anyway.
const REPLICA_WAIT: Duration = Duration::from_secs(5);

/// The store and the current snapshot built from it. Cloning shares both.
#[derive(Clone)]
pub struct Live {
    store: Arc<dyn Store>,
    /// Where snapshots and household exports are read: the store itself, or a read-only
    /// streaming replica of it ([`Live::with_replica`]).
    reads: Arc<dyn Store>,
    current: Arc<ArcSwap<TileSet>>,
    /// Held while the snapshot is brought up to date: what the current one was built from.
    rebuilding: Arc<tokio::sync::Mutex<Basis>>,
    /// The store generation the current snapshot stands for (past its own when a change
    /// left everything it counts as it was).
    answered: Arc<std::sync::atomic::AtomicU64>,
    threads: usize,
    /// When the current snapshot was swapped in.
    swapped_at: Arc<std::sync::Mutex<std::time::Instant>>,
    /// What is pre-rendered for each snapshot (nothing until [`Live::prerender`]).
    prerender: Arc<std::sync::OnceLock<Prerender>>,
    /// The pre-rendered tiles, of the current snapshot or (until the new one is ready) of
    /// an older one, which serves nothing.
    pyramid: Arc<ArcSwapOption<Pyramid>>,
    /// The generation whose tiles are prepared (outlines, and the pyramid when on).
    prepared: Arc<std::sync::atomic::AtomicU64>,
}

impl Live {
    /// Builds the first snapshot of `store`.
    pub async fn load(store: Arc<dyn Store>) -> Result<Live, StoreError> {
        Live::with_replica(store.clone(), store).await
    }

    /// Builds the first snapshot from `replica`, a read-only streaming replica of `store`
    /// (see [`crate::store::PostgisStore::connect_replica`]): snapshots and household exports
    /// are read there, everything else (sessions, the audit trail, uploads, imports, and the
    /// generation that says a change was committed) goes to `store`. A snapshot is built
    /// once the replica has replayed the change the primary announced.
    pub async fn with_replica(
        store: Arc<dyn Store>,
        replica: Arc<dyn Store>,
    ) -> Result<Live, StoreError> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (snapshot, basis) = load_with_basis(replica.as_ref(), threads).await?;
        Ok(Live {
            store,
            reads: replica,
            answered: Arc::new(std::sync::atomic::AtomicU64::new(snapshot.generation)),
            current: Arc::new(ArcSwap::from_pointee(TileSet::new(Arc::new(snapshot)))),
            rebuilding: Arc::new(tokio::sync::Mutex::new(basis)),
            threads,
            swapped_at: Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
            prerender: Arc::default(),
            pyramid: Arc::default(),
            prepared: Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX)),
        })
    }

    /// Pre-renders the public tiles of every snapshot from now on as `config` says (once;
    /// later calls change nothing).
    pub fn prerender(&self, config: Prerender) {
        let _ = self.prerender.set(config);
    }

    /// The pre-rendered tiles, if any (check their generation against the snapshot read).
    pub fn pyramid(&self) -> Option<Arc<Pyramid>> {
        self.pyramid.load_full()
    }

    /// Whether the current snapshot's tiles are prepared (see [`Live::prepare_tiles`]).
    pub fn tiles_prepared(&self) -> bool {
        self.prepared.load(std::sync::atomic::Ordering::Acquire)
            == self.current.load().snapshot().generation
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

    /// Where the snapshot's households are read (the replica, when there is one): household
    /// exports of the snapshot's batches stream from here.
    pub fn reads(&self) -> &Arc<dyn Store> {
        &self.reads
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

    /// Brings the snapshot up to date if the store changed since it was built (adding the
    /// batches that came to count when nothing else changed, else building it again), and
    /// swaps it in. Returns whether it did. Concurrent calls wait for one rebuild instead
    /// of starting their own.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        use std::sync::atomic::Ordering;
        let mut basis = self.rebuilding.lock().await;
        let generation = self.store.generation().await?;
        if generation == self.answered.load(Ordering::Acquire) {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        self.replica_reaches(generation).await?;
        let current = self.snapshot();
        let snapshot = match refresh_snapshot(
            self.reads.as_ref(),
            &current,
            &mut basis,
            self.threads,
        )
        .await?
        {
            Refreshed::Same(generation) => {
                self.answered.store(generation, Ordering::Release);
                tracing::info!(generation, "nothing counted changed; the snapshot stays");
                return Ok(false);
            }
            Refreshed::Added(snapshot) => {
                tracing::info!(
                    generation = snapshot.generation,
                    households = snapshot.households().len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "new snapshot: batches added"
                );
                snapshot
            }
            Refreshed::Rebuilt(snapshot, why) => {
                tracing::info!(
                    generation = snapshot.generation,
                    households = snapshot.households().len(),
                    seconds = started.elapsed().as_secs_f64(),
                    why,
                    "new snapshot: built again"
                );
                snapshot
            }
        };
        self.answered.store(snapshot.generation, Ordering::Release);
        // Prepared before the swap: the first tiles of the new data never wait for it.
        let tiles = Arc::new(self.current.load().next(Arc::new(snapshot)));
        let warming = tiles.clone();
        tokio::task::spawn_blocking(move || warming.warm())
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        self.current.store(tiles);
        *self.swapped_at.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        if self.prerender.get().is_some_and(|p| p.budget > 0) {
            drop(self.prepare_tiles());
        } else {
            let generation = self.current.load().snapshot().generation;
            self.prepared.store(generation, Ordering::Release);
        }
        Ok(true)
    }

    /// Waits until the replica has replayed `generation` (at once without a replica), at
    /// most [`REPLICA_WAIT`]: a replica further behind is read as it is, and the next check
    /// builds again once it has caught up.
    async fn replica_reaches(&self, generation: u64) -> Result<(), StoreError> {
        if Arc::ptr_eq(&self.store, &self.reads) {
            return Ok(());
        }
        let started = std::time::Instant::now();
        loop {
            let replayed = self.reads.generation().await?;
            if replayed >= generation {
                return Ok(());
            }
            if started.elapsed() >= REPLICA_WAIT {
                tracing::warn!(
                    primary = generation,
                    replica = replayed,
                    "the replica lags behind the primary; building from what it holds"
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Prepares the current tiles on blocking threads while requests are served: the
    /// outlines of a first view (see [`TileSet::warm`]), then the pyramid when
    /// [`Live::prerender`] asked for one (given up if a newer snapshot arrives meanwhile).
    pub fn prepare_tiles(&self) -> tokio::task::JoinHandle<()> {
        let live = self.clone();
        tokio::task::spawn_blocking(move || {
            let tiles = live.tiles();
            let generation = tiles.snapshot().generation;
            let started = std::time::Instant::now();
            tiles.warm();
            let still_current = || live.current.load().snapshot().generation == generation;
            if let Some(&config) = live.prerender.get() {
                let built = Pyramid::build(&tiles, config, live.threads, still_current);
                // A task overtaken by a newer snapshot leaves the pyramid to that one's task.
                if still_current() {
                    match built {
                        Ok(Some(pyramid)) => {
                            tracing::info!(
                                generation,
                                tiles = pyramid.len(),
                                mib = pyramid.bytes() as f64 / f64::from(1 << 20),
                                seconds = started.elapsed().as_secs_f64(),
                                "tiles pre-rendered"
                            );
                            live.pyramid.store(Some(Arc::new(pyramid)));
                        }
                        Ok(None) => live.pyramid.store(None),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot pre-render the tiles; drawing them on demand");
                            live.pyramid.store(None);
                        }
                    }
                }
            }
            if still_current() {
                live.prepared
                    .store(generation, std::sync::atomic::Ordering::Release);
            }
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
