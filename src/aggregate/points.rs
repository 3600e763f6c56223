//! The households of a snapshot grouped by unit, and an index of their points.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{Envelope, RTree, RTreeObject};

use super::record::HouseholdRecord;

/// Sorts `records` by their `unit` in place (American flag sort: one counting pass, then each
/// record swapped straight into its group), so the households of a unit are contiguous, and
/// returns where each group starts (`n_units + 2` offsets; group `n_units` holds the
/// households counted nowhere). Records mostly arrive grouped already (exports are sorted by
/// region), so few swaps happen. Hand-written: the standard sorts need `n log n` comparisons
/// or a second buffer as large as the records.
///
/// `companion`, when not empty, holds one value per record and is reordered with them.
pub(super) fn group_by_unit(
    records: &mut [HouseholdRecord],
    companion: &mut [u16],
    n_units: usize,
) -> Vec<usize> {
    let paired = companion.len() == records.len();
    let key = |r: &HouseholdRecord| (r.unit as usize).min(n_units);
    let mut starts = vec![0usize; n_units + 2];
    for r in records.iter() {
        starts[key(r) + 1] += 1;
    }
    for k in 0..=n_units {
        starts[k + 1] += starts[k];
    }
    let mut next = starts.clone();
    for group in 0..=n_units {
        while next[group] < starts[group + 1] {
            let i = next[group];
            let k = key(&records[i]);
            if k == group {
                next[group] += 1;
            } else {
                records.swap(i, next[k]);
                if paired {
                    companion.swap(i, next[k]);
                }
                next[k] += 1;
            }
        }
    }
    starts
}

/// An R-tree over the bounding boxes of each unit's household points: a bbox query visits the
/// groups whose box it meets and tests their points. One entry per unit instead of one per
/// household keeps it small at national scale (a point-per-entry rstar tree of 25 M
/// households took 12 s and 70 bytes per household).
pub(super) fn point_index(records: &[HouseholdRecord], groups: &[usize]) -> PointIndex {
    let n_units = groups.len() - 2;
    let boxes = (0..n_units)
        .filter_map(|g| Some(GeomWithData::new(group_box(records, groups, g)?, g as u32)))
        .collect();
    RTree::bulk_load(boxes)
}

/// The index of groups holding both `old`'s households and `records` (grouped by `groups`):
/// each group's box grown by its new points, without visiting the old households again.
pub(super) fn grown_point_index(
    old: &PointIndex,
    records: &[HouseholdRecord],
    groups: &[usize],
) -> PointIndex {
    let n_units = groups.len() - 2;
    let mut boxes: Vec<Option<Rectangle<[f32; 2]>>> = vec![None; n_units];
    for entry in old.iter() {
        if let Some(b) = boxes.get_mut(entry.data as usize) {
            *b = Some(*entry.geom());
        }
    }
    let boxes = boxes
        .into_iter()
        .enumerate()
        .filter_map(|(g, old)| {
            let grown = match (old, group_box(records, groups, g)) {
                (Some(a), Some(b)) => Rectangle::from_aabb(a.envelope().merged(&b.envelope())),
                (a, b) => a.or(b)?,
            };
            Some(GeomWithData::new(grown, g as u32))
        })
        .collect();
    RTree::bulk_load(boxes)
}

/// The box of the points of group `g`, `None` when none of its households has a point.
fn group_box(
    records: &[HouseholdRecord],
    groups: &[usize],
    g: usize,
) -> Option<Rectangle<[f32; 2]>> {
    let mut pts = records[groups[g]..groups[g + 1]]
        .iter()
        .filter(|h| h.has_point());
    let first = pts.next()?;
    let (mut lo, mut hi) = ([first.lon, first.lat], [first.lon, first.lat]);
    for h in pts {
        lo = [lo[0].min(h.lon), lo[1].min(h.lat)];
        hi = [hi[0].max(h.lon), hi[1].max(h.lat)];
    }
    Some(Rectangle::from_corners(lo, hi))
}

/// An R-tree over the boxes of each unit's household points, by unit index.
pub(super) type PointIndex = RTree<GeomWithData<Rectangle<[f32; 2]>, u32>>;
