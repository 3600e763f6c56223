//! Households of the embedded store as compact chunks, and duplicate linking across batches.
//!
//! A row per household with thirty-odd columns and three indexes costs SQLite about 9 µs per
//! household; a batch is always written, read and removed whole, so the embedded store keeps
//! households in chunks of a few thousand, each encoded with `postcard` (a compact serde
//! format, then LZ4-compressed), plus per batch one sorted blob of identity keys for deduplication and a sparse
//! table of the households that repeat one of an earlier batch. A household's id is
//! `batch_id << 32 | index in the batch`.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ingest::households::model::{Household, Text};

/// Bits of a household id that hold its index within the batch.
pub const INDEX_BITS: u32 = 32;

/// The id of the `index`-th household of a batch.
pub fn household_id(batch_id: i64, index: u32) -> i64 {
    (batch_id << INDEX_BITS) | i64::from(index)
}

/// The batch and index of a household id.
pub fn split_id(id: i64) -> (i64, u32) {
    (id >> INDEX_BITS, (id & 0xffff_ffff) as u32)
}

/// A chunk as written: the attribute names once, each household's attributes as indexes into
/// them (a P3KE household carries a dozen attributes whose names would otherwise repeat in
/// every record and double the chunk), and the households without their attributes.
#[derive(Serialize, Deserialize)]
struct ChunkRepr {
    names: Vec<Arc<str>>,
    attrs: Vec<Vec<(u16, Text)>>,
    households: Vec<Household>,
}

/// [`ChunkRepr`] borrowed, for writing without copying the households.
#[derive(Serialize)]
struct ChunkReprRef<'a> {
    names: &'a [Arc<str>],
    attrs: &'a [Vec<(u16, Text)>],
    households: &'a [Household],
}

/// Bytes reserved per household for a chunk's encoding (a P3KE household takes about 400),
/// so that the buffer is not grown and copied while it is written.
const ENCODED_BYTES_HINT: usize = 512;

/// Encodes chunks into buffers kept from one chunk to the next: a batch of a million
/// households is a few hundred chunks of a few megabytes each, which would otherwise be fresh
/// memory the kernel zeroes every time.
#[derive(Debug, Default)]
pub struct ChunkEncoder {
    raw: Vec<u8>,
    packed: Vec<u8>,
}

impl ChunkEncoder {
    /// Encodes a chunk of households (their attributes are moved out on the way); the bytes
    /// are valid until the next call.
    pub fn encode(&mut self, households: &mut [Household]) -> Result<&[u8], StoreError> {
        let (names, attrs) = attribute_table(households)?;
        let repr = ChunkReprRef {
            names: &names,
            attrs: &attrs,
            households,
        };
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        raw.reserve(households.len() * ENCODED_BYTES_HINT);
        self.raw = postcard::to_extend(&repr, raw)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode households: {e}")))?;
        // The layout of `lz4_flex::compress_prepend_size`: the raw length, then the block.
        let size = u32::try_from(self.raw.len())
            .map_err(|_| StoreError::Corrupt("a household chunk over 4 GiB".into()))?;
        self.packed.clear();
        self.packed.extend_from_slice(&size.to_le_bytes());
        self.packed.resize(
            4 + lz4_flex::block::get_maximum_output_size(self.raw.len()),
            0,
        );
        let n = lz4_flex::block::compress_into(&self.raw, &mut self.packed[4..])
            .map_err(|e| StoreError::Corrupt(format!("cannot compress households: {e}")))?;
        Ok(&self.packed[..4 + n])
    }
}

/// The attribute names of a chunk's households, and each household's attributes as indexes
/// into them (moved out of the households).
#[allow(clippy::type_complexity)]
fn attribute_table(
    households: &mut [Household],
) -> Result<(Vec<Arc<str>>, Vec<Vec<(u16, Text)>>), StoreError> {
    // A chunk holds a few dozen names at most and the rows of one file share the same `Arc`s
    // in the same order, so the name at the attribute's own position is tried first, then the
    // list by pointer, then by text: cheaper than hashing every name.
    let mut names: Vec<Arc<str>> = Vec::new();
    let mut attrs = Vec::with_capacity(households.len());
    for h in households.iter_mut() {
        let mut own = Vec::with_capacity(h.attrs.len());
        for (j, (k, v)) in std::mem::take(&mut h.attrs).into_iter().enumerate() {
            let found = names
                .get(j)
                .filter(|n| Arc::ptr_eq(n, &k))
                .map(|_| j)
                .or_else(|| names.iter().position(|n| Arc::ptr_eq(n, &k)))
                .or_else(|| names.iter().position(|n| *n == k));
            let i = match found {
                Some(i) => i,
                None => {
                    names.push(k);
                    names.len() - 1
                }
            };
            let i = u16::try_from(i).map_err(|_| {
                StoreError::Corrupt("more than 65,535 attribute names in a chunk".into())
            })?;
            own.push((i, v));
        }
        attrs.push(own);
    }
    Ok((names, attrs))
}

/// Encodes a chunk of households (their attributes are moved out on the way).
pub fn encode_chunk(households: &mut [Household]) -> Result<Vec<u8>, StoreError> {
    Ok(ChunkEncoder::default().encode(households)?.to_vec())
}

/// Decodes a chunk written by [`encode_chunk`]; households of a chunk share their attribute
/// names.
pub fn decode_chunk(data: &[u8]) -> Result<Vec<Household>, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("household chunk does not decode: {e}"));
    let raw = lz4_flex::decompress_size_prepended(data).map_err(|e| corrupt(e.to_string()))?;
    let repr: ChunkRepr = postcard::from_bytes(&raw).map_err(|e| corrupt(e.to_string()))?;
    if repr.attrs.len() != repr.households.len() {
        return Err(corrupt("attribute and household counts differ".into()));
    }
    let mut households = repr.households;
    for (h, own) in households.iter_mut().zip(repr.attrs) {
        h.attrs = own
            .into_iter()
            .map(|(i, v)| {
                repr.names
                    .get(usize::from(i))
                    .map(|k| (k.clone(), v))
                    .ok_or_else(|| corrupt("attribute name out of range".into()))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(households)
}

/// An identity key as kept for deduplication: which number (0 = KK, 1 = head NIK) and the first
/// 16 bytes of its keyed hash (a chance collision among 50 million keys is about 1 in 10²³).
pub type IdentityKey = (u8, [u8; 16]);

/// One entry of a batch's key blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyEntry {
    /// The key.
    pub key: IdentityKey,
    /// Index of the household in its batch.
    pub index: u32,
}

const ENTRY_BYTES: usize = 1 + 16 + 4;

/// The identity keys of a household.
pub fn identity_keys(h: &Household) -> impl Iterator<Item = IdentityKey> + '_ {
    h.identity_keys().map(|(tag, hash)| {
        let mut k = [0u8; 16];
        k.copy_from_slice(&hash[..16]);
        (tag, k)
    })
}

/// Encodes key entries (sorted here) as a blob.
pub fn encode_keys(mut entries: Vec<KeyEntry>) -> Vec<u8> {
    entries.sort_unstable();
    let mut out = Vec::with_capacity(entries.len() * ENTRY_BYTES);
    for e in entries {
        out.push(e.key.0);
        out.extend_from_slice(&e.key.1);
        out.extend_from_slice(&e.index.to_le_bytes());
    }
    out
}

/// Decodes a key blob.
pub fn decode_keys(data: &[u8]) -> Result<Vec<KeyEntry>, StoreError> {
    if data.len() % ENTRY_BYTES != 0 {
        return Err(StoreError::Corrupt(
            "household key blob has a torn entry".into(),
        ));
    }
    Ok(data
        .chunks_exact(ENTRY_BYTES)
        .map(|c| {
            let mut k = [0u8; 16];
            k.copy_from_slice(&c[1..17]);
            KeyEntry {
                key: (c[0], k),
                index: u32::from_le_bytes(c[17..21].try_into().expect("4 bytes")),
            }
        })
        .collect())
}

/// The first batch holding each identity key as a household that is not itself a duplicate:
/// what a household of a later batch of the same period is a duplicate of.
#[derive(Debug, Default)]
pub struct Primaries {
    first: HashMap<IdentityKey, i64>,
}

impl Primaries {
    /// The earlier batch a household with these keys repeats, KK before NIK.
    pub fn find(&self, keys: &[IdentityKey]) -> Option<i64> {
        keys.iter().find_map(|k| self.first.get(k).copied())
    }

    /// Records a batch's primary households (those not linked to an earlier batch).
    pub fn add(&mut self, batch_id: i64, keys: impl IntoIterator<Item = IdentityKey>) {
        for k in keys {
            self.first.entry(k).or_insert(batch_id);
        }
    }
}

/// Links the households of batches of one period, given in id order with their key entries
/// (households that repeat one earlier in their own batch have none): returns, per batch,
/// `(index, earlier batch)` for each household that repeats a primary household of an
/// earlier batch, and the primaries of all of them.
pub fn link_period(batches: &[(i64, Vec<KeyEntry>)]) -> (Vec<(i64, u32, i64)>, Primaries) {
    let mut primaries = Primaries::default();
    let mut links = Vec::new();
    for (batch_id, entries) in batches {
        let mut by_index: HashMap<u32, Vec<IdentityKey>> = HashMap::new();
        for e in entries {
            by_index.entry(e.index).or_default().push(e.key);
        }
        let mut indexes: Vec<u32> = by_index.keys().copied().collect();
        indexes.sort_unstable();
        let mut fresh = Vec::new();
        for i in indexes {
            let mut keys = by_index.remove(&i).unwrap_or_default();
            keys.sort_unstable();
            match primaries.find(&keys) {
                Some(other) => links.push((*batch_id, i, other)),
                None => fresh.extend(keys),
            }
        }
        primaries.add(*batch_id, fresh);
    }
    (links, primaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tag: u8, b: u8, index: u32) -> KeyEntry {
        KeyEntry {
            key: (tag, [b; 16]),
            index,
        }
    }

    #[test]
    fn chunks_round_trip_with_shared_attribute_names() {
        let name: Arc<str> = Arc::from("atap");
        let mut households: Vec<Household> = (0..3)
            .map(|i| Household {
                source_row: i,
                head_name: Some(format!("Kepala {i}").into()),
                attrs: vec![
                    (name.clone(), format!("seng {i}").into()),
                    (Arc::from("lantai"), "tanah".into()),
                ],
                ..Household::default()
            })
            .collect();
        let before = households.clone();
        let data = encode_chunk(&mut households).unwrap();
        let back = decode_chunk(&data).unwrap();
        assert_eq!(back, before);
        assert!(Arc::ptr_eq(&back[0].attrs[0].0, &back[2].attrs[0].0));
        assert!(decode_chunk(&data[..data.len() / 2]).is_err());
        assert!(decode_chunk(b"not a chunk").is_err());
    }

    #[test]
    fn ids_split_back() {
        let id = household_id(7, 123_456);
        assert_eq!(split_id(id), (7, 123_456));
        assert!(household_id(7, u32::MAX) < household_id(8, 0));
    }

    #[test]
    fn key_blobs_round_trip_sorted() {
        let entries = vec![entry(1, 9, 0), entry(0, 3, 1), entry(0, 3, 0)];
        let back = decode_keys(&encode_keys(entries)).unwrap();
        assert_eq!(back, vec![entry(0, 3, 0), entry(0, 3, 1), entry(1, 9, 0)]);
        assert!(decode_keys(&[1, 2, 3]).is_err());
    }

    #[test]
    fn later_batches_link_to_the_first_primary() {
        // Batch 1 has A (KK 1) and B (NIK 2); batch 2 repeats A by KK (with NIK 5) and has C
        // (KK 3); batch 3 has NIK 5, which no primary holds, and repeats C.
        let batches = vec![
            (1, vec![entry(0, 1, 0), entry(1, 2, 1)]),
            (2, vec![entry(0, 1, 0), entry(1, 5, 0), entry(0, 3, 1)]),
            (3, vec![entry(1, 5, 0), entry(0, 3, 1)]),
        ];
        let (links, _) = link_period(&batches);
        assert_eq!(links, vec![(2, 0, 1), (3, 1, 2)]);
        // Without batch 1, batch 2's first household becomes the primary.
        let (links, _) = link_period(&batches[1..]);
        assert_eq!(links, vec![(3, 0, 2), (3, 1, 2)]);
    }
}
