//! Jurisdictions: which households a reader may see.

use crate::region::Kode;

/// Which households a reader may see: all of them, or those counted inside some units (a
/// kabupaten's Dinas Sosial sees its own kabupaten). A household is in scope when the unit it
/// counts in lies inside one of the units.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every household.
    All,
    /// Households counted in these units or inside them.
    Within(Vec<Kode>),
}

impl Scope {
    /// Whether households counted in `kode` may be seen.
    pub fn allows(&self, kode: Kode) -> bool {
        match self {
            Scope::All => true,
            Scope::Within(list) => list.iter().any(|k| kode.is_within(k)),
        }
    }
}
