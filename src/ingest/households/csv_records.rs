//! CSV records as the `csv` crate reads them, with plain lines split without its state
//! machine.
//!
//! `csv_core` steps a state machine over every byte, which made it the largest single cost of
//! importing a household file (a tenth of all the import's processor time). Nearly every line
//! of a government export holds no quote and no carriage return inside it; such a line is one
//! record whose cells lie between the delimiters, so here `memchr` finds its end and its
//! delimiters a vector of bytes at a time. Every other record (quoted cells, line breaks in a
//! cell, a lone `\r`, a line longer than the buffer) is read by `csv_core` from the record's
//! start, configured as `csv::Reader` configures it, so the records are the same either way
//! (`tests` compares both on random text). A plain line is copied into the row whole, its
//! delimiters kept as the separators of [`RawCells`], where pushing cell by cell into a
//! `csv::ByteRecord` cost as much as the state machine. Written here because the `csv` crate
//! has no such path.

use std::io::{self, Read};

use csv_core::ReadRecordResult;

use super::cells::RawCells;

/// Bytes read before the first record: a UTF-8 byte-order mark and one byte more
/// (`csv_core` takes input that is nothing but the mark, once skipped, for the end of the
/// stream).
const FIRST_BYTES: usize = 4;

/// Reads CSV records (quotes `"` doubled inside quoted cells, lines ending in `\n`, `\r\n` or
/// `\r`, blank lines skipped, rows of any length) from a byte stream.
pub struct CsvRecords<R> {
    src: R,
    /// Bytes read and not yet consumed: `buf[pos..len]`.
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Whether a record was read. The first is read by `csv_core`, which skips a UTF-8
    /// byte-order mark at the start of the stream (only there), as `csv::Reader` does.
    started: bool,
    delimiter: u8,
    core: csv_core::Reader,
    /// Cell bytes and cell ends of a record `core` reads.
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: Read> CsvRecords<R> {
    /// A reader of `src` with cells split at `delimiter`, holding up to `capacity` bytes (at
    /// least [`FIRST_BYTES`]) of the stream at a time (a longer line is read in
    /// parts by `csv_core`).
    pub fn new(src: R, delimiter: u8, capacity: usize) -> CsvRecords<R> {
        CsvRecords {
            src,
            buf: vec![0; capacity.max(FIRST_BYTES)],
            pos: 0,
            len: 0,
            eof: false,
            started: false,
            delimiter,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 1024],
            ends: vec![0; 64],
        }
    }

    /// Reads the next record into `record`; `false` at the end of the stream.
    pub fn read(&mut self, record: &mut RawCells) -> io::Result<bool> {
        record.clear();
        if !self.started {
            self.started = true;
            while self.len < FIRST_BYTES && !self.eof {
                self.fill()?;
            }
            return self.read_core(record);
        }
        loop {
            // A record's start skips line ends, as `csv_core` does: blank lines are no record.
            match self.buf[self.pos..self.len]
                .iter()
                .position(|b| !matches!(b, b'\n' | b'\r'))
            {
                Some(skip) => self.pos += skip,
                None => {
                    self.pos = self.len;
                    if self.eof {
                        return Ok(false);
                    }
                    self.fill()?;
                    continue;
                }
            }
            let rest = &self.buf[self.pos..self.len];
            let (line, used) = match memchr::memchr(b'\n', rest) {
                Some(n) => (&rest[..n], n + 1),
                None if self.eof => (rest, rest.len()),
                // The line goes on past the bytes read: read more, unless it fills the buffer.
                None if self.pos > 0 || self.len < self.buf.len() => {
                    self.fill()?;
                    continue;
                }
                None => return self.read_core(record),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if memchr::memchr2(b'"', b'\r', line).is_some() {
                return self.read_core(record);
            }
            record.push_line(line, self.delimiter);
            self.pos += used;
            return Ok(true);
        }
    }

    /// Moves the unread bytes to the front of the buffer and reads more behind them; sets
    /// `eof` when the stream has no more.
    fn fill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        loop {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the record starting at `pos` with `csv_core`, reading more of the stream as it
    /// asks.
    fn read_core(&mut self, record: &mut RawCells) -> io::Result<bool> {
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            let input = &self.buf[self.pos..self.len];
            let (result, read, wrote, ended) =
                self.core
                    .read_record(input, &mut self.out[out_len..], &mut self.ends[ends_len..]);
            self.pos += read;
            out_len += wrote;
            ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty => {
                    // `csv_core` ends its last record when given no input.
                    if !self.eof {
                        self.fill()?;
                    }
                }
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    let mut start = 0;
                    for &end in &self.ends[..ends_len] {
                        record.push_cell(&self.out[start..end], self.delimiter);
                        start = end;
                    }
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text` as `csv::Reader` reads it for the import.
    fn by_csv(text: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text);
        rdr.byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect()
    }

    fn by_records(text: &[u8], delimiter: u8, capacity: usize) -> Vec<Vec<Vec<u8>>> {
        let mut rdr = CsvRecords::new(text, delimiter, capacity);
        let mut record = RawCells::default();
        let mut all = Vec::new();
        while rdr.read(&mut record).unwrap() {
            all.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        all
    }

    #[test]
    fn plain_and_quoted_lines_read_as_csv_reads_them() {
        let text = b"a,b,c\r\n\r\n1,\"x,\"\"y\"\"\nz\",3\n\n4,,\n\"\"\n5\r6,7\n,\nlast,line";
        for capacity in [1, 2, 5, 16, 1 << 20] {
            assert_eq!(by_records(text, b',', capacity), by_csv(text, b','));
        }
        assert_eq!(by_records(text, b',', 1 << 20).len(), 8);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_at_the_start_only() {
        let text = b"\xEF\xBB\xBFid,nama\n1,a\n\xEF\xBB\xBF\"2\",b\n\xEF\xBB\xBF3,c\n";
        for capacity in [1, 4, 1 << 20] {
            let records = by_records(text, b',', capacity);
            assert_eq!(records, by_csv(text, b','));
            assert_eq!(records[0][0], b"id");
            assert_eq!(records[2][0], b"\xEF\xBB\xBF\"2\"");
        }
    }

    /// Random text of the pieces that matter to CSV, read with buffers from a few bytes to
    /// more than the whole text: the records are the `csv` crate's, every time.
    #[test]
    fn random_text_reads_as_csv_reads_it() {
        let pieces: [&[u8]; 11] = [
            b"a",
            b"b",
            b",",
            b";",
            b"\"",
            b"\r",
            b"\n",
            b" ",
            b"\xc3\xa9",
            b"\xEF\xBB\xBF",
            b"ab,",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = next() % 40;
            let text: Vec<u8> = (0..len)
                .flat_map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .copied()
                .collect();
            let delimiter = if next() % 4 == 0 { b';' } else { b',' };
            let expected = by_csv(&text, delimiter);
            for capacity in [1, 5, 8, 64] {
                assert_eq!(
                    by_records(&text, delimiter, capacity),
                    expected,
                    "{text:?} with a buffer of {capacity}"
                );
            }
        }
    }
}
