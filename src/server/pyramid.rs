//! The tile pyramid: every public boundary tile of the latest period that a province's map
//! can ask for, rendered on all cores as soon as a snapshot is swapped in, so that no map
//! reader waits for a tile to be drawn, whatever the tile cache holds.
//!
//! A province is a few tens of thousands of tiles (Kalimantan Timur to zoom 14: ~35,000
//! tiles, ~12 MiB compressed, ~3 s of work on two cores); the pyramid stops at the zoom
//! where its budget of tiles would be passed, coarse layers first, so that a national
//! deployment pre-renders its kabupaten and kecamatan and draws deep desa tiles on demand
//! (cached as before).

use std::collections::HashMap;

use axum::body::Bytes;

use super::tiles::gzip;
use crate::aggregate::Disclosure;
use crate::model::{Period, Scope};
use crate::tiles::{par_map, touched_tiles, Layer, TileCoord, TileError, TileSet};

/// Tiles pre-rendered at most, by default (about 40 MiB of compressed tiles).
pub const DEFAULT_PRERENDER_TILES: usize = 100_000;

/// Tiles rendered between two checks that the snapshot is still the current one.
const CHUNK: usize = 1024;

/// What the server pre-renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prerender {
    /// Most tiles kept; 0 turns the pyramid off.
    pub budget: usize,
    /// The figures as the public sees them (small counts suppressed).
    pub disclosure: Disclosure,
}

/// The pre-rendered tiles of one snapshot generation (see the module comment).
pub struct Pyramid {
    generation: u64,
    period: Option<Period>,
    disclosure: Disclosure,
    /// Gzip-compressed tiles, empty for a tile without content; identical tiles (the inside
    /// of a large unit) share their bytes.
    tiles: HashMap<(Layer, TileCoord), Bytes, foldhash::fast::RandomState>,
    /// Deepest zoom held per layer (kabupaten, kecamatan, desa), if any.
    deepest: [Option<u8>; 3],
    /// Bytes of the distinct tiles.
    bytes: usize,
}

impl Pyramid {
    /// Renders the pyramid of `tiles` within `config.budget` on `workers` threads; `None`
    /// when the budget is 0 or `still_current` turns false meanwhile (a newer snapshot came).
    pub fn build(
        tiles: &TileSet,
        config: Prerender,
        workers: usize,
        still_current: impl Fn() -> bool,
    ) -> Result<Option<Pyramid>, TileError> {
        if config.budget == 0 {
            return Ok(None);
        }
        let snap = tiles.snapshot();
        let period = snap.period(None).map(|p| p.disclosed(config.disclosure));
        let mut wanted: Vec<(Layer, TileCoord)> = Vec::new();
        let mut deepest = [None; 3];
        'layers: for (i, layer) in [Layer::Kabupaten, Layer::Kecamatan, Layer::Desa]
            .into_iter()
            .enumerate()
        {
            let (min, max) = tiles.zooms(layer);
            let Some(level) = layer.level() else { continue };
            for z in min..=max {
                let at = touched_tiles(snap, &[level], z);
                if wanted.len() + at.len() > config.budget {
                    // Deeper zooms of this layer have more tiles still; coarser layers are done.
                    continue 'layers;
                }
                wanted.extend(at.into_iter().map(|c| (layer, c)));
                deepest[i] = Some(z);
            }
        }
        let mut held: HashMap<(Layer, TileCoord), Bytes, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(wanted.len(), Default::default());
        let mut distinct: HashMap<u64, Bytes, foldhash::fast::RandomState> = HashMap::default();
        for chunk in wanted.chunks(CHUNK) {
            if !still_current() {
                return Ok(None);
            }
            let rendered = par_map(chunk, workers, |&(layer, coord)| {
                tiles
                    .render(layer, coord, period.as_ref(), &Scope::All)
                    .map(|t| t.map(|t| gzip(&t)))
            })?;
            for (&key, gz) in chunk.iter().zip(rendered) {
                let bytes = match gz {
                    None => Bytes::new(),
                    Some(gz) => {
                        use std::hash::BuildHasher;
                        let digest = foldhash::fast::FixedState::default().hash_one(&gz);
                        distinct
                            .entry(digest)
                            .or_insert_with(|| Bytes::from(gz))
                            .clone()
                    }
                };
                held.insert(key, bytes);
            }
        }
        Ok(Some(Pyramid {
            generation: snap.generation,
            period: period.as_ref().map(|p| p.period),
            disclosure: config.disclosure,
            tiles: held,
            deepest,
            bytes: distinct.values().map(Bytes::len).sum(),
        }))
    }

    /// The tile, gzip-compressed (empty: no content), when the pyramid holds the very tile
    /// asked for: the same generation, the latest period, all units, the same disclosure.
    pub fn get(
        &self,
        generation: u64,
        layer: Layer,
        tile: TileCoord,
        period: Option<Period>,
        scope: &Scope,
        disclosure: Disclosure,
    ) -> Option<&Bytes> {
        if generation != self.generation
            || disclosure != self.disclosure
            || !matches!(scope, Scope::All)
            || period.is_some_and(|p| Some(p) != self.period)
        {
            return None;
        }
        self.tiles.get(&(layer, tile))
    }

    /// The generation it was rendered for.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Tiles held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether it holds no tile.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// Bytes of distinct compressed tiles held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Deepest zoom held of kabupaten, kecamatan and desa tiles.
    pub fn deepest(&self) -> [Option<u8>; 3] {
        self.deepest
    }
}
