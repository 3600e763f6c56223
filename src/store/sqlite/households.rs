//! Reading the households of the embedded store back from their chunks, correcting some of
//! them, and removing a batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::batch::{find_batch, insert_links, period_batches};
use super::chunks;
use super::columns::Fields;
use crate::model::{BatchInfo, DuplicateOf, Household, Period, SourceFormat, StoredHousehold};
use crate::store::rows::corrupt;
use crate::store::{StoreError, StoredChunks};

/// A batch as [`visit_households`] reports it.
struct BatchRef {
    id: i64,
    period: Period,
    source: SourceFormat,
}

impl BatchRef {
    /// The stored household at `index` of this batch.
    fn stored(&self, index: u32, household: Household) -> StoredHousehold {
        StoredHousehold {
            id: chunks::household_id(self.id, index),
            batch_id: self.id,
            period: self.period,
            source: self.source,
            household,
        }
    }
}

/// Decodes `fields` of the households of one batch (or all), chunk by chunk, and hands each
/// to `each` with its batch and index, its duplicate link filled in.
pub(super) fn visit_households(
    c: &Connection,
    batch_id: Option<i64>,
    fields: Fields,
    mut each: impl FnMut(StoredHousehold),
) -> Result<(), StoreError> {
    for batch in &batch_refs(c, batch_id)? {
        let links = batch_links(c, batch.id)?;
        let mut st = c.prepare(
            "SELECT first_index, data FROM household_chunks WHERE batch_id = ?1 ORDER BY chunk",
        )?;
        let mut rows = st.query([batch.id])?;
        while let Some(r) = rows.next()? {
            let first: u32 = r.get(0)?;
            let data = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            for (i, household) in decode_linked(data, first, &links, fields)? {
                each(batch.stored(i, household));
            }
        }
    }
    Ok(())
}

/// The batches `batch_id` names (all when `None`), in id order.
fn batch_refs(c: &Connection, batch_id: Option<i64>) -> Result<Vec<BatchRef>, StoreError> {
    c.prepare(
        "SELECT id, period, source FROM household_batches
         WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
    )?
    .query_and_then([batch_id], |r| {
        Ok(BatchRef {
            id: r.get(0)?,
            period: r.get::<_, String>(1)?.parse().map_err(corrupt)?,
            source: r.get::<_, String>(2)?.parse().map_err(corrupt)?,
        })
    })?
    .collect()
}

/// The households of a batch that repeat one of an earlier batch: index → that batch.
fn batch_links(c: &Connection, batch_id: i64) -> Result<HashMap<u32, i64>, StoreError> {
    Ok(
        c.prepare("SELECT idx, other_batch FROM household_links WHERE batch_id = ?1")?
            .query_map([batch_id], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?,
    )
}

/// Decodes a chunk whose first household has index `first`, marking duplicates from `links`.
fn decode_linked<'a>(
    data: &[u8],
    first: u32,
    links: &'a HashMap<u32, i64>,
    fields: Fields,
) -> Result<impl Iterator<Item = (u32, Household)> + 'a, StoreError> {
    Ok(chunks::decode_fields(data, fields)?
        .into_iter()
        .enumerate()
        .map(move |(i, mut household)| {
            let index = first + i as u32;
            if let Some(other) = links.get(&index) {
                household.duplicate_of = Some(DuplicateOf::Batch(*other));
            }
            (index, household)
        }))
}

/// Streams households chunk by chunk, taking the connection only while a chunk is read, so
/// that a long export does not hold up imports or the snapshot refresher.
pub(super) fn stream_chunks(
    conn: &Mutex<Connection>,
    batch_id: Option<i64>,
    sink: &StoredChunks,
) -> Result<(), StoreError> {
    let lock = || conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let batches = batch_refs(&lock(), batch_id)?;
    for batch in &batches {
        let (links, chunk_numbers) = {
            let c = lock();
            let numbers: Vec<i64> = c
                .prepare("SELECT chunk FROM household_chunks WHERE batch_id = ?1 ORDER BY chunk")?
                .query_map([batch.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            (batch_links(&c, batch.id)?, numbers)
        };
        for chunk in chunk_numbers {
            let row: Option<(u32, Vec<u8>)> = lock()
                .query_row(
                    "SELECT first_index, data FROM household_chunks
                     WHERE batch_id = ?1 AND chunk = ?2",
                    params![batch.id, chunk],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            // The batch was removed while it was read: what was sent stands, the rest is gone.
            let Some((first, data)) = row else {
                return Ok(());
            };
            let households: Vec<StoredHousehold> =
                decode_linked(&data, first, &links, Fields::All)?
                    .map(|(index, household)| batch.stored(index, household))
                    .collect();
            if sink.blocking_send(households).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Stores reviewed households of batch `batch_id` (see [`crate::store::Store::correct_households`]).
pub(super) fn correct(
    c: &mut Connection,
    batch_id: i64,
    corrected: Vec<(i64, Household)>,
) -> Result<u64, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut by_chunk: BTreeMap<i64, Vec<(u32, Household)>> = BTreeMap::new();
    {
        let mut find = tx.prepare(
            "SELECT chunk FROM household_chunks WHERE batch_id = ?1 AND first_index <= ?2
             AND ?2 < first_index + households",
        )?;
        for (id, h) in corrected {
            let (b, index) = chunks::split_id(id);
            if b != batch_id {
                continue;
            }
            if let Some(chunk) = find
                .query_row(params![batch_id, index], |r| r.get::<_, i64>(0))
                .optional()?
            {
                by_chunk.entry(chunk).or_default().push((index, h));
            }
        }
    }
    let mut n = 0u64;
    for (chunk, fixes) in by_chunk {
        let (first, data): (u32, Vec<u8>) = tx.query_row(
            "SELECT first_index, data FROM household_chunks
             WHERE batch_id = ?1 AND chunk = ?2",
            params![batch_id, chunk],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut households = chunks::decode_chunk(&data)?;
        for (index, fixed) in fixes {
            let h = households
                .get_mut((index - first) as usize)
                .ok_or_else(|| corrupt(format!("household {index} is not in its chunk")))?;
            h.region_code = fixed.region_code;
            h.address.desa = fixed.address.desa;
            h.address.kecamatan = fixed.address.kecamatan;
            h.address.kabupaten = fixed.address.kabupaten;
            h.lat = fixed.lat;
            h.lon = fixed.lon;
            h.geocode = fixed.geocode;
            n += 1;
        }
        tx.execute(
            "UPDATE household_chunks SET data = ?3 WHERE batch_id = ?1 AND chunk = ?2",
            params![batch_id, chunk, chunks::encode_chunk(&households)?],
        )?;
    }
    tx.commit()?;
    Ok(n)
}

/// Removes batch `id` (see [`crate::store::Store::remove_batch`]).
pub(super) fn remove(c: &mut Connection, id: i64) -> Result<Option<BatchInfo>, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(info) = find_batch(&tx, "id", &id)? else {
        return Ok(None);
    };
    for table in [
        "household_rejects",
        "household_chunks",
        "household_keys",
        "household_links",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE batch_id = ?1"), [id])?;
    }
    tx.execute("DELETE FROM household_batches WHERE id = ?1", [id])?;
    // Households that repeated one of the removed batch now repeat the next earliest, or are
    // primaries themselves: link the period again.
    let remaining = period_batches(&tx, &info.period.to_string(), None)?;
    for (b, _) in &remaining {
        tx.execute("DELETE FROM household_links WHERE batch_id = ?1", [b])?;
    }
    let (links, _) = chunks::link_period(&remaining);
    insert_links(&tx, links.into_iter())?;
    tx.commit()?;
    Ok(Some(info))
}
