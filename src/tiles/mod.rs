//! Mapbox Vector Tiles (spec 2.1) from the snapshot: boundary layers of kabupaten/kota,
//! kecamatan and desa/kelurahan carrying their indicators, and a household point layer,
//! clustered at low zoom.
//!
//! A [`TileSet`] belongs to one snapshot. Outlines are simplified per zoom along shared
//! borders ([`topology`]), projected to Web Mercator, clipped to the tile plus a buffer
//! ([`clip`]), rounded to the 4096-unit tile grid and encoded by `fast-mvt` (which winds
//! exterior rings clockwise in tile coordinates). Nothing is read from the store per tile.

pub mod borders;
pub mod clip;
pub mod glyphs;
pub mod mercator;
pub mod topology;

use std::sync::{Arc, OnceLock};

use fast_mvt::{MvtGeomType, MvtLayerBuilder, MvtTileBuilder};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::aggregate::{Count, Indicator, PeriodIndicators, Rate, Snapshot};
use crate::model::Program;
use crate::model::Scope;
use crate::region::Level;
use borders::{border_lines, clip_line, segment_kinds, Border, BorderKind, Parents};
use clip::{clip_ring, quantize_ring, ring_area2};
use mercator::to_world;
use topology::{Outlines, Topology};

/// Tile extent (units per tile side).
pub const EXTENT: u32 = 4096;
/// Buffer around each tile, in tile units (data drawn past the edge so that strokes and
/// fills join up with the neighbouring tile).
pub const BUFFER: f64 = 64.0;
/// The deepest zoom served.
pub const MAX_ZOOM: u8 = 16;
/// Below this zoom households are clustered; from it on they are single points.
pub const CLUSTER_BELOW: u8 = 12;
/// Cluster cell side, in tile units (64 px of a 512-px tile).
const CLUSTER_CELL: u32 = 512;
/// Household points are rounded to this many degrees (~11 m) before they are served.
const HOUSEHOLD_GRID_DEG: f64 = 1e-4;
/// Polygon parts smaller than this (twice the area, tile units²; ~1 px of a 512-px tile)
/// are dropped, except a unit's largest part.
const MIN_PART_AREA2: i64 = 2 * 64;

/// The tile layers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "lowercase")]
pub enum Layer {
    /// Kabupaten/kota boundaries with indicators.
    Kabupaten,
    /// Kecamatan boundaries with indicators.
    Kecamatan,
    /// Desa/kelurahan boundaries with indicators.
    Desa,
    /// Household points of one period (clustered below [`CLUSTER_BELOW`]); for authorised
    /// tokens only.
    Households,
}

impl Layer {
    /// All layers.
    pub const ALL: &'static [Layer] = <Layer as strum::VariantArray>::VARIANTS;

    /// The layer's name in URLs and in the tiles.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The administrative level of a boundary layer.
    pub fn level(&self) -> Option<Level> {
        match self {
            Layer::Kabupaten => Some(Level::Kabupaten),
            Layer::Kecamatan => Some(Level::Kecamatan),
            Layer::Desa => Some(Level::Desa),
            Layer::Households => None,
        }
    }

    /// The zooms the layer is drawn at (inclusive) when its level has more units than
    /// [`DRAWN_AT_EVERY_ZOOM_UP_TO`]; [`TileSet::zooms`] gives a snapshot's own.
    pub fn zooms(&self) -> (u8, u8) {
        match self {
            Layer::Kabupaten => (0, 9),
            Layer::Kecamatan => (6, 12),
            Layer::Desa => (8, MAX_ZOOM),
            Layer::Households => (6, MAX_ZOOM),
        }
    }

    /// Whether the layer holds household-level data.
    pub fn is_private(&self) -> bool {
        *self == Layer::Households
    }

    /// The fields of a layer, as TileJSON's `vector_layers` lists them.
    pub fn fields(self) -> serde_json::Value {
        let mut fields = serde_json::Map::new();
        if self.is_private() {
            for (k, v) in [
                ("cluster", "Boolean: true for a cluster of households"),
                ("point_count", "Number: households in a cluster"),
                ("desil_1", "Number: desil-1 households in a cluster"),
                ("desil", "Number: the household's desil (single points)"),
                (
                    "quality",
                    "String: how the household was placed (gps, code, name_exact…)",
                ),
                ("pkh", "Boolean: receives PKH, where the source states it"),
            ] {
                fields.insert(k.into(), v.into());
            }
            return serde_json::Value::Object(fields);
        }
        for (k, v) in [
            ("kode", "String: Kemendagri code"),
            ("nama", "String: name"),
            (
                "jenis",
                "String: kabupaten, kota, kecamatan, desa or kelurahan",
            ),
            ("parent", "String: code of the parent unit"),
            (
                "has_data",
                "Boolean: false where no source of the period covers the unit",
            ),
        ] {
            fields.insert(k.into(), v.into());
        }
        for indicator in TILE_INDICATORS {
            fields.insert(
                indicator.name().into(),
                "Number (absent where there is no data; see /api/openapi.json)".into(),
            );
        }
        serde_json::Value::Object(fields)
    }
}

/// A boundary level of at most this many units (a province's desa, a few provinces'
/// kecamatan) is drawn from zoom 0, so that choosing it shows the whole area coloured; a
/// larger one (the country's 84,000 desa) from its layer's own minimum zoom, and the map
/// asks to zoom in.
pub const DRAWN_AT_EVERY_ZOOM_UP_TO: usize = 5_000;

impl Layer {
    /// The fields of a boundary layer's label layer ([`label_layer_name`]).
    pub fn label_fields() -> serde_json::Value {
        serde_json::json!({
            "kode": "String: Kemendagri code",
            "nama": "String: name",
            "label": "String: the name a map shows (a kabupaten without \"Kabupaten\")",
            "peringkat": "Number: rank by area in the level, 1 = largest (place names in this order)",
        })
    }

    /// The fields of the parent-border layer of the kecamatan and desa tiles.
    pub fn border_fields() -> serde_json::Value {
        serde_json::json!({
            "tingkat": "String: kabupaten (a kabupaten/kota border, the coast or the province's edge) or kecamatan (desa tiles only), drawn from this layer's own outlines",
        })
    }

    /// The MVT layers a tile of this boundary layer holds, as TileJSON's `vector_layers`
    /// lists them (`id`, `fields`, `minzoom`, `maxzoom`): its units, their names and, below
    /// kabupaten/kota, the parent borders.
    pub fn vector_layers(self, minzoom: u8, maxzoom: u8) -> Vec<serde_json::Value> {
        let entry = |id: String, fields: serde_json::Value| serde_json::json!({ "id": id, "fields": fields, "minzoom": minzoom, "maxzoom": maxzoom });
        let mut layers = vec![entry(self.as_str().to_string(), self.fields())];
        if self.level().is_some() {
            layers.push(entry(label_layer_name(self), Layer::label_fields()));
        }
        if matches!(self, Layer::Kecamatan | Layer::Desa) {
            layers.push(entry(border_layer_name(self), Layer::border_fields()));
        }
        layers
    }
}

/// Indicators carried by boundary features (null ones are left out: no data).
pub const TILE_INDICATORS: [Indicator; 16] = [
    Indicator::Count(Count::Households),
    Indicator::Count(Count::People),
    Indicator::Count(Count::Desil1),
    Indicator::Count(Count::Desil2),
    Indicator::Count(Count::Desil3),
    Indicator::Count(Count::Desil4),
    Indicator::Count(Count::Desil1To4),
    Indicator::Count(Count::Pkh),
    Indicator::Count(Count::Desil1NoProgram),
    Indicator::Count(Count::Desil1NoPkh),
    Indicator::Count(Count::Flagged),
    Indicator::Count(Count::DesaUnknown),
    Indicator::Rate(Rate::HouseholdsRate),
    Indicator::Rate(Rate::Desil1Rate),
    Indicator::Rate(Rate::Desil1To4Rate),
    Indicator::Rate(Rate::Desil1NoProgramShare),
];

/// A request for a tile that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// Unknown layer name.
    #[error("unknown layer `{0}`: kabupaten, kecamatan, desa or households")]
    UnknownLayer(String),
    /// z/x/y outside the tile pyramid.
    #[error("no tile {z}/{x}/{y}: zoom must be 0–{max}, and x and y below 2^zoom")]
    OutOfRange {
        /// Zoom.
        z: u32,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// Deepest zoom.
        max: u8,
    },
    /// The encoder refused a feature.
    #[error("cannot encode the tile: {0}")]
    Encode(String),
}

impl From<fast_mvt::MvtError> for TileError {
    fn from(e: fast_mvt::MvtError) -> TileError {
        TileError::Encode(e.to_string())
    }
}

/// The address of a tile in the pyramid, checked on construction: zoom 0–[`MAX_ZOOM`], `x`
/// and `y` below 2^zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileCoord {
    z: u8,
    x: u32,
    y: u32,
}

impl TileCoord {
    /// Tile `z/x/y`, if the pyramid has it.
    pub fn new(z: u32, x: u32, y: u32) -> Result<TileCoord, TileError> {
        if z > u32::from(MAX_ZOOM) || x >= (1u32 << z) || y >= (1u32 << z) {
            return Err(TileError::OutOfRange {
                z,
                x,
                y,
                max: MAX_ZOOM,
            });
        }
        Ok(TileCoord { z: z as u8, x, y })
    }

    /// The zoom.
    pub fn z(self) -> u8 {
        self.z
    }

    /// The column.
    pub fn x(self) -> u32 {
        self.x
    }

    /// The row.
    pub fn y(self) -> u32 {
        self.y
    }
}

impl std::fmt::Display for TileCoord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// One boundary level prepared for tiles.
struct LevelTiles {
    units: Vec<u32>,
    /// Per unit, where its name goes (world coordinates) and its rank by area (1 = the
    /// largest), which decides whose name a crowded map shows first.
    labels: Vec<Option<([f64; 2], u32)>>,
    topology: Topology,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    /// Outlines simplified for each zoom, in world coordinates, built on first use.
    zooms: Vec<OnceLock<Outlines>>,
    /// Per unit, its kabupaten/kota and kecamatan (snapshot indices; a kecamatan's own
    /// kabupaten twice): the parents its borders are compared by.
    parents: Vec<Parents>,
    /// Per arc of the topology, its units, and per exact segment the parent border it is;
    /// built on first use.
    arc_kinds: OnceLock<(Vec<Vec<u32>>, borders::SegmentKinds)>,
    /// The parent borders for each zoom, built on first use.
    borders: Vec<OnceLock<BorderIndex>>,
}

/// The simplification tolerance of zoom `z` (world units): a quarter of a 512-px pixel; none
/// from zoom 14 on, where the source's own detail is below a pixel.
fn tolerance(z: u8) -> f64 {
    if z >= 14 {
        0.0
    } else {
        2.0 / (f64::from(EXTENT) * f64::from(1u32 << z))
    }
}

impl LevelTiles {
    fn new(snap: &Snapshot, level: Level) -> LevelTiles {
        let units: Vec<u32> = (0..snap.units().len() as u32)
            .filter(|&u| snap.unit(u).info.level == level && !snap.unit(u).geometry.0.is_empty())
            .collect();
        let outlines: Vec<_> = units.iter().map(|&u| &snap.unit(u).geometry).collect();
        let labels = label_points(&outlines);
        let ancestor = |u: u32, of: Level| {
            snap.parents(u)
                .into_iter()
                .find(|&p| snap.unit(p).info.level == of)
                .unwrap_or(u32::MAX)
        };
        let parents = units
            .iter()
            .map(|&u| {
                let kabupaten = ancestor(u, Level::Kabupaten);
                match level {
                    Level::Desa => (kabupaten, ancestor(u, Level::Kecamatan)),
                    _ => (kabupaten, kabupaten),
                }
            })
            .collect();
        let topology = Topology::new(&outlines);
        let exact = topology.simplified(0.0);
        let boxes = exact
            .iter()
            .enumerate()
            .filter_map(|(i, polys)| {
                let pts = polys.iter().flatten().flatten();
                let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
                for p in pts {
                    lo = [lo[0].min(p[0]), lo[1].min(p[1])];
                    hi = [hi[0].max(p[0]), hi[1].max(p[1])];
                }
                (lo[0] <= hi[0]).then(|| GeomWithData::new(Rectangle::from_corners(lo, hi), i))
            })
            .collect();
        LevelTiles {
            units,
            labels,
            topology,
            boxes: RTree::bulk_load(boxes),
            zooms: (0..=MAX_ZOOM).map(|_| OnceLock::new()).collect(),
            parents,
            arc_kinds: OnceLock::new(),
            borders: (0..=MAX_ZOOM).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The parent borders at zoom `z` (`snap` is the snapshot the level was built from).
    fn borders_at(&self, z: u8, snap: &Snapshot) -> &BorderIndex {
        self.borders[usize::from(z)].get_or_init(|| {
            let (users, kinds) = self.arc_kinds.get_or_init(|| {
                let users = self.topology.arc_users();
                let unit_at = |p: [f64; 2], not: u32| {
                    use geo::Contains;
                    let (lon, lat) = mercator::to_lon_lat(p[0], p[1]);
                    let at = geo::Point::new(lon, lat);
                    self.boxes
                        .locate_all_at_point(&p)
                        .map(|g| g.data)
                        .filter(|&i| i as u32 != not)
                        .find(|&i| snap.unit(self.units[i]).geometry.contains(&at))
                        .map(|i| i as u32)
                };
                let kinds = segment_kinds(self.topology.arcs(), &users, &self.parents, unit_at);
                (users, kinds)
            });
            let kept = self.topology.simplified_indices(tolerance(z));
            let borders = border_lines(self.topology.arcs(), &kept, kinds, users);
            let boxes = borders
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
                    for p in &b.line {
                        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
                        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
                    }
                    GeomWithData::new(Rectangle::from_corners(lo, hi), i)
                })
                .collect();
            BorderIndex {
                borders,
                boxes: RTree::bulk_load(boxes),
            }
        })
    }

    /// Outlines at zoom `z`: arcs simplified to a quarter of a 512-px pixel; none from zoom 14
    /// on, where the source's own detail is below a pixel.
    fn at_zoom(&self, z: u8) -> &Outlines {
        self.zooms[usize::from(z)].get_or_init(|| self.topology.simplified(tolerance(z)))
    }
}

/// Each outline's label point in world coordinates with its rank by area, computed on all
/// cores (a national desa layer is 84,000 searches).
fn label_points(outlines: &[&geo::MultiPolygon<f64>]) -> Vec<Option<([f64; 2], u32)>> {
    use geo::Area;
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let found = par_map(outlines, workers, |g| {
        Ok::<_, std::convert::Infallible>(
            crate::geometry::label_point(g)
                .map(|[lon, lat]| (to_world(lon, lat), g.unsigned_area())),
        )
    });
    let found = match found {
        Ok(found) => found,
        Err(never) => match never {},
    };
    let mut by_area: Vec<usize> = (0..found.len()).collect();
    by_area.sort_by(|&a, &b| {
        let area = |i: usize| found[i].map_or(0.0, |(_, a)| a);
        area(b).total_cmp(&area(a))
    });
    let mut rank = vec![0u32; found.len()];
    for (r, i) in by_area.into_iter().enumerate() {
        rank[i] = r as u32 + 1;
    }
    found
        .into_iter()
        .zip(rank)
        .map(|(p, r)| p.map(|(at, _)| ([at.0, at.1], r)))
        .collect()
}

/// A unit's outline at one zoom ([`TileSet::outlines`]).
#[derive(Debug, Clone, Copy)]
pub struct UnitOutline<'a> {
    /// The unit (index in the snapshot).
    pub unit: u32,
    /// Its polygons, each a list of closed rings (exterior first), in world coordinates.
    pub polygons: &'a [Vec<Vec<[f64; 2]>>],
    /// Where its name goes (world coordinates).
    pub label: Option<[f64; 2]>,
    /// Its rank by area in the level (1 = largest).
    pub rank: u32,
}

/// The name of the label layer that goes with a boundary layer in its tiles.
pub fn label_layer_name(layer: Layer) -> String {
    format!("{}_label", layer.as_str())
}

/// The items of `boxes` (world coordinates) whose box meets tile `z/x/y` widened by `buffer`
/// tile units, in their order.
fn in_tile(
    boxes: &RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    (z, x, y): (u8, u32, u32),
    buffer: f64,
) -> Vec<usize> {
    let n = f64::from(1u32 << z);
    let pad = buffer / f64::from(EXTENT);
    let (fx, fy) = (f64::from(x), f64::from(y));
    let env = AABB::from_corners(
        [(fx - pad) / n, (fy - pad) / n],
        [(fx + 1.0 + pad) / n, (fy + 1.0 + pad) / n],
    );
    let mut hits: Vec<usize> = boxes
        .locate_in_envelope_intersecting(&env)
        .map(|g| g.data)
        .collect();
    hits.sort_unstable();
    hits
}

/// The name of the layer of parent borders (drawn from the layer's own outlines) that goes
/// with the kecamatan and desa layers in their tiles.
pub fn border_layer_name(layer: Layer) -> String {
    format!("{}_batas", layer.as_str())
}

/// The parent borders of a level at one zoom, with an index of their boxes.
struct BorderIndex {
    borders: Vec<Border>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

/// The tiles of one snapshot.
pub struct TileSet {
    snapshot: Arc<Snapshot>,
    /// Each level's outlines and topology: shared with the tile sets of snapshots made by
    /// adding batches to this one (the same units).
    levels: Arc<[OnceLock<LevelTiles>; 3]>,
    /// Units with an outline per level (kabupaten, kecamatan, desa).
    units_per_level: [usize; 3],
}

/// The index of a boundary level in a [`TileSet`]'s per-level arrays.
fn level_index(level: Level) -> usize {
    match level {
        Level::Kabupaten => 0,
        Level::Kecamatan => 1,
        _ => 2,
    }
}

/// The tiles of zoom `z` that units of `levels` touch: each unit's box, one tile wider for
/// the tile buffer (not the whole box of the data, whose open sea between islands holds
/// nothing), in order of column then row.
pub fn touched_tiles(snapshot: &Snapshot, levels: &[Level], z: u8) -> Vec<TileCoord> {
    let last = (1u32 << z) - 1;
    let mut cells = std::collections::BTreeSet::new();
    for unit in snapshot.units() {
        let (Some(bbox), true) = (unit.info.bbox, levels.contains(&unit.info.level)) else {
            continue;
        };
        let (x0, y0, x1, y1) = mercator::tiles_covering(bbox, z);
        for x in x0.saturating_sub(1)..=(x1 + 1).min(last) {
            for y in y0.saturating_sub(1)..=(y1 + 1).min(last) {
                cells.insert((x, y));
            }
        }
    }
    cells
        .into_iter()
        .map(|(x, y)| TileCoord { z, x, y })
        .collect()
}

/// `f` of every item on `workers` threads, in the items' order; the first error stops the
/// result (the work is CPU-bound and short, so scoped threads rather than a pool).
pub fn par_map<I: Sync, T: Send, E: Send>(
    items: &[I],
    workers: usize,
    f: impl Fn(&I) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let per = items.len().div_ceil(workers.max(1)).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> = items
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Result<Vec<T>, E>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for part in parts {
            match part.join() {
                Ok(done) => out.extend(done?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(out)
    })
}

impl TileSet {
    /// Tiles over `snapshot` (nothing is prepared until a tile is asked for).
    pub fn new(snapshot: Arc<Snapshot>) -> TileSet {
        let mut units_per_level = [0; 3];
        for unit in snapshot.units() {
            if unit.info.level != Level::Provinsi && !unit.geometry.0.is_empty() {
                units_per_level[level_index(unit.info.level)] += 1;
            }
        }
        TileSet {
            snapshot,
            levels: Default::default(),
            units_per_level,
        }
    }

    /// The tiles of `snapshot`, keeping the outlines this set prepared when `snapshot` has
    /// the same units (batches were added to this one's).
    pub fn next(&self, snapshot: Arc<Snapshot>) -> TileSet {
        if snapshot.same_units(&self.snapshot) {
            TileSet {
                snapshot,
                levels: self.levels.clone(),
                units_per_level: self.units_per_level,
            }
        } else {
            TileSet::new(snapshot)
        }
    }

    /// The zooms `layer` is drawn at over this snapshot (inclusive): from zoom 0 for a level
    /// of at most [`DRAWN_AT_EVERY_ZOOM_UP_TO`] units, otherwise [`Layer::zooms`].
    pub fn zooms(&self, layer: Layer) -> (u8, u8) {
        let (min, max) = layer.zooms();
        match layer.level() {
            Some(level)
                if self.units_per_level[level_index(level)] <= DRAWN_AT_EVERY_ZOOM_UP_TO =>
            {
                (0, max)
            }
            _ => (min, max),
        }
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// Every unit of `level` with its outline as the tiles draw it at zoom `z` (shared
    /// borders simplified once, world coordinates) and its label point: what a static map
    /// of the same units draws.
    pub fn outlines(&self, level: Level, z: u8) -> Vec<UnitOutline<'_>> {
        let lt = self.level(level);
        let outlines = lt.at_zoom(z.min(MAX_ZOOM));
        lt.units
            .iter()
            .zip(outlines)
            .zip(&lt.labels)
            .map(|((&unit, polygons), label)| UnitOutline {
                unit,
                polygons,
                label: label.map(|(at, _)| at),
                rank: label.map_or(u32::MAX, |(_, r)| r),
            })
            .collect()
    }

    /// The borders of the parent levels drawn along the outlines of `level`'s units at zoom
    /// `z` (world coordinates), each with the units on its sides (snapshot indices): what
    /// the tiles' `{level}_batas` layer and a static map draw.
    pub fn parent_borders(&self, level: Level, z: u8) -> Vec<Border> {
        let lt = self.level(level);
        lt.borders_at(z.min(MAX_ZOOM), &self.snapshot)
            .borders
            .iter()
            .map(|b| Border {
                units: b.units.iter().map(|&i| lt.units[i as usize]).collect(),
                ..b.clone()
            })
            .collect()
    }

    /// Prepares what the first view of a province needs (each level's topology and its
    /// outlines at the zooms where the level is drawn up to zoom 10), so that the first map
    /// a user opens does not wait for it. Tiles asked for meanwhile prepare the same parts
    /// once (the work is shared).
    pub fn warm(&self) {
        for layer in [Layer::Kabupaten, Layer::Kecamatan, Layer::Desa] {
            let (min, max) = self.zooms(layer);
            let Some(level) = layer.level() else { continue };
            let level = self.level(level);
            for z in min.max(4)..=max.min(10) {
                level.at_zoom(z);
            }
        }
    }

    fn level(&self, level: Level) -> &LevelTiles {
        self.levels[level_index(level)].get_or_init(|| LevelTiles::new(&self.snapshot, level))
    }

    /// Encodes tile `z/x/y` of `layer` for `period` (latest when `None`); `None` for an
    /// empty tile. `scope` limits the household layer.
    pub fn render(
        &self,
        layer: Layer,
        tile: TileCoord,
        period: Option<&PeriodIndicators>,
        scope: &Scope,
    ) -> Result<Option<Vec<u8>>, TileError> {
        Ok(self.render_counted(layer, tile, period, scope)?.0)
    }

    /// As [`Tiles::render`], with the number of households the tile shows (as points or in
    /// clusters; 0 for the boundary layers), which the audit trail records.
    pub fn render_counted(
        &self,
        layer: Layer,
        tile: TileCoord,
        period: Option<&PeriodIndicators>,
        scope: &Scope,
    ) -> Result<(Option<Vec<u8>>, u64), TileError> {
        let (z, x, y) = (tile.z, tile.x, tile.y);
        let builder = MvtTileBuilder::new().layer(layer.as_str())?;
        match layer.level() {
            Some(level) => {
                let polygons = self.boundaries(builder, level, (z, x, y), period)?;
                if polygons.num_features() == 0 {
                    return Ok((None, 0));
                }
                // Layers are encoded apart and joined (a tile is its layers one after the
                // other); one without features is left out.
                let mut tile = polygons.encode();
                let names = MvtLayerBuilder::new(label_layer_name(layer))?;
                let names = self.label_features(names, level, (z, x, y))?;
                if names.num_features() > 0 {
                    tile.extend(names.encode());
                }
                if level != Level::Kabupaten {
                    let lines = MvtLayerBuilder::new(border_layer_name(layer))?;
                    let lines = self.border_features(lines, level, (z, x, y))?;
                    if lines.num_features() > 0 {
                        tile.extend(lines.encode());
                    }
                }
                Ok((Some(tile), 0))
            }
            None => {
                let (builder, households) = self.households(builder, (z, x, y), period, scope)?;
                Ok((
                    (builder.num_features() > 0).then(|| builder.encode()),
                    households,
                ))
            }
        }
    }

    /// The names of the units whose label point lies in the tile (not in its buffer, so
    /// that each name is in exactly one tile), with the short name a map shows (`label`)
    /// and the unit's rank by area (`peringkat`, 1 = largest), which a style uses to place
    /// the names of large units first.
    fn label_features(
        &self,
        mut layer: MvtLayerBuilder,
        level: Level,
        (z, x, y): (u8, u32, u32),
    ) -> Result<MvtLayerBuilder, TileError> {
        let lt = self.level(level);
        let n = f64::from(1u32 << z);
        let (fx, fy) = (f64::from(x), f64::from(y));
        let hits = in_tile(&lt.boxes, (z, x, y), 0.0);
        let ext = f64::from(EXTENT);
        for i in hits {
            let Some(([wx, wy], rank)) = lt.labels[i] else {
                continue;
            };
            let (tx, ty) = ((wx * n - fx) * ext, (wy * n - fy) * ext);
            if !(0.0..ext).contains(&tx) || !(0.0..ext).contains(&ty) {
                continue;
            }
            let info = &self.snapshot.unit(lt.units[i]).info;
            let mut f = layer.feature_of(MvtGeomType::Point);
            f.id(info.kode.digits().parse().ok());
            f.points([fast_mvt::MvtCoord {
                x: tx as i32,
                y: ty as i32,
            }])?;
            f.tag_string("kode", info.kode.to_string())?;
            f.tag_string("nama", info.nama.as_str())?;
            f.tag_string("label", info.short_name())?;
            f.tag_uint("peringkat", u64::from(rank))?;
            layer = f.end();
        }
        Ok(layer)
    }

    /// The parent borders crossing the tile (clipped to it and its buffer): one line
    /// feature per kind, `tingkat` = `kabupaten` (also the coast and the province's edge) or
    /// `kecamatan` (desa tiles only).
    fn border_features(
        &self,
        mut layer: MvtLayerBuilder,
        level: Level,
        (z, x, y): (u8, u32, u32),
    ) -> Result<MvtLayerBuilder, TileError> {
        let index = self.level(level).borders_at(z, &self.snapshot);
        let (n, ext) = (f64::from(1u32 << z), f64::from(EXTENT));
        let (fx, fy) = (f64::from(x), f64::from(y));
        let hits = in_tile(&index.boxes, (z, x, y), BUFFER);
        let mut by_kind: Vec<(BorderKind, Vec<Vec<fast_mvt::MvtCoord>>)> = Vec::new();
        for i in hits {
            let b = &index.borders[i];
            let line: Vec<[f64; 2]> = b
                .line
                .iter()
                .map(|p| [(p[0] * n - fx) * ext, (p[1] * n - fy) * ext])
                .collect();
            for part in clip_line(&line, -BUFFER, ext + BUFFER) {
                let mut q: Vec<(i32, i32)> = Vec::with_capacity(part.len());
                for p in part {
                    let c = (p[0].round() as i32, p[1].round() as i32);
                    if q.last() != Some(&c) {
                        q.push(c);
                    }
                }
                if q.len() < 2 {
                    continue;
                }
                let coords = q
                    .into_iter()
                    .map(|(x, y)| fast_mvt::MvtCoord { x, y })
                    .collect();
                match by_kind.iter_mut().find(|(k, _)| *k == b.kind) {
                    Some((_, lines)) => lines.push(coords),
                    None => by_kind.push((b.kind, vec![coords])),
                }
            }
        }
        by_kind.sort_by_key(|(k, _)| k.as_str());
        for (kind, lines) in by_kind {
            let mut f = layer.feature_of(MvtGeomType::LineString);
            for line in lines {
                f.line(line)?;
            }
            f.tag_string("tingkat", kind.as_str())?;
            layer = f.end();
        }
        Ok(layer)
    }

    fn boundaries(
        &self,
        mut layer: MvtLayerBuilder,
        level: Level,
        (z, x, y): (u8, u32, u32),
        period: Option<&PeriodIndicators>,
    ) -> Result<MvtLayerBuilder, TileError> {
        let lt = self.level(level);
        let (n, ext) = (f64::from(1u32 << z), f64::from(EXTENT));
        let (fx, fy) = (f64::from(x), f64::from(y));
        let hits = in_tile(&lt.boxes, (z, x, y), BUFFER);
        let outlines = lt.at_zoom(z);
        let to_tile = |p: &[f64; 2]| [(p[0] * n - fx) * ext, (p[1] * n - fy) * ext];
        for i in hits {
            let parts = tile_parts(&outlines[i], &to_tile);
            if parts.is_empty() {
                continue;
            }
            let unit = lt.units[i];
            let mut f = layer.feature_of(MvtGeomType::Polygon);
            let info = &self.snapshot.unit(unit).info;
            f.id(info.kode.digits().parse().ok());
            for rings in &parts {
                for (k, ring) in rings.iter().enumerate() {
                    let coords = ring.iter().map(|&(a, b)| fast_mvt::MvtCoord { x: a, y: b });
                    f.ring(coords, k == 0)?;
                }
            }
            self.unit_tags(&mut f, unit, period)?;
            layer = f.end();
        }
        Ok(layer)
    }

    /// The code, names and indicators of a unit as feature properties; an indicator without
    /// data is left out.
    fn unit_tags(
        &self,
        f: &mut fast_mvt::MvtFeatureBuilder,
        unit: u32,
        period: Option<&PeriodIndicators>,
    ) -> Result<(), TileError> {
        let info = &self.snapshot.unit(unit).info;
        f.tag_string("kode", info.kode.to_string())?;
        f.tag_string("nama", info.nama.as_str())?;
        f.tag_string("jenis", info.jenis.as_str())?;
        if let Some(p) = info.parent {
            f.tag_string("parent", p.to_string())?;
        }
        let counts = period.and_then(|p| p.counts(unit));
        f.tag_bool("has_data", counts.is_some())?;
        if period.is_some_and(|p| p.suppressed(unit)) {
            f.tag_bool("suppressed", true)?;
        }
        let den = self.snapshot.denominators(unit);
        for indicator in TILE_INDICATORS {
            let Some(v) = indicator.value(counts, den) else {
                continue;
            };
            if indicator.is_share() {
                f.tag_double(indicator.name(), v)?;
            } else {
                f.tag_uint(indicator.name(), v as u64)?;
            }
        }
        Ok(())
    }

    fn households(
        &self,
        mut layer: MvtLayerBuilder,
        (z, x, y): (u8, u32, u32),
        period: Option<&PeriodIndicators>,
        scope: &Scope,
    ) -> Result<(MvtLayerBuilder, u64), TileError> {
        let snap = &self.snapshot;
        let mut shown = 0u64;
        // Households of the period's batches only.
        let in_period: Vec<bool> = snap
            .batches()
            .iter()
            .map(|b| period.is_some_and(|p| p.period == b.period))
            .collect();
        let bbox = mercator::tile_bounds(z, x, y, BUFFER / f64::from(EXTENT));
        let n = f64::from(1u32 << z);
        let ext = f64::from(EXTENT);
        let to_tile = |lon: f32, lat: f32| {
            let snap_to = |v: f32| (f64::from(v) / HOUSEHOLD_GRID_DEG).round() * HOUSEHOLD_GRID_DEG;
            let (wx, wy) = to_world(snap_to(lon), snap_to(lat));
            (
                ((wx * n - f64::from(x)) * ext).round() as i32,
                ((wy * n - f64::from(y)) * ext).round() as i32,
            )
        };
        let visible = snap.households_in(bbox).into_iter().filter_map(|i| {
            let h = &snap.households()[i as usize];
            let unit = h.unit()?;
            if !in_period[h.batch_index()] {
                return None;
            }
            scope
                .allows(snap.unit(unit).info.kode)
                .then(|| (h, to_tile(h.lon, h.lat)))
        });
        if z < CLUSTER_BELOW {
            let side = EXTENT / CLUSTER_CELL;
            let mut cells: std::collections::BTreeMap<u32, (u64, i64, i64, u64)> =
                Default::default();
            for (h, (tx, ty)) in visible {
                if tx < 0 || ty < 0 || tx >= EXTENT as i32 || ty >= EXTENT as i32 {
                    continue; // clustered by the tile it lies in
                }
                let cell = (ty as u32 / CLUSTER_CELL) * side + tx as u32 / CLUSTER_CELL;
                let c = cells.entry(cell).or_default();
                c.0 += 1;
                c.1 += i64::from(tx);
                c.2 += i64::from(ty);
                c.3 += u64::from(h.desil() == Some(1));
            }
            for (cell, (count, sx, sy, desil_1)) in cells {
                shown += count;
                let at = fast_mvt::MvtCoord {
                    x: (sx / count as i64) as i32,
                    y: (sy / count as i64) as i32,
                };
                let mut f = layer.feature_of(MvtGeomType::Point);
                f.id(Some(u64::from(cell)));
                f.points([at])?;
                f.tag_bool("cluster", true)?;
                f.tag_uint("point_count", count)?;
                f.tag_uint("desil_1", desil_1)?;
                layer = f.end();
            }
        } else {
            for (h, (tx, ty)) in visible {
                shown += 1;
                let mut f = layer.feature_of(MvtGeomType::Point);
                f.points([fast_mvt::MvtCoord { x: tx, y: ty }])?;
                f.tag_bool("cluster", false)?;
                if let Some(d) = h.desil() {
                    f.tag_uint("desil", u64::from(d))?;
                }
                if let Some(q) = h.quality() {
                    f.tag_string("quality", q.as_str())?;
                }
                if let Some(pkh) = h.programs().get(Program::Pkh) {
                    f.tag_bool("pkh", pkh)?;
                }
                layer = f.end();
            }
        }
        Ok((layer, shown))
    }
}

/// A polygon in tile integers: open rings, exterior first.
type TilePolygon = Vec<Vec<(i32, i32)>>;

/// A unit's polygons in tile integers: clipped, rounded, sub-pixel parts dropped (its largest
/// part is always kept, so no unit vanishes).
fn tile_parts(
    polys: &[Vec<Vec<[f64; 2]>>],
    to_tile: &impl Fn(&[f64; 2]) -> [f64; 2],
) -> Vec<TilePolygon> {
    let ext = f64::from(EXTENT);
    let mut parts: Vec<(i64, TilePolygon)> = Vec::new();
    for poly in polys {
        let mut rings = Vec::with_capacity(poly.len());
        for (k, ring) in poly.iter().enumerate() {
            let tile: Vec<[f64; 2]> = ring.iter().map(to_tile).collect();
            match quantize_ring(&clip_ring(&tile, -BUFFER, ext + BUFFER)) {
                Some(q) => rings.push(q),
                None if k == 0 => break,
                None => {}
            }
        }
        if let Some(exterior) = rings.first() {
            parts.push((ring_area2(exterior).abs(), rings));
        }
    }
    let largest = parts.iter().map(|(a, _)| *a).max().unwrap_or(0);
    parts
        .into_iter()
        .filter(|(a, _)| *a >= MIN_PART_AREA2 || *a == largest)
        .map(|(_, rings)| rings)
        .collect()
}
