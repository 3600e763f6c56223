//! Geometry helpers shared by the stages: bounding boxes, WKB, cleaning and repair.

use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::line_intersection::{line_intersection, LineIntersection};
use geo::{
    BooleanOps, BoundingRect, Coord, Intersects, Line, LineString, MultiPolygon, Orient, Polygon,
};
use geo_traits::to_geo::ToGeoGeometry;
use rstar::{RTree, RTreeObject, AABB};

/// Bounding box `[min_lon, min_lat, max_lon, max_lat]`, `None` for an empty geometry.
pub fn bbox(geom: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    geom.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// Encodes a multipolygon as little-endian ISO WKB.
pub fn to_wkb(geom: &MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(wkb::writer::multi_polygon_wkb_size(geom));
    // Writing into a `Vec` cannot fail: it grows as needed.
    let _ = wkb::writer::write_multi_polygon(&mut out, geom, &Default::default());
    out
}

/// Decodes WKB holding a Polygon or MultiPolygon.
pub fn from_wkb(bytes: &[u8]) -> Result<MultiPolygon<f64>, String> {
    let parsed = wkb::reader::read_wkb(bytes).map_err(|e| format!("invalid WKB: {e}"))?;
    polygonal(parsed.to_geometry())
}

/// Keeps a Polygon or MultiPolygon as a MultiPolygon; any other type is an error naming it.
pub fn polygonal(geom: geo::Geometry<f64>) -> Result<MultiPolygon<f64>, String> {
    match geom {
        geo::Geometry::Polygon(p) => Ok(MultiPolygon::new(vec![p])),
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        other => Err(format!(
            "geometry type {}, expected Polygon or MultiPolygon",
            geometry_type_name(&other)
        )),
    }
}

/// The OGC name of a geometry's type.
pub fn geometry_type_name(geom: &geo::Geometry<f64>) -> &'static str {
    match geom {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) => "LineString",
        geo::Geometry::Polygon(_) | geo::Geometry::Rect(_) | geo::Geometry::Triangle(_) => {
            "Polygon"
        }
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        geo::Geometry::MultiPolygon(_) => "MultiPolygon",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// What cleaning a boundary did.
#[derive(Debug, Clone, PartialEq)]
pub enum Cleaned {
    /// The geometry was valid as given (after closing rings and orienting).
    Valid(MultiPolygon<f64>),
    /// The geometry was invalid and was repaired; the string says what was wrong.
    Repaired(MultiPolygon<f64>, String),
}

/// Cleans a boundary for storage: checks coordinates are WGS84 degrees, closes rings, drops
/// repeated vertices and degenerate rings, orients rings as RFC 7946 asks (exteriors
/// counter-clockwise) and repairs invalid polygons with a union of their parts.
pub fn clean_boundary(geom: MultiPolygon<f64>) -> Result<Cleaned, String> {
    check_wgs84(&geom)?;
    let tidy: Vec<Polygon<f64>> = geom.0.into_iter().filter_map(tidy_polygon).collect();
    if tidy.is_empty() {
        return Err("empty geometry (no ring with three distinct points)".into());
    }
    let mp = MultiPolygon::new(tidy).orient(geo::orient::Direction::Default);
    let Some(what) = validity_problem(&mp) else {
        return Ok(Cleaned::Valid(mp));
    };
    let repaired = repair(&mp);
    if repaired.0.is_empty() {
        return Err(format!(
            "invalid geometry ({what}) that cannot be repaired: nothing is left"
        ));
    }
    if let Some(p) = validity_problem(&repaired) {
        return Err(format!(
            "invalid geometry ({what}); repair failed too ({p})"
        ));
    }
    Ok(Cleaned::Repaired(repaired, what))
}

/// A ring segment, indexed for the validity check.
struct Segment {
    line: Line<f64>,
    ring: usize,
    index: usize,
    ring_len: usize,
}

impl RTreeObject for Segment {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(
            [self.line.start.x, self.line.start.y],
            [self.line.end.x, self.line.end.y],
        )
    }
}

/// Checks OGC validity of a multipolygon with closed rings of at least three distinct points,
/// and says what is wrong.
///
/// geo's `Validation` compares every segment of a ring with every other (quadratic: 15 s for
/// the 1,038 Kalimantan Timur desa); this check finds candidate segment pairs with an R-tree,
/// so it scales with the boundary sizes of a whole country.
pub fn validity_problem(mp: &MultiPolygon<f64>) -> Option<String> {
    let mut segments = Vec::new();
    let mut ring_names = Vec::new();
    for (p, poly) in mp.0.iter().enumerate() {
        for (r, ring) in std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .enumerate()
        {
            let ring_id = ring_names.len();
            ring_names.push(match r {
                0 => format!("exterior ring of part {}", p + 1),
                h => format!("hole {h} of part {}", p + 1),
            });
            let n = ring.0.len().saturating_sub(1);
            segments.extend(ring.lines().enumerate().map(|(index, line)| Segment {
                line,
                ring: ring_id,
                index,
                ring_len: n,
            }));
        }
    }
    let tree = RTree::bulk_load(segments);
    for s in tree.iter() {
        for o in tree.locate_in_envelope_intersecting(&s.envelope()) {
            if (o.ring, o.index) <= (s.ring, s.index) {
                continue;
            }
            if let Some(problem) = segment_pair_problem(s, o) {
                let (a, b) = (&ring_names[s.ring], &ring_names[o.ring]);
                return Some(if s.ring == o.ring {
                    format!(
                        "{a} {problem} itself near ({:.6}, {:.6})",
                        s.line.start.x, s.line.start.y
                    )
                } else {
                    format!(
                        "{a} and {b} {problem} near ({:.6}, {:.6})",
                        s.line.start.x, s.line.start.y
                    )
                });
            }
        }
    }
    containment_problem(mp)
}

/// What is wrong with two segments of the rings, if anything.
fn segment_pair_problem(s: &Segment, o: &Segment) -> Option<&'static str> {
    let same_ring = s.ring == o.ring;
    let adjacent =
        same_ring && (o.index == s.index + 1 || (s.index == 0 && o.index + 1 == s.ring_len));
    match line_intersection(s.line, o.line)? {
        LineIntersection::Collinear { intersection } if intersection.start != intersection.end => {
            Some("overlaps")
        }
        LineIntersection::Collinear { .. } => None,
        LineIntersection::SinglePoint {
            is_proper: true, ..
        } => Some("crosses"),
        LineIntersection::SinglePoint { .. } if same_ring && !adjacent => Some("touches"),
        LineIntersection::SinglePoint { .. } => None,
    }
}

/// With no crossing rings, checks that holes lie inside their shell and parts do not lie
/// inside one another.
fn containment_problem(mp: &MultiPolygon<f64>) -> Option<String> {
    let position = |poly: &Polygon<f64>, ring: &LineString<f64>| {
        ring.0
            .iter()
            .map(|c| poly.coordinate_position(c))
            .find(|p| *p != CoordPos::OnBoundary)
    };
    for (p, poly) in mp.0.iter().enumerate() {
        let shell = Polygon::new(poly.exterior().clone(), vec![]);
        for (h, hole) in poly.interiors().iter().enumerate() {
            if position(&shell, hole) == Some(CoordPos::Outside) {
                return Some(format!(
                    "hole {} of part {} lies outside its shell",
                    h + 1,
                    p + 1
                ));
            }
        }
    }
    let boxes: Vec<_> = mp.0.iter().map(|p| p.bounding_rect()).collect();
    for (i, a) in mp.0.iter().enumerate() {
        for (j, b) in mp.0.iter().enumerate() {
            let overlap = matches!((boxes[i], boxes[j]), (Some(x), Some(y)) if x.intersects(&y));
            if i != j && overlap && position(b, a.exterior()) == Some(CoordPos::Inside) {
                return Some(format!("part {} lies inside part {}", i + 1, j + 1));
            }
        }
    }
    None
}

/// Resolves self-intersections, overlapping parts and nested shells by a union of the parts
/// (geo's boolean operations, non-zero fill rule), then re-orients.
fn repair(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let mut acc = MultiPolygon::new(vec![]);
    for p in &mp.0 {
        // Each polygon on its own first: this untangles a self-intersecting ring.
        let single = MultiPolygon::new(vec![p.clone()]);
        let fixed = single.union(&MultiPolygon::new(vec![]));
        acc = acc.union(&fixed);
    }
    acc.orient(geo::orient::Direction::Default)
}

fn check_wgs84(geom: &MultiPolygon<f64>) -> Result<(), String> {
    use geo::CoordsIter;
    for c in geom.coords_iter() {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err("coordinate is not a finite number".into());
        }
        if c.y.abs() > 90.0 || c.x.abs() > 180.0 {
            return Err(format!(
                "coordinate ({}, {}) is not WGS84 longitude/latitude; is the file projected, or \
                 are latitude and longitude swapped?",
                c.x, c.y
            ));
        }
    }
    Ok(())
}

fn tidy_ring(ring: &LineString<f64>) -> Option<LineString<f64>> {
    let mut pts: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len() + 1);
    for c in &ring.0 {
        if pts.last() != Some(c) {
            pts.push(*c);
        }
    }
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return None;
    }
    pts.push(pts[0]);
    Some(LineString::new(pts))
}

fn tidy_polygon(p: Polygon<f64>) -> Option<Polygon<f64>> {
    let (ext, holes) = p.into_inner();
    let ext = tidy_ring(&ext)?;
    let holes = holes.iter().filter_map(tidy_ring).collect();
    Some(Polygon::new(ext, holes))
}

/// Where a unit's name goes on a map: the pole of inaccessibility (the interior point
/// farthest from the outline, found by georust's `polylabel`) of its largest part, so that a
/// bay-shaped desa or a kabupaten with islands is labelled on its land, not at a centroid
/// that falls in the sea or in a neighbour. The search stops at 1/100 of the part's larger
/// side; `None` for a unit without an outline.
pub fn label_point(geom: &MultiPolygon<f64>) -> Option<[f64; 2]> {
    use geo::Area;
    let part = geom
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
    let rect = part.bounding_rect()?;
    let tolerance = (rect.width().max(rect.height()) / 100.0).max(1e-7);
    match polylabel::polylabel(part, &tolerance) {
        Ok(p) if p.x().is_finite() && p.y().is_finite() => Some([p.x(), p.y()]),
        // A degenerate ring (no area): its box's centre.
        _ => Some([rect.center().x, rect.center().y]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Area, Validation};

    fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(pts.to_vec())
    }

    #[test]
    fn validity_check_agrees_with_geo_on_classic_cases() {
        let square = ring(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)]);
        let cases: Vec<(&str, MultiPolygon<f64>)> = vec![
            (
                "valid square",
                MultiPolygon::new(vec![Polygon::new(square.clone(), vec![])]),
            ),
            (
                "valid with hole",
                MultiPolygon::new(vec![Polygon::new(
                    square.clone(),
                    vec![ring(&[
                        (1.0, 1.0),
                        (1.0, 2.0),
                        (2.0, 2.0),
                        (2.0, 1.0),
                        (1.0, 1.0),
                    ])],
                )]),
            ),
            (
                "bow tie",
                MultiPolygon::new(vec![Polygon::new(
                    ring(&[(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)]),
                    vec![],
                )]),
            ),
            (
                "hole outside",
                MultiPolygon::new(vec![Polygon::new(
                    square.clone(),
                    vec![ring(&[
                        (5.0, 5.0),
                        (5.0, 6.0),
                        (6.0, 6.0),
                        (6.0, 5.0),
                        (5.0, 5.0),
                    ])],
                )]),
            ),
            (
                "hole crossing shell",
                MultiPolygon::new(vec![Polygon::new(
                    square.clone(),
                    vec![ring(&[
                        (3.0, 1.0),
                        (3.0, 2.0),
                        (5.0, 2.0),
                        (5.0, 1.0),
                        (3.0, 1.0),
                    ])],
                )]),
            ),
            (
                "nested parts",
                MultiPolygon::new(vec![
                    Polygon::new(square.clone(), vec![]),
                    Polygon::new(
                        ring(&[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0)]),
                        vec![],
                    ),
                ]),
            ),
            (
                "parts sharing an edge",
                MultiPolygon::new(vec![
                    Polygon::new(square.clone(), vec![]),
                    Polygon::new(
                        ring(&[(4.0, 0.0), (8.0, 0.0), (8.0, 4.0), (4.0, 4.0), (4.0, 0.0)]),
                        vec![],
                    ),
                ]),
            ),
            (
                "parts touching at a corner",
                MultiPolygon::new(vec![
                    Polygon::new(square.clone(), vec![]),
                    Polygon::new(
                        ring(&[(4.0, 4.0), (8.0, 4.0), (8.0, 8.0), (4.0, 8.0), (4.0, 4.0)]),
                        vec![],
                    ),
                ]),
            ),
        ];
        for (name, mp) in cases {
            assert_eq!(
                validity_problem(&mp).is_none(),
                mp.is_valid(),
                "{name}: {:?}",
                validity_problem(&mp)
            );
        }
    }

    #[test]
    fn wkb_round_trip() {
        let p = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let mp = MultiPolygon::new(vec![p]);
        assert_eq!(from_wkb(&to_wkb(&mp)).unwrap(), mp);
    }

    #[test]
    fn clockwise_exterior_is_reoriented_and_ring_closed() {
        let cw = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]),
            vec![],
        );
        let Cleaned::Valid(mp) = clean_boundary(MultiPolygon::new(vec![cw])).unwrap() else {
            panic!("expected valid")
        };
        assert!(mp.signed_area() > 0.0);
        assert_eq!(mp.0[0].exterior().0.first(), mp.0[0].exterior().0.last());
    }

    #[test]
    fn self_intersecting_ring_is_repaired() {
        // A bow tie: two triangles meeting in (1, 1).
        let bowtie = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (2.0, 2.0),
                (2.0, 0.0),
                (0.0, 2.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        match clean_boundary(MultiPolygon::new(vec![bowtie])).unwrap() {
            Cleaned::Repaired(mp, why) => {
                assert!(mp.is_valid());
                assert!(
                    (mp.unsigned_area() - 2.0).abs() < 1e-9,
                    "area {}",
                    mp.unsigned_area()
                );
                assert!(!why.is_empty());
            }
            other => panic!("expected a repair, got {other:?}"),
        }
    }

    #[test]
    fn nested_shells_are_unioned() {
        let outer =
            polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)];
        let inner =
            polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 2.0)];
        match clean_boundary(MultiPolygon::new(vec![outer, inner])).unwrap() {
            Cleaned::Repaired(mp, _) => {
                assert_eq!(mp.0.len(), 1);
                assert!((mp.unsigned_area() - 16.0).abs() < 1e-9);
            }
            other => panic!("expected a repair, got {other:?}"),
        }
    }

    #[test]
    fn projected_coordinates_are_refused() {
        let p = polygon![(x: 500000.0, y: 9900000.0), (x: 500100.0, y: 9900000.0), (x: 500100.0, y: 9900100.0)];
        let err = clean_boundary(MultiPolygon::new(vec![p])).unwrap_err();
        assert!(err.contains("not WGS84"));
    }

    #[test]
    fn degenerate_rings_are_refused() {
        let p = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        );
        assert!(clean_boundary(MultiPolygon::new(vec![p])).is_err());
    }
}
