//! Households of the embedded store as compact chunks, and duplicate linking across batches.
//!
//! A row per household with thirty-odd columns and three indexes costs SQLite about 9 µs per
//! household; a batch is always written, read and removed whole, so the embedded store keeps
//! households in chunks of a few thousand, each encoded field by field ([`super::columns`])
//! and LZ4-compressed, plus per batch one blob of identity keys for deduplication and
//! a sparse table of the households that repeat one of an earlier batch. A household's id is
//! `batch_id << 32 | index in the batch`.

use std::collections::HashMap;

use serde::Deserialize;

use super::columns::Fields;
use super::StoreError;
use crate::model::{AttrName, Household, Text};

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

/// A chunk of the first layout (still read): the attribute names once, each household's
/// attributes as indexes into them, and the households without their attributes, encoded
/// with postcard household after household.
#[derive(Deserialize)]
struct RowChunk {
    names: Vec<AttrName>,
    attrs: Vec<Vec<(u16, Text)>>,
    households: Vec<Household>,
}

/// How a chunk of the current layout begins: four zero bytes (a chunk of the first layout
/// begins with its decompressed size, never zero) and the layout number.
const LAYOUT_MARK: [u8; 4] = [0; 4];
/// The layout chunks are written in: columns ([`super::columns`]).
const COLUMN_LAYOUT: u8 = 2;

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
    attr_indexes: Vec<u16>,
}

impl ChunkEncoder {
    /// Encodes a chunk of households; the bytes are valid until the next call.
    pub fn encode(&mut self, households: &[Household]) -> Result<&[u8], StoreError> {
        self.raw.clear();
        self.raw.reserve(households.len() * ENCODED_BYTES_HINT);
        super::columns::write_columns(&mut self.raw, &mut self.attr_indexes, households)?;
        // The mark and layout, then the layout of `lz4_flex::compress_prepend_size`: the raw
        // length and the block.
        let size = u32::try_from(self.raw.len())
            .map_err(|_| StoreError::Corrupt("a household chunk over 4 GiB".into()))?;
        self.packed.clear();
        self.packed.extend_from_slice(&LAYOUT_MARK);
        self.packed.push(COLUMN_LAYOUT);
        self.packed.extend_from_slice(&size.to_le_bytes());
        let start = self.packed.len();
        self.packed.resize(
            start + lz4_flex::block::get_maximum_output_size(self.raw.len()),
            0,
        );
        let n = lz4_flex::block::compress_into(&self.raw, &mut self.packed[start..])
            .map_err(|e| StoreError::Corrupt(format!("cannot compress households: {e}")))?;
        Ok(&self.packed[..start + n])
    }
}

/// Encodes a chunk of households.
pub fn encode_chunk(households: &[Household]) -> Result<Vec<u8>, StoreError> {
    Ok(ChunkEncoder::default().encode(households)?.to_vec())
}

/// Decodes a chunk written by [`encode_chunk`] (or by an earlier Lentera in the first
/// layout).
pub fn decode_chunk(data: &[u8]) -> Result<Vec<Household>, StoreError> {
    decode_fields(data, Fields::All)
}

/// [`decode_chunk`], reading only `fields`.
pub(crate) fn decode_fields(data: &[u8], fields: Fields) -> Result<Vec<Household>, StoreError> {
    plausible(decode_layout(data, fields)?)
}

/// Refuses decoded households with a coordinate that is not a number (infinite or NaN), which
/// no import stores (a GPS cell off the globe is kept as typed, and flagged): a damaged or
/// forged chunk, whose points would poison the map's index and tiles.
fn plausible(households: Vec<Household>) -> Result<Vec<Household>, StoreError> {
    for h in &households {
        let point = h.geocode.as_ref().and_then(|g| g.point);
        let numbers = [h.lon, h.lat, point.map(|p| p.0), point.map(|p| p.1)];
        if numbers.iter().flatten().any(|v| !v.is_finite()) {
            return Err(super::columns::corrupt(format_args!(
                "row {} holds a coordinate that is not a number",
                h.source_row
            )));
        }
    }
    Ok(households)
}

/// Decodes either layout.
fn decode_layout(data: &[u8], fields: Fields) -> Result<Vec<Household>, StoreError> {
    use super::columns::corrupt;
    match data.split_first_chunk::<4>() {
        Some((mark, rest)) if *mark == LAYOUT_MARK => match rest.split_first() {
            Some((&COLUMN_LAYOUT, packed)) => {
                super::columns::read_columns(&unpack(packed)?, fields)
            }
            Some((layout, _)) => Err(corrupt(format_args!(
                "layout {layout} is newer than this Lentera knows"
            ))),
            None => Err(corrupt("no layout after the mark")),
        },
        _ => decode_row_chunk(data),
    }
}

/// LZ4 data behind its uncompressed size. The decoder reserves the size it is told before it
/// reads a byte, so a damaged or forged size (up to 4 GiB) is checked first: LZ4 cannot
/// expand its input more than 255-fold.
fn unpack(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    use super::columns::corrupt;
    let Some((size, packed)) = data.split_first_chunk::<4>() else {
        return Err(corrupt("the chunk is shorter than its size"));
    };
    let size = u32::from_le_bytes(*size) as usize;
    if size > packed.len().saturating_mul(255).saturating_add(16) {
        return Err(corrupt(format_args!(
            "the chunk says it holds {size} bytes, more than its {} compressed bytes can",
            packed.len()
        )));
    }
    lz4_flex::decompress_size_prepended(data).map_err(corrupt)
}

/// Decodes a chunk of the first layout.
fn decode_row_chunk(data: &[u8]) -> Result<Vec<Household>, StoreError> {
    use super::columns::corrupt;
    let raw = unpack(data)?;
    let repr: RowChunk = postcard::from_bytes(&raw).map_err(corrupt)?;
    if repr.attrs.len() != repr.households.len() {
        return Err(corrupt("attribute and household counts differ"));
    }
    let mut households = repr.households;
    for (h, own) in households.iter_mut().zip(repr.attrs) {
        h.attrs = own
            .into_iter()
            .map(|(i, v)| {
                repr.names
                    .get(usize::from(i))
                    .map(|k| (*k, v))
                    .ok_or_else(|| corrupt("attribute name out of range"))
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

/// Encodes key entries as a blob, in the order given (a batch's, household by household).
///
/// They are not sorted: they are only ever read whole, into a hash map
/// ([`link_period`]), and sorting a million households' keys would be the longest step at
/// the end of an import, on one core. Blobs of earlier versions, sorted by key, read the same.
pub fn encode_keys(entries: Vec<KeyEntry>) -> Vec<u8> {
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
                index: u32::from_le_bytes([c[17], c[18], c[19], c[20]]),
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

    #[test]
    fn a_coordinate_that_is_not_a_number_is_refused() {
        let mut households = varied_households();
        let good = decode_chunk(&encode_chunk(&households).unwrap()).unwrap();
        assert_eq!(good, households);
        households[0].lon = Some(f64::NAN);
        let err = decode_chunk(&encode_chunk(&households).unwrap()).unwrap_err();
        assert!(err.to_string().contains("not a number"), "{err}");
    }

    #[test]
    fn a_forged_size_is_refused_before_anything_is_reserved() {
        for layout in [&[0u8, 0, 0, 0, COLUMN_LAYOUT][..], &[][..]] {
            let mut forged = layout.to_vec();
            forged.extend_from_slice(&u32::MAX.to_le_bytes());
            forged.extend_from_slice(b"\x10abc");
            let err = decode_chunk(&forged).unwrap_err().to_string();
            assert!(
                err.contains("more than its 4 compressed bytes can"),
                "{err}"
            );
        }
    }

    fn entry(tag: u8, b: u8, index: u32) -> KeyEntry {
        KeyEntry {
            key: (tag, [b; 16]),
            index,
        }
    }

    /// Households with every kind of field filled somewhere, and gaps elsewhere.
    fn varied_households() -> Vec<Household> {
        use crate::model::{DesilScale, DuplicateOf, Program, Sex};
        use crate::model::{Flags, Geocode, Quality};
        use crate::region::Kode;
        let atap = AttrName::new("atap");
        (0..40u64)
            .map(|i| {
                let mut h = Household {
                    // Rows rise, except one that goes back (a DTKS head after its members).
                    source_row: if i == 7 { 2 } else { 10 + i * 3 },
                    head_name: Some(format!("Kepala Keluarga Nomor {i} Bin Abdullah").into()),
                    address: crate::model::Address {
                        desa: Some("Loa Janan Ilir".into()),
                        rt: (i % 3 != 0).then(|| format!("{:03}", i % 7).into()),
                        ..Default::default()
                    },
                    nik_hash: Some([i as u8; 32]),
                    nik_masked: Some("647201********01".into()),
                    kk_hash: (i % 2 == 0).then_some([255 - i as u8; 32]),
                    sex: Some(if i % 2 == 0 { Sex::L } else { Sex::P }),
                    members: (i % 5 != 0).then_some(i as u32),
                    desil: Some((i % 4) as u8 + 1),
                    desil_scale: Some(DesilScale::Four),
                    extreme_poor: (i % 4 == 0).then_some(i % 8 == 0),
                    lat: (i % 6 == 0).then_some(-0.5 - i as f64 / 1000.0),
                    lon: (i % 6 == 0).then_some(117.1 + i as f64 / 1000.0),
                    duplicate_of: (i == 9).then_some(DuplicateOf::Row(12)),
                    geocode: (i % 2 == 1).then(|| Geocode {
                        kode_desa: Kode::parse("64.72.01.1001").ok(),
                        unit: Kode::parse("64.72.01.1001").ok(),
                        quality: Quality::Code,
                        flags: Flags(i as u16 & 3),
                        point: Some((117.15, -0.52)),
                        candidates: Vec::new(),
                    }),
                    ..Household::default()
                };
                h.programs.set(Program::Pkh, i % 3 == 0);
                if i % 4 != 3 {
                    h.attrs.push((atap, format!("seng {i}").into()));
                }
                // A name that appears part-way through the chunk, in another position.
                if i > 20 {
                    h.attrs.insert(0, (AttrName::new("lantai"), "tanah".into()));
                }
                h
            })
            .collect()
    }

    #[test]
    fn chunks_round_trip_with_shared_attribute_names() {
        let households = varied_households();
        let data = encode_chunk(&households).unwrap();
        let back = decode_chunk(&data).unwrap();
        assert_eq!(back, households);
        let atap = AttrName::new("atap");
        assert!(std::ptr::eq(back[0].attrs[0].0.as_str(), atap.as_str()));
        assert_eq!(decode_chunk(&encode_chunk(&[]).unwrap()).unwrap(), vec![]);
    }

    #[test]
    fn chunks_of_the_first_layout_still_decode() {
        #[derive(serde::Serialize)]
        struct FirstLayout<'a> {
            names: Vec<AttrName>,
            attrs: Vec<Vec<(u16, Text)>>,
            households: &'a [Household],
        }
        let households = varied_households();
        let mut names: Vec<AttrName> = Vec::new();
        let mut attrs = Vec::new();
        let mut bare = households.clone();
        for h in &mut bare {
            let own = std::mem::take(&mut h.attrs)
                .into_iter()
                .map(|(k, v)| {
                    let i = names.iter().position(|n| *n == k).unwrap_or_else(|| {
                        names.push(k);
                        names.len() - 1
                    });
                    (i as u16, v)
                })
                .collect();
            attrs.push(own);
        }
        let raw = postcard::to_allocvec(&FirstLayout {
            names,
            attrs,
            households: &bare,
        })
        .unwrap();
        let data = lz4_flex::compress_prepend_size(&raw);
        assert_eq!(decode_chunk(&data).unwrap(), households);
    }

    #[test]
    fn counted_fields_read_what_counting_needs_and_nothing_personal() {
        let households = varied_households();
        let data = encode_chunk(&households).unwrap();
        let counted = decode_fields(&data, Fields::Counted).unwrap();
        assert_eq!(counted.len(), households.len());
        for (c, h) in counted.iter().zip(&households) {
            assert_eq!(
                crate::model::HouseholdFacts::of(1, c),
                crate::model::HouseholdFacts::of(1, h)
            );
            assert_eq!(c.head_name, None);
            assert_eq!(c.address.street, None);
            assert!(c.attrs.is_empty());
        }
    }

    #[test]
    fn damaged_chunks_are_errors_never_panics() {
        let data = encode_chunk(&varied_households()).unwrap();
        for cut in 0..data.len() {
            assert!(decode_chunk(&data[..cut]).is_err(), "cut at {cut}");
        }
        // Damage inside the columns themselves, behind a valid compressed frame.
        let raw = lz4_flex::decompress_size_prepended(&data[5..]).unwrap();
        for cut in 0..raw.len() {
            for fields in [Fields::All, Fields::Counted] {
                assert!(super::super::columns::read_columns(&raw[..cut], fields).is_err());
            }
        }
        for at in (0..raw.len()).step_by(3) {
            let mut bad = raw.clone();
            bad[at] ^= 0xa5;
            let _ = super::super::columns::read_columns(&bad, Fields::All);
            let _ = super::super::columns::read_columns(&bad, Fields::Counted);
        }
        let mut newer = data.clone();
        newer[4] = 9;
        let err = decode_chunk(&newer).unwrap_err().to_string();
        assert!(err.contains("layout 9 is newer"), "{err}");
        assert!(decode_chunk(b"not a chunk").is_err());
    }

    #[test]
    fn ids_split_back() {
        let id = household_id(7, 123_456);
        assert_eq!(split_id(id), (7, 123_456));
        assert!(household_id(7, u32::MAX) < household_id(8, 0));
    }

    #[test]
    fn key_blobs_round_trip_in_order() {
        let entries = vec![entry(1, 9, 0), entry(0, 3, 1), entry(0, 3, 0)];
        let back = decode_keys(&encode_keys(entries.clone())).unwrap();
        assert_eq!(back, entries);
        assert!(decode_keys(&[1, 2, 3]).is_err());
        // Keys differing in any byte, first or last, come back whole.
        let many: Vec<KeyEntry> = (0u32..300)
            .map(|i| {
                let mut hash = [0u8; 16];
                hash[(i % 16) as usize] = (i * 37 % 251) as u8;
                hash[15 - (i % 7) as usize] ^= (i * 11 % 256) as u8;
                KeyEntry {
                    key: ((i % 2) as u8, hash),
                    index: 1000 - i,
                }
            })
            .collect();
        let back = decode_keys(&encode_keys(many.clone())).unwrap();
        assert_eq!(back, many);
    }

    #[test]
    fn links_do_not_depend_on_the_order_of_a_key_blob() {
        // Blobs written sorted by key (earlier versions) and in household order link alike.
        let in_order = vec![
            (
                1,
                vec![
                    entry(0, 7, 0),
                    entry(1, 2, 0),
                    entry(0, 1, 1),
                    entry(1, 5, 1),
                ],
            ),
            (2, vec![entry(0, 1, 0), entry(1, 2, 1), entry(0, 9, 2)]),
            (3, vec![entry(1, 5, 0), entry(0, 9, 1), entry(0, 4, 2)]),
        ];
        let mut sorted = in_order.clone();
        for (_, entries) in &mut sorted {
            entries.sort();
        }
        let (links, primaries) = link_period(&in_order);
        let (sorted_links, sorted_primaries) = link_period(&sorted);
        assert_eq!(links, vec![(2, 0, 1), (2, 1, 1), (3, 0, 1), (3, 1, 2)]);
        assert_eq!(sorted_links, links);
        assert_eq!(primaries.find(&[(0, [4; 16])]), Some(3));
        assert_eq!(sorted_primaries.find(&[(0, [4; 16])]), Some(3));
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
