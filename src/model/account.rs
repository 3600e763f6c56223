//! People and their credentials: users with a role and a jurisdiction, passwords (Argon2id),
//! personal API tokens and web sessions. Secrets are kept only as hashes: a password as an
//! Argon2id PHC string, a token or session id as its SHA-256.

use std::time::{Duration, SystemTime};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::access::{Role, Scope};
use crate::region::Kode;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (Argon2 hashes anything, but a megabyte "password" is an attack).
pub const MAX_PASSWORD_LEN: usize = 256;

/// Why an account value was refused, in words that say what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    /// The password is too short or too long.
    #[error("a password needs {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters")]
    PasswordLength,
    /// The user name has characters outside the allowed set.
    #[error("user name `{0}`: use 2–64 letters, digits, `.`, `_`, `-` or `@`")]
    BadName(String),
    /// The role needs a scope it was not given.
    #[error("an operator needs a scope (--scope KODE[,KODE…]): the kabupaten/kota or kecamatan it works for")]
    OperatorWithoutScope,
    /// Admins see everything; a scope would mislead.
    #[error("an admin works for the whole store and takes no scope")]
    AdminWithScope,
    /// Hashing failed (never for valid input).
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// A user name, checked where it enters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    /// Checks `name`: 2–64 characters of letters, digits, `.`, `_`, `-`, `@`.
    pub fn parse(name: &str) -> Result<UserName, AccountError> {
        let ok = (2..=64).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if ok {
            Ok(UserName(name.to_string()))
        } else {
            Err(AccountError::BadName(name.chars().take(64).collect()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl std::str::FromStr for UserName {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<UserName, AccountError> {
        UserName::parse(s)
    }
}

/// A password as typed; never printed (its `Debug` hides it) and dropped after hashing.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    /// A new password: checked for length.
    pub fn new(text: String) -> Result<Password, AccountError> {
        if (MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&text.chars().count()) {
            Ok(Password(text))
        } else {
            Err(AccountError::PasswordLength)
        }
    }

    /// A password offered at login: not checked for length (a wrong one simply fails).
    pub fn offered(text: String) -> Password {
        Password(text)
    }

    /// Its Argon2id hash as a PHC string (random salt, the crate's recommended cost).
    pub fn hash(&self) -> Result<String, AccountError> {
        Argon2::default()
            .hash_password(self.0.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    }

    /// Whether it matches `phc` (an Argon2id PHC string); a damaged hash never matches.
    pub fn matches(&self, phc: &str) -> bool {
        if self.0.len() > MAX_PASSWORD_LEN * 4 {
            return false;
        }
        PasswordHash::new(phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(self.0.as_bytes(), &h)
                .is_ok()
        })
    }

    /// A random password for demo accounts and resets: 20 characters from an alphabet
    /// without look-alikes.
    pub fn random() -> Password {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let bytes = random_bytes::<20>();
        Password(
            bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect(),
        )
    }

    /// The password as typed, to show once (a demo account's, a generated one).
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS random source does not fail on the systems Lentera runs on; if it ever did, a
    // zero secret must not be handed out, so fall back to hashing the time and process.
    if getrandom::fill(&mut b).is_err() {
        let seed = format!("{:?}{}", SystemTime::now(), std::process::id());
        let d = Sha256::digest(seed.as_bytes());
        for (i, x) in b.iter_mut().enumerate() {
            *x = d[i % d.len()];
        }
    }
    b
}

/// A new random secret (API token or session id) as 43 URL-safe characters (256 bits),
/// with a prefix that tells what it is.
pub fn new_secret(prefix: &str) -> String {
    let bytes = random_bytes::<32>();
    format!("{prefix}{}", hex::encode(bytes))
}

/// The SHA-256 (hex) under which a secret is stored and looked up.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A time as stored: RFC 3339 UTC with milliseconds (`2026-12-01T08:30:00.000Z`), which
/// sorts as text in both stores.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Now, as stored.
pub fn now() -> String {
    timestamp(SystemTime::now())
}

/// A stored time read back (`None` if damaged).
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()
}

/// `now + d`, as stored.
pub fn after(d: Duration) -> String {
    timestamp(SystemTime::now() + d)
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: UserName,
    /// Role.
    pub role: Role,
    /// Units whose households the user works with (empty: none, or everything for an admin).
    pub scope: Vec<Kode>,
    /// Disabled users cannot log in and their sessions and tokens stop working.
    pub disabled: bool,
    /// Failed logins since the last success.
    pub failed_logins: u32,
    /// Locked out until then after too many failed logins (an admin can lift it).
    pub locked_until: Option<String>,
    /// When the user was added.
    pub created_at: String,
}

impl User {
    /// What this user may do and see.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id,
            name: self.name.clone(),
            role: self.role,
            scope: self.scope.clone(),
        }
    }

    /// Whether a lockout is in force now.
    pub fn is_locked(&self) -> bool {
        self.locked_until
            .as_deref()
            .and_then(parse_timestamp)
            .is_some_and(|t| t > SystemTime::now())
    }
}

/// A user and the hash of their password, as a login reads them.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A user about to be added.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Name.
    pub name: UserName,
    /// Role.
    pub role: Role,
    /// Scope.
    pub scope: Vec<Kode>,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl NewUser {
    /// A new user, checking that the role and scope fit together.
    pub fn new(
        name: UserName,
        role: Role,
        scope: Vec<Kode>,
        password: &Password,
    ) -> Result<NewUser, AccountError> {
        check_scope(role, &scope)?;
        Ok(NewUser {
            name,
            role,
            scope,
            password_hash: password.hash()?,
        })
    }
}

/// Refuses a scope that does not fit a role.
pub fn check_scope(role: Role, scope: &[Kode]) -> Result<(), AccountError> {
    match role {
        Role::Operator if scope.is_empty() => Err(AccountError::OperatorWithoutScope),
        Role::Admin if !scope.is_empty() => Err(AccountError::AdminWithScope),
        _ => Ok(()),
    }
}

/// A change to a stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Disable: no login, sessions deleted, tokens stop working.
    Disable,
    /// Enable again (and lift a lockout).
    Enable,
    /// A new password hash (sessions deleted).
    Password(String),
    /// A new scope.
    Scope(Vec<Kode>),
    /// Lift a lockout.
    Unlock,
    /// A failed login: count it, and lock until `until` once the count reaches `lock_after`.
    LoginFailed {
        /// Failures that lock the account.
        lock_after: u32,
        /// End of the lockout.
        until: String,
    },
    /// A successful login: the failure count starts again.
    LoginSucceeded,
}

/// A personal API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Id (to revoke it).
    pub id: i64,
    /// Its user.
    pub user: UserName,
    /// What it is for.
    pub label: String,
    /// When it was created.
    pub created_at: String,
    /// When it stops working (`None`: never).
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl TokenInfo {
    /// Whether it works now.
    pub fn is_valid(&self) -> bool {
        self.revoked_at.is_none()
            && self
                .expires_at
                .as_deref()
                .is_none_or(|e| parse_timestamp(e).is_some_and(|t| t > SystemTime::now()))
    }
}

/// A token about to be stored.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Its user.
    pub user: UserName,
    /// SHA-256 of the secret.
    pub digest: String,
    /// What it is for.
    pub label: String,
    /// When it stops working.
    pub expires_at: Option<String>,
}

/// A web session as stored (under the SHA-256 of its cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// SHA-256 of the cookie value.
    pub digest: String,
    /// Its user's id.
    pub user_id: i64,
    /// The token state-changing requests must carry (`X-CSRF-Token`).
    pub csrf: String,
    /// When it was created.
    pub created_at: String,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: String,
    /// When it ends whatever happens.
    pub expires_at: String,
}

/// What a logged-in person or token may do: the role and the units of its jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// User id.
    pub user_id: i64,
    /// User name.
    pub name: UserName,
    /// Role.
    pub role: Role,
    /// Units of its jurisdiction.
    pub scope: Vec<Kode>,
}

impl Principal {
    /// The households this principal may read, `None` for none: an admin all, an operator
    /// or analyst those of its scope, a viewer none.
    pub fn household_scope(&self) -> Option<Scope> {
        match self.role {
            Role::Admin => Some(Scope::All),
            Role::Operator | Role::Analyst if !self.scope.is_empty() => {
                Some(Scope::Within(self.scope.clone()))
            }
            _ => None,
        }
    }

    /// The scope as text, for the audit trail (`*` for everything).
    pub fn scope_text(&self) -> String {
        if self.role == Role::Admin {
            "*".into()
        } else {
            self.scope
                .iter()
                .map(Kode::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_never_print() {
        assert_eq!(
            Password::new("short".into()).unwrap_err(),
            AccountError::PasswordLength
        );
        let p = Password::new("kata-sandi-panjang".into()).unwrap();
        let h = p.hash().unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(p.matches(&h));
        assert!(!Password::offered("kata-sandi-salah!".into()).matches(&h));
        assert!(!p.matches("not a hash"));
        assert_eq!(format!("{p:?}"), "Password(…)");
        assert_ne!(Password::random().reveal(), Password::random().reveal());
    }

    #[test]
    fn names_scopes_and_times_are_checked() {
        assert!(UserName::parse("op.samarinda").is_ok());
        assert!(UserName::parse("a b").is_err());
        assert!(UserName::parse("x").is_err());
        assert_eq!(
            check_scope(Role::Operator, &[]),
            Err(AccountError::OperatorWithoutScope)
        );
        let t = now();
        assert!(t.ends_with('Z') && t.len() == 24, "{t}");
        assert!(parse_timestamp(&t).is_some());
        assert_ne!(new_secret("lt_"), new_secret("lt_"));
        assert_eq!(secret_digest("x").len(), 64);
    }
}
