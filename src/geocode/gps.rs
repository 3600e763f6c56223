//! GPS checks and placement: which desa contains a point (an R-tree over the desa
//! outlines with an exact point-in-polygon test), and a stable point inside a desa for
//! households without a usable GPS fix.

use std::sync::OnceLock;

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::{Area, BoundingRect, Contains, Distance, Euclidean, InteriorPoint, TriangulateEarcut};
use geo::{MultiPolygon, Point, Rect};
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
    /// The outline cut into triangles, made when a household is first placed in the desa
    /// (`None` when the cut does not cover the outline, e.g. a self-touching ring).
    triangles: OnceLock<Option<Triangles>>,
}

/// A desa outline cut into triangles (earcut), for drawing uniform points inside it without
/// testing candidates against the outline: a triangle is chosen with probability by area,
/// then a uniform point in it. The corners are kept with each triangle (48 bytes) rather than
/// as indices of the outline's vertices: households come in no order of desa, so every
/// placement reads a desa's triangles cold, and each indirection is a cache miss.
struct Triangles {
    corners: Vec<[[f64; 2]; 3]>,
    /// The running share of the outline's area up to and including each triangle.
    upto: Vec<f32>,
    /// For each of [`GUIDE_STEPS`] equal steps of that share, the first triangle whose running
    /// share passes the step's start: a draw searches from there, not from the first.
    guide: Vec<u32>,
}

/// Steps of the guide table of [`Triangles`].
const GUIDE_STEPS: usize = 64;

/// How far the triangles' total area may differ from the outline's, as a share, before they
/// are not trusted (earcut is exact for valid outlines; a damaged ring can leave parts out).
const TRIANGLES_AREA_TOLERANCE: f64 = 1e-6;

impl Triangles {
    fn new(outline: &MultiPolygon<f64>) -> Option<Triangles> {
        let mut corners = Vec::new();
        let mut areas = Vec::new();
        for polygon in &outline.0 {
            let raw = polygon.earcut_triangles_raw();
            for c in raw.triangle_indices.chunks_exact(3) {
                let [a, b, d] = [c[0], c[1], c[2]].map(|i| raw.vertices[i]);
                let area =
                    ((b[0] - a[0]) * (d[1] - a[1]) - (d[0] - a[0]) * (b[1] - a[1])).abs() / 2.0;
                corners.push([a, b, d]);
                areas.push(area);
            }
        }
        let total: f64 = areas.iter().sum();
        let expected = outline.unsigned_area();
        let covered =
            total > 0.0 && (total - expected).abs() <= expected * TRIANGLES_AREA_TOLERANCE;
        if !covered {
            return None;
        }
        let mut sum = 0.0;
        let upto: Vec<f32> = areas
            .iter()
            .map(|a| {
                sum += a;
                (sum / total) as f32
            })
            .collect();
        let guide = (0..GUIDE_STEPS)
            .map(|j| {
                let start = j as f32 / GUIDE_STEPS as f32;
                u32::try_from(upto.partition_point(|s| *s <= start)).unwrap_or(u32::MAX)
            })
            .collect();
        Some(Triangles {
            corners,
            upto,
            guide,
        })
    }

    /// A uniform point of the outline from three uniform numbers in [0, 1).
    fn sample(&self, [pick, mut u, mut v]: [f64; 3]) -> (f64, f64) {
        let last = self.corners.len() - 1;
        let step = ((pick * GUIDE_STEPS as f64) as usize).min(GUIDE_STEPS - 1);
        let from = (self.guide[step] as usize).min(last);
        // The first triangle whose running share passes `pick` (the shares only rise); it
        // lies no further than where the next guide step starts, as `pick` is below that step.
        let to = self
            .guide
            .get(step + 1)
            .map_or(last, |g| (*g as usize).min(last));
        let i = (from + self.upto[from..=to].partition_point(|s| f64::from(*s) <= pick)).min(last);
        let [a, b, c] = self.corners[i];
        if u + v > 1.0 {
            (u, v) = (1.0 - u, 1.0 - v);
        }
        (
            a[0] + u * (b[0] - a[0]) + v * (c[0] - a[0]),
            a[1] + u * (b[1] - a[1]) + v * (c[1] - a[1]),
        )
    }
}

/// The desa outlines with an R-tree over their bounding boxes.
pub struct DesaIndex {
    tree: RTree<Entry>,
    desa: Vec<IndexedDesa>,
    /// The codes of `desa`, in the same (rising) order: searched instead of `desa` itself,
    /// whose entries are far apart in memory, when a household is placed.
    kodes: Vec<Kode>,
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
                    triangles: OnceLock::new(),
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
            kodes: desa.iter().map(|d| d.kode).collect(),
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
        let i = self.kodes.binary_search(&kode).ok()?;
        let d = &self.desa[i];
        let mut rng = SplitMix64(seed);
        if let Some(t) = d.triangles.get_or_init(|| Triangles::new(&d.outline)) {
            return Some(t.sample(std::array::from_fn(|_| rng.unit())));
        }
        Some(
            place_in(d.bbox, |p| d.edges.contains(p), &mut rng).unwrap_or_else(|| {
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

/// SplitMix64 (Steele, Lea and Flood 2014): the numbers behind a placement. Written out
/// because placements must stay the same across releases of any dependency (a re-import puts a
/// household where it was), and because seeding it costs nothing where a cryptographic
/// generator's first block cost more than the placement itself, once per household.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Tries this many uniform points in the bounding box before falling back to an interior
/// point (a desa filling under 1 % of its box is very unlikely). Used for outlines that
/// could not be cut into triangles.
const PLACE_TRIES: usize = 256;

/// A seeded uniform point of `bbox` for which `inside` holds, if one turns up within
/// [`PLACE_TRIES`] draws.
fn place_in(
    bbox: Rect<f64>,
    inside: impl Fn(&Point<f64>) -> bool,
    rng: &mut SplitMix64,
) -> Option<(f64, f64)> {
    let (w, h) = (bbox.width(), bbox.height());
    (0..PLACE_TRIES)
        .map(|_| Point::new(bbox.min().x + rng.unit() * w, bbox.min().y + rng.unit() * h))
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

    #[test]
    fn placement_covers_concave_outlines_with_holes_by_area() {
        use geo::LineString;
        // An L of three unit squares with a hole in its corner square, and a separate square.
        let l = geo::Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (2.0, 0.0),
                (2.0, 1.0),
                (1.0, 1.0),
                (1.0, 2.0),
                (0.0, 2.0),
                (0.0, 0.0),
            ]),
            vec![LineString::from(vec![
                (0.25, 0.25),
                (0.75, 0.25),
                (0.75, 0.75),
                (0.25, 0.75),
                (0.25, 0.25),
            ])],
        );
        let island = square(3.0, 0.0, 1.0).0.remove(0);
        let outline = MultiPolygon::new(vec![l.clone(), island]);
        let kode = k("64.72.01.1003");
        let ix = DesaIndex::sorted(vec![(kode, outline.clone())]);
        assert!(Triangles::new(&outline).is_some());
        let points: Vec<(f64, f64)> = (0..4000).map(|s| ix.place(kode, s).unwrap()).collect();
        for &(x, y) in &points {
            assert!(outline.contains(&Point::new(x, y)), "({x}, {y}) outside");
            assert!(
                !(0.25..0.75).contains(&x) || !(0.25..0.75).contains(&y),
                "in the hole"
            );
        }
        // Area 3.75: the island holds 1 / 3.75 of the points, the upper arm of the L 1 / 3.75.
        let share = |f: &dyn Fn(f64, f64) -> bool| {
            points.iter().filter(|(x, y)| f(*x, *y)).count() as f64 / points.len() as f64
        };
        let expected = 1.0 / 3.75;
        assert!((share(&|x, _| x > 2.5) - expected).abs() < 0.03);
        assert!((share(&|_, y| y > 1.0) - expected).abs() < 0.03);
        assert_eq!(ix.place(kode, 11), ix.place(kode, 11));
    }

    #[test]
    fn outlines_earcut_cannot_cover_are_placed_by_drawing_in_the_box() {
        // A bow tie: the ring crosses itself.
        let bow = MultiPolygon::new(vec![polygon![
            (x: 0.0, y: 0.0),
            (x: 1.0, y: 1.0),
            (x: 1.0, y: 0.0),
            (x: 0.0, y: 1.0),
        ]]);
        assert!(Triangles::new(&bow).is_none());
        let kode = k("64.72.01.1004");
        let ix = DesaIndex::sorted(vec![(kode, bow)]);
        for s in 0..50 {
            let (x, y) = ix.place(kode, s).unwrap();
            assert!((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y));
        }
    }
}
