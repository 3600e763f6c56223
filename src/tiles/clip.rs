//! Clipping rings to a tile's buffered square and turning them into tile integers.
//!
//! Hand-written: Sutherland–Hodgman against an axis-aligned square is a few lines, runs in
//! one pass per side, and keeps a polygon's ring structure; geo's boolean operations would do
//! the same at many times the cost for every ring of every tile. Where a ring runs outside
//! the square, the clipped ring follows the square's edge (as PostGIS `ST_AsMVTGeom` and
//! geojson-vt do); the buffer keeps those edges out of sight.

/// Clips a closed ring (tile coordinates, first point repeated last) to
/// `[min, max] × [min, max]`. Returns an open ring (no repeated closing point), possibly empty.
pub fn clip_ring(ring: &[[f64; 2]], min: f64, max: f64) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = ring[..ring.len().saturating_sub(1)].to_vec();
    let inside_box = pts
        .iter()
        .all(|p| p[0] >= min && p[0] <= max && p[1] >= min && p[1] <= max);
    if inside_box {
        return pts;
    }
    for (axis, bound, keep_greater) in [
        (0, min, true),
        (0, max, false),
        (1, min, true),
        (1, max, false),
    ] {
        if pts.is_empty() {
            break;
        }
        let inside = |p: &[f64; 2]| {
            if keep_greater {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let cur = pts[i];
            let prev = pts[(i + pts.len() - 1) % pts.len()];
            let (ci, pi) = (inside(&cur), inside(&prev));
            if ci != pi {
                let t = (bound - prev[axis]) / (cur[axis] - prev[axis]);
                let mut x = [
                    prev[0] + (cur[0] - prev[0]) * t,
                    prev[1] + (cur[1] - prev[1]) * t,
                ];
                x[axis] = bound;
                out.push(x);
            }
            if ci {
                out.push(cur);
            }
        }
        pts = out;
    }
    pts
}

/// Rounds an open ring to integers, dropping repeated points and points on a straight line
/// between their neighbours (MVT forbids zero-length segments). Returns `None` when fewer than
/// three points or no area are left.
pub fn quantize_ring(ring: &[[f64; 2]]) -> Option<Vec<(i32, i32)>> {
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(ring.len());
    for p in ring {
        let q = (p[0].round() as i32, p[1].round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    // Drop collinear points (including spikes that fold back on themselves).
    let mut changed = true;
    while changed && out.len() >= 3 {
        changed = false;
        let mut i = 0;
        while i < out.len() && out.len() >= 3 {
            let n = out.len();
            let (a, b, c) = (out[(i + n - 1) % n], out[i], out[(i + 1) % n]);
            let cross = i64::from(b.0 - a.0) * i64::from(c.1 - a.1)
                - i64::from(b.1 - a.1) * i64::from(c.0 - a.0);
            if cross == 0 {
                out.remove(i);
                changed = true;
            } else {
                i += 1;
            }
        }
    }
    (out.len() >= 3 && ring_area2(&out) != 0).then_some(out)
}

/// Twice the signed area of an open integer ring.
pub fn ring_area2(ring: &[(i32, i32)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_to_the_square_and_keeps_inside_rings() {
        let square = [
            [-10.0, -10.0],
            [50.0, -10.0],
            [50.0, 50.0],
            [-10.0, 50.0],
            [-10.0, -10.0],
        ];
        let c = clip_ring(&square, 0.0, 40.0);
        let q = quantize_ring(&c).unwrap();
        assert_eq!(q.len(), 4);
        assert_eq!(ring_area2(&q).abs(), 2 * 40 * 40);
        let inside = [[1.0, 1.0], [3.0, 1.0], [3.0, 3.0], [1.0, 1.0]];
        assert_eq!(clip_ring(&inside, 0.0, 40.0).len(), 3);
        let outside = [
            [100.0, 100.0],
            [130.0, 100.0],
            [130.0, 130.0],
            [100.0, 100.0],
        ];
        assert!(quantize_ring(&clip_ring(&outside, 0.0, 40.0)).is_none());
    }

    #[test]
    fn quantizing_drops_repeats_collinear_points_and_slivers() {
        let ring = [
            [0.1, 0.0],
            [0.2, 0.1],
            [5.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
        ];
        let q = quantize_ring(&ring).unwrap();
        assert_eq!(q, vec![(0, 0), (10, 0), (10, 10), (0, 10)]);
        assert!(quantize_ring(&[[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]]).is_none());
        assert!(quantize_ring(&[[0.0, 0.0], [0.2, 0.1], [0.1, 0.3]]).is_none());
    }
}
