//! Household files: P3KE, DTKS, DTSEN, verval and custom-mapped files, read row by row,
//! validated, deduplicated, geocoded and handed to a [`BatchSink`] in chunks.
//!
//! The file is read on a reader thread ([`reader`]), rows are mapped and checked on worker
//! threads ([`formats`], [`validate`]), and the sink (a store writing the batch in one
//! transaction, or a writer of geocoding results) takes each chunk on the calling thread
//! while the next ones are mapped: memory stays flat, and a failure or a killed process
//! leaves a store as it was.

mod alasan;
mod cells;
mod csv_records;
pub mod formats;
pub mod privacy;
mod produce;
pub use alasan::alasan;
pub mod reader;
pub mod validate;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use sha2::{Digest, Sha256};

use formats::{detect_format, normalize_header, CustomMapping, RowMapper};
use privacy::{Secret, SecretError};
use produce::{Piece, Producer};
use reader::{open_table, InputInfo, ReadError, Row, RowStream, HEADER_SCAN_ROWS};

use crate::geocode::Geocoder;
use crate::ingest::budget::MemoryBudget;
use crate::model::{BatchCounts, BatchSink, GeocodeSummary, SourceFormat};

/// Chunks mapped ahead of the sink.
const CHUNKS_AHEAD: usize = 4;

/// Errors of reading a household file. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum HouseholdFileError {
    /// The file cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// No usable secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The header does not fit the format.
    #[error("{file}: {message}")]
    Header {
        /// File name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
    /// The file has a header but no data rows.
    #[error("{0}: no data rows below the header; nothing was imported")]
    NoRows(String),
}

/// How to read a household file.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// Format; detected from the header when `None`.
    pub format: Option<SourceFormat>,
    /// Custom mapping file (implies the custom format).
    pub mapping: Option<PathBuf>,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// Households placed outside these units are refused, every row of them with the reason
    /// [`OUTSIDE_SCOPE`] (an operator's upload is limited to the operator's area). Households
    /// the geocoder places nowhere stay, for review.
    pub within: Option<crate::model::Scope>,
    /// Rows read so far, kept up to date for a caller that shows progress elsewhere (the web
    /// page's import bar).
    pub rows_done: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// How much the process may grow while the file is imported ([`MemoryBudget`]); no limit
    /// when `None`.
    pub memory: Option<MemoryBudget>,
}

/// The reason a row is refused when its household lies outside the uploader's area.
pub const OUTSIDE_SCOPE: &str = "di luar wilayah Anda";

/// Why [`HouseholdFile::feed`] stopped before the end of the file.
#[derive(Debug, thiserror::Error)]
pub enum FeedError<E> {
    /// The file could not be read to its end.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The sink refused to go on.
    #[error("{0}")]
    Sink(E),
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The cells of a header row as strings.
fn header_texts(cells: &reader::Cells) -> Vec<String> {
    cells.iter().map(String::from).collect()
}

/// Finds the header row among the first rows: the first row a custom mapping's columns all
/// appear in, or that a known format (the requested one, if any) recognises.
fn find_header(
    rows: &[Row],
    format: Option<SourceFormat>,
    custom: Option<&CustomMapping>,
) -> Option<(usize, SourceFormat)> {
    rows.iter()
        .take(HEADER_SCAN_ROWS)
        .enumerate()
        .find_map(|(i, (_, cells))| {
            if let Some(m) = custom {
                let norm: Vec<String> = cells.iter().map(normalize_header).collect();
                let all = m
                    .columns
                    .values()
                    .all(|h| norm.contains(&normalize_header(h)));
                return all.then_some((i, SourceFormat::Custom));
            }
            match (detect_format(&header_texts(cells)), format) {
                (Some(found), Some(wanted)) if found == wanted => Some((i, found)),
                (Some(found), None) => Some((i, found)),
                _ => None,
            }
        })
}

/// A household file opened, its format known and its header found: ready to stream.
pub struct HouseholdFile {
    /// File name without directories.
    pub file_name: String,
    /// The format read.
    pub format: SourceFormat,
    /// How the file was read.
    pub input: InputInfo,
    mapper: RowMapper,
    pending: Vec<Row>,
    stream: RowStream,
    path: PathBuf,
    hashing: Option<Hashing>,
    progress: bool,
    within: Option<crate::model::Scope>,
    rows_done: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    memory: Option<MemoryBudget>,
}

/// The thread hashing a file (SHA-256, hex) while its rows are read.
type Hashing = std::thread::JoinHandle<Result<String, ReadError>>;

/// What reading a file found.
#[derive(Debug, Clone, Default)]
pub struct Produced {
    /// Row and household counts.
    pub counts: BatchCounts,
    /// Geocoding results by quality and flag (empty without a geocoder).
    pub geocoded: GeocodeSummary,
    /// Rows refused because their household lies outside `FileOptions::within`.
    pub outside_area: u64,
}

impl HouseholdFile {
    /// Opens `path`, finds its header and the format (the one asked for, or detected).
    pub fn open(path: &Path, opts: &FileOptions) -> Result<Self, HouseholdFileError> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let custom = match &opts.mapping {
            Some(m) => Some(CustomMapping::from_file(m).map_err(HouseholdFileError::Options)?),
            None if opts.format == Some(SourceFormat::Custom) => {
                return Err(HouseholdFileError::Options(
                    "--format custom needs --mapping FILE.toml".into(),
                ))
            }
            None => None,
        };
        let (format_hint, custom_ref) = (opts.format, custom.as_ref());
        let probe = |rows: &[Row]| find_header(rows, format_hint, custom_ref).is_some();
        let (stream, input) = open_table(path, opts.sheet.as_deref(), &probe, opts.memory)?;

        let mut head: Vec<Row> = Vec::new();
        let found = loop {
            if let Some(f) = find_header(&head, opts.format, custom.as_ref()) {
                break Some(f);
            }
            if head.len() >= HEADER_SCAN_ROWS {
                break None;
            }
            match stream.next_chunk() {
                Some(chunk) => head.extend(chunk?),
                None => break find_header(&head, opts.format, custom.as_ref()),
            }
        };
        let Some((header_idx, format)) = found else {
            let wanted = opts
                .format
                .map(|f| format!("{f} header"))
                .unwrap_or_else(|| "header of a known format (P3KE, DTKS, DTSEN, verval)".into());
            return Err(HouseholdFileError::Header {
                file: file_name,
                message: format!(
                    "no {wanted} in the first {HEADER_SCAN_ROWS} rows; choose --format or --mapping"
                ),
            });
        };
        let mapper = RowMapper::new(format, &header_texts(&head[header_idx].1), custom.as_ref())
            .map_err(|message| HouseholdFileError::Header {
                file: file_name.clone(),
                message,
            })?;
        let pending: Vec<Row> = head.split_off(header_idx + 1);
        Ok(HouseholdFile {
            file_name,
            format,
            input,
            mapper,
            pending,
            stream,
            path: path.to_path_buf(),
            hashing: None,
            progress: opts.progress,
            within: opts.within.clone(),
            rows_done: opts.rows_done.clone(),
            memory: opts.memory,
        })
    }

    /// Hashes the file (SHA-256) on a thread of its own while the rows are read, and hands
    /// the hash to the sink ([`BatchSink::file_hash`]) as soon as it is known: a store then
    /// stops at once if the same file is already a batch, and otherwise no one waits for a
    /// whole pass over the file before the first row is read.
    pub fn hash_while_reading(mut self) -> Self {
        let path = self.path.clone();
        self.hashing = Some(std::thread::spawn(move || {
            file_sha256(&path).map_err(|source| ReadError::Io { path, source })
        }));
        self
    }

    /// How the file was read, in words.
    pub fn input_text(&self) -> String {
        match &self.input {
            InputInfo::Csv {
                delimiter,
                encoding,
            } => {
                format!(
                    "csv delimiter {:?} encoding {encoding:?}",
                    *delimiter as char
                )
            }
            InputInfo::Xlsx { sheet } => format!("xlsx sheet {sheet}"),
        }
    }

    /// Maps, checks, deduplicates and (with a geocoder) geocodes the rows, and hands the
    /// households and rejects to `sink` in chunks, in file order, ending with
    /// [`BatchSink::finish`] when the file had data rows. The rows are mapped on helper
    /// threads while this one feeds the sink, so a store writes one chunk while the next is
    /// mapped. An error of the sink stops the reading at once.
    pub fn feed<S: BatchSink + ?Sized>(
        self,
        secret: Secret,
        geocoder: Option<&Geocoder>,
        sink: &mut S,
    ) -> Result<Produced, FeedError<S::Error>> {
        let (tx, rx) = sync_channel::<Piece>(CHUNKS_AHEAD);
        std::thread::scope(|scope| {
            let producing = scope.spawn(move || {
                let mut p = Producer::new(self.mapper, secret, tx, self.progress, geocoder);
                p.hashing = self.hashing;
                p.within = self.within;
                p.rows_done = self.rows_done;
                p.memory = self.memory.map(|m| (self.file_name.clone(), m.watch()));
                p.run(self.pending, self.stream)
            });
            let mut refused = None;
            for piece in &rx {
                let fed = match piece {
                    Piece::Chunk(households, rejects) => sink.chunk(households, rejects),
                    Piece::FileHash(sha) => sink.file_hash(&sha),
                    Piece::Finish(counts) => sink.finish(counts),
                };
                if let Err(e) = fed {
                    refused = Some(e);
                    break;
                }
            }
            // Hang up, so that a producer still mapping stops at its next chunk.
            drop(rx);
            let produced = match producing.join() {
                Ok(produced) => produced?,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            match refused {
                Some(e) => Err(FeedError::Sink(e)),
                None => Ok(produced),
            }
        })
    }
}
