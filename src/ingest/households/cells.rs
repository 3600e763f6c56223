//! The cells of a row as text, in one buffer.

use std::borrow::Cow;

/// Separates cells in the text of [`Cells`] made from separate strings (a workbook's row): a
/// tab, as harmless as the CSV delimiters that separate the cells of a CSV line.
const SEPARATOR: u8 = b'\t';

/// Where the `i`-th cell lies, given where each cell ends: after the previous cell's end and
/// the separator behind it.
fn cell_range(ends: &[usize], i: usize) -> Option<std::ops::Range<usize>> {
    let end = *ends.get(i)?;
    let start = match i.checked_sub(1) {
        Some(before) => ends.get(before)? + 1,
        None => 0,
    };
    Some(start..end)
}

/// The cells of a row as text: every cell in one string, one ASCII separator between each and
/// the next, with where each cell ends. Two allocations a row, kept from row to row, and a CSV
/// line without quotes is copied in with its delimiters as the separators, whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells {
    text: String,
    ends: Vec<usize>,
}

impl Cells {
    /// The number of cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the row has no cell.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th cell.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.text.get(cell_range(&self.ends, i)?)
    }

    /// The cells in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The text of every cell with an ASCII separator (`,` `;` `|` or tab) between each and
    /// the next: for checks over the whole row at once.
    pub fn as_slice(&self) -> &str {
        &self.text
    }

    /// The checked text of `raw`, or `raw` back when it is not UTF-8.
    pub fn from_utf8(raw: RawCells) -> Result<Cells, RawCells> {
        match String::from_utf8(raw.bytes) {
            Ok(text) => Ok(Cells {
                text,
                ends: raw.ends,
            }),
            Err(e) => Err(RawCells {
                bytes: e.into_bytes(),
                ends: raw.ends,
            }),
        }
    }

    /// The buffers back, to read another row into.
    pub fn into_raw(self) -> RawCells {
        RawCells {
            bytes: self.text.into_bytes(),
            ends: self.ends,
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Cells {
        let mut row = Cells::default();
        for c in cells {
            if !row.ends.is_empty() {
                row.text.push(char::from(SEPARATOR));
            }
            row.text.push_str(c.as_ref());
            row.ends.push(row.text.len());
        }
        row
    }
}

impl From<Vec<String>> for Cells {
    fn from(cells: Vec<String>) -> Cells {
        cells.into_iter().collect()
    }
}

/// The cells of a row as bytes, before their text is checked; laid out as [`Cells`].
#[derive(Debug, Clone, Default)]
pub struct RawCells {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl RawCells {
    /// Forgets the cells, keeping the buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is no cell.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds a cell, after `separator` (ASCII) when it is not the first.
    pub fn push_cell(&mut self, cell: &[u8], separator: u8) {
        debug_assert!(separator.is_ascii());
        if !self.ends.is_empty() {
            self.bytes.push(separator);
        }
        self.bytes.extend_from_slice(cell);
        self.ends.push(self.bytes.len());
    }

    /// Adds the cells of `line`, a CSV line without quotes, split at `delimiter` (ASCII), as
    /// the first cells of the row.
    pub fn push_line(&mut self, line: &[u8], delimiter: u8) {
        debug_assert!(self.is_empty() && delimiter.is_ascii());
        self.bytes.extend_from_slice(line);
        self.ends.extend(memchr::memchr_iter(delimiter, line));
        self.ends.push(line.len());
    }

    /// The `i`-th cell.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.bytes.get(cell_range(&self.ends, i)?)
    }

    /// The cells in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Removes `prefix` from the start of the first cell, if it begins with it (a byte-order
    /// mark).
    pub fn strip_prefix(&mut self, prefix: &[u8]) {
        if self.get(0).is_some_and(|first| first.starts_with(prefix)) {
            self.bytes.drain(..prefix.len());
            for end in &mut self.ends {
                *end -= prefix.len();
            }
        }
    }

    /// The cells as text, each decoded by `decode`.
    pub fn decode<'a>(&'a self, decode: impl Fn(&'a [u8]) -> Cow<'a, str>) -> Cells {
        self.iter().map(decode).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_they_were_put() {
        let mut raw = RawCells::default();
        raw.push_line(b"a,,b c,", b',');
        let cells = Cells::from_utf8(raw).unwrap();
        assert_eq!(cells.iter().collect::<Vec<_>>(), ["a", "", "b c", ""]);
        assert_eq!(cells.get(4), None);
        let mut raw = cells.into_raw();
        raw.clear();
        raw.push_cell(b"\xEF\xBB\xBFx", b';');
        raw.push_cell(b"", b';');
        raw.strip_prefix(b"\xEF\xBB\xBF");
        assert_eq!(raw.iter().collect::<Vec<_>>(), [&b"x"[..], b""]);
        let from: Cells = ["p", "q\tr", ""].into_iter().collect();
        assert_eq!(from.iter().collect::<Vec<_>>(), ["p", "q\tr", ""]);
        assert!(Cells::default().is_empty());
    }

    #[test]
    fn bytes_that_are_not_utf8_come_back() {
        let mut raw = RawCells::default();
        raw.push_cell(b"Jos\xe9", b',');
        let raw = Cells::from_utf8(raw).unwrap_err();
        let cells = raw.decode(String::from_utf8_lossy);
        assert_eq!(cells.get(0), Some("Jos\u{fffd}"));
    }
}
