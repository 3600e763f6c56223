//! Table readers for household files: CSV (delimiter and encoding sniffed) and XLSX
//! (streamed cell by cell). Rows are produced on a reader thread and handed over in chunks
//! through a bounded channel, so memory stays flat whatever the file size and parsing overlaps
//! with validation and writing.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use calamine::{DataRef, Reader as _, Xlsx};

use super::csv_records::CsvRecords;

use crate::ingest::archive::{check_shared_strings, check_zip, DEFAULT_LIMITS};
use crate::ingest::budget::{MemoryBudget, OverBudget};

pub use super::cells::Cells;
use super::cells::RawCells;

/// One row: its 1-based number in the file (or sheet) and its cells as text.
pub type Row = (u64, Cells);

/// Rows per chunk sent from the reader thread (the households of a chunk of household rows
/// go to the store as one chunk).
pub(super) const CHUNK_ROWS: usize = 4096;
/// Text per chunk: a chunk is sent early once its cells hold this much, so that the chunks in
/// flight stay a few tens of MiB even when every cell is as long as a cell can be.
const CHUNK_BYTES: usize = 4 << 20;
/// Columns a workbook can have (`A` to `XFD`).
const MAX_COLUMNS: usize = 16_384;
/// Chunks buffered between the reader thread and the importer.
const CHUNKS_IN_FLIGHT: usize = 8;
/// Rows read from each sheet when looking for the header.
pub const HEADER_SCAN_ROWS: usize = 30;

/// Errors that stop a file from being read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{0}: the file is empty")]
    Empty(String),
    /// The file is neither text nor a spreadsheet.
    #[error("{0}: not a CSV text file or an XLSX workbook (binary content)")]
    Binary(String),
    /// The CSV cannot be parsed.
    #[error("{name}: CSV row {row}: {message}")]
    Csv {
        /// File name.
        name: String,
        /// Row where it failed.
        row: u64,
        /// What failed.
        message: String,
    },
    /// The workbook cannot be read.
    #[error("{name}: not a readable XLSX workbook ({message})")]
    Xlsx {
        /// File name.
        name: String,
        /// What failed.
        message: String,
    },
    /// The workbook is refused before it is inflated (a compression bomb, a string table
    /// larger than it can be).
    #[error("{name}: {why}")]
    Archive {
        /// File name.
        name: String,
        /// Why.
        why: crate::ingest::archive::ArchiveError,
    },
    /// Reading the file would take more memory than the import may use.
    #[error("{name}: {why}")]
    Memory {
        /// File name.
        name: String,
        /// What needed how much.
        why: OverBudget,
    },
    /// The requested sheet does not exist.
    #[error("{name}: no sheet named `{sheet}`; sheets: {available}")]
    NoSuchSheet {
        /// File name.
        name: String,
        /// Requested sheet.
        sheet: String,
        /// Sheets present.
        available: String,
    },
    /// No sheet or row looks like a household table.
    #[error("{name}: no header row of a known household format in the first {HEADER_SCAN_ROWS} rows{sheets}; choose --format or --mapping")]
    NoHeader {
        /// File name.
        name: String,
        /// Sheets searched (XLSX).
        sheets: String,
    },
}

/// How the text of a CSV file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (a byte-order mark is skipped).
    Utf8,
    /// Windows-1252, as older Excel exports on Indonesian Windows write.
    Windows1252,
}

/// What was found about the input.
#[derive(Debug, Clone, PartialEq)]
pub enum InputInfo {
    /// A CSV file.
    Csv {
        /// The delimiter found.
        delimiter: u8,
        /// The encoding found.
        encoding: TextEncoding,
    },
    /// A sheet of an XLSX workbook.
    Xlsx {
        /// The sheet read.
        sheet: String,
    },
}

/// A stream of row chunks from the reader thread; the last item may be an error.
pub struct RowStream {
    rx: Receiver<Result<Vec<Row>, ReadError>>,
    back: Sender<Vec<Row>>,
}

impl RowStream {
    /// The next chunk of rows, `None` at the end.
    pub fn next_chunk(&self) -> Option<Result<Vec<Row>, ReadError>> {
        self.rx.recv().ok()
    }

    /// Hands a chunk the importer is done with back to the reader thread, which reads the
    /// next rows into its records: in a steady state no row allocates.
    pub fn recycle(&self, rows: Vec<Row>) {
        let _ = self.back.send(rows);
    }
}

/// The reader thread's end of a [`RowStream`]: rows go out in chunks, used records come back.
pub struct RowSink {
    tx: SyncSender<Result<Vec<Row>, ReadError>>,
    back: Receiver<Vec<Row>>,
    chunk: Vec<Row>,
    /// Bytes of text in `chunk`.
    chunk_bytes: usize,
    spare: Vec<RawCells>,
    empty: Vec<Vec<Row>>,
    open: bool,
}

impl RowSink {
    /// Adds a row; `false` once the importer has stopped listening.
    pub fn emit(&mut self, row: Row) -> bool {
        self.chunk_bytes += row.1.as_slice().len();
        self.chunk.push(row);
        if self.chunk.len() == CHUNK_ROWS || self.chunk_bytes >= CHUNK_BYTES {
            self.chunk_bytes = 0;
            let next = self
                .empty
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(CHUNK_ROWS));
            let full = std::mem::replace(&mut self.chunk, next);
            self.open = self.tx.send(Ok(full)).is_ok();
        }
        self.open
    }

    /// A record to read the next row into: one the importer handed back, else a new one.
    pub fn spare_record(&mut self) -> RawCells {
        if self.spare.is_empty() {
            if let Ok(mut rows) = self.back.try_recv() {
                self.spare
                    .extend(rows.drain(..).map(|(_, cells)| cells.into_raw()));
                self.empty.push(rows);
            }
        }
        self.spare.pop().unwrap_or_default()
    }

    fn finish(mut self, result: Result<(), ReadError>) {
        if !self.chunk.is_empty() {
            let _ = self.tx.send(Ok(std::mem::take(&mut self.chunk)));
        }
        if let Err(e) = result {
            let _ = self.tx.send(Err(e));
        }
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Opens a household table. For a workbook, `sheet` picks the sheet; without it the first
/// sheet whose first rows satisfy `looks_right` is read. A workbook whose string table alone
/// would take more than `budget` is refused before it is read.
pub fn open_table(
    path: &Path,
    sheet: Option<&str>,
    looks_right: &dyn Fn(&[Row]) -> bool,
    budget: Option<MemoryBudget>,
) -> Result<(RowStream, InputInfo), ReadError> {
    let name = name_of(path);
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(64 * 1024);
    File::open(path)
        .map_err(io)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.is_empty() {
        return Err(ReadError::Empty(name));
    }
    if head.starts_with(b"PK\x03\x04") {
        return open_xlsx(path, sheet, looks_right, budget);
    }
    // Binary content is full of NUL bytes; a text file with a NUL in one cell (a damaged
    // export) is read, and that row is refused.
    if looks_binary(&head) {
        return Err(ReadError::Binary(name));
    }
    let (delimiter, encoding) = sniff_csv(&head);
    let file = File::open(path).map_err(io)?;
    let stream = spawn_rows(move |sink| read_csv(file, &name, delimiter, encoding, sink));
    Ok((
        stream,
        InputInfo::Csv {
            delimiter,
            encoding,
        },
    ))
}

/// Whether the start of a file is binary rather than text: more than one byte in a hundred
/// is NUL (UTF-16 text, images, archives other than XLSX).
fn looks_binary(head: &[u8]) -> bool {
    head.iter().filter(|&&b| b == 0).count() * 100 > head.len()
}

/// Runs `produce` on a reader thread, which calls its argument with each row and returns
/// an error to end the stream with.
fn spawn_rows<F>(produce: F) -> RowStream
where
    F: FnOnce(&mut RowSink) -> Result<(), ReadError> + Send + 'static,
{
    let (tx, rx) = sync_channel(CHUNKS_IN_FLIGHT);
    let (back_tx, back) = channel();
    std::thread::spawn(move || {
        let mut sink = RowSink {
            tx,
            back,
            chunk: Vec::with_capacity(CHUNK_ROWS),
            chunk_bytes: 0,
            spare: Vec::new(),
            empty: Vec::new(),
            open: true,
        };
        let result = produce(&mut sink);
        sink.finish(result);
    });
    RowStream { rx, back: back_tx }
}

/// Picks the encoding (BOM, valid UTF-8, else Windows-1252) and the delimiter whose count per
/// line is most consistent over the first lines.
pub fn sniff_csv(head: &[u8]) -> (u8, TextEncoding) {
    let encoding = if head.starts_with(b"\xEF\xBB\xBF") {
        TextEncoding::Utf8
    } else {
        match std::str::from_utf8(head) {
            Ok(_) => TextEncoding::Utf8,
            // Cut in the middle of a character at the end of the sample: still UTF-8.
            Err(e) if e.error_len().is_none() => TextEncoding::Utf8,
            Err(_) => TextEncoding::Windows1252,
        }
    };
    let lines: Vec<&[u8]> = head
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(30)
        .collect();
    let count = |line: &[u8], d: u8| {
        let mut quoted = false;
        line.iter()
            .filter(|&&b| {
                if b == b'"' {
                    quoted = !quoted;
                }
                b == d && !quoted
            })
            .count()
    };
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'|', b'\t'] {
        let counts: Vec<usize> = lines.iter().map(|l| count(l, d)).collect();
        let mode = counts
            .iter()
            .copied()
            .filter(|c| *c > 0)
            .max_by_key(|c| counts.iter().filter(|x| *x == c).count())
            .unwrap_or(0);
        let score = if mode == 0 {
            0
        } else {
            counts.iter().filter(|c| **c == mode).count() * 1000 + mode
        };
        if score > best.1 {
            best = (d, score);
        }
    }
    (best.0, encoding)
}

fn read_csv(
    file: File,
    name: &str,
    delimiter: u8,
    encoding: TextEncoding,
    sink: &mut RowSink,
) -> Result<(), ReadError> {
    let mut rdr = CsvRecords::new(file, delimiter, 1 << 20);
    let mut row = 0u64;
    loop {
        let mut record = sink.spare_record();
        match rdr.read(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                return Err(ReadError::Csv {
                    name: name.to_string(),
                    row: row + 1,
                    message: e.to_string(),
                })
            }
        }
        row += 1;
        // `csv_core` skipped the byte-order mark at the start of the file; a second one (a
        // file saved with a mark by two programs in turn) would stick to the first header.
        if row == 1 {
            record.strip_prefix(b"\xEF\xBB\xBF");
        }
        let cells = match encoding {
            TextEncoding::Utf8 => {
                Cells::from_utf8(record).unwrap_or_else(|raw| lossy_cells(&raw, encoding))
            }
            TextEncoding::Windows1252 => lossy_cells(&record, encoding),
        };
        if !sink.emit((row, cells)) {
            return Ok(());
        }
    }
}

/// Cells decoded field by field: Windows-1252, or UTF-8 with invalid bytes replaced.
fn lossy_cells(record: &RawCells, encoding: TextEncoding) -> Cells {
    record.decode(|field| match encoding {
        TextEncoding::Utf8 => String::from_utf8_lossy(field),
        TextEncoding::Windows1252 => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(field)
                .0
        }
    })
}

/// Text of a spreadsheet cell. Whole numbers are written without a fraction; numbers too big
/// for a double to hold every digit (a NIK typed as a number) come out in scientific
/// notation, so that identity checks refuse them instead of accepting wrong digits.
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            format!("{}", *f as i64)
        }
        DataRef::Float(f) if f.abs() >= 1e15 => format!("{f:E}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "Ya" } else { "Tidak" }.to_string(),
        DataRef::DateTime(d) => super::validate::excel_serial_to_iso(d.as_f64())
            .map(String::from)
            .unwrap_or_else(|_| d.as_f64().to_string()),
        DataRef::Error(e) => format!("#{e}"),
    }
}

/// Streams the rows of one sheet, filling gaps between cells with empty strings.
fn stream_sheet(
    wb: &mut Xlsx<BufReader<File>>,
    sheet: &str,
    name: &str,
    limit: Option<usize>,
    emit: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let xlsx_err = |e: calamine::XlsxError| ReadError::Xlsx {
        name: name.to_string(),
        message: e.to_string(),
    };
    let mut cells = wb.worksheet_cells_reader(sheet).map_err(xlsx_err)?;
    let mut current: Option<(u32, Vec<String>)> = None;
    let mut emitted = 0usize;
    while let Some(cell) = cells.next_cell().map_err(xlsx_err)? {
        let (r, c) = cell.get_position();
        if let Some((cr, row)) = current.take_if(|(cr, _)| *cr != r) {
            emitted += 1;
            if !emit((u64::from(cr) + 1, Cells::from(row))) || limit.is_some_and(|l| emitted >= l) {
                return Ok(());
            }
        }
        let (_, row) = current.get_or_insert_with(|| (r, Vec::new()));
        let c = c as usize;
        if c >= MAX_COLUMNS {
            return Err(ReadError::Xlsx {
                name: name.to_string(),
                message: format!(
                    "row {} has a cell beyond column XFD, the last column a workbook can have",
                    u64::from(r) + 1
                ),
            });
        }
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = cell_text(cell.get_value());
    }
    if let Some((cr, row)) = current {
        emit((u64::from(cr) + 1, Cells::from(row)));
    }
    Ok(())
}

fn open_xlsx(
    path: &Path,
    sheet: Option<&str>,
    looks_right: &dyn Fn(&[Row]) -> bool,
    budget: Option<MemoryBudget>,
) -> Result<(RowStream, InputInfo), ReadError> {
    let name = name_of(path);
    let owned_path = path.to_path_buf();
    let open = move |name: &str| -> Result<Xlsx<BufReader<File>>, ReadError> {
        calamine::open_workbook(&owned_path).map_err(|e: calamine::XlsxError| ReadError::Xlsx {
            name: name.to_string(),
            message: e.to_string(),
        })
    };
    // Checked before calamine inflates anything: it keeps the string table in memory.
    let archive_err = |source| match source {
        crate::ingest::archive::ArchiveError::Damaged(message) => ReadError::Xlsx {
            name: name.clone(),
            message,
        },
        why => ReadError::Archive {
            name: name.clone(),
            why,
        },
    };
    let io_err = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = || File::open(path).map(BufReader::new).map_err(io_err);
    check_zip(file()?, &DEFAULT_LIMITS).map_err(archive_err)?;
    let strings = check_shared_strings(file()?).map_err(archive_err)?;
    if let Some(budget) = budget {
        // calamine keeps every shared string as a `String`: the text and a few words each,
        // about twice the table's XML.
        budget
            .allows(
                strings.saturating_mul(2),
                "the workbook's table of shared strings alone needs",
            )
            .map_err(|why| ReadError::Memory {
                name: name.clone(),
                why,
            })?;
    }
    let mut wb = open(&name)?;
    let sheets = wb.sheet_names();
    let chosen = match sheet {
        Some(s) => sheets
            .iter()
            .find(|n| n.eq_ignore_ascii_case(s))
            .cloned()
            .ok_or_else(|| ReadError::NoSuchSheet {
                name: name.clone(),
                sheet: s.to_string(),
                available: sheets.join(", "),
            })?,
        None => {
            let mut found = None;
            for s in &sheets {
                let mut head = Vec::new();
                stream_sheet(&mut wb, s, &name, Some(HEADER_SCAN_ROWS), &mut |r| {
                    head.push(r);
                    true
                })?;
                if looks_right(&head) {
                    found = Some(s.clone());
                    break;
                }
            }
            found.ok_or_else(|| ReadError::NoHeader {
                name: name.clone(),
                sheets: format!(" of any sheet ({})", sheets.join(", ")),
            })?
        }
    };
    let sheet_name = chosen.clone();
    let stream = spawn_rows(move |sink| {
        let mut wb = open(&name)?;
        stream_sheet(&mut wb, &chosen, &name, None, &mut |row| sink.emit(row))
    });
    Ok((stream, InputInfo::Xlsx { sheet: sheet_name }))
}

/// A cell without surrounding whitespace. Most cells start and end with a printable ASCII
/// byte and come back as they are without a Unicode scan (a multi-byte character never
/// starts or ends with an ASCII byte, so such a cell cannot end in Unicode whitespace).
pub fn trim_cell(s: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    let bytes = s.as_bytes();
    if plain(bytes.first()) && plain(bytes.last()) {
        s
    } else {
        s.trim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_csv(b"a,b,c\n1,2,3\n").0, b',');
        assert_eq!(sniff_csv(b"a;b;c\n1;2,5;3\n4;5;6\n").0, b';');
        assert_eq!(sniff_csv(b"a|b|c\n1|2|3\n").0, b'|');
        assert_eq!(sniff_csv(b"a\tb\tc\n1\t2\t3\n").0, b'\t');
        assert_eq!(sniff_csv(b"\"x,y\";b;c\n1;2;3\n").0, b';');
    }

    #[test]
    fn encodings_are_sniffed() {
        assert_eq!(sniff_csv(b"\xEF\xBB\xBFa,b\n").1, TextEncoding::Utf8);
        assert_eq!(
            sniff_csv("nama,desa\nJos\u{e9},X\n".as_bytes()).1,
            TextEncoding::Utf8
        );
        assert_eq!(
            sniff_csv(b"nama,desa\nJos\xe9,X\n").1,
            TextEncoding::Windows1252
        );
    }

    #[test]
    fn huge_numbers_do_not_pose_as_exact_digits() {
        assert_eq!(
            cell_text(&DataRef::Float(6472014107850001.0)),
            "6472014107850001"
        );
        assert!(cell_text(&DataRef::Float(9172014107850001.0)).contains('E'));
        assert_eq!(cell_text(&DataRef::Float(2.5)), "2.5");
    }
}
