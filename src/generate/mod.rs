//! The synthetic household generator (`lentera generate households`).
//!
//! Deterministic from a seed, it writes P3KE, DTKS, DTSEN or verval files for any set of desa:
//! made-up Indonesian names, NIK/KK numbers that start with the household's kecamatan code,
//! addresses in the forms clerks type (abbreviations, upper case, `Sei` for `Sungai`, typos),
//! region codes dotted, plain, in BPS form, truncated or missing, and phone GPS with the usual
//! errors (swapped, zero, in the neighbouring desa, decimal comma). Households are spread over
//! the desa following the kabupaten poverty figures. Nothing real ever enters such a file.
//!
//! [`people`] makes the names and identity numbers, [`households`] the households and the forms
//! their fields are typed in, [`columns`] the rows of each format, [`output`] the CSV or
//! workbook, [`stats`] reads the kabupaten figures the households follow.

mod columns;
mod households;
mod output;
mod people;
mod stats;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model::SourceFormat;
use crate::region::crosswalk::CrosswalkEntry;
use crate::region::{Kode, Region};
use columns::{header, rows};
use households::{synth, World};
use output::{Sink, XlsxSink, XLSX_TITLE_ROWS};

pub use stats::{read_kabupaten_stats, KabupatenStats};

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The inputs cannot be used.
    #[error("{0}")]
    Input(String),
    /// The workbook cannot be written.
    #[error("{path}: cannot write the workbook: {message}")]
    Xlsx {
        /// The file.
        path: PathBuf,
        /// The error.
        message: String,
    },
}

/// Text encoding of written CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputEncoding {
    /// UTF-8.
    Utf8,
    /// Windows-1252.
    Windows1252,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// File format.
    pub format: SourceFormat,
    /// Number of households.
    pub count: usize,
    /// Seed.
    pub seed: u64,
    /// CSV delimiter (DTKS files are written with `|` when this is `,`).
    pub delimiter: u8,
    /// CSV encoding.
    pub encoding: OutputEncoding,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Households.
    pub households: usize,
    /// Data rows (persons for DTKS).
    pub rows: usize,
}

/// Writes `opts.count` synthetic households to `out` (`.xlsx` → workbook with title rows,
/// otherwise CSV), and optionally the true desa of each to `truth`
/// (`row,source_id,kode_desa,code_form,gps_case,names`; `names` is `full` or `no_kecamatan`).
pub fn write_households(
    regions: &[Region],
    crosswalk: &[CrosswalkEntry],
    stats: &HashMap<Kode, KabupatenStats>,
    opts: &GenerateOptions,
    out: &Path,
    truth: Option<&Path>,
) -> Result<GenerateSummary, GenerateError> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let world = World::new(regions, crosswalk, stats, &mut rng)?;
    let xlsx = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    let mut truth_w = match truth {
        Some(p) => {
            let mut w =
                csv::Writer::from_path(p).map_err(|e| GenerateError::Input(e.to_string()))?;
            w.write_record([
                "row",
                "source_id",
                "kode_desa",
                "code_form",
                "gps_case",
                "names",
            ])
            .map_err(|e| GenerateError::Input(e.to_string()))?;
            Some(w)
        }
        None => None,
    };
    let mut sink =
        if xlsx {
            Sink::Xlsx(XlsxSink::new(opts.format))
        } else {
            let delimiter = if opts.format == SourceFormat::Dtks && opts.delimiter == b',' {
                b'|'
            } else {
                opts.delimiter
            };
            let w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(
                std::io::BufWriter::new(std::fs::File::create(out).map_err(io(out))?),
            );
            Sink::Csv(w, opts.encoding)
        };
    sink.row(
        &header(opts.format)
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )?;
    let first_data_row = if xlsx { XLSX_TITLE_ROWS + 2 } else { 2 } as usize;
    let mut written = 0usize;
    let mut serial = 0u32;
    for n in 0..opts.count {
        let s = synth(&world, &mut rng, &mut serial, opts.format);
        let rows = rows(&s, n, &world, opts.format, &mut rng);
        if let Some(w) = truth_w.as_mut() {
            let source_id = match opts.format {
                SourceFormat::Dtks => s.kk.clone(),
                _ => rows[0][0].clone(),
            };
            let kode = world.desa[s.desa].kode.to_string();
            w.write_record([
                (first_data_row + written).to_string(),
                source_id,
                kode,
                s.code_form.into(),
                s.gps_case.into(),
                if s.kec_name.is_empty() {
                    "no_kecamatan"
                } else {
                    "full"
                }
                .into(),
            ])
            .map_err(|e| GenerateError::Input(e.to_string()))?;
        }
        for r in &rows {
            sink.row(r)?;
        }
        written += rows.len();
    }
    sink.finish(out)?;
    if let Some(mut w) = truth_w {
        w.flush().map_err(io(truth.unwrap_or(out)))?;
    }
    Ok(GenerateSummary {
        households: opts.count,
        rows: written,
    })
}
