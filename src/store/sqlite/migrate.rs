//! Bringing an embedded store up to the current schema, including the one data migration:
//! households stored a row each (schema versions 2 and 3) moved into chunks (version 4).

use rusqlite::{params, Connection};

use super::batch::insert_links;
use super::chunks::{self, KeyEntry};
use crate::model::DuplicateOf;
use crate::store::migrations::{failed, pending};
use crate::store::rows::{stored_household, HOUSEHOLD_COLUMNS};
use crate::store::StoreError;

/// The schema version whose migration moves household rows into chunks.
const ROWS_TO_CHUNKS: i64 = 4;

/// Applies the pending migrations in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for m in pending(current)? {
        tx.execute_batch(m.sqlite).map_err(|e| failed(m, e))?;
        if m.version == ROWS_TO_CHUNKS {
            rows_to_chunks(&tx).map_err(|e| failed(m, e))?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            params![m.version, m.name],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Households per chunk when rows of an older schema are moved into chunks.
const MIGRATED_CHUNK: usize = 4096;

/// Moves households stored a row each (schema versions 2 and 3) into chunks, keys and links,
/// then drops the row table.
fn rows_to_chunks(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let batches: Vec<(i64, String)> = tx
        .prepare("SELECT id, period FROM household_batches ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let sql = format!(
        "SELECT id, {} FROM households WHERE batch_id = ?1 ORDER BY id",
        *HOUSEHOLD_COLUMNS
    );
    for (batch_id, period) in batches {
        let mut households = Vec::new();
        let mut keys = Vec::new();
        let mut links = Vec::new();
        let mut st = tx.prepare(&sql)?;
        let mut rows = st.query([batch_id])?;
        while let Some(r) = rows.next()? {
            let mut h = stored_household(r)?.household;
            let index = households.len() as u32;
            match h.duplicate_of {
                Some(DuplicateOf::Batch(other)) => {
                    links.push((batch_id, index, other));
                    h.duplicate_of = None;
                }
                Some(DuplicateOf::Row(_)) => {}
                None => keys.extend(chunks::identity_keys(&h).map(|key| KeyEntry { key, index })),
            }
            households.push(h);
        }
        for (no, part) in households.chunks_mut(MIGRATED_CHUNK).enumerate() {
            tx.execute(
                "INSERT INTO household_chunks (batch_id, chunk, first_index, households, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    batch_id,
                    no as i64,
                    (no * MIGRATED_CHUNK) as i64,
                    part.len() as i64,
                    chunks::encode_chunk(part)?
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO household_keys (batch_id, period, data) VALUES (?1, ?2, ?3)",
            params![batch_id, period, chunks::encode_keys(keys)],
        )?;
        insert_links(tx, links.into_iter())?;
    }
    tx.execute_batch("DROP TABLE households;")?;
    Ok(())
}
