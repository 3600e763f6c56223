//! The borders of the parent levels drawn from the children's own outlines: where two desa
//! of different kecamatan meet, that stretch of their shared border is a kecamatan border.
//!
//! A parent level's boundary file rarely follows its children's borders exactly (Kaltim's
//! kecamatan file does not follow its desa), so a kecamatan line drawn from its own file over
//! desa crosses desa interiors. The borders here are the arcs of the level's shared-border
//! topology ([`super::topology`]), simplified exactly as the outlines are, so they lie on the
//! units' edges at every zoom. An arc two units share is a parent border when their parents
//! differ. An arc of one unit only is either the edge of the data (coast, province edge) or a
//! border whose neighbour's file does not share its vertices (a third of Kaltim's desa edges):
//! each of its segments is compared with the nearest edge of another unit within
//! [`NEIGHBOUR_REACH`], and is a parent border only when that neighbour's parent differs or
//! there is none.
//!
//! Hand-written: no crate derives parent borders from child polygons.

use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;

use super::topology::P;

/// How far (world units: 250 m at the equator) the edge of a unit's neighbour may lie from
/// one of its edges that shares no vertex with it: farther, the edge is the data's edge.
pub const NEIGHBOUR_REACH: f64 = 250.0 / 40_075_016.7;

/// Which parent border a line is; the stronger one is the greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BorderKind {
    /// Between units of different kecamatan of one kabupaten/kota.
    Kecamatan,
    /// Between units of different kabupaten/kota, or the edge of the data (coast, province
    /// edge).
    Kabupaten,
}

impl BorderKind {
    /// Its name in the tiles (`tingkat`).
    pub fn as_str(self) -> &'static str {
        match self {
            BorderKind::Kabupaten => "kabupaten",
            BorderKind::Kecamatan => "kecamatan",
        }
    }
}

/// A unit's parents as borders compare them: its kabupaten/kota and its kecamatan (any
/// values that tell units apart; equal values are the same parent).
pub type Parents = (u32, u32);

/// Per arc, per exact segment, the parent border it is (`None`: inside one kecamatan).
pub type SegmentKinds = Vec<Vec<Option<BorderKind>>>;

/// The border between units of `a` and `b` parents.
fn between(a: Parents, b: Parents) -> Option<BorderKind> {
    if a.0 != b.0 {
        Some(BorderKind::Kabupaten)
    } else if a.1 != b.1 {
        Some(BorderKind::Kecamatan)
    } else {
        None
    }
}

/// How far (world units: 10 m at the equator) beside an unshared edge a unit's neighbour is
/// looked for by the point there (boundary files that overlap a little, or leave a gap
/// narrower than this).
pub const PROBE: f64 = 10.0 / 40_075_016.7;

/// Per arc and per segment of it (exact), the parent border it is (`None`: inside one
/// kecamatan). `users` are each arc's units (one or two), `parents` each unit's, and
/// `unit_at(point, unit)` the unit other than `unit` whose area holds a point, if any.
pub fn segment_kinds(
    arcs: &[Vec<P>],
    users: &[Vec<u32>],
    parents: &[Parents],
    unit_at: impl Fn(P, u32) -> Option<u32>,
) -> SegmentKinds {
    let parent = |u: u32| {
        parents
            .get(u as usize)
            .copied()
            .unwrap_or((u32::MAX, u32::MAX))
    };
    // The segments of one unit only, to find an unshared neighbour by.
    let lonely: Vec<GeomWithData<Line<P>, u32>> = arcs
        .iter()
        .zip(users)
        .filter(|(_, u)| u.len() == 1)
        .flat_map(|(arc, u)| {
            arc.windows(2)
                .map(move |w| GeomWithData::new(Line::new(w[0], w[1]), u[0]))
        })
        .collect();
    let index = RTree::bulk_load(lonely);
    let reach2 = NEIGHBOUR_REACH * NEIGHBOUR_REACH;
    let close2 = reach2 / 100.0;
    arcs.iter()
        .zip(users)
        .map(|(arc, u)| match u.as_slice() {
            [a, b, ..] => vec![between(parent(*a), parent(*b)); arc.len().saturating_sub(1)],
            [a] => arc
                .windows(2)
                .map(|w| {
                    let mid = [(w[0][0] + w[1][0]) / 2.0, (w[0][1] + w[1][1]) / 2.0];
                    // The unit found just beside the segment, on either side.
                    let (dx, dy) = (w[1][0] - w[0][0], w[1][1] - w[0][1]);
                    let len = dx.hypot(dy);
                    let beside = (len > 0.0)
                        .then(|| {
                            let (nx, ny) = (-dy / len * PROBE, dx / len * PROBE);
                            unit_at([mid[0] + nx, mid[1] + ny], *a)
                                .or_else(|| unit_at([mid[0] - nx, mid[1] - ny], *a))
                        })
                        .flatten();
                    if let Some(b) = beside {
                        return between(parent(*a), parent(b));
                    }
                    // A neighbour lies beside the segment: an edge whose nearest point to
                    // its middle is not only where the edge ends (where a coast goes on into
                    // the next unit), unless it is very near.
                    let neighbour = index
                        .nearest_neighbor_iter_with_distance_2(&mid)
                        .take_while(|(_, d2)| *d2 <= reach2)
                        .find(|(s, d2)| {
                            let at = s.geom().nearest_point(&mid);
                            s.data != *a
                                && (*d2 <= close2 || (at != s.geom().from && at != s.geom().to))
                        })
                        .map(|(s, _)| s.data);
                    match neighbour {
                        Some(b) => between(parent(*a), parent(b)),
                        None => Some(BorderKind::Kabupaten),
                    }
                })
                .collect(),
            [] => Vec::new(),
        })
        .collect()
}

/// A parent border: a line in world coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Border {
    /// The line, at least two points.
    pub line: Vec<P>,
    /// Which border.
    pub kind: BorderKind,
    /// The units on its sides (one for an arc of one unit): indices among the level's units,
    /// snapshot indices from [`super::TileSet::parent_borders`].
    pub units: Vec<u32>,
}

/// The parent borders of arcs simplified to the vertices `kept` (per arc, the indices
/// kept): along an arc, consecutive kept segments of the same kind make one line, and a kept
/// segment is the border most of the exact segments it stands for are ([`prevailing`]).
pub fn border_lines(
    arcs: &[Vec<P>],
    kept: &[Vec<usize>],
    kinds: &[Vec<Option<BorderKind>>],
    users: &[Vec<u32>],
) -> Vec<Border> {
    let mut out = Vec::new();
    for (((arc, kept), kinds), users) in arcs.iter().zip(kept).zip(kinds).zip(users) {
        let mut open: Option<Border> = None;
        for w in kept.windows(2) {
            let kind = kinds
                .get(w[0]..w[1])
                .and_then(|k| prevailing(&arc[w[0]..=w[1]], k));
            match (kind, open.as_mut()) {
                (Some(kind), Some(b)) if b.kind == kind => b.line.push(arc[w[1]]),
                (Some(kind), _) => {
                    out.extend(open.take());
                    open = Some(Border {
                        line: vec![arc[w[0]], arc[w[1]]],
                        kind,
                        units: users.clone(),
                    });
                }
                (None, _) => out.extend(open.take()),
            }
        }
        out.extend(open);
    }
    out
}

/// The kind of most of the length of the exact segments of `line` (`kinds`, one per segment)
/// that one simplified segment stands for; a kept segment is not a border where most of what
/// it stands for is none.
fn prevailing(line: &[P], kinds: &[Option<BorderKind>]) -> Option<BorderKind> {
    let mut length = [0.0f64; 3];
    for (w, kind) in line.windows(2).zip(kinds) {
        let slot = match kind {
            None => 0,
            Some(BorderKind::Kecamatan) => 1,
            Some(BorderKind::Kabupaten) => 2,
        };
        length[slot] += (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
    }
    let most = (0..3)
        .max_by(|&a, &b| length[a].total_cmp(&length[b]))
        .unwrap_or(0);
    [
        None,
        Some(BorderKind::Kecamatan),
        Some(BorderKind::Kabupaten),
    ][most]
}

/// Clips a line to `[min, max] × [min, max]` (Liang–Barsky per segment): the parts inside,
/// each of at least two points.
pub fn clip_line(line: &[P], min: f64, max: f64) -> Vec<Vec<P>> {
    let mut parts: Vec<Vec<P>> = Vec::new();
    let mut current: Vec<P> = Vec::new();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        let d = [b[0] - a[0], b[1] - a[1]];
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut inside = true;
        for (p, q) in [
            (-d[0], a[0] - min),
            (d[0], max - a[0]),
            (-d[1], a[1] - min),
            (d[1], max - a[1]),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    inside = false;
                    break;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !inside || t0 > t1 {
            if current.len() >= 2 {
                parts.push(std::mem::take(&mut current));
            }
            current.clear();
            continue;
        }
        let at = |t: f64| [a[0] + d[0] * t, a[1] + d[1] * t];
        let (s, e) = (at(t0), at(t1));
        if current.last() != Some(&s) {
            if current.len() >= 2 {
                parts.push(std::mem::take(&mut current));
            }
            current = vec![s];
        }
        current.push(e);
        // Leaving the square ends this part.
        if t1 < 1.0 {
            parts.push(std::mem::take(&mut current));
        }
    }
    if current.len() >= 2 {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::super::topology::Topology;
    use super::*;

    /// A rectangle from (x0, y0) to (x1, y1), in world-sized units.
    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> geo::MultiPolygon<f64> {
        geo::MultiPolygon(vec![geo::Polygon::new(
            geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        )])
    }

    /// The borders of `units` with `parents`, exact.
    fn borders(units: &[geo::MultiPolygon<f64>], parents: &[Parents]) -> Vec<Border> {
        let refs: Vec<&geo::MultiPolygon<f64>> = units.iter().collect();
        let topo = Topology::new(&refs);
        let users = topo.arc_users();
        let unit_at = |p: P, not: u32| {
            use geo::Contains;
            let (lon, lat) = super::super::mercator::to_lon_lat(p[0], p[1]);
            (0..units.len() as u32)
                .filter(|&u| u != not)
                .find(|&u| units[u as usize].contains(&geo::Point::new(lon, lat)))
        };
        let kinds = segment_kinds(topo.arcs(), &users, parents, unit_at);
        border_lines(topo.arcs(), &topo.simplified_indices(0.0), &kinds, &users)
    }

    fn length(borders: &[Border], kind: BorderKind) -> f64 {
        borders
            .iter()
            .filter(|b| b.kind == kind)
            .flat_map(|b| {
                b.line
                    .windows(2)
                    .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
            })
            .sum()
    }

    #[test]
    fn shared_borders_are_parent_borders_where_the_parents_differ() {
        // Three squares of 0.01° in a row: two in one kecamatan, the third in another
        // kecamatan of the same kabupaten.
        let units = [
            rect(117.00, 0.0, 117.01, 0.01),
            rect(117.01, 0.0, 117.02, 0.01),
            rect(117.02, 0.0, 117.03, 0.01),
        ];
        let b = borders(&units, &[(1, 1), (1, 1), (1, 2)]);
        let side = 0.01 / 360.0; // one side in world units (longitude)
        let kecamatan = length(&b, BorderKind::Kecamatan);
        assert!(
            kecamatan > 0.0 && kecamatan < side * 1.5,
            "{kecamatan} vs {side}"
        );
        // The outer edge is the data's edge.
        assert!(length(&b, BorderKind::Kabupaten) > side * 7.0);
        // Another kabupaten on the right makes that border a kabupaten border.
        let b = borders(&units, &[(1, 1), (1, 1), (2, 3)]);
        assert_eq!(length(&b, BorderKind::Kecamatan), 0.0);
    }

    #[test]
    fn neighbours_whose_files_share_no_vertex_are_still_neighbours() {
        // Two squares 50 m apart (no shared vertex): of one kecamatan, nothing between them is
        // a border; of two, a kecamatan border on each side of the gap; 5 km apart, edges.
        let gap = 50.0 / 111_320.0;
        let units = [
            rect(117.00, 0.0, 117.01, 0.01),
            rect(117.01 + gap, 0.0, 117.02, 0.01),
        ];
        // The kinds of the border segments between the two (both ends near 117.01°E).
        let inner = |b: &[Border]| {
            b.iter()
                .flat_map(|b| b.line.windows(2).map(move |w| (b.kind, w)))
                .filter(|(_, w)| {
                    w.iter()
                        .all(|p| (p[0] * 360.0 - 180.0 - 117.01).abs() < gap * 2.0)
                })
                .map(|(kind, _)| kind)
                .collect::<Vec<_>>()
        };
        assert!(inner(&borders(&units, &[(1, 1), (1, 1)])).is_empty());
        let two = inner(&borders(&units, &[(1, 1), (1, 2)]));
        assert!(
            !two.is_empty() && two.iter().all(|k| *k == BorderKind::Kecamatan),
            "{two:?}"
        );
        // Files that overlap by 5 m: the same.
        let overlap = 5.0 / 111_320.0;
        let units = [
            rect(117.00, 0.0, 117.01 + overlap, 0.01),
            rect(117.01, 0.0, 117.02, 0.01),
        ];
        assert!(inner(&borders(&units, &[(1, 1), (1, 1)])).is_empty());
        let two = inner(&borders(&units, &[(1, 1), (2, 2)]));
        assert!(
            !two.is_empty() && two.iter().all(|k| *k == BorderKind::Kabupaten),
            "{two:?}"
        );
        let far = [
            rect(117.00, 0.0, 117.01, 0.01),
            rect(117.06, 0.0, 117.07, 0.01),
        ];
        let b = borders(&far, &[(1, 1), (1, 1)]);
        assert_eq!(length(&b, BorderKind::Kecamatan), 0.0);
        assert!(b.iter().all(|b| b.kind == BorderKind::Kabupaten));
    }

    #[test]
    fn lines_are_clipped_to_the_square() {
        let parts = clip_line(
            &[[-1.0, 0.5], [0.5, 0.5], [0.5, 2.0], [0.8, 2.0], [0.8, 0.2]],
            0.0,
            1.0,
        );
        let round = |parts: Vec<Vec<P>>| -> Vec<Vec<[i64; 2]>> {
            parts
                .into_iter()
                .map(|l| {
                    l.into_iter()
                        .map(|p| [(p[0] * 1e6).round() as i64, (p[1] * 1e6).round() as i64])
                        .collect()
                })
                .collect()
        };
        assert_eq!(
            round(parts),
            vec![
                vec![[0, 500_000], [500_000, 500_000], [500_000, 1_000_000]],
                vec![[800_000, 1_000_000], [800_000, 200_000]]
            ]
        );
        assert!(clip_line(&[[2.0, 2.0], [3.0, 3.0]], 0.0, 1.0).is_empty());
    }
}
