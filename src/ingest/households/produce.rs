//! Mapping a file's rows on worker threads: households checked, DTKS persons grouped,
//! repeats within the file linked, each household geocoded, chunks handed on in row order.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};

use super::formats::RowMapper;
use super::privacy::Secret;
use super::reader::{self, ReadError, Row, RowStream};
use super::{Hashing, Produced};
use crate::geocode::{Geocoder, Session};
use crate::model::{BatchCounts, DuplicateOf, GeocodeSummary, Household, IdHash, Reject, Scope};

/// Households of a chunk handed to the sink: a chunk of household rows is sent once it holds
/// at least this many. A whole part of rows ([`reader::CHUNK_ROWS`]) is one chunk; a part
/// made shorter than this by rejected or blank rows is sent with the next. DTKS households,
/// made one by one, are sent [`reader::CHUNK_ROWS`] at a time.
const MIN_CHUNK_HOUSEHOLDS: usize = reader::CHUNK_ROWS / 2;

/// What the thread mapping the rows hands to the thread feeding the sink, in file order.
pub(super) enum Piece {
    Chunk(Vec<Household>, Vec<Reject>),
    FileHash(String),
    Finish(BatchCounts),
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
/// Kept as two 64-bit words rather than a `u128`, whose 16-byte alignment would pad every
/// map entry to 32 bytes: with a 32-bit row the entry is 24, a quarter less memory for the
/// millions of keys of a large file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeenKey([u64; 2]);

impl SeenKey {
    fn new((tag, hash): (u8, IdHash)) -> SeenKey {
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&hash[..16]);
        let v = (u128::from_le_bytes(prefix) >> 1) | (u128::from(tag & 1) << 127);
        SeenKey([v as u64, (v >> 64) as u64])
    }
}

impl Hash for SeenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
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

/// Rows by identity key, for deduplication within a batch (rows past 2^32 − 1, far beyond any
/// real file, are remembered as the last representable row).
type SeenMap = HashMap<SeenKey, u32, BuildHasherDefault<PassThroughHasher>>;

/// Shards of [`Seen`].
const SEEN_SHARDS: usize = 16;

/// The identity keys seen so far, in shards: a hash table doubles when it fills, holding the
/// old and the new table at once, so one table of a million households' keys would briefly
/// need half as much again; shards double one at a time.
#[derive(Default)]
struct Seen([SeenMap; SEEN_SHARDS]);

impl Seen {
    fn shard(key: &SeenKey) -> usize {
        // Hash bits the map does not use for its buckets (it takes the low word).
        (key.0[1] >> 56) as usize % SEEN_SHARDS
    }

    fn get(&self, key: &SeenKey) -> Option<u32> {
        self.0[Seen::shard(key)].get(key).copied()
    }

    fn insert(&mut self, key: SeenKey, row: u32) {
        self.0[Seen::shard(&key)].insert(key, row);
    }
}

/// Maps rows to households on a worker thread and sends them to the store in chunks.
pub(super) struct Producer<'g> {
    mapper: RowMapper,
    /// The geocoder, if households are geocoded.
    geocoder: Option<&'g Geocoder>,
    /// The session geocoding DTKS households on this thread, once their head is known.
    session: Option<Session<'g>>,
    geocoded: GeocodeSummary,
    secret: Secret,
    tx: SyncSender<Piece>,
    counts: BatchCounts,
    households: Vec<Household>,
    rejects: Vec<Reject>,
    seen: Seen,
    group: Option<Group>,
    bar: Option<indicatif::ProgressBar>,
    open: bool,
    pub(super) hashing: Option<Hashing>,
    /// Households placed outside these units are refused (see `FileOptions::within`).
    pub(super) within: Option<Scope>,
    /// Rows read so far, for a caller's progress display.
    pub(super) rows_done: Option<Arc<AtomicU64>>,
    /// The file's name and the watch of its memory budget, checked after every chunk.
    pub(super) memory: Option<(String, crate::ingest::budget::BudgetWatch)>,
    /// Rows refused as outside `within`.
    outside_area: u64,
}

/// What became of a row when it was mapped (its household, if any, is kept apart).
enum RowOutcome {
    /// Every cell empty.
    Blank,
    /// Not accepted, with the reasons.
    Rejected(Vec<Reject>),
    /// Mapped to the next household of the part; `is_head` for a DTKS head's row.
    Mapped { is_head: bool },
}

/// A chunk of rows mapped on one thread: an outcome per row, and the mapped households in row
/// order, gathered where they can be appended to the chunk whole instead of moved one by one.
struct MappedPart {
    outcomes: Vec<RowOutcome>,
    households: Vec<Household>,
}

/// Threads that map rows, one per core, at most four (the reader and the store each have a
/// thread too, and are not the slower stages).
fn mapping_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(4)
}

/// Chunks of rows being mapped or waiting to be taken in, per mapping thread: enough that a
/// thread finding its next chunk never waits for the one taking results in, few enough that
/// memory stays a few megabytes per thread.
const CHUNKS_PER_MAPPING_THREAD: usize = 3;

/// Maps rows to households, in row order, and geocodes the households of a household-level
/// file with `session`, the chunk's approximate points placed desa by desa (none without a
/// geocoder, or for DTKS person rows, geocoded once their household is whole).
fn map_rows(
    mapper: &RowMapper,
    secret: &Secret,
    rows: &[Row],
    session: Option<&mut Session<'_>>,
) -> MappedPart {
    let mut mapped = MappedPart {
        outcomes: Vec::with_capacity(rows.len()),
        households: Vec::with_capacity(rows.len()),
    };
    for (number, cells) in rows {
        let outcome = if cells.iter().all(|c| reader::trim_cell(c).is_empty()) {
            RowOutcome::Blank
        } else {
            match mapper.household(*number, cells, secret) {
                Ok(m) => {
                    mapped.households.push(m.household);
                    RowOutcome::Mapped { is_head: m.is_head }
                }
                Err(rejects) => RowOutcome::Rejected(rejects),
            }
        };
        mapped.outcomes.push(outcome);
    }
    if let Some(g) = session {
        g.geocode_all(&mut mapped.households);
    }
    mapped
}

/// Why an import stops if the mapping threads go away without saying why (they answer every
/// chunk they take, a panic included, so this is never expected).
const MAPPING_STOPPED: &str = "the threads mapping rows stopped before mapping every row";

/// A chunk of rows for a mapping thread, numbered in file order.
type Job = (u64, Vec<Row>);

/// A mapped chunk coming back, with its rows for the reader to reuse, or the panic that
/// stopped its thread.
type Done = (u64, std::thread::Result<MappedPart>, Vec<Row>);

/// A mapping thread: takes chunks until there are none, maps each and sends it back.
fn mapping_worker(
    mapper: &RowMapper,
    secret: &Secret,
    mut session: Option<Session<'_>>,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<Done>,
) {
    loop {
        // The lock is held only while waiting for the next chunk, never while mapping.
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok((seq, rows)) = job else { return };
        let part = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            map_rows(mapper, secret, &rows, session.as_mut())
        }));
        let stop = part.is_err();
        if done.send((seq, part, rows)).is_err() || stop {
            return;
        }
    }
}

/// Rows after which the progress bar appears.
const PROGRESS_AFTER_ROWS: u64 = 5000;

impl<'g> Producer<'g> {
    pub(super) fn new(
        mapper: RowMapper,
        secret: Secret,
        tx: SyncSender<Piece>,
        progress: bool,
        geocoder: Option<&'g Geocoder>,
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
            session: geocoder
                .filter(|_| mapper.person_rows())
                .map(Geocoder::session),
            mapper,
            geocoder,
            geocoded: GeocodeSummary::default(),
            secret,
            tx,
            counts: BatchCounts::default(),
            households: Vec::new(),
            rejects: Vec::new(),
            seen: Seen::default(),
            group: None,
            bar,
            open: true,
            hashing: None,
            within: None,
            rows_done: None,
            memory: None,
            outside_area: 0,
        }
    }

    /// Maps the rows of `pending`, then of `stream`, on a pool of mapping threads fed chunk
    /// by chunk, and takes the mapped chunks in (deduplication, counts, the sink) in file
    /// order on this thread. The threads never wait for each other: each takes the next chunk
    /// as soon as it is done with one, while this thread reads ahead and takes results in.
    pub(super) fn run(
        &mut self,
        pending: Vec<Row>,
        stream: RowStream,
    ) -> Result<Produced, ReadError> {
        let threads = mapping_threads();
        let mapper = self.mapper.clone();
        let secret = self.secret.clone();
        let geocoder = self.geocoder.filter(|_| !self.mapper.person_rows());
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let jobs = Mutex::new(job_rx);
        let finished = std::thread::scope(|s| {
            for _ in 0..threads {
                let (mapper, secret, jobs, done) = (&mapper, &secret, &jobs, done_tx.clone());
                let session = geocoder.map(Geocoder::session);
                s.spawn(move || mapping_worker(mapper, secret, session, jobs, &done));
            }
            drop(done_tx);
            let result = self.take_in_order(pending, &stream, &job_tx, &done_rx, threads);
            // Hang up, so that every mapping thread stops at its next chunk.
            drop(job_tx);
            result
        })?;
        if !finished {
            return Ok(self.produced());
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

    /// Hands chunks of rows to the mapping threads, keeping a few per thread in flight, and
    /// takes the mapped chunks in in file order; `false` when the sink hung up first.
    fn take_in_order(
        &mut self,
        pending: Vec<Row>,
        stream: &RowStream,
        jobs: &mpsc::Sender<Job>,
        done: &mpsc::Receiver<Done>,
        threads: usize,
    ) -> Result<bool, ReadError> {
        let most_in_flight = threads * CHUNKS_PER_MAPPING_THREAD;
        let mut waiting: BTreeMap<u64, (MappedPart, Vec<Row>)> = BTreeMap::new();
        let (mut sent, mut taken) = (0u64, 0u64);
        let mut first = (!pending.is_empty()).then_some(pending);
        let (mut read_all, mut lost_rows) = (false, false);
        loop {
            while !read_all && sent - taken < most_in_flight as u64 {
                let rows = match first.take() {
                    Some(rows) => rows,
                    None => match stream.next_chunk() {
                        Some(rows) => rows?,
                        None => {
                            read_all = true;
                            break;
                        }
                    },
                };
                if jobs.send((sent, rows)).is_err() {
                    // Every mapping thread is gone: one of them panicked, and its answer
                    // below says so; should none, the rows must not go missing silently.
                    read_all = true;
                    lost_rows = true;
                    break;
                }
                sent += 1;
            }
            if sent == taken {
                if lost_rows {
                    std::panic::resume_unwind(Box::new(MAPPING_STOPPED));
                }
                return Ok(true);
            }
            let Ok((seq, part, rows)) = done.recv() else {
                // Every mapping thread answers each chunk it takes before it stops.
                std::panic::resume_unwind(Box::new(MAPPING_STOPPED));
            };
            match part {
                Ok(part) => waiting.insert(seq, (part, rows)),
                Err(panic) => std::panic::resume_unwind(panic),
            };
            while let Some((part, rows)) = waiting.remove(&taken) {
                taken += 1;
                self.take_part(part);
                stream.recycle(rows);
                self.forward_hash(false)?;
                if let Some((name, watch)) = &self.memory {
                    watch.check().map_err(|why| ReadError::Memory {
                        name: name.clone(),
                        why,
                    })?;
                }
                if !self.open {
                    return Ok(false);
                }
                self.tick();
            }
        }
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
            outside_area: self.outside_area,
            geocoded: std::mem::take(&mut self.geocoded),
        }
    }

    fn tick(&mut self) {
        if let Some(done) = &self.rows_done {
            done.store(self.counts.rows_read, Ordering::Relaxed);
        }
        if let Some(b) = &self.bar {
            if self.counts.rows_read >= PROGRESS_AFTER_ROWS && b.is_hidden() {
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_position(self.counts.rows_read);
        }
    }

    fn take_part(&mut self, part: MappedPart) {
        let person_rows = self.mapper.person_rows();
        let mut households = part.households;
        let mut persons = person_rows.then(|| std::mem::take(&mut households).into_iter());
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
                    match persons.as_mut() {
                        Some(persons) => {
                            if let Some(p) = persons.next() {
                                self.person(p, is_head);
                            }
                        }
                        None => self.counts.rows_accepted += 1,
                    }
                }
            }
        }
        // Household rows: the part's households are checked where they lie, and the part
        // becomes the chunk handed to the store, its memory with it: a household is never
        // moved from part to chunk, nor a chunk allocated afresh (a part left with fewer than
        // `MIN_CHUNK_HOUSEHOLDS` by rejected or blank rows waits for the next to join it).
        let mut kept = vec![true; households.len()];
        for (h, keep) in households.iter_mut().zip(&mut kept) {
            *keep = self.admit(h, 1);
        }
        // Households outside the uploader's area leave the chunk (their rows are rejects).
        if kept.contains(&false) {
            let mut kept = kept.into_iter();
            households.retain(|_| kept.next().unwrap_or(true));
        }
        if self.households.is_empty() {
            self.households = households;
        } else {
            self.households.append(&mut households);
        }
        if self.households.len() >= MIN_CHUNK_HOUSEHOLDS {
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
                if self.admit(&mut head, n) {
                    if self.households.capacity() == 0 {
                        self.households.reserve(reader::CHUNK_ROWS);
                    }
                    self.households.push(head);
                    if self.households.len() >= reader::CHUNK_ROWS {
                        self.send_chunk();
                    }
                } else if let Some(last) = self.rejects.pop() {
                    // One reject per row of the household, as for any refused row.
                    self.rejects.extend(g.rows.iter().map(|&row| Reject {
                        row,
                        ..last.clone()
                    }));
                }
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

    /// Places a household of the batch (`rows`: the rows it was read from), counts it and
    /// marks it when it repeats an earlier one; `false` when it lies outside the uploader's
    /// area, its rows then counted as rejected and one reject left for the caller to repeat
    /// per row.
    fn admit(&mut self, h: &mut Household, rows: u64) -> bool {
        // Households of household-level files come geocoded from the mapping threads; a DTKS
        // household is geocoded here, once its head is known.
        if h.geocode.is_none() {
            if let Some(g) = self.session.as_mut() {
                h.geocode = Some(g.geocode(h));
            }
        }
        if let Some(within) = &self.within {
            let placed = h.geocode.as_ref().and_then(|g| g.kode_desa.or(g.unit));
            if let Some(unit) = placed.filter(|u| !within.allows(*u)) {
                self.counts.rows_accepted -= rows;
                self.counts.rows_rejected += rows;
                self.outside_area += rows;
                self.rejects.push(Reject {
                    row: h.source_row,
                    column: String::new(),
                    value: unit.to_string(),
                    reason: super::OUTSIDE_SCOPE.to_string(),
                });
                return false;
            }
        }
        let first = h
            .identity_keys()
            .find_map(|k| self.seen.get(&SeenKey::new(k)))
            .map(u64::from);
        match first {
            Some(first) => {
                h.duplicate_of = Some(DuplicateOf::Row(first));
                self.counts.duplicates_in_batch += 1;
            }
            None => {
                let row = u32::try_from(h.source_row).unwrap_or(u32::MAX);
                for k in h.identity_keys() {
                    self.seen.insert(SeenKey::new(k), row);
                }
            }
        }
        if let Some(result) = &h.geocode {
            self.geocoded.add(result);
        }
        self.counts.households += 1;
        true
    }

    fn send_chunk(&mut self) {
        if self.households.is_empty() && self.rejects.is_empty() {
            return;
        }
        let piece = Piece::Chunk(
            std::mem::take(&mut self.households),
            std::mem::take(&mut self.rejects),
        );
        self.open = self.open && self.tx.send(piece).is_ok();
    }
}
