//! The households of a snapshot: runs of records, each grouped by unit, shared between the
//! snapshots made from one another by adding batches.
//!
//! A full build makes one run. Adding batches makes a run of the new households only and
//! shares the old runs by `Arc`, so a national snapshot (25 M records, 0.9 GB) is never
//! copied to add one kabupaten's file. Runs are merged when a new one is at least half the
//! size of the one before it (so there are at most ~log₂ of the households' count, and each
//! record is copied a logarithmic number of times over any sequence of imports), and all of
//! them when old records must be renumbered.

use std::ops::Range;
use std::sync::Arc;

use super::points::{grown_point_index, point_index, PointIndex};
use super::record::HouseholdRecord;

/// More runs than this are merged whatever their sizes (each is one more tree for a bbox
/// query to visit).
const MAX_RUNS: usize = 12;

/// One run of households, grouped by the unit they are counted in.
#[derive(Debug)]
struct Run {
    records: Vec<HouseholdRecord>,
    /// Where each unit's households start in `records` (`n_units + 2` offsets: the last group
    /// holds those counted nowhere).
    groups: Vec<usize>,
    /// The boxes of each group's points.
    points: PointIndex,
}

impl Run {
    fn new(records: Vec<HouseholdRecord>, groups: Vec<usize>) -> Run {
        let points = point_index(&records, &groups);
        Run {
            records,
            groups,
            points,
        }
    }

    fn group(&self, g: usize) -> Range<usize> {
        self.groups[g]..self.groups[g + 1]
    }
}

/// The households of a snapshot, in runs. Household `i` (the index readers are given) counts
/// through the runs in order; inside a run, each unit's households are together.
#[derive(Debug, Clone, Default)]
pub struct Households {
    runs: Vec<Arc<Run>>,
    /// The index of each run's first household, and the count of all after the last.
    starts: Vec<usize>,
}

impl Households {
    /// Households grouped by `groups` (see [`super::points::group_by_unit`]) as one run.
    pub(super) fn grouped(records: Vec<HouseholdRecord>, groups: Vec<usize>) -> Households {
        let mut h = Households::default();
        h.push(Run::new(records, groups));
        h
    }

    fn push(&mut self, run: Run) {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        let end = self.len() + run.records.len();
        self.runs.push(Arc::new(run));
        self.starts.push(end);
    }

    /// How many households.
    pub fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every household, by index.
    pub fn iter(&self) -> impl Iterator<Item = &HouseholdRecord> + '_ {
        self.runs.iter().flat_map(|r| r.records.iter())
    }

    /// Household `i`.
    pub fn get(&self, i: usize) -> Option<&HouseholdRecord> {
        let r = self.run_of(i);
        self.runs.get(r)?.records.get(i - self.starts[r])
    }

    /// The run household `i` is in (the number of runs when past the last). The first run,
    /// usually by far the largest, is tried before searching.
    fn run_of(&self, i: usize) -> usize {
        match self.runs.first() {
            Some(first) if i < first.records.len() => 0,
            _ => self.starts.partition_point(|&s| s <= i).saturating_sub(1),
        }
    }

    /// The households counted in unit `u`, each with its index.
    pub(super) fn of_unit(&self, u: u32) -> impl Iterator<Item = (usize, &HouseholdRecord)> {
        let g = u as usize;
        self.runs
            .iter()
            .zip(&self.starts)
            .flat_map(move |(run, &start)| {
                let range = run.group(g);
                (start + range.start..).zip(&run.records[range])
            })
    }

    /// Indexes of the counted households whose point lies in the box, ascending.
    pub(super) fn in_box(&self, [x0, y0, x1, y1]: [f32; 4]) -> Vec<u32> {
        let env = rstar::AABB::from_corners([x0, y0], [x1, y1]);
        let mut out = Vec::new();
        for (run, &start) in self.runs.iter().zip(&self.starts) {
            for group in run.points.locate_in_envelope_intersecting(&env) {
                let range = run.group(group.data as usize);
                for (i, h) in (start + range.start..).zip(&run.records[range]) {
                    if h.lon >= x0 && h.lon <= x1 && h.lat >= y0 && h.lat <= y1 {
                        out.push(i as u32);
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// These households and `records` (grouped by `groups`, with the same units) as a new
    /// set sharing the runs it can. An old household's batch index `b` becomes `moved[b]`;
    /// `programs`, when it has one value per household (these, then `records`'), is kept in
    /// step with the households' indices.
    pub(super) fn with_run(
        &self,
        records: Vec<HouseholdRecord>,
        groups: Vec<usize>,
        moved: &[u16],
        programs: &mut Vec<u16>,
    ) -> Households {
        let renumber = moved.iter().enumerate().any(|(i, &m)| usize::from(m) != i);
        let mut out = self.clone();
        out.push(Run::new(records, groups));
        if renumber {
            // The old records name batches by index: all of them are rewritten once.
            out.merge_from(0, moved, programs);
            return out;
        }
        let n = |o: &Households| o.runs.len();
        while n(&out) >= 2
            && (out.runs[n(&out) - 2].records.len() <= 2 * out.runs[n(&out) - 1].records.len()
                || n(&out) > MAX_RUNS)
        {
            out.merge_from(n(&out) - 2, &[], programs);
        }
        out
    }

    /// Merges runs `first..` into one: each group holds the groups of the runs in order, so
    /// a unit's households keep the order a full build gives them. Batch indices of all but
    /// the last run go through `moved` when it is not empty.
    fn merge_from(&mut self, first: usize, moved: &[u16], programs: &mut Vec<u16>) {
        let runs: Vec<Arc<Run>> = self.runs.drain(first..).collect();
        let base = self.starts[first];
        self.starts.truncate(first + 1);
        let total: usize = runs.iter().map(|r| r.records.len()).sum();
        let paired = programs.len() == base + total;
        let n_groups = runs[0].groups.len() - 1;
        let mut records = Vec::with_capacity(total);
        let mut merged_programs = Vec::with_capacity(if paired { total } else { 0 });
        let mut groups = Vec::with_capacity(n_groups + 1);
        groups.push(0);
        let last = runs.len() - 1;
        for g in 0..n_groups {
            let mut offset = base;
            for (k, run) in runs.iter().enumerate() {
                let range = run.group(g);
                let from = records.len();
                records.extend_from_slice(&run.records[range.clone()]);
                if !moved.is_empty() && k < last {
                    for r in &mut records[from..] {
                        r.batch = moved[usize::from(r.batch)];
                    }
                }
                if paired {
                    merged_programs
                        .extend_from_slice(&programs[offset + range.start..offset + range.end]);
                }
                offset += run.records.len();
            }
            groups.push(records.len());
        }
        if paired {
            programs.truncate(base);
            programs.append(&mut merged_programs);
        }
        // The merged boxes are the old boxes grown by the later runs' points.
        let mut points = runs[0].points.clone();
        for run in &runs[1..] {
            points = grown_point_index(&points, &run.records, &run.groups);
        }
        self.push(Run {
            records,
            groups,
            points,
        });
    }

    /// How many runs hold the households.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

impl std::ops::Index<usize> for Households {
    type Output = HouseholdRecord;

    fn index(&self, i: usize) -> &HouseholdRecord {
        // Out of range panics as a slice index does.
        let r = self.run_of(i);
        &self.runs[r].records[i - self.starts[r]]
    }
}
