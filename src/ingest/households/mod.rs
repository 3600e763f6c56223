//! Household files: P3KE, DTKS, DTSEN, verval and custom-mapped files, read row by row,
//! validated, deduplicated, geocoded and handed to a [`BatchSink`] in chunks.
//!
//! The file is read on a reader thread ([`reader`]), rows are mapped and checked on worker
//! threads ([`formats`], [`validate`]), and the sink (a store writing the batch in one
//! transaction, or a writer of geocoding results) takes each chunk on the calling thread
//! while the next ones are mapped: memory stays flat, and a failure or a killed process
//! leaves a store as it was.

pub mod formats;
pub mod privacy;
pub mod reader;
pub mod validate;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};

use sha2::{Digest, Sha256};

use formats::{detect_format, normalize_header, CustomMapping, RowMapper};
use privacy::{Secret, SecretError};
use reader::{open_table, InputInfo, ReadError, Row, RowStream, HEADER_SCAN_ROWS};

use crate::geocode::{Geocoder, Session};
use crate::model::{
    BatchCounts, BatchSink, DuplicateOf, GeocodeSummary, Household, IdHash, Reject, SourceFormat,
};

/// Households per chunk handed to the sink.
const CHUNK_HOUSEHOLDS: usize = 4096;
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
}

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
}

/// What the thread mapping the rows hands to the thread feeding the sink, in file order.
enum Piece {
    Chunk(Vec<Household>, Vec<Reject>),
    FileHash(String),
    Finish(BatchCounts),
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
        let (stream, input) = open_table(path, opts.sheet.as_deref(), &probe)?;

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
                let sessions = match geocoder {
                    Some(g) => (0..mapping_threads()).map(|_| g.session()).collect(),
                    None => Vec::new(),
                };
                let mut p = Producer::new(self.mapper, secret, tx, self.progress, sessions);
                p.hashing = self.hashing;
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

/// Persons of one DTKS household (rows sharing `nomor_kk`), gathered while streaming.
struct Group {
    kk: IdHash,
    head: Option<Household>,
    rows: Vec<u64>,
}

/// An identity key as the producer remembers it for deduplication within the batch: the tag
/// (KK or head NIK) in the top bit over 127 bits of the keyed hash (a chance collision among
/// 50 million keys is about 1 in 10^22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeenKey(u128);

impl SeenKey {
    fn new((tag, hash): (u8, IdHash)) -> SeenKey {
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&hash[..16]);
        SeenKey((u128::from_le_bytes(prefix) >> 1) | (u128::from(tag & 1) << 127))
    }
}

impl Hash for SeenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0 as u64);
    }
}

/// The hasher of [`SeenKey`]s: their bits come from HMAC-SHA256 and are already uniformly
/// spread, so the map takes 64 of them as the hash instead of hashing them again.
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Rows by identity key, for deduplication within a batch.
type SeenMap = HashMap<SeenKey, u64, BuildHasherDefault<PassThroughHasher>>;

/// Maps rows to households on a worker thread and sends them to the store in chunks.
struct Producer<'g> {
    mapper: RowMapper,
    /// A geocoding session per mapping thread (none without a geocoder).
    sessions: Vec<Session<'g>>,
    geocoded: GeocodeSummary,
    secret: Secret,
    tx: SyncSender<Piece>,
    counts: BatchCounts,
    households: Vec<Household>,
    rejects: Vec<Reject>,
    seen: SeenMap,
    group: Option<Group>,
    bar: Option<indicatif::ProgressBar>,
    open: bool,
    hashing: Option<Hashing>,
}

/// Rows of a chunk below which mapping them stays on one thread.
const PARALLEL_MAPPING_MIN_ROWS: usize = 256;

/// What became of a row when it was mapped (its household, if any, is kept apart).
enum RowOutcome {
    /// Every cell empty.
    Blank,
    /// Not accepted, with the reasons.
    Rejected(Vec<Reject>),
    /// Mapped to the next household of the part; `is_head` for a DTKS head's row.
    Mapped { is_head: bool },
}

/// A run of rows mapped on one thread: an outcome per row, and the mapped households in row
/// order, gathered where they can be appended to the chunk whole instead of moved one by one.
struct MappedPart {
    outcomes: Vec<RowOutcome>,
    households: Vec<Household>,
}

/// Threads that map rows: this one and a helper per further core, at most four in all (the
/// reader and the store each have a thread too, and are not the slower stages).
fn mapping_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(4)
}

/// Maps rows to households, in row order, and geocodes each household of a household-level
/// file with `sessions` (one per thread; none without a geocoder). The mapping (field checks,
/// identity hashes) and geocoding are most of an import's work and rows do not depend on each
/// other, so a large chunk is split between this thread and helpers.
fn map_rows(
    mapper: &RowMapper,
    secret: &Secret,
    rows: &[Row],
    sessions: &mut [Session<'_>],
) -> Vec<MappedPart> {
    let geocode_here = !mapper.person_rows();
    let map = |part: &[Row], mut session: Option<&mut Session<'_>>| -> MappedPart {
        let mut mapped = MappedPart {
            outcomes: Vec::with_capacity(part.len()),
            households: Vec::with_capacity(part.len()),
        };
        for (number, cells) in part {
            let outcome = if cells.iter().all(|c| reader::trim_cell(c).is_empty()) {
                RowOutcome::Blank
            } else {
                match mapper.household(*number, cells, secret) {
                    Ok(mut m) => {
                        if let Some(g) = session.as_deref_mut().filter(|_| geocode_here) {
                            m.household.geocode = Some(g.geocode(&m.household));
                        }
                        mapped.households.push(m.household);
                        RowOutcome::Mapped { is_head: m.is_head }
                    }
                    Err(rejects) => RowOutcome::Rejected(rejects),
                }
            };
            mapped.outcomes.push(outcome);
        }
        mapped
    };
    let threads = mapping_threads();
    let mut sessions = sessions.iter_mut();
    if threads < 2 || rows.len() < PARALLEL_MAPPING_MIN_ROWS {
        return vec![map(rows, sessions.next())];
    }
    let per_thread = rows.len().div_ceil(threads);
    std::thread::scope(|s| {
        let mut parts = rows.chunks(per_thread);
        let first = parts.next().unwrap_or_default();
        let own_session = sessions.next();
        let helpers: Vec<_> = parts
            .zip(sessions.map(Some).chain(std::iter::repeat_with(|| None)))
            .map(|(part, session)| s.spawn(move || map(part, session)))
            .collect();
        let mut mapped = vec![map(first, own_session)];
        for helper in helpers {
            match helper.join() {
                Ok(part) => mapped.push(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        mapped
    })
}

/// Rows after which the progress bar appears.
const PROGRESS_AFTER_ROWS: u64 = 5000;

impl<'g> Producer<'g> {
    fn new(
        mapper: RowMapper,
        secret: Secret,
        tx: SyncSender<Piece>,
        progress: bool,
        sessions: Vec<Session<'g>>,
    ) -> Producer<'g> {
        let bar = progress.then(|| {
            let b = indicatif::ProgressBar::hidden();
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {human_pos} rows read ({per_sec}), {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b
        });
        Producer {
            mapper,
            sessions,
            geocoded: GeocodeSummary::default(),
            secret,
            tx,
            counts: BatchCounts::default(),
            households: Vec::with_capacity(CHUNK_HOUSEHOLDS),
            rejects: Vec::new(),
            seen: SeenMap::default(),
            group: None,
            bar,
            open: true,
            hashing: None,
        }
    }

    fn run(&mut self, pending: Vec<Row>, stream: RowStream) -> Result<Produced, ReadError> {
        self.rows(&pending);
        while let Some(chunk) = stream.next_chunk() {
            let rows = chunk?;
            self.rows(&rows);
            stream.recycle(rows);
            self.forward_hash(false)?;
            if !self.open {
                return Ok(self.produced());
            }
            self.tick();
        }
        self.flush_group();
        self.send_chunk();
        self.forward_hash(true)?;
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.counts.rows_read > 0 {
            let _ = self.tx.send(Piece::Finish(self.counts));
        }
        Ok(self.produced())
    }

    /// Sends the file's hash to the store once it is known (`wait`: waits for it).
    fn forward_hash(&mut self, wait: bool) -> Result<(), ReadError> {
        let Some(hashing) = self.hashing.take_if(|h| wait || h.is_finished()) else {
            return Ok(());
        };
        let sha = match hashing.join() {
            Ok(sha) => sha?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        self.open = self.open && self.tx.send(Piece::FileHash(sha)).is_ok();
        Ok(())
    }

    fn produced(&mut self) -> Produced {
        Produced {
            counts: self.counts,
            geocoded: std::mem::take(&mut self.geocoded),
        }
    }

    fn tick(&mut self) {
        if let Some(b) = &self.bar {
            if self.counts.rows_read >= PROGRESS_AFTER_ROWS && b.is_hidden() {
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_position(self.counts.rows_read);
        }
    }

    /// Maps a chunk of rows (on several threads when it is large) and takes in the results in
    /// row order.
    fn rows(&mut self, rows: &[Row]) {
        for part in map_rows(&self.mapper, &self.secret, rows, &mut self.sessions) {
            self.take_part(part);
        }
    }

    fn take_part(&mut self, part: MappedPart) {
        let person_rows = self.mapper.person_rows();
        let mut households = part.households.into_iter();
        for outcome in part.outcomes {
            match outcome {
                RowOutcome::Blank => self.counts.blank_rows += 1,
                RowOutcome::Rejected(rejects) => {
                    self.counts.rows_read += 1;
                    self.counts.rows_rejected += 1;
                    self.rejects.extend(rejects);
                }
                RowOutcome::Mapped { is_head } => {
                    self.counts.rows_read += 1;
                    if person_rows {
                        if let Some(p) = households.next() {
                            self.person(p, is_head);
                        }
                    } else {
                        self.counts.rows_accepted += 1;
                    }
                }
            }
        }
        // Household rows: the part's households join the chunk whole and are checked there.
        let start = self.households.len();
        self.households.extend(households);
        let mut chunk = std::mem::take(&mut self.households);
        for h in &mut chunk[start..] {
            self.admit(h);
        }
        self.households = chunk;
        if self.households.len() >= CHUNK_HOUSEHOLDS {
            self.send_chunk();
        }
    }

    /// A person row of a DTKS file: rows with the same KK number form one household.
    fn person(&mut self, p: Household, is_head: bool) {
        let Some(kk) = p.kk_hash else { return };
        if self.group.as_ref().is_some_and(|g| g.kk != kk) {
            self.flush_group();
        }
        let g = self.group.get_or_insert_with(|| Group {
            kk,
            head: None,
            rows: Vec::new(),
        });
        g.rows.push(p.source_row);
        if is_head && g.head.is_none() {
            g.head = Some(p);
        }
    }

    fn flush_group(&mut self) {
        let Some(g) = self.group.take() else { return };
        let n = g.rows.len() as u64;
        match g.head {
            Some(mut head) => {
                self.counts.rows_accepted += n;
                head.members = Some(n as u32);
                head.source_id = head.kk_masked.clone();
                self.household(head);
            }
            None => {
                self.counts.rows_rejected += n;
                self.rejects.extend(g.rows.iter().map(|&row| {
                    Reject {
                        row,
                        column: String::new(),
                        value: String::new(),
                        reason: "the household (same nomor_kk) has no valid head row \
                             (hubungan_keluarga KEPALA KELUARGA)"
                            .into(),
                    }
                }));
            }
        }
    }

    fn household(&mut self, mut h: Household) {
        self.admit(&mut h);
        self.households.push(h);
        if self.households.len() >= CHUNK_HOUSEHOLDS {
            self.send_chunk();
        }
    }

    /// Counts a household of the batch, marks it when it repeats an earlier one, and places it.
    fn admit(&mut self, h: &mut Household) {
        let first = h
            .identity_keys()
            .find_map(|k| self.seen.get(&SeenKey::new(k)).copied());
        match first {
            Some(first) => {
                h.duplicate_of = Some(DuplicateOf::Row(first));
                self.counts.duplicates_in_batch += 1;
            }
            None => {
                let row = h.source_row;
                self.seen
                    .extend(h.identity_keys().map(|k| (SeenKey::new(k), row)));
            }
        }
        // Households of household-level files come geocoded from the mapping threads; a DTKS
        // household is geocoded here, once its head is known.
        if h.geocode.is_none() {
            if let Some(g) = self.sessions.first_mut() {
                h.geocode = Some(g.geocode(h));
            }
        }
        if let Some(result) = &h.geocode {
            self.geocoded.add(result);
        }
        self.counts.households += 1;
    }

    fn send_chunk(&mut self) {
        if self.households.is_empty() && self.rejects.is_empty() {
            return;
        }
        let piece = Piece::Chunk(
            std::mem::replace(&mut self.households, Vec::with_capacity(CHUNK_HOUSEHOLDS)),
            std::mem::take(&mut self.rejects),
        );
        self.open = self.open && self.tx.send(piece).is_ok();
    }
}
