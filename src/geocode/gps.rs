//! GPS checks and placement: which desa contains a point (an R-tree over the desa
//! outlines with an exact point-in-polygon test), and a stable point inside a desa for
//! households without a usable GPS fix.

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::{BoundingRect, Contains, Distance, Euclidean, InteriorPoint};
use geo::{MultiPolygon, Point, Rect};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::region::Kode;

/// How far (degrees, about 550 m at the equator) a point outside every desa may lie from the
/// nearest one and still count as in it: the reference boundaries are simplified, so
/// neighbouring outlines leave slivers between them.
pub const NEAR_TOLERANCE_DEG: f64 = 0.005;

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One desa ready for point queries: its outline, its bounding box, and the outline's edges
/// in an interval tree over latitude (geo's prepared multipolygon), so that a containment
/// test visits only the edges crossing the point's latitude instead of every vertex.
struct IndexedDesa {
    kode: Kode,
    outline: MultiPolygon<f64>,
    bbox: Rect<f64>,
    edges: IntervalTreeMultiPolygon<f64>,
}

/// The desa outlines with an R-tree over their bounding boxes.
pub struct DesaIndex {
    tree: RTree<Entry>,
    desa: Vec<IndexedDesa>,
}

impl std::fmt::Debug for DesaIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DesaIndex({} desa)", self.desa.len())
    }
}

/// Where a GPS point fell.
#[derive(Debug, Clone, PartialEq)]
pub enum Located {
    /// Inside these desa (more than one only where outlines overlap).
    Inside(Vec<Kode>),
    /// Outside every desa, but within [`NEAR_TOLERANCE_DEG`] of this one.
    Near(Kode),
    /// Outside every loaded desa.
    Outside,
}

impl DesaIndex {
    /// Bulk-loads the index; desa without any outline are left out.
    fn new(desa: Vec<(Kode, MultiPolygon<f64>)>) -> DesaIndex {
        let desa: Vec<IndexedDesa> = desa
            .into_iter()
            .filter_map(|(kode, outline)| {
                let bbox = outline.bounding_rect()?;
                let edges = crate::index::prepared(&outline);
                Some(IndexedDesa {
                    kode,
                    outline,
                    bbox,
                    edges,
                })
            })
            .collect();
        let entries = desa
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let r = d.bbox;
                GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i as u32,
                )
            })
            .collect();
        DesaIndex {
            tree: RTree::bulk_load(entries),
            desa,
        }
    }

    /// Number of desa indexed.
    pub fn len(&self) -> usize {
        self.desa.len()
    }

    /// Whether no desa are indexed.
    pub fn is_empty(&self) -> bool {
        self.desa.is_empty()
    }

    /// The desa containing `(lon, lat)`.
    pub fn locate(&self, lon: f64, lat: f64) -> Located {
        if !lon.is_finite() || !lat.is_finite() {
            return Located::Outside;
        }
        let p = Point::new(lon, lat);
        let mut inside: Vec<Kode> = self
            .tree
            .locate_all_at_point(&[lon, lat])
            .map(|e| &self.desa[e.data as usize])
            .filter(|d| d.edges.contains(&p))
            .map(|d| d.kode)
            .collect();
        if !inside.is_empty() {
            inside.sort();
            return Located::Inside(inside);
        }
        let t = NEAR_TOLERANCE_DEG;
        let around = AABB::from_corners([lon - t, lat - t], [lon + t, lat + t]);
        self.tree
            .locate_in_envelope_intersecting(&around)
            .map(|e| {
                let d = &self.desa[e.data as usize];
                (Euclidean.distance(&d.outline, &p), d.kode)
            })
            .filter(|(d, _)| *d <= t)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map_or(Located::Outside, |(_, k)| Located::Near(k))
    }

    /// A point inside the desa `kode`, the same for the same `seed` on every run, spread
    /// evenly over the desa across seeds (so that density maps of placed households look
    /// like the desa, not like a pin on its centre).
    pub fn place(&self, kode: Kode, seed: u64) -> Option<(f64, f64)> {
        let i = self.desa.binary_search_by(|d| d.kode.cmp(&kode)).ok()?;
        let d = &self.desa[i];
        Some(
            place_in(d.bbox, |p| d.edges.contains(p), seed).unwrap_or_else(|| {
                d.outline
                    .interior_point()
                    .map_or(d.bbox.center().x_y(), |p| p.x_y())
            }),
        )
    }

    /// Builds the index over `(code, outline)` pairs, in any order.
    pub fn sorted(mut desa: Vec<(Kode, MultiPolygon<f64>)>) -> DesaIndex {
        desa.sort_by_key(|d| d.0);
        DesaIndex::new(desa)
    }
}

/// Tries this many uniform points in the bounding box before falling back to an interior
/// point (a desa filling under 1 % of its box is very unlikely).
const PLACE_TRIES: usize = 256;

/// A seeded uniform point of `bbox` for which `inside` holds, if one turns up within
/// [`PLACE_TRIES`] draws.
fn place_in(
    bbox: Rect<f64>,
    inside: impl Fn(&Point<f64>) -> bool,
    seed: u64,
) -> Option<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (bbox.width(), bbox.height());
    (0..PLACE_TRIES)
        .map(|_| {
            Point::new(
                bbox.min().x + rng.random::<f64>() * w,
                bbox.min().y + rng.random::<f64>() * h,
            )
        })
        .find(|p| inside(p))
        .map(|p| p.x_y())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, MultiPolygon};

    fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon![
            (x: x0, y: y0),
            (x: x0 + size, y: y0),
            (x: x0 + size, y: y0 + size),
            (x: x0, y: y0 + size),
        ]])
    }

    fn k(s: &str) -> Kode {
        Kode::parse(s).unwrap()
    }

    fn index() -> DesaIndex {
        DesaIndex::sorted(vec![
            (k("64.72.01.1002"), square(117.1, -0.6, 0.1)),
            (k("64.72.01.1001"), square(117.0, -0.6, 0.1)),
        ])
    }

    #[test]
    fn locate_inside_on_edges_near_and_outside() {
        let ix = index();
        assert_eq!(
            ix.locate(117.05, -0.55),
            Located::Inside(vec![k("64.72.01.1001")])
        );
        // On the shared edge: the nearest, at distance zero (the lower code on a tie).
        assert_eq!(ix.locate(117.1, -0.55), Located::Near(k("64.72.01.1001")));
        assert_eq!(ix.locate(117.05, -0.497), Located::Near(k("64.72.01.1001")));
        assert_eq!(ix.locate(117.05, -0.4), Located::Outside);
        assert_eq!(ix.locate(f64::NAN, 0.0), Located::Outside);
    }

    #[test]
    fn placement_is_stable_inside_and_spread() {
        let ix = index();
        let a = ix.place(k("64.72.01.1002"), 7).unwrap();
        assert_eq!(ix.place(k("64.72.01.1002"), 7), Some(a));
        assert_eq!(
            ix.locate(a.0, a.1),
            Located::Inside(vec![k("64.72.01.1002")])
        );
        let xs: Vec<f64> = (0..200)
            .map(|s| ix.place(k("64.72.01.1002"), s).unwrap().0)
            .collect();
        let left = xs.iter().filter(|x| **x < 117.15).count();
        assert!((60..140).contains(&left), "{left} of 200 in the left half");
        assert_eq!(ix.place(k("64.72.01.1999"), 1), None);
    }
}
