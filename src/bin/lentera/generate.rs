//! `lentera generate households`: synthetic household files.

use anyhow::{bail, Context, Result};

use crate::args::GenerateArgs;
use lentera::generate::{read_kabupaten_stats, write_households, GenerateOptions, OutputEncoding};
use lentera::model::SourceFormat;
use lentera::store::Store;

/// Runs `lentera generate households`.
pub async fn run(store: &dyn Store, args: GenerateArgs) -> Result<()> {
    if args.format == SourceFormat::Custom {
        bail!("the generator writes p3ke, dtks, dtsen or verval files, not custom ones");
    }
    let (regions, crosswalk) = args.source.load(store).await?;
    let stats = match &args.stats {
        Some(p) => read_kabupaten_stats(p)?,
        None => Default::default(),
    };
    let opts = GenerateOptions {
        format: args.format,
        count: args.count,
        seed: args.seed,
        delimiter: u8::try_from(args.delimiter)
            .context("the delimiter must be one ASCII character")?,
        encoding: if args.windows_1252 {
            OutputEncoding::Windows1252
        } else {
            OutputEncoding::Utf8
        },
    };
    let summary = write_households(
        &regions,
        &crosswalk,
        &stats,
        &opts,
        &args.output,
        args.truth.as_deref(),
    )?;
    println!(
        "Wrote {} synthetic {} households ({} rows) to {}.",
        summary.households,
        args.format,
        summary.rows,
        args.output.display()
    );
    Ok(())
}
