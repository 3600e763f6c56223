//! Users, tokens, sessions and the audit trail in the embedded store.

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use crate::model::account::now;
use crate::model::audit::GENESIS;
use crate::model::{
    Account, AuditEntry, AuditFilter, AuditRecord, NewToken, NewUser, SessionInfo, TokenInfo, User,
    UserChange, UserName,
};
use crate::store::rows::{
    audit_conditions, audit_from, scope_text, session_from, token_from, user_from, AuditParam,
    AUDIT_COLUMNS, SESSION_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS,
};
use crate::store::StoreError;

fn user_by_name(c: &Connection, name: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = ?1");
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([name])?;
    rows.next()?.map(|r| user_from(r, 0)).transpose()
}

pub(super) fn add_user(c: &mut Connection, u: &NewUser) -> Result<User, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if user_by_name(&tx, u.name.as_str())?.is_some() {
        return Err(StoreError::UserExists(u.name.to_string()));
    }
    tx.execute(
        "INSERT INTO users (name, role, scope, password_hash) VALUES (?1, ?2, ?3, ?4)",
        params![
            u.name.as_str(),
            u.role.as_str(),
            scope_text(&u.scope),
            u.password_hash
        ],
    )?;
    let user = user_by_name(&tx, u.name.as_str())?
        .ok_or_else(|| StoreError::Corrupt("a user just added is missing".into()))?;
    tx.commit()?;
    Ok(user)
}

pub(super) fn users(c: &Connection) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name");
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(user_from(r, 0)?);
    }
    Ok(out)
}

pub(super) fn account(c: &Connection, name: &UserName) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = ?1");
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([name.as_str()])?;
    rows.next()?
        .map(|r| {
            Ok(Account {
                user: user_from(r, 0)?,
                password_hash: r.get(8)?,
            })
        })
        .transpose()
}

pub(super) fn change_user(
    c: &mut Connection,
    name: &UserName,
    change: &UserChange,
) -> Result<Option<User>, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(user) = user_by_name(&tx, name.as_str())? else {
        return Ok(None);
    };
    let end_sessions =
        |tx: &Connection| tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id]);
    match change {
        UserChange::Disable => {
            tx.execute("UPDATE users SET disabled = 1 WHERE id = ?1", [user.id])?;
            end_sessions(&tx)?;
        }
        UserChange::Enable => {
            tx.execute(
                "UPDATE users SET disabled = 0, failed_logins = 0, locked_until = NULL
                 WHERE id = ?1",
                [user.id],
            )?;
        }
        UserChange::Password(hash) => {
            tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![user.id, hash],
            )?;
            end_sessions(&tx)?;
        }
        UserChange::Scope(scope) => {
            tx.execute(
                "UPDATE users SET scope = ?2 WHERE id = ?1",
                params![user.id, scope_text(scope)],
            )?;
        }
        UserChange::Unlock | UserChange::LoginSucceeded => {
            tx.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
                [user.id],
            )?;
        }
        UserChange::LoginFailed { lock_after, until } => {
            tx.execute(
                "UPDATE users SET failed_logins = failed_logins + 1,
                    locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until END
                 WHERE id = ?1",
                params![user.id, lock_after, until],
            )?;
        }
    }
    let changed = user_by_name(&tx, name.as_str())?;
    tx.commit()?;
    Ok(changed)
}

fn token_where(
    c: &Connection,
    cond: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Vec<TokenInfo>, StoreError> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE {cond} ORDER BY t.id"
    );
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([value])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(token_from(r)?);
    }
    Ok(out)
}

pub(super) fn add_token(c: &mut Connection, t: &NewToken) -> Result<TokenInfo, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let user = user_by_name(&tx, t.user.as_str())?
        .ok_or_else(|| StoreError::Corrupt(format!("no user `{}`", t.user)))?;
    tx.execute(
        "INSERT INTO api_tokens (user_id, digest, label, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![user.id, t.digest, t.label, t.expires_at],
    )?;
    let id = tx.last_insert_rowid();
    let token = token_where(&tx, "t.id = ?1", &id)?.pop();
    tx.commit()?;
    token.ok_or_else(|| StoreError::Corrupt("a token just added is missing".into()))
}

pub(super) fn tokens(
    c: &Connection,
    user: Option<&UserName>,
) -> Result<Vec<TokenInfo>, StoreError> {
    // No user: every token.
    token_where(
        c,
        "(?1 IS NULL OR u.name = ?1)",
        &user.map(UserName::as_str),
    )
}

pub(super) fn revoke_token(c: &mut Connection, id: i64) -> Result<Option<TokenInfo>, StoreError> {
    c.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now()],
    )?;
    Ok(token_where(c, "t.id = ?1", &id)?.pop())
}

pub(super) fn token_user(
    c: &Connection,
    digest: &str,
) -> Result<Option<(TokenInfo, User)>, StoreError> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.digest = ?1"
    );
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([digest])?;
    rows.next()?
        .map(|r| Ok((token_from(r)?, user_from(r, 6)?)))
        .transpose()
}

pub(super) fn add_session(c: &Connection, s: &SessionInfo) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO sessions (digest, user_id, csrf, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.digest,
            s.user_id,
            s.csrf,
            s.created_at,
            s.last_seen_at,
            s.expires_at
        ],
    )?;
    Ok(())
}

pub(super) fn session_user(
    c: &Connection,
    digest: &str,
) -> Result<Option<(SessionInfo, User)>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.digest = ?1"
    );
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([digest])?;
    rows.next()?
        .map(|r| Ok((session_from(r)?, user_from(r, 6)?)))
        .transpose()
}

pub(super) fn touch_session(c: &Connection, digest: &str, at: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE sessions SET last_seen_at = ?2 WHERE digest = ?1",
        params![digest, at],
    )?;
    Ok(())
}

pub(super) fn remove_session(
    c: &Connection,
    digest: &str,
    expired_before: &str,
) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM sessions WHERE digest = ?1 OR expires_at < ?2",
        params![digest, expired_before],
    )?;
    Ok(())
}

pub(super) fn append_audit(c: &mut Connection, entries: &[AuditEntry]) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock first: no other connection appends in between.
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (mut id, mut prev): (i64, String) = tx
        .query_row(
            "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string()));
    {
        let mut ins = tx.prepare(&format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ))?;
        for e in entries {
            id += 1;
            let hash = e.chain_hash(&prev);
            ins.execute(params![
                id,
                e.at,
                e.actor,
                e.role,
                e.action,
                e.scope,
                e.endpoint,
                e.params,
                e.count.map(|c| c as i64),
                e.purpose,
                e.client,
                e.detail,
                prev,
                hash
            ])?;
            prev = hash;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn audit(
    c: &Connection,
    filter: &AuditFilter,
    after_id: i64,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let (conds, values) = audit_conditions(filter, after_id);
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {} ORDER BY id LIMIT {}",
        conds.replace('$', "?"),
        limit.min(1_000_000)
    );
    let mut st = c.prepare(&sql)?;
    let bound = values.iter().map(|v| match v {
        AuditParam::Int(i) => rusqlite::types::Value::Integer(*i),
        AuditParam::Text(t) => rusqlite::types::Value::Text(t.clone()),
    });
    let mut rows = st.query(params_from_iter(bound))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(audit_from(r)?);
    }
    Ok(out)
}
