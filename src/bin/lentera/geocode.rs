//! `lentera geocode`: a household file geocoded without importing it, one output row per
//! household.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::args::GeocodeArgs;
use lentera::app::store_geocoder;
use lentera::geocode::Geocoder;
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::households::{FileOptions, HouseholdFile, HouseholdFileError};
use lentera::model::sheet::SheetCsv;
use lentera::model::{
    BatchCounts, BatchSink, Flag, Geocode, GeocodeSummary, Household, Quality, Reject,
};
use lentera::region::crosswalk::Crosswalk;
use lentera::region::Level;
use lentera::store::Store;

/// Columns of the geocoding output file.
pub const OUTPUT_COLUMNS: [&str; 8] = [
    "row",
    "source_id",
    "kode_desa",
    "quality",
    "flags",
    "lon",
    "lat",
    "candidates",
];

/// The output row of one household: `row,source_id,kode_desa,quality,flags,lon,lat,candidates`.
/// For `kecamatan_only`/`kabupaten_only` results `candidates` holds the unit known.
fn output_row(h: &Household, g: &Geocode) -> [String; 8] {
    let (lon, lat) = g
        .point
        .map(|(x, y)| (format!("{x:.6}"), format!("{y:.6}")))
        .unwrap_or_default();
    let candidates = if g.candidates.is_empty() && !g.quality.has_desa() {
        g.unit.map(|u| u.to_string()).unwrap_or_default()
    } else {
        g.candidates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";")
    };
    [
        h.source_row.to_string(),
        h.source_id.as_deref().unwrap_or_default().to_string(),
        g.kode_desa.map(|k| k.to_string()).unwrap_or_default(),
        g.quality.as_str().to_string(),
        g.flags.to_string(),
        lon,
        lat,
        candidates,
    ]
}

/// The sink that writes each household's geocoding result as a CSV row and sums them up.
struct GeocodeWriter<W: Write> {
    out: SheetCsv<W>,
    summary: GeocodeSummary,
}

impl<W: Write> BatchSink for GeocodeWriter<W> {
    type Error = csv::Error;

    fn file_hash(&mut self, _sha256: &str) -> Result<(), csv::Error> {
        Ok(())
    }

    fn chunk(&mut self, households: Vec<Household>, _: Vec<Reject>) -> Result<(), csv::Error> {
        for h in &households {
            let Some(g) = &h.geocode else { continue };
            self.summary.add(g);
            self.out.write_record(output_row(h, g))?;
        }
        Ok(())
    }

    fn finish(&mut self, counts: BatchCounts) -> Result<(), csv::Error> {
        self.summary.rows_read = counts.rows_read;
        self.summary.rows_rejected = counts.rows_rejected;
        self.out.flush()?;
        Ok(())
    }
}

/// Reads a household file (any format the importer reads), geocodes every household and
/// writes one output row per household to `out`. Identity numbers are hashed with a
/// throw-away key and never written.
fn geocode_file(
    path: &Path,
    opts: &FileOptions,
    geocoder: &Geocoder,
    out: impl Write,
) -> Result<GeocodeSummary> {
    let file = HouseholdFile::open(path, opts)?;
    let secret = Secret::new("lentera-geocode-throwaway-key").map_err(HouseholdFileError::from)?;
    let mut w = SheetCsv::from_writer(out);
    w.write_record(OUTPUT_COLUMNS)?;
    let mut sink = GeocodeWriter {
        out: w,
        summary: GeocodeSummary::default(),
    };
    let produced = file
        .feed(secret, Some(geocoder), &mut sink)
        .context("writing the output")?;
    if produced.counts.rows_read == 0 {
        return Err(HouseholdFileError::NoRows(path.display().to_string()).into());
    }
    Ok(sink.summary)
}

/// Runs `lentera geocode`.
pub async fn run(store: &dyn Store, args: GeocodeArgs) -> Result<()> {
    let geocoder = if args.source.regions.is_empty() && args.source.crosswalk.is_none() {
        store_geocoder(store).await?.context(
            "no desa boundaries in the store: run `lentera regions import` or pass --regions",
        )?
    } else {
        let (regions, crosswalk) = args.source.load(store).await?;
        if !regions.iter().any(|r| r.kode.level() == Level::Desa) {
            anyhow::bail!("no desa boundaries to geocode against: pass --regions with desa files");
        }
        let known = regions.iter().map(|r| r.kode).collect();
        Arc::new(Geocoder::new(&regions, Crosswalk::new(crosswalk, known)))
    };
    let opts = args.read.options();
    let out = std::fs::File::create(&args.output)
        .with_context(|| format!("{}", args.output.display()))?;
    let started = std::time::Instant::now();
    let input = args.input.clone();
    let s = tokio::task::spawn_blocking(move || {
        geocode_file(&input, &opts, &geocoder, std::io::BufWriter::new(out))
    })
    .await??;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Geocoded {} households from {} rows ({} rows rejected) into {}.",
        s.households,
        s.rows_read,
        s.rows_rejected,
        args.output.display()
    );
    let pct = |n: u64| 100.0 * n as f64 / s.households.max(1) as f64;
    for q in Quality::ALL {
        let n = s.by_quality.get(q).copied().unwrap_or(0);
        println!("  {:<28} {n:>10} {:>6.1} %", q.as_str(), pct(n));
    }
    for f in Flag::ALL {
        if let Some(n) = s.by_flag.get(f.as_str()) {
            println!("  flag {:<23} {n:>10} {:>6.1} %", f.as_str(), pct(*n));
        }
    }
    println!(
        "  time                         {secs:>9.1} s ({:.0} households/s)",
        s.households as f64 / secs.max(1e-9)
    );
    Ok(())
}
