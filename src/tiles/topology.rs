//! Shared-border simplification: the outlines of one level are cut into arcs at the points
//! where the set of units on either side changes, each arc is simplified once per zoom, and
//! every ring is put back together from its simplified arcs. Two neighbours use the very same
//! simplified border, so simplification opens no gaps and makes no overlaps between them (as
//! tippecanoe's shared-border detection, or TopoJSON). Arcs are found by exact vertex
//! equality, which the desa layers of official boundary files have along shared borders.
//!
//! Hand-written: no maintained crate builds a topology of polygon boundaries; the line
//! simplification itself is geo's Ramer–Douglas–Peucker.

use std::collections::HashMap;

use geo::{LineString, MultiPolygon, SimplifyIdx};

use super::mercator::to_world;

/// A point in world coordinates.
pub type P = [f64; 2];

/// A point's exact identity.
type PointKey = (u64, u64);
/// An undirected edge, its smaller end first.
type EdgeKey = (PointKey, PointKey);
/// An arc in its canonical direction: first point, second point, last point.
type ArcKey = (PointKey, PointKey, PointKey);

/// A point's exact identity.
fn key(p: P) -> PointKey {
    (p[0].to_bits(), p[1].to_bits())
}

/// Outlines of every unit: per unit its polygons, each a list of closed rings in world
/// coordinates (exterior first).
pub type Outlines = Vec<Vec<Vec<Vec<P>>>>;

/// One ring as arcs: `(arc, reversed)`.
type ArcRing = Vec<(u32, bool)>;

/// The outlines of the units of one level as shared arcs.
pub struct Topology {
    /// Per unit, its polygons, each a list of rings (exterior first).
    shapes: Vec<Vec<Vec<ArcRing>>>,
    arcs: Vec<Vec<P>>,
}

impl Topology {
    /// Builds the topology of `units` (longitude/latitude outlines), projected to world
    /// coordinates.
    pub fn new(units: &[&MultiPolygon<f64>]) -> Topology {
        let rings: Outlines = units.iter().map(|g| project(g)).collect();
        // Which units use each edge.
        let mut edge_units: HashMap<EdgeKey, Vec<u32>> = HashMap::new();
        for (u, polys) in rings.iter().enumerate() {
            for ring in polys.iter().flatten() {
                for w in ring.windows(2) {
                    let (a, b) = (key(w[0]), key(w[1]));
                    let e = if a < b { (a, b) } else { (b, a) };
                    let list = edge_units.entry(e).or_default();
                    if !list.contains(&(u as u32)) {
                        list.push(u as u32);
                    }
                }
            }
        }
        for list in edge_units.values_mut() {
            list.sort_unstable();
        }
        let signature = |a: P, b: P| {
            let (a, b) = (key(a), key(b));
            let e = if a < b { (a, b) } else { (b, a) };
            edge_units.get(&e).map(|v| v.as_slice()).unwrap_or(&[])
        };
        let mut topo = Topology {
            shapes: Vec::with_capacity(units.len()),
            arcs: Vec::new(),
        };
        let mut arc_index: HashMap<ArcKey, u32> = HashMap::new();
        for polys in &rings {
            let mut shape = Vec::with_capacity(polys.len());
            for poly in polys {
                let mut arc_rings = Vec::with_capacity(poly.len());
                for ring in poly {
                    arc_rings.push(topo.ring_arcs(ring, &signature, &mut arc_index));
                }
                shape.push(arc_rings);
            }
            topo.shapes.push(shape);
        }
        topo
    }

    /// Cuts a closed ring (first point repeated last) into arcs, adding new ones.
    fn ring_arcs<'s>(
        &mut self,
        ring: &[P],
        signature: &impl Fn(P, P) -> &'s [u32],
        arc_index: &mut HashMap<ArcKey, u32>,
    ) -> ArcRing {
        let n = ring.len() - 1; // distinct vertices
        let nodes: Vec<usize> = (0..n)
            .filter(|&i| {
                let before = signature(ring[(i + n - 1) % n], ring[i]);
                let after = signature(ring[i], ring[i + 1]);
                before != after
            })
            .collect();
        // A ring with no node (an island, or a hole filled by one unit) starts at its smallest
        // vertex, which its neighbour across the ring picks too.
        let nodes = if nodes.is_empty() {
            let min = (0..n)
                .min_by(|&a, &b| key(ring[a]).cmp(&key(ring[b])))
                .unwrap_or(0);
            vec![min]
        } else {
            nodes
        };
        let mut out = Vec::with_capacity(nodes.len());
        for (k, &start) in nodes.iter().enumerate() {
            let end = nodes[(k + 1) % nodes.len()];
            let mut pts = Vec::new();
            let mut i = start;
            loop {
                pts.push(ring[i]);
                i = (i + 1) % n;
                if i == end {
                    pts.push(ring[i]);
                    break;
                }
            }
            out.push(self.arc_id(pts, arc_index));
        }
        out
    }

    /// The id of the arc through `pts` (in either direction), adding it when new.
    fn arc_id(&mut self, pts: Vec<P>, arc_index: &mut HashMap<ArcKey, u32>) -> (u32, bool) {
        let last = pts.len() - 1;
        let forward = (key(pts[0]), key(pts[1]), key(pts[last]));
        let backward = (key(pts[last]), key(pts[last - 1]), key(pts[0]));
        let reversed = backward < forward;
        let k = if reversed { backward } else { forward };
        if let Some(&id) = arc_index.get(&k) {
            return (id, reversed);
        }
        let id = self.arcs.len() as u32;
        let mut pts = pts;
        if reversed {
            pts.reverse();
        }
        self.arcs.push(pts);
        arc_index.insert(k, id);
        (id, reversed)
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Number of distinct arcs (shared borders count once).
    pub fn arc_count(&self) -> usize {
        self.arcs.len()
    }

    /// The arcs, exact, in world coordinates.
    pub fn arcs(&self) -> &[Vec<P>] {
        &self.arcs
    }

    /// Per arc, the units whose rings use it (one, or two neighbours), in unit order.
    pub fn arc_users(&self) -> Vec<Vec<u32>> {
        let mut users: Vec<Vec<u32>> = vec![Vec::new(); self.arcs.len()];
        for (u, polys) in self.shapes.iter().enumerate() {
            for &(id, _) in polys.iter().flatten().flatten() {
                let list = &mut users[id as usize];
                if list.last() != Some(&(u as u32)) && !list.contains(&(u as u32)) {
                    list.push(u as u32);
                }
            }
        }
        users
    }

    /// Per arc, the indices of the vertices Ramer–Douglas–Peucker keeps at `tolerance` (world
    /// units; 0 keeps every vertex).
    pub fn simplified_indices(&self, tolerance: f64) -> Vec<Vec<usize>> {
        self.arcs
            .iter()
            .map(|a| {
                if tolerance > 0.0 {
                    let line: LineString<f64> = a.iter().map(|p| (p[0], p[1])).collect();
                    line.simplify_idx(tolerance)
                } else {
                    (0..a.len()).collect()
                }
            })
            .collect()
    }

    /// Every unit's outline in world coordinates with each arc simplified by `tolerance`
    /// (world units; 0 keeps every vertex). A ring left with fewer than three distinct points
    /// is dropped, and a polygon whose exterior ring is dropped goes with it.
    pub fn simplified(&self, tolerance: f64) -> Outlines {
        let arcs: Vec<Vec<P>> = if tolerance > 0.0 {
            self.simplified_indices(tolerance)
                .into_iter()
                .zip(&self.arcs)
                .map(|(kept, arc)| kept.into_iter().map(|i| arc[i]).collect())
                .collect()
        } else {
            self.arcs.clone()
        };
        self.shapes
            .iter()
            .map(|polys| {
                let kept: Vec<Vec<Vec<P>>> = polys
                    .iter()
                    .filter_map(|rings| polygon(rings, &arcs))
                    .collect();
                if kept.is_empty() && !polys.is_empty() {
                    // Every part collapsed: keep the largest one unsimplified, so the unit
                    // stays on the map.
                    let largest = polys
                        .iter()
                        .filter_map(|rings| polygon(rings, &self.arcs))
                        .max_by_key(|rings| rings[0].len());
                    return largest.into_iter().collect();
                }
                kept
            })
            .collect()
    }
}

/// A polygon from its arc rings; `None` when its exterior ring collapsed (holes that collapse
/// are left out).
fn polygon(rings: &[ArcRing], arcs: &[Vec<P>]) -> Option<Vec<Vec<P>>> {
    let mut out = Vec::with_capacity(rings.len());
    for (i, ring) in rings.iter().enumerate() {
        let pts = assemble(ring, arcs);
        if pts.len() < 4 {
            if i == 0 {
                return None;
            }
            continue;
        }
        out.push(pts);
    }
    Some(out)
}

/// A closed ring from its arcs.
fn assemble(ring: &ArcRing, arcs: &[Vec<P>]) -> Vec<P> {
    let mut pts: Vec<P> = Vec::new();
    for &(id, reversed) in ring {
        let arc = &arcs[id as usize];
        let seq: Box<dyn Iterator<Item = &P>> = if reversed {
            Box::new(arc.iter().rev())
        } else {
            Box::new(arc.iter())
        };
        for p in seq {
            if pts.last() != Some(p) {
                pts.push(*p);
            }
        }
    }
    if pts.first() != pts.last() {
        if let Some(&first) = pts.first() {
            pts.push(first);
        }
    }
    pts
}

/// A multipolygon's rings in world coordinates, closed, without repeated points.
fn project(g: &MultiPolygon<f64>) -> Vec<Vec<Vec<P>>> {
    g.0.iter()
        .map(|poly| {
            std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .filter_map(|ring| {
                    let mut pts: Vec<P> = Vec::with_capacity(ring.0.len());
                    for c in &ring.0 {
                        let (x, y) = to_world(c.x, c.y);
                        if pts.last() != Some(&[x, y]) {
                            pts.push([x, y]);
                        }
                    }
                    if pts.first() != pts.last() {
                        pts.push(pts[0]);
                    }
                    (pts.len() >= 4).then_some(pts)
                })
                .collect()
        })
        .filter(|rings: &Vec<Vec<P>>| !rings.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, MultiPolygon};

    #[test]
    fn neighbours_share_their_simplified_border() {
        // Two squares sharing a wiggly border.
        let a: MultiPolygon<f64> = polygon![
            (x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.01, y: 0.5), (x: 0.99, y: 0.7),
            (x: 1.0, y: 1.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)
        ]
        .into();
        let b: MultiPolygon<f64> = polygon![
            (x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0),
            (x: 0.99, y: 0.7), (x: 1.01, y: 0.5), (x: 1.0, y: 0.0)
        ]
        .into();
        let topo = Topology::new(&[&a, &b]);
        assert_eq!(topo.len(), 2);
        // a: shared border + its outer arc; b: shared border + its outer arc.
        assert_eq!(topo.arc_count(), 3);
        let simple = topo.simplified(1e-3);
        let border = |ring: &Vec<P>| -> Vec<(u64, u64)> {
            ring.iter()
                .filter(|p| (p[0] - to_world(1.0, 0.0).0).abs() < 1e-4)
                .map(|p| key(*p))
                .collect()
        };
        let mut ba = border(&simple[0][0][0]);
        let mut bb = border(&simple[1][0][0]);
        ba.sort();
        bb.sort();
        ba.dedup();
        bb.dedup();
        assert_eq!(ba, bb, "both sides keep the same border vertices");
        // Unsimplified, every vertex is kept.
        assert_eq!(topo.simplified(0.0)[0][0][0].len(), 7);
    }
}
