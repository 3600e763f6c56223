//! The spatial index of desa polygons for counting points: a uniform grid whose cells are
//! either wholly inside one desa (answered with one array read), empty, or crossed by desa
//! edges (answered exactly from the few edges crossing the cell: the cell centre's side,
//! flipped by each edge between the point and the centre).
//!
//! Counting follows PostGIS `ST_Contains`: a point counts for every desa whose interior holds
//! it; a point exactly on a desa edge counts for none of the desa sharing that edge, and a
//! point where simplified outlines overlap counts for each of them.

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::algorithm::kernels::RobustKernel;
use geo::orient::Direction;
use geo::{
    BoundingRect, Contains, Coord, CoordsIter, Kernel, MultiPolygon, Orient, Orientation, Rect,
};

use crate::region::Kode;

/// Cell value: no desa.
const EMPTY: u32 = 0;
/// Cell values with this bit set index the candidate lists; others are a desa id + 1.
const LIST_BIT: u32 = 1 << 31;

/// Desa polygons in a grid, ready for counting points.
pub struct DesaGrid {
    kodes: Vec<Kode>,
    outlines: Vec<IntervalTreeMultiPolygon<f64>>,
    origin: (f64, f64),
    cell: (f64, f64),
    nx: usize,
    ny: usize,
    cells: Vec<u32>,
    /// Candidate range (start, end) into `candidates` per mixed cell.
    lists: Vec<(u32, u32)>,
    candidates: Vec<Candidate>,
    /// Whole desa edges, listed per mixed cell and desa.
    edges: Vec<[Coord<f64>; 2]>,
}

/// A desa that may hold points of a mixed cell.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    desa: u32,
    /// Whether the cell's centre is inside the desa.
    center_inside: bool,
    /// The centre lies on one of the desa's edges: no shortcut, test exactly.
    exact_only: bool,
    /// This desa's edges crossing the cell, as a range of `edges` (empty: the cell is wholly
    /// inside the desa).
    edges: (u32, u32),
}

impl std::fmt::Debug for DesaGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DesaGrid({} desa, {}×{} cells, {} mixed)",
            self.kodes.len(),
            self.nx,
            self.ny,
            self.lists.len()
        )
    }
}

/// How the grid's cells turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridStats {
    /// Cells wholly inside one desa.
    pub inside: usize,
    /// Cells crossed by desa edges (or covered by overlapping desa).
    pub mixed: usize,
    /// Cells outside every desa.
    pub empty: usize,
}

impl DesaGrid {
    /// Builds the grid over `desa` with about `target_cells` cells (more cells: fewer exact
    /// tests and more memory, 4 bytes a cell).
    pub fn new(desa: &[(Kode, MultiPolygon<f64>)], target_cells: usize) -> DesaGrid {
        let rects: Vec<Option<Rect<f64>>> = desa.iter().map(|(_, g)| g.bounding_rect()).collect();
        let mut all: Option<Rect<f64>> = None;
        for r in rects.iter().flatten() {
            all = Some(match all {
                None => *r,
                Some(a) => Rect::new(
                    (a.min().x.min(r.min().x), a.min().y.min(r.min().y)),
                    (a.max().x.max(r.max().x), a.max().y.max(r.max().y)),
                ),
            });
        }
        let all = all.unwrap_or_else(|| Rect::new((0.0, 0.0), (1.0, 1.0)));
        let (w, h) = (all.width().max(1e-9), all.height().max(1e-9));
        let side = (w * h / target_cells.max(1) as f64).sqrt();
        let nx = ((w / side).ceil() as usize).max(1);
        let ny = ((h / side).ceil() as usize).max(1);
        // The per-desa work runs on every core, each thread a run of desa in order, so the
        // grid is the same whatever the number of cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let outlines = per_part(desa, threads, |_, part| {
            part.iter().map(|(_, g)| prepared(g)).collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let mut grid = DesaGrid {
            kodes: desa.iter().map(|(k, _)| *k).collect(),
            outlines,
            origin: (all.min().x, all.min().y),
            cell: (w / nx as f64, h / ny as f64),
            nx,
            ny,
            cells: vec![EMPTY; nx * ny],
            lists: Vec::new(),
            candidates: Vec::new(),
            edges: Vec::new(),
        };
        // Every (cell, desa, edge) where an edge crosses a cell.
        let walked = per_part(desa, threads, |first, part| {
            let mut crossings: Vec<(u32, u32, [Coord<f64>; 2])> = Vec::new();
            for (k, (_, g)) in part.iter().enumerate() {
                let id = (first + k) as u32;
                for line in g.0.iter().flat_map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .flat_map(|r| r.lines())
                }) {
                    grid.walk_segment(line.start.x_y(), line.end.x_y(), |c| {
                        crossings.push((c as u32, id, [line.start, line.end]));
                    });
                }
            }
            crossings.sort_unstable_by_key(|(c, d, _)| (*c, *d));
            crossings
        });
        let mut crossings = merge_sorted(walked, |(c, d, _)| (*c, *d));
        crossings.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
        let touched = |c: usize, d: u32| {
            let i = crossings.partition_point(|(cc, dd, _)| (*cc, *dd) < (c as u32, d));
            crossings
                .get(i)
                .is_some_and(|(cc, dd, _)| *cc == c as u32 && *dd == d)
        };
        // Cells whose centre lies inside a desa that has no edge in them: wholly inside it.
        // A second such desa (overlapping outlines) makes the cell mixed.
        let mut covering_more: std::collections::HashMap<u32, Vec<u32>> = Default::default();
        let interiors = per_part(desa, threads, |first, part| {
            part.iter()
                .enumerate()
                .map(|(k, (_, g))| {
                    let id = (first + k) as u32;
                    let mut inside = Vec::new();
                    grid.fill_interior_cells(g, &mut |c| {
                        if !touched(c, id) {
                            inside.push(c);
                        }
                    });
                    inside
                })
                .collect::<Vec<_>>()
        });
        for (id, inside) in interiors.into_iter().flatten().enumerate() {
            let id = id as u32;
            for c in inside {
                match grid.cells[c] {
                    EMPTY => grid.cells[c] = id + 1,
                    _ => covering_more.entry(c as u32).or_default().push(id),
                }
            }
        }
        // Mixed cells: crossed by edges, or covered twice.
        let mut mixed: Vec<u32> = crossings.iter().map(|(c, _, _)| *c).collect();
        mixed.extend(covering_more.keys().copied());
        mixed.sort_unstable();
        mixed.dedup();
        let mut centres: Vec<(usize, u32, Coord<f64>)> = Vec::new();
        for c in mixed {
            let ci = c as usize;
            let start = grid.candidates.len() as u32;
            if grid.cells[ci] != EMPTY {
                grid.candidates
                    .push(Candidate::covering(grid.cells[ci] - 1));
            }
            for d in covering_more.remove(&c).unwrap_or_default() {
                grid.candidates.push(Candidate::covering(d));
            }
            let center = grid.center(ci);
            let first = crossings.partition_point(|(cc, _, _)| *cc < c);
            let mut i = first;
            while i < crossings.len() && crossings[i].0 == c {
                let d = crossings[i].1;
                let e0 = grid.edges.len() as u32;
                let mut on_edge = false;
                while i < crossings.len() && crossings[i].0 == c && crossings[i].1 == d {
                    let seg = crossings[i].2;
                    on_edge |= on_segment(center, seg);
                    grid.edges.push(seg);
                    i += 1;
                }
                // Whether the centre is inside is worked out below, on every core.
                centres.push((grid.candidates.len(), d, center));
                grid.candidates.push(Candidate {
                    desa: d,
                    center_inside: false,
                    exact_only: on_edge,
                    edges: (e0, grid.edges.len() as u32),
                });
            }
            grid.lists.push((start, grid.candidates.len() as u32));
            grid.cells[ci] = LIST_BIT | (grid.lists.len() as u32 - 1);
        }
        let inside = per_part(&centres, threads, |_, part| {
            part.iter()
                .map(|(_, d, center)| grid.outlines[*d as usize].contains(center))
                .collect::<Vec<bool>>()
        });
        for ((i, _, _), inside) in centres.iter().zip(inside.into_iter().flatten()) {
            grid.candidates[*i].center_inside = inside;
        }
        grid
    }

    /// The codes of the desa, by id.
    pub fn kodes(&self) -> &[Kode] {
        &self.kodes
    }

    /// How the cells turned out.
    pub fn stats(&self) -> GridStats {
        let mixed = self.lists.len();
        let empty = self.cells.iter().filter(|c| **c == EMPTY).count();
        GridStats {
            inside: self.cells.len() - mixed - empty,
            mixed,
            empty,
        }
    }

    /// Bytes held by the grid itself (not the outlines).
    pub fn grid_bytes(&self) -> usize {
        self.cells.len() * 4
            + self.lists.len() * 8
            + self.candidates.len() * size_of::<Candidate>()
            + self.edges.len() * 32
    }

    fn cell_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let fx = (x - self.origin.0) / self.cell.0;
        let fy = (y - self.origin.1) / self.cell.1;
        if !(fx >= 0.0 && fy >= 0.0) {
            return None;
        }
        let (ix, iy) = (fx as usize, fy as usize);
        (ix < self.nx && iy < self.ny).then_some((ix, iy))
    }

    /// Calls `each` with every desa id whose interior holds `(x, y)`.
    pub fn containing(&self, x: f64, y: f64, mut each: impl FnMut(u32)) {
        let Some((ix, iy)) = self.cell_of(x, y) else {
            return;
        };
        match self.cells[iy * self.nx + ix] {
            EMPTY => {}
            v if v & LIST_BIT == 0 => each(v - 1),
            v => {
                let (start, end) = self.lists[(v & !LIST_BIT) as usize];
                let p = Coord { x, y };
                let center = self.center(iy * self.nx + ix);
                for cand in &self.candidates[start as usize..end as usize] {
                    if self.candidate_contains(cand, p, center) {
                        each(cand.desa);
                    }
                }
            }
        }
    }

    /// A key that orders points along the grid (row-major by cell; points outside sort
    /// last). Points kept in this order are counted with far fewer cache misses.
    pub fn spatial_key(&self, x: f64, y: f64) -> u64 {
        self.cell_of(x, y)
            .map_or(u64::MAX, |(ix, iy)| (iy * self.nx + ix) as u64)
    }

    /// The centre of a cell.
    fn center(&self, c: usize) -> Coord<f64> {
        let (i, j) = (c % self.nx, c / self.nx);
        Coord {
            x: self.origin.0 + (i as f64 + 0.5) * self.cell.0,
            y: self.origin.1 + (j as f64 + 0.5) * self.cell.1,
        }
    }

    /// Whether the candidate desa's interior holds `p`, a point of the cell centred at
    /// `center`: the centre's side, flipped by each edge that the segment from `p` to the
    /// centre crosses. Only the desa's edges in the cell can cross that segment, so this
    /// reads a handful of edges. Where the segment touches an edge end or runs along an edge,
    /// or `p` lies on an edge, the robust orientation tests say so and the point is settled
    /// by the exact test on the whole outline (or, on an edge, is outside, as with
    /// `ST_Contains`).
    fn candidate_contains(&self, cand: &Candidate, p: Coord<f64>, center: Coord<f64>) -> bool {
        if cand.edges.0 == cand.edges.1 {
            return true;
        }
        if cand.exact_only {
            return self.outlines[cand.desa as usize].contains(&p);
        }
        let mut inside = cand.center_inside;
        for seg in &self.edges[cand.edges.0 as usize..cand.edges.1 as usize] {
            match crossing(p, center, seg) {
                Crossing::None => {}
                Crossing::Proper => inside = !inside,
                Crossing::OnEdge => return false,
                Crossing::Degenerate => return self.outlines[cand.desa as usize].contains(&p),
            }
        }
        inside
    }

    /// Counts points per desa (by id), on `threads` threads.
    pub fn count(&self, points: &[(f64, f64)], threads: usize) -> Vec<u64> {
        let threads = threads.max(1);
        let part = points.len().div_ceil(threads).max(1);
        let partials: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = points
                .chunks(part)
                .map(|chunk| {
                    s.spawn(move || {
                        let mut counts = vec![0u64; self.kodes.len()];
                        for &(x, y) in chunk {
                            self.containing(x, y, |id| counts[id as usize] += 1);
                        }
                        counts
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut total = vec![0u64; self.kodes.len()];
        for p in partials {
            for (t, c) in total.iter_mut().zip(p) {
                *t += c;
            }
        }
        total
    }

    /// Visits every cell a segment passes through (a grid traversal after Amanatides & Woo,
    /// which also visits both neighbours where the segment passes a cell corner).
    fn walk_segment(&self, a: (f64, f64), b: (f64, f64), mut visit: impl FnMut(usize)) {
        let to_grid = |p: (f64, f64)| {
            (
                (p.0 - self.origin.0) / self.cell.0,
                (p.1 - self.origin.1) / self.cell.1,
            )
        };
        let (ga, gb) = (to_grid(a), to_grid(b));
        let clamp_x = |v: f64| (v.floor().max(0.0) as usize).min(self.nx - 1);
        let clamp_y = |v: f64| (v.floor().max(0.0) as usize).min(self.ny - 1);
        let (mut ix, mut iy) = (clamp_x(ga.0), clamp_y(ga.1));
        let (ex, ey) = (clamp_x(gb.0), clamp_y(gb.1));
        let (dx, dy) = (gb.0 - ga.0, gb.1 - ga.1);
        let step_x: isize = if dx > 0.0 { 1 } else { -1 };
        let step_y: isize = if dy > 0.0 { 1 } else { -1 };
        let next_boundary = |i: usize, step: isize| {
            if step > 0 {
                (i + 1) as f64
            } else {
                i as f64
            }
        };
        let t_of = |boundary: f64, start: f64, d: f64| {
            if d == 0.0 {
                f64::INFINITY
            } else {
                (boundary - start) / d
            }
        };
        let mut t_max_x = t_of(next_boundary(ix, step_x), ga.0, dx);
        let mut t_max_y = t_of(next_boundary(iy, step_y), ga.1, dy);
        let t_dx = if dx == 0.0 {
            f64::INFINITY
        } else {
            1.0 / dx.abs()
        };
        let t_dy = if dy == 0.0 {
            f64::INFINITY
        } else {
            1.0 / dy.abs()
        };
        let max_steps = self.nx + self.ny + 4;
        for _ in 0..max_steps * 2 {
            visit(iy * self.nx + ix);
            if ix == ex && iy == ey {
                break;
            }
            let near_corner = (t_max_x - t_max_y).abs() < 1e-6;
            if near_corner {
                let nx = ix as isize + step_x;
                let ny = iy as isize + step_y;
                if (0..self.nx as isize).contains(&nx) {
                    visit(iy * self.nx + nx as usize);
                }
                if (0..self.ny as isize).contains(&ny) {
                    visit(ny as usize * self.nx + ix);
                }
            }
            if t_max_x < t_max_y {
                let n = ix as isize + step_x;
                if !(0..self.nx as isize).contains(&n) {
                    break;
                }
                ix = n as usize;
                t_max_x += t_dx;
            } else {
                let n = iy as isize + step_y;
                if !(0..self.ny as isize).contains(&n) {
                    break;
                }
                iy = n as usize;
                t_max_y += t_dy;
            }
        }
    }

    /// Visits every cell whose centre lies inside `g` (even-odd scanlines through the cell
    /// centres, rings and holes alike).
    fn fill_interior_cells(&self, g: &MultiPolygon<f64>, visit: &mut impl FnMut(usize)) {
        let Some(r) = g.bounding_rect() else { return };
        let row = |y: f64| ((y - self.origin.1) / self.cell.1 - 0.5).ceil().max(0.0) as usize;
        let (r0, r1) = (row(r.min().y), row(r.max().y).min(self.ny));
        let mut xs: Vec<Vec<f64>> = vec![Vec::new(); r1.saturating_sub(r0)];
        let rings =
            g.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
        for ring in rings {
            for line in ring.lines() {
                let (a, b) = (line.start, line.end);
                let (lo, hi) = if a.y <= b.y { (a, b) } else { (b, a) };
                // Rows whose centre y is in [lo.y, hi.y): each crossing counted once.
                for j in row(lo.y).max(r0)..row(hi.y).min(r1) {
                    let yc = self.origin.1 + (j as f64 + 0.5) * self.cell.1;
                    if yc < lo.y || yc >= hi.y {
                        continue;
                    }
                    let x = lo.x + (yc - lo.y) / (hi.y - lo.y) * (hi.x - lo.x);
                    xs[j - r0].push(x);
                }
            }
        }
        for (k, mut row_xs) in xs.into_iter().enumerate() {
            row_xs.sort_by(f64::total_cmp);
            let j = r0 + k;
            for pair in row_xs.chunks_exact(2) {
                // Cells whose centre x lies in [pair[0], pair[1]).
                let first = ((pair[0] - self.origin.0) / self.cell.0 - 0.5)
                    .ceil()
                    .max(0.0) as usize;
                let last = ((pair[1] - self.origin.0) / self.cell.0 - 0.5)
                    .ceil()
                    .max(0.0) as usize;
                for i in first..last.min(self.nx) {
                    visit(j * self.nx + i);
                }
            }
        }
    }
}

impl Candidate {
    /// A desa covering the whole cell.
    fn covering(desa: u32) -> Candidate {
        Candidate {
            desa,
            center_inside: true,
            exact_only: false,
            edges: (0, 0),
        }
    }
}

/// How the segment from a point to its cell's centre meets an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crossing {
    /// Not at all.
    None,
    /// The two cross at one point inside both.
    Proper,
    /// The point lies on the edge.
    OnEdge,
    /// They touch at an end or run along each other: no parity can be read.
    Degenerate,
}

fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> Orientation {
    <RobustKernel as Kernel<f64>>::orient2d(a, b, c)
}

fn between(v: f64, a: f64, b: f64) -> bool {
    a.min(b) <= v && v <= a.max(b)
}

/// Whether `p` lies on the segment.
fn on_segment(p: Coord<f64>, seg: [Coord<f64>; 2]) -> bool {
    orient(seg[0], seg[1], p) == Orientation::Collinear
        && between(p.x, seg[0].x, seg[1].x)
        && between(p.y, seg[0].y, seg[1].y)
}

/// How the segment `p`–`c` meets `seg`, with exact orientation tests.
fn crossing(p: Coord<f64>, c: Coord<f64>, seg: &[Coord<f64>; 2]) -> Crossing {
    let [a, b] = *seg;
    let (o1, o2) = (orient(a, b, p), orient(a, b, c));
    if o1 == Orientation::Collinear && between(p.x, a.x, b.x) && between(p.y, a.y, b.y) {
        return Crossing::OnEdge;
    }
    if o1 == o2 && o1 != Orientation::Collinear {
        return Crossing::None;
    }
    let (o3, o4) = (orient(p, c, a), orient(p, c, b));
    if o3 == o4 && o3 != Orientation::Collinear {
        return Crossing::None;
    }
    if [o1, o2, o3, o4].contains(&Orientation::Collinear) {
        // Touching at an end, or collinear: decide only if clearly apart.
        let apart = !between(a.x.max(b.x), p.x.min(c.x), f64::INFINITY)
            || !between(a.x.min(b.x), f64::NEG_INFINITY, p.x.max(c.x))
            || !between(a.y.max(b.y), p.y.min(c.y), f64::INFINITY)
            || !between(a.y.min(b.y), f64::NEG_INFINITY, p.y.max(c.y));
        return if apart {
            Crossing::None
        } else {
            Crossing::Degenerate
        };
    }
    Crossing::Proper
}

/// The interval-tree form of an outline. Its winding-number test needs holes wound against
/// their shell, so the outline is oriented first (imported boundaries already are).
pub fn prepared(g: &MultiPolygon<f64>) -> IntervalTreeMultiPolygon<f64> {
    IntervalTreeMultiPolygon::new(&g.orient(Direction::Default))
}

/// Number of vertices of a set of outlines (for reports).
pub fn vertex_count(desa: &[(Kode, MultiPolygon<f64>)]) -> usize {
    desa.iter().map(|(_, g)| g.coords_count()).sum()
}

/// The sorted runs merged into one sorted run (ties in run order).
fn merge_sorted<T, K: Ord>(runs: Vec<Vec<T>>, key: impl Fn(&T) -> K + Copy) -> Vec<T> {
    runs.into_iter()
        .reduce(|a, b| {
            let mut out = Vec::with_capacity(a.len() + b.len());
            let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
            while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                let next = if key(y) < key(x) { b.next() } else { a.next() };
                out.extend(next);
            }
            out.extend(a);
            out.extend(b);
            out
        })
        .unwrap_or_default()
}

/// `f` over `threads` runs of `items` in order, one thread each (the first index of the run
/// and the run), and the results in the same order. Hand-written over `std::thread::scope`:
/// a thread pool crate would add more than these lines do.
fn per_part<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<R> {
    let size = items.len().div_ceil(threads.max(1)).max(1);
    if items.len() <= size {
        return vec![f(0, items)];
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(size)
            .enumerate()
            .map(|(i, part)| s.spawn(move || f(i * size, part)))
            .collect();
        joined(handles)
    })
}

/// The results of scoped threads, in order; a thread's panic goes on in the caller.
pub(crate) fn joined<R>(handles: Vec<std::thread::ScopedJoinHandle<'_, R>>) -> Vec<R> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
