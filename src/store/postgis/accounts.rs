//! Users, tokens, sessions and the audit trail in PostGIS.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::PostgisStore;
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

/// Arbitrary key of the advisory lock that serialises audit appends between servers.
const AUDIT_LOCK: i64 = 0x004c_4155_4449_5400;

async fn user_by_name(c: &impl GenericClient, name: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1");
    c.query_opt(&sql, &[&name])
        .await?
        .map(|r| user_from(&r, 0))
        .transpose()
}

async fn token_where(
    c: &impl GenericClient,
    cond: &str,
    value: &(dyn ToSql + Sync),
) -> Result<Vec<TokenInfo>, StoreError> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE {cond} ORDER BY t.id"
    );
    c.query(&sql, &[value])
        .await?
        .iter()
        .map(token_from)
        .collect()
}

impl PostgisStore {
    pub(super) async fn pg_add_user(&self, u: &NewUser) -> Result<User, StoreError> {
        let c = self.client().await?;
        let scope = scope_text(&u.scope);
        let inserted = c
            .execute(
                "INSERT INTO users (name, role, scope, password_hash) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO NOTHING",
                &[&u.name.as_str(), &u.role.as_str(), &scope, &u.password_hash],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::UserExists(u.name.to_string()));
        }
        user_by_name(&c, u.name.as_str())
            .await?
            .ok_or_else(|| StoreError::Corrupt("a user just added is missing".into()))
    }

    pub(super) async fn pg_users(&self) -> Result<Vec<User>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name");
        c.query(&sql, &[])
            .await?
            .iter()
            .map(|r| user_from(r, 0))
            .collect()
    }

    pub(super) async fn pg_account(&self, name: &UserName) -> Result<Option<Account>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = $1");
        c.query_opt(&sql, &[&name.as_str()])
            .await?
            .map(|r| {
                Ok(Account {
                    user: user_from(&r, 0)?,
                    password_hash: r.try_get(8)?,
                })
            })
            .transpose()
    }

    pub(super) async fn pg_change_user(
        &self,
        name: &UserName,
        change: &UserChange,
    ) -> Result<Option<User>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let Some(user) = user_by_name(&tx, name.as_str()).await? else {
            return Ok(None);
        };
        let id = user.id;
        let end_sessions = "DELETE FROM sessions WHERE user_id = $1";
        match change {
            UserChange::Disable => {
                tx.execute("UPDATE users SET disabled = true WHERE id = $1", &[&id])
                    .await?;
                tx.execute(end_sessions, &[&id]).await?;
            }
            UserChange::Enable => {
                tx.execute(
                    "UPDATE users SET disabled = false, failed_logins = 0, locked_until = NULL
                     WHERE id = $1",
                    &[&id],
                )
                .await?;
            }
            UserChange::Password(hash) => {
                tx.execute(
                    "UPDATE users SET password_hash = $2 WHERE id = $1",
                    &[&id, hash],
                )
                .await?;
                tx.execute(end_sessions, &[&id]).await?;
            }
            UserChange::Scope(scope) => {
                tx.execute(
                    "UPDATE users SET scope = $2 WHERE id = $1",
                    &[&id, &scope_text(scope)],
                )
                .await?;
            }
            UserChange::Unlock | UserChange::LoginSucceeded => {
                tx.execute(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1",
                    &[&id],
                )
                .await?;
            }
            UserChange::LoginFailed { lock_after, until } => {
                tx.execute(
                    "UPDATE users SET failed_logins = failed_logins + 1,
                        locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3
                                            ELSE locked_until END
                     WHERE id = $1",
                    &[&id, &i64::from(*lock_after), until],
                )
                .await?;
            }
        }
        let changed = user_by_name(&tx, name.as_str()).await?;
        tx.commit().await?;
        Ok(changed)
    }

    pub(super) async fn pg_add_token(&self, t: &NewToken) -> Result<TokenInfo, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "INSERT INTO api_tokens (user_id, digest, label, expires_at)
                 SELECT id, $2, $3, $4 FROM users WHERE name = $1 RETURNING id",
                &[&t.user.as_str(), &t.digest, &t.label, &t.expires_at],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no user `{}`", t.user)))?;
        let id: i64 = row.try_get(0)?;
        token_where(&c, "t.id = $1", &id)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a token just added is missing".into()))
    }

    pub(super) async fn pg_tokens(
        &self,
        user: Option<&UserName>,
    ) -> Result<Vec<TokenInfo>, StoreError> {
        let c = self.client().await?;
        // No user: every token.
        let name = user.map(UserName::as_str);
        token_where(&c, "($1::text IS NULL OR u.name = $1)", &name).await
    }

    pub(super) async fn pg_revoke_token(&self, id: i64) -> Result<Option<TokenInfo>, StoreError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &now()],
        )
        .await?;
        Ok(token_where(&c, "t.id = $1", &id).await?.pop())
    }

    pub(super) async fn pg_token_user(
        &self,
        digest: &str,
    ) -> Result<Option<(TokenInfo, User)>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens t
             JOIN users u ON u.id = t.user_id WHERE t.digest = $1"
        );
        c.query_opt(&sql, &[&digest])
            .await?
            .map(|r| Ok((token_from(&r)?, user_from(&r, 6)?)))
            .transpose()
    }

    pub(super) async fn pg_add_session(&self, s: &SessionInfo) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO sessions (digest, user_id, csrf, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &s.digest,
                &s.user_id,
                &s.csrf,
                &s.created_at,
                &s.last_seen_at,
                &s.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn pg_session_user(
        &self,
        digest: &str,
    ) -> Result<Option<(SessionInfo, User)>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s
             JOIN users u ON u.id = s.user_id WHERE s.digest = $1"
        );
        c.query_opt(&sql, &[&digest])
            .await?
            .map(|r| Ok((session_from(&r)?, user_from(&r, 6)?)))
            .transpose()
    }

    pub(super) async fn pg_touch_session(&self, digest: &str, at: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE sessions SET last_seen_at = $2 WHERE digest = $1",
            &[&digest, &at],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn pg_remove_session(
        &self,
        digest: &str,
        expired_before: &str,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM sessions WHERE digest = $1 OR expires_at < $2",
            &[&digest, &expired_before],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn pg_append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Several servers share one PostGIS: the lock keeps their appends in one chain.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
            .await?;
        let (mut id, mut prev): (i64, String) = match tx
            .query_opt(
                "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await?
        {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (0, GENESIS.to_string()),
        };
        // One statement for the whole batch: a round trip per record would cost the
        // database more than the reads it records.
        let n = entries.len();
        let (mut ids, mut hashes, mut prevs) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for e in entries {
            id += 1;
            let hash = e.chain_hash(&prev);
            ids.push(id);
            prevs.push(std::mem::replace(&mut prev, hash.clone()));
            hashes.push(hash);
        }
        let text = |f: fn(&AuditEntry) -> Option<String>| -> Vec<Option<String>> {
            entries.iter().map(f).collect()
        };
        let counts: Vec<Option<i64>> = entries.iter().map(|e| e.count.map(|c| c as i64)).collect();
        tx.execute(
            &format!(
                "INSERT INTO audit_log ({AUDIT_COLUMNS})
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[],
                     $11::text[], $12::text[], $13::text[], $14::text[])"
            ),
            &[
                &ids,
                &text(|e| Some(e.at.clone())),
                &text(|e| e.actor.clone()),
                &text(|e| e.role.clone()),
                &text(|e| Some(e.action.clone())),
                &text(|e| e.scope.clone()),
                &text(|e| Some(e.endpoint.clone())),
                &text(|e| Some(e.params.clone())),
                &counts,
                &text(|e| e.purpose.clone()),
                &text(|e| Some(e.client.clone())),
                &text(|e| Some(e.detail.clone())),
                &prevs,
                &hashes,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn pg_audit(
        &self,
        filter: &AuditFilter,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let c = self.client().await?;
        let (conds, values) = audit_conditions(filter, after_id);
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {conds} ORDER BY id LIMIT {}",
            limit.min(1_000_000)
        );
        let bound: Vec<Box<dyn ToSql + Sync + Send>> = values
            .into_iter()
            .map(|v| -> Box<dyn ToSql + Sync + Send> {
                match v {
                    AuditParam::Int(i) => Box::new(i),
                    AuditParam::Text(t) => Box::new(t),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        c.query(&sql, &refs).await?.iter().map(audit_from).collect()
    }
}
