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

/// What a user is for. Aggregates are public (or for any logged-in user on a private
/// server); household data follows the role and the user's scope.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    /// The province: everything, and manages users.
    Admin,
    /// A kabupaten/kota or kecamatan: imports, reviews and removes batches of its scope and
    /// reads household data of its scope.
    Operator,
    /// An agency (SKPD, Bappeda): aggregates everywhere, household data only inside the
    /// scopes granted and always with a stated purpose.
    Analyst,
    /// Aggregates only, logged in.
    Viewer,
}

impl Role {
    /// The role's name as stored.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether household data read under this role must state a purpose.
    pub fn needs_purpose(self) -> bool {
        self == Role::Analyst
    }

    /// Whether small counts are shown exactly (aggregates of units with only a few
    /// households are suppressed for anonymous visitors and viewers).
    pub fn sees_small_counts(self) -> bool {
        self != Role::Viewer
    }
}
