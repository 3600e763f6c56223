//! A PMTiles v3 archive of the boundary layers: the very tiles the server serves, in one file
//! that any static web host (or a laptop in the field, offline) can serve to MapLibre through
//! the `pmtiles` protocol. Written with the `pmtiles` crate's writer: tiles added in tile-id
//! order (a clustered archive), identical tiles (open sea, the inside of a large unit) stored
//! once, gzip-compressed.

use std::io::{Seek, Write};

use serde_json::json;

use crate::aggregate::PeriodIndicators;
use crate::model::Scope;
use crate::tiles::{par_map, touched_tiles, Layer, TileCoord, TileError, TileSet};

/// Tiles rendered at once (on all cores) before they are added in order.
const BATCH: usize = 256;

/// What goes into an archive.
#[derive(Debug, Clone)]
pub struct PmtilesOptions {
    /// Boundary layers; a tile holds each layer drawn at its zoom (MVT layers of a tile are
    /// its layers' tiles one after the other).
    pub layers: Vec<Layer>,
    /// Deepest zoom written.
    pub max_zoom: u8,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PmtilesSummary {
    /// Tiles with content.
    pub tiles: u64,
    /// Distinct tile contents stored.
    pub distinct: u64,
    /// Tiles of the covered range that were empty (not stored).
    pub empty: u64,
}

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PmtilesError {
    /// A layer that holds households cannot go into a file meant for publishing.
    #[error("the {0} layer holds personal data and is never written to a PMTiles archive")]
    Private(&'static str),
    /// No layer is drawn at the zooms asked for.
    #[error("no layer is drawn at zoom {0} or below; choose a higher --maxzoom")]
    NothingDrawn(u8),
    /// No unit has a boundary.
    #[error("no boundaries are loaded")]
    NoBoundaries,
    /// A tile could not be rendered.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// The archive could not be written.
    #[error("cannot write the PMTiles archive: {0}")]
    Write(#[from] pmtiles::PmtError),
}

/// The tile `z/x/y` as the archive holds it: each layer's tile (as the server serves it) in
/// `layers` order, empty when none has content.
pub fn archive_tile(
    tiles: &TileSet,
    layers: &[Layer],
    coord: TileCoord,
    period: Option<&PeriodIndicators>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for &layer in layers {
        let (min, max) = tiles.zooms(layer);
        if (min..=max).contains(&coord.z()) {
            if let Some(t) = tiles.render(layer, coord, period, &Scope::All)? {
                out.extend_from_slice(&t);
            }
        }
    }
    Ok(out)
}

/// Writes the archive of `opts.layers` over `tiles` for `period` (already disclosed as its
/// readers may see it) to `out`.
pub fn write_pmtiles<W: Write + Seek>(
    tiles: &TileSet,
    period: Option<&PeriodIndicators>,
    opts: &PmtilesOptions,
    out: W,
) -> Result<PmtilesSummary, PmtilesError> {
    if let Some(l) = opts.layers.iter().find(|l| l.is_private()) {
        return Err(PmtilesError::Private(l.as_str()));
    }
    let min_zoom = opts
        .layers
        .iter()
        .map(|&l| tiles.zooms(l).0)
        .min()
        .filter(|&z| z <= opts.max_zoom)
        .ok_or(PmtilesError::NothingDrawn(opts.max_zoom))?;
    let snap = tiles.snapshot();
    let bounds = snap
        .bbox_of(0..snap.units().len() as u32)
        .ok_or(PmtilesError::NoBoundaries)?;
    let center = [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0];
    let vector_layers: Vec<_> = opts
        .layers
        .iter()
        .flat_map(|&l| {
            let (min, max) = tiles.zooms(l);
            l.vector_layers(min, max.min(opts.max_zoom))
        })
        .collect();
    let metadata = json!({
        "name": "Lentera",
        "description": "Batas wilayah dengan indikator kemiskinan (agregat; unit dengan rumah tangga sangat sedikit disembunyikan)",
        "attribution": "Lentera",
        "version": snap.generation.to_string(),
        "type": "overlay",
        "format": "pbf",
        "lentera:period": period.map(|p| p.period.to_string()),
        "vector_layers": vector_layers,
    });
    let mut writer = pmtiles::PmTilesWriter::new(pmtiles::TileType::Mvt)
        .min_zoom(min_zoom)
        .max_zoom(opts.max_zoom)
        .bounds(bounds[0], bounds[1], bounds[2], bounds[3])
        .center(center[0], center[1])
        .center_zoom(min_zoom.max(6).min(opts.max_zoom))
        .metadata(metadata.to_string())
        .create(out)?;

    // The tiles that units of the layers drawn at each zoom touch, in tile-id order (zoom by
    // zoom, along the Hilbert curve), so that the archive is clustered.
    let mut ids = std::collections::BTreeSet::new();
    for z in min_zoom..=opts.max_zoom {
        let levels: Vec<_> = opts
            .layers
            .iter()
            .filter(|&&l| {
                let (min, max) = tiles.zooms(l);
                (min..=max).contains(&z)
            })
            .filter_map(|l| l.level())
            .collect();
        for c in touched_tiles(snap, &levels, z) {
            ids.insert(pmtiles::TileId::from(pmtiles::TileCoord::new(z, c.x(), c.y())?).value());
        }
    }
    let coords = ids
        .into_iter()
        .map(|id| {
            let c = pmtiles::TileCoord::from(pmtiles::TileId::new(id)?);
            Ok((id, TileCoord::new(u32::from(c.z()), c.x(), c.y())?))
        })
        .collect::<Result<Vec<(u64, TileCoord)>, PmtilesError>>()?;

    let mut summary = PmtilesSummary::default();
    let mut seen = std::collections::HashSet::new();
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    for batch in coords.chunks(BATCH) {
        let rendered = par_map(batch, workers, |(_, c)| {
            archive_tile(tiles, &opts.layers, *c, period)
        })?;
        for ((_, coord), data) in batch.iter().zip(rendered) {
            if data.is_empty() {
                summary.empty += 1;
                continue;
            }
            summary.tiles += 1;
            if seen.insert(digest(&data)) {
                summary.distinct += 1;
            }
            let id = pmtiles::TileCoord::new(coord.z(), coord.x(), coord.y())?;
            writer.add_tile(id, &data)?;
        }
    }
    writer.finalize()?;
    Ok(summary)
}

/// A 64-bit digest of a tile, to count distinct contents.
fn digest(data: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(data)
}
