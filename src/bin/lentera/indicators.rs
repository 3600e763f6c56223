//! `lentera indicators`: the indicators of units, and how every batch was counted.

use anyhow::{bail, Context, Result};

use crate::args::IndicatorsArgs;
use crate::shared::{period_of, snapshot};
use lentera::export::{unit_rows, write_indicator_csv, write_indicator_table, TableFormat};
use lentera::region::Level;
use lentera::store::Store;

/// Runs `lentera indicators`.
pub async fn run(store: &dyn Store, args: IndicatorsArgs) -> Result<()> {
    let snap = snapshot(store).await?;
    let period = period_of(&snap, args.units.period)?;
    let base = args
        .base
        .map(|b| period_of(&snap, Some(b)))
        .transpose()?
        .flatten();
    let level = args.units.level.unwrap_or(Level::Kabupaten);
    let units: Vec<u32> = match args.units.parent {
        Some(k) => snap
            .descendants(
                snap.unit_index(k)
                    .with_context(|| format!("no region {k}"))?,
            )
            .collect(),
        None => (0..snap.units().len() as u32).collect(),
    };
    let units: Vec<u32> = units
        .into_iter()
        .filter(|&u| snap.unit(u).info.level == level)
        .collect();
    let stdout = std::io::stdout();
    match args.format {
        TableFormat::Json => {
            serde_json::to_writer_pretty(stdout.lock(), &unit_rows(&snap, &units, period, base))?;
        }
        TableFormat::Csv => {
            write_indicator_csv(stdout.lock(), &unit_rows(&snap, &units, period, base))?;
        }
        TableFormat::Table => {
            let counted = write_indicator_table(stdout.lock(), &snap, &units, period)?;
            eprintln!(
                "{} units, {counted} households, period {} (\"-\" = no data)",
                units.len(),
                period.map_or("none".to_string(), |p| p.period.to_string())
            );
        }
    }
    for b in snap.batches() {
        let t = &b.tally;
        eprintln!(
            "batch {} ({}, {}): {} households = {} duplicates + {} counted ({} desa, {} kecamatan only, {} kabupaten only) + {} not placed{}; {} relocated by their point, {} with their point in another desa",
            b.id,
            b.file_name,
            b.period,
            t.households,
            t.duplicates,
            t.counted(),
            t.counted_desa,
            t.counted_kecamatan,
            t.counted_kabupaten,
            t.not_placed,
            if t.not_geocoded > 0 {
                format!(" ({} never geocoded: import boundaries first, then re-import)", t.not_geocoded)
            } else {
                String::new()
            },
            t.relocated,
            t.point_elsewhere,
        );
        if !b.reconciles() {
            bail!("batch {} does not reconcile", b.id);
        }
    }
    Ok(())
}
