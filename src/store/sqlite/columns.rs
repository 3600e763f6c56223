//! The columnar layout of a household chunk: each field of all the chunk's households
//! together (every head name, then every street, … then every desil).
//!
//! Grouped this way, a column of desa or kabupaten names is a few long repeats and the
//! chunk compresses better and faster than household after household, and writing a column
//! is a loop of byte copies rather than a serde call per field. Written by hand because no
//! columnar crate fits: Arrow or Parquet would add hundreds of crates for one blob format.
//!
//! Layout (before LZ4): the household count, the attribute names, row numbers as deltas, the
//! text columns (per column: one length per household, `0` for none and `len + 1` otherwise,
//! then the bytes), the two identity hashes (a presence byte per household, then 32 bytes
//! each), the small typed fields as postcard sequences, and the attributes (counts, name
//! indexes, values). Numbers are LEB128 varints.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;
use crate::model::{AttrName, Household, IdHash, Text};

/// Calls `$m!(field path)` for every text field of a household, in layout order.
macro_rules! text_fields {
    ($m:ident) => {
        $m!(source_id);
        $m!(head_name);
        $m!(nik_masked);
        $m!(kk_masked);
        $m!(birth_date);
        $m!(address.street);
        $m!(address.rt);
        $m!(address.rw);
        $m!(address.dusun);
        $m!(address.desa);
        $m!(address.kecamatan);
        $m!(address.kabupaten);
        $m!(address.provinsi);
        $m!(region_code);
    };
}

/// Calls `$m!(field)` for every small typed field of a household, in layout order.
macro_rules! typed_fields {
    ($m:ident) => {
        $m!(sex);
        $m!(members);
        $m!(desil);
        $m!(desil_scale);
        $m!(extreme_poor);
        $m!(programs);
        $m!(lat);
        $m!(lon);
        $m!(geocode);
    };
}

/// Fewer bytes than any household takes in the layout (it takes over thirty).
const MIN_HOUSEHOLD_BYTES: usize = 16;

/// The error of a chunk that does not decode, saying why.
pub(super) fn corrupt(why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("household chunk does not decode: {why}"))
}

/// Writes a chunk's columns into a buffer kept between chunks.
struct ColumnWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl ColumnWriter<'_> {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn text(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
    }

    /// A column of optional texts: the lengths, then the bytes.
    fn text_column<'h>(&mut self, values: impl Iterator<Item = Option<&'h str>> + Clone) {
        for v in values.clone() {
            self.varint(v.map_or(0, |s| s.len() as u64 + 1));
        }
        for s in values.flatten() {
            self.out.extend_from_slice(s.as_bytes());
        }
    }

    fn hash_column<'h>(&mut self, values: impl Iterator<Item = Option<&'h IdHash>> + Clone) {
        self.out
            .extend(values.clone().map(|v| u8::from(v.is_some())));
        for h in values.flatten() {
            self.out.extend_from_slice(h);
        }
    }

    /// A column of a small typed field, as a postcard sequence.
    fn typed_column<'h, T: Serialize + 'h>(
        &mut self,
        households: &'h [Household],
        field: fn(&'h Household) -> &'h T,
    ) -> Result<(), StoreError> {
        /// The field of every household, serialised as a sequence without collecting it.
        struct Column<'h, T>(&'h [Household], fn(&'h Household) -> &'h T);
        impl<T: Serialize> Serialize for Column<'_, T> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(self.1))
            }
        }
        let out = std::mem::take(self.out);
        *self.out = postcard::to_extend(&Column(households, field), out)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode households: {e}")))?;
        Ok(())
    }
}

/// Writes `households` in the columnar layout, appending to `out`; `scratch` is kept between
/// chunks.
pub(super) fn write_columns(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u16>,
    households: &[Household],
) -> Result<(), StoreError> {
    let names = attribute_names(households, scratch)?;
    let mut w = ColumnWriter { out };
    w.varint(households.len() as u64);
    w.varint(names.len() as u64);
    for n in &names {
        w.text(n);
    }
    let mut previous = 0u64;
    for h in households {
        // Rows rise through a file: the difference is one byte, wrapped when it is not.
        w.varint(h.source_row.wrapping_sub(previous));
        previous = h.source_row;
    }
    macro_rules! write_text {
        ($($f:ident).+) => {
            w.text_column(households.iter().map(|h| h.$($f).+.as_deref()));
        };
    }
    text_fields!(write_text);
    // Duplicate marks as their text (`row 12`), after the text fields: rare, so made on the fly.
    let marks: Vec<Option<String>> = households
        .iter()
        .map(|h| h.duplicate_of.map(|d| d.to_string()))
        .collect();
    w.text_column(marks.iter().map(Option::as_deref));
    w.hash_column(households.iter().map(|h| h.nik_hash.as_ref()));
    w.hash_column(households.iter().map(|h| h.kk_hash.as_ref()));
    macro_rules! write_typed {
        ($f:ident) => {
            w.typed_column(households, |h| &h.$f)?;
        };
    }
    typed_fields!(write_typed);
    for h in households {
        w.varint(h.attrs.len() as u64);
    }
    for i in scratch.iter() {
        w.varint(u64::from(*i));
    }
    for (_, v) in households.iter().flat_map(|h| &h.attrs) {
        w.text(v);
    }
    Ok(())
}

/// The attribute names of a chunk's households, with the index of each attribute's name put
/// in `indexes`, household after household.
fn attribute_names(
    households: &[Household],
    indexes: &mut Vec<u16>,
) -> Result<Vec<AttrName>, StoreError> {
    // A chunk holds a few dozen names at most and the rows of one file carry the same names in
    // the same order, so the name at the attribute's own position is tried first, then the
    // list: cheaper than hashing every name (interned names compare by address).
    let mut names: Vec<AttrName> = Vec::new();
    indexes.clear();
    for h in households {
        for (j, (k, _)) in h.attrs.iter().enumerate() {
            let found = names
                .get(j)
                .filter(|n| *n == k)
                .map(|_| j)
                .or_else(|| names.iter().position(|n| n == k));
            let i = found.unwrap_or_else(|| {
                names.push(*k);
                names.len() - 1
            });
            indexes.push(u16::try_from(i).map_err(|_| {
                StoreError::Corrupt("more than 65,535 attribute names in a chunk".into())
            })?);
        }
    }
    Ok(names)
}

/// Reads a chunk written by [`write_columns`], checking every length against the data.
struct ColumnReader<'a> {
    data: &'a [u8],
}

impl<'a> ColumnReader<'a> {
    fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .data
                .split_first()
                .ok_or_else(|| corrupt("cut short"))?;
            self.data = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt("a number runs over 64 bits"))
    }

    fn count(&mut self, limit: usize) -> Result<usize, StoreError> {
        usize::try_from(self.varint()?)
            .ok()
            .filter(|n| *n <= limit)
            .ok_or_else(|| corrupt("a count is larger than the chunk"))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.data.len() {
            return Err(corrupt("cut short"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn str(&mut self, n: usize) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.bytes(n)?).map_err(|_| corrupt("text is not UTF-8"))
    }

    fn text(&mut self) -> Result<&'a str, StoreError> {
        let n = self.count(self.data.len())?;
        self.str(n)
    }

    fn text_column(
        &mut self,
        households: &mut [Household],
        set: impl Fn(&mut Household, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut lengths = Vec::with_capacity(households.len());
        for _ in 0..households.len() {
            lengths.push(self.count(self.data.len() + 1)?);
        }
        for (h, n) in households.iter_mut().zip(lengths) {
            if n > 0 {
                set(h, self.str(n - 1)?)?;
            }
        }
        Ok(())
    }

    /// Passes over a column of optional texts without reading them.
    fn skip_text_column(&mut self, n: usize) -> Result<(), StoreError> {
        let mut total = 0usize;
        for _ in 0..n {
            total = total.saturating_add(self.count(self.data.len() + 1)?.saturating_sub(1));
        }
        self.bytes(total).map(drop)
    }

    fn hash_column(
        &mut self,
        households: &mut [Household],
        set: impl Fn(&mut Household, IdHash),
    ) -> Result<(), StoreError> {
        let present = self.bytes(households.len())?;
        for (h, &p) in households.iter_mut().zip(present) {
            if p == 1 {
                let bytes = self.bytes(32)?;
                set(h, bytes.try_into().map_err(|_| corrupt("a torn hash"))?);
            } else if p != 0 {
                return Err(corrupt("a hash marker is neither 0 nor 1"));
            }
        }
        Ok(())
    }

    fn typed_column<T: DeserializeOwned>(
        &mut self,
        households: &mut [Household],
        set: impl Fn(&mut Household, T),
    ) -> Result<(), StoreError> {
        let (values, rest): (Vec<T>, _) = postcard::take_from_bytes(self.data).map_err(corrupt)?;
        if values.len() != households.len() {
            return Err(corrupt(
                "a column's length differs from the household count",
            ));
        }
        self.data = rest;
        for (h, v) in households.iter_mut().zip(values) {
            set(h, v);
        }
        Ok(())
    }
}

/// What of a household [`read_columns`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    /// Everything.
    All,
    /// Only what counting needs (`HouseholdFacts`): no names, addresses or attributes,
    /// whose columns are passed over (still checked to fit the chunk).
    Counted,
}

/// Reads households written by [`write_columns`].
pub(super) fn read_columns(data: &[u8], fields: Fields) -> Result<Vec<Household>, StoreError> {
    let mut r = ColumnReader { data };
    // A household takes at least a byte in each of its thirty-odd columns, so a count that
    // claims more households than a sixteenth of the bytes is damage, not a large chunk.
    let n = r.count(data.len() / MIN_HOUSEHOLD_BYTES)?;
    let name_count = r.count(data.len())?;
    let names = (0..name_count)
        .map(|_| r.text().map(AttrName::new))
        .collect::<Result<Vec<_>, _>>()?;
    let mut households = vec![Household::default(); n];
    let mut row = 0u64;
    for h in households.iter_mut() {
        row = row.wrapping_add(r.varint()?);
        h.source_row = row;
    }
    macro_rules! read_text {
        ($($f:ident).+) => {
            if fields == Fields::All {
                r.text_column(&mut households, |h, v| {
                    h.$($f).+ = Some(Text::from(v));
                    Ok(())
                })?;
            } else {
                r.skip_text_column(n)?;
            }
        };
    }
    text_fields!(read_text);
    r.text_column(&mut households, |h, v| {
        h.duplicate_of = Some(v.parse().map_err(corrupt)?);
        Ok(())
    })?;
    r.hash_column(&mut households, |h, v| h.nik_hash = Some(v))?;
    r.hash_column(&mut households, |h, v| h.kk_hash = Some(v))?;
    macro_rules! read_typed {
        ($f:ident) => {
            r.typed_column(&mut households, |h, v| h.$f = v)?;
        };
    }
    typed_fields!(read_typed);
    let mut counts = Vec::with_capacity(n);
    for _ in 0..n {
        counts.push(r.count(data.len())?);
    }
    let mut indexes = Vec::new();
    for _ in 0..counts.iter().sum::<usize>() {
        let i = r.count(usize::from(u16::MAX))?;
        indexes.push(
            *names
                .get(i)
                .ok_or_else(|| corrupt("attribute name out of range"))?,
        );
    }
    let mut indexes = indexes.into_iter();
    for (h, c) in households.iter_mut().zip(counts) {
        if fields == Fields::Counted {
            for _ in 0..c {
                r.text()?;
            }
            continue;
        }
        h.attrs.reserve_exact(c);
        for name in indexes.by_ref().take(c) {
            h.attrs.push((name, Text::from(r.text()?)));
        }
    }
    if !r.data.is_empty() {
        return Err(corrupt("bytes left over after the last column"));
    }
    Ok(households)
}
