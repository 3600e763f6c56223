//! The audit trail: an append-only list of who did what — logins, tokens, user changes,
//! batch imports, removals and corrections, and every read of household data — chained by
//! SHA-256 so that a record changed or removed in the database is found.
//!
//! A record never holds a NIK, a name of a household member or a password: only the acting
//! user, the request (endpoint and its parameters), how many households it returned and the
//! purpose stated.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash the first record chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What was done.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum AuditAction {
    /// A successful login.
    Login,
    /// A refused login (wrong password, unknown user, locked or disabled account).
    LoginFailed,
    /// A logout.
    Logout,
    /// A user added.
    UserAdd,
    /// A user changed: disabled, enabled, new password, new scope, lockout lifted.
    UserChange,
    /// A personal API token created.
    TokenCreate,
    /// A personal API token revoked.
    TokenRevoke,
    /// A household batch imported.
    BatchImport,
    /// A household batch removed.
    BatchRemove,
    /// Households of a batch corrected after review.
    BatchCorrect,
    /// Household data read: points, exports, OGC items, review lists, reject reports.
    HouseholdRead,
    /// The whole store copied to a backup file.
    Backup,
    /// The whole store replaced by a backup.
    Restore,
    /// A draft batch submitted to the province.
    BatchSubmit,
    /// A submitted batch accepted: it counts from now on.
    BatchAccept,
    /// A submitted batch returned to its operator with a note.
    BatchReturn,
    /// A verval round opened (or its deadline and expected units changed).
    RoundOpen,
    /// A verval round closed.
    RoundClose,
    /// A programme registered.
    ProgramAdd,
    /// A programme removed with its list.
    ProgramRemove,
    /// A programme's list of beneficiaries or places uploaded (replacing the previous one).
    ProgramList,
    /// A target list saved.
    TargetSave,
    /// A goal set or removed.
    GoalSet,
}

impl AuditAction {
    /// The action's name as stored.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One event, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339 UTC, milliseconds).
    pub at: String,
    /// Who: a user name, or `None` for an anonymous request or the command line without a
    /// user (the operating-system user is put in `client` then).
    pub actor: Option<String>,
    /// The actor's role at the time.
    pub role: Option<String>,
    /// What.
    pub action: String,
    /// The scope the actor used (`*` for everything).
    pub scope: Option<String>,
    /// Endpoint or command.
    pub endpoint: String,
    /// Its parameters (query string, batch id, user changed, …), never personal data.
    pub params: String,
    /// Households returned or changed.
    pub count: Option<u64>,
    /// The purpose stated.
    pub purpose: Option<String>,
    /// Client address (or `cli:` and the operating-system user).
    pub client: String,
    /// Outcome and details in words (`ok`, `wrong password`, …).
    pub detail: String,
}

impl AuditEntry {
    /// An entry of `action` now, by `actor`.
    pub fn new(action: AuditAction, endpoint: impl Into<String>) -> AuditEntry {
        AuditEntry {
            at: super::account::now(),
            action: action.as_str().to_string(),
            endpoint: endpoint.into(),
            detail: "ok".into(),
            ..AuditEntry::default()
        }
    }

    /// The SHA-256 (hex) of this entry chained to `prev`: every field, length-prefixed, so
    /// that no two different entries hash alike.
    pub fn chain_hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(prev);
        field(&self.at);
        field(self.actor.as_deref().unwrap_or("\u{0}"));
        field(self.role.as_deref().unwrap_or("\u{0}"));
        field(&self.action);
        field(self.scope.as_deref().unwrap_or("\u{0}"));
        field(&self.endpoint);
        field(&self.params);
        field(
            &self
                .count
                .map_or_else(|| "\u{0}".to_string(), |c| c.to_string()),
        );
        field(self.purpose.as_deref().unwrap_or("\u{0}"));
        field(&self.client);
        field(&self.detail);
        hex::encode(h.finalize())
    }
}

/// A stored record: the entry, its id, the previous record's hash and its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Id, in the order records were appended.
    pub id: i64,
    /// The event.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// The hash of the record before it ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// `entry.chain_hash(prev_hash)`.
    pub hash: String,
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this time on (RFC 3339 text or a date, compared as text).
    pub since: Option<String>,
    /// Only this user's.
    pub user: Option<String>,
    /// Only this action.
    pub action: Option<AuditAction>,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A record's own hash does not match its content: it was changed.
    #[error("audit record {id} was altered: its content does not match its hash")]
    Altered {
        /// The record.
        id: i64,
    },
    /// A record does not chain to the one before: a record was removed or inserted.
    #[error("audit record {id} does not follow record {before}: records were removed or inserted between them")]
    Unlinked {
        /// The record.
        id: i64,
        /// The record before it.
        before: i64,
    },
}

/// Checks records in id order, continuing from `prev` (`(id, hash)` of the last record
/// checked, `None` at the start).
pub struct ChainCheck {
    prev: Option<(i64, String)>,
    /// Records checked so far.
    pub checked: u64,
}

impl Default for ChainCheck {
    fn default() -> ChainCheck {
        ChainCheck::new()
    }
}

impl ChainCheck {
    /// A check from the first record.
    pub fn new() -> ChainCheck {
        ChainCheck {
            prev: None,
            checked: 0,
        }
    }

    /// Checks the next record.
    pub fn next(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        let expected_prev = self.prev.as_ref().map_or(GENESIS, |p| p.1.as_str());
        if r.entry.chain_hash(&r.prev_hash) != r.hash {
            return Err(ChainBreak::Altered { id: r.id });
        }
        if r.prev_hash != expected_prev {
            return Err(ChainBreak::Unlinked {
                id: r.id,
                before: self.prev.as_ref().map_or(0, |p| p.0),
            });
        }
        self.prev = Some((r.id, r.hash.clone()));
        self.checked += 1;
        Ok(())
    }

    /// The id of the last record checked.
    pub fn last_id(&self) -> i64 {
        self.prev.as_ref().map_or(0, |p| p.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_string();
        (0..n)
            .map(|i| {
                let mut entry = AuditEntry::new(AuditAction::HouseholdRead, "/x");
                entry.count = Some(i as u64);
                let hash = entry.chain_hash(&prev);
                let r = AuditRecord {
                    id: i as i64 + 1,
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                r
            })
            .collect()
    }

    #[test]
    fn the_chain_names_the_altered_or_missing_record() {
        let records = chain(4);
        let mut check = ChainCheck::new();
        assert!(records.iter().all(|r| check.next(r).is_ok()));
        assert_eq!(check.checked, 4);

        let mut altered = records.clone();
        altered[2].entry.count = Some(99);
        let mut check = ChainCheck::new();
        let err = altered.iter().find_map(|r| check.next(r).err());
        assert_eq!(err, Some(ChainBreak::Altered { id: 3 }));

        let mut removed = records.clone();
        removed.remove(1);
        let mut check = ChainCheck::new();
        let err = removed.iter().find_map(|r| check.next(r).err());
        assert_eq!(err, Some(ChainBreak::Unlinked { id: 3, before: 1 }));
        // A field moved between neighbours does not hash alike.
        let mut a = AuditEntry::new(AuditAction::Login, "ab");
        a.params = "c".into();
        let mut b = a.clone();
        b.endpoint = "a".into();
        b.params = "bc".into();
        assert_ne!(a.chain_hash(GENESIS), b.chain_hash(GENESIS));
    }
}
