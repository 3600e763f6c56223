//! Provenance: which batches each unit's figures rest on, how their households were placed,
//! and which fields they state.

use std::collections::HashMap;

use serde::Serialize;

use super::indicators::{Count, Stated};
use super::record::{HouseholdRecord, NO_UNIT};
use super::snapshot::Unit;

/// What one batch contributes to one unit (the unit itself and everything inside it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SourceShare {
    /// Households of the batch counted in the unit.
    pub households: u64,
    /// Of those, placed by their own GPS point.
    pub placed_gps: u64,
    /// Placed by their region code.
    pub placed_code: u64,
    /// Placed by the names of their address.
    pub placed_names: u64,
    /// With a geocoding flag a reviewer should see.
    pub flagged: u64,
    /// The fields these households state.
    pub states: Stated,
}

impl SourceShare {
    fn add(&mut self, o: &SourceShare) {
        self.households += o.households;
        self.placed_gps += o.placed_gps;
        self.placed_code += o.placed_code;
        self.placed_names += o.placed_names;
        self.flagged += o.flagged;
        self.states = self.states.with(o.states);
    }

    fn of(r: &HouseholdRecord) -> SourceShare {
        let c = r.contribution();
        let placed = c.placed_by();
        SourceShare {
            households: 1,
            placed_gps: u64::from(placed == Some(Count::QualityGps)),
            placed_code: u64::from(placed == Some(Count::QualityCode)),
            placed_names: u64::from(placed == Some(Count::QualityName)),
            flagged: u64::from(c.flagged),
            states: c.stated(),
        }
    }
}

/// Per unit, the batches counted in it (by batch index, ascending) and what each brings.
pub(super) type UnitSources = Vec<Vec<(u16, SourceShare)>>;

/// Every unit's sources: each counted household adds to its unit's share of its batch, and
/// the shares are summed up to the province.
pub(super) fn sources_by_unit(records: &[HouseholdRecord], units: &[Unit]) -> UnitSources {
    let mut own: HashMap<(u32, u16), SourceShare> = HashMap::new();
    for r in records.iter().filter(|r| r.unit != NO_UNIT) {
        own.entry((r.unit, r.batch))
            .or_default()
            .add(&SourceShare::of(r));
    }
    let mut all: HashMap<(u32, u16), SourceShare> = HashMap::with_capacity(own.len() * 4);
    for (&(unit, batch), share) in &own {
        let mut u = Some(unit);
        while let Some(x) = u {
            all.entry((x, batch)).or_default().add(share);
            u = units[x as usize].parent;
        }
    }
    let mut out: UnitSources = vec![Vec::new(); units.len()];
    for ((unit, batch), share) in all {
        out[unit as usize].push((batch, share));
    }
    for list in &mut out {
        list.sort_unstable_by_key(|(b, _)| *b);
    }
    out
}
