//! `lentera export`: units with their indicators, or the households of a period, to a file.

use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::args::ExportArgs;
use crate::shared::{period_of, snapshot};
use lentera::aggregate::{PeriodIndicators, Snapshot};
use lentera::export::pmtiles::{write_pmtiles, PmtilesOptions};
use lentera::export::{
    select, stream_households, write_csv, write_geojson, write_gpkg, write_households_csv,
    write_households_geojson, xlsx_bytes, Format, HouseholdFilter, UnitFilter,
};
use lentera::model::Scope;
use lentera::region::Level;
use lentera::store::Store;

/// Runs `lentera export`.
pub async fn run(store: &Arc<dyn Store>, args: ExportArgs) -> Result<()> {
    let snap = snapshot(store.as_ref()).await?;
    period_of(&snap, args.units.period)?;
    let Some(format) = args.format.units() else {
        return pmtiles(Arc::new(snap), &args);
    };
    let period = period_of(&snap, args.units.period)?;
    if args.households {
        return households(store, &snap, period, format, &args).await;
    }
    let level = args.units.level.unwrap_or(Level::Desa);
    let parent = args
        .units
        .parent
        .map(|k| snap.unit_index(k).with_context(|| format!("no region {k}")))
        .transpose()?;
    let filter = UnitFilter {
        level,
        parent,
        bbox: None,
        thresholds: Vec::new(),
    };
    let units = select(&snap, &filter, period);
    let table = level.as_str();
    let create = || {
        std::fs::File::create(&args.output)
            .map(std::io::BufWriter::new)
            .with_context(|| format!("cannot create {}", args.output.display()))
    };
    match format {
        Format::Gpkg => write_gpkg(&snap, &units, period, table, &args.output)?,
        Format::Xlsx => std::fs::write(&args.output, xlsx_bytes(&snap, &units, period, table)?)
            .with_context(|| format!("cannot write {}", args.output.display()))?,
        Format::Geojson => write_geojson(&snap, &units, period, create()?)?,
        Format::Csv => write_csv(&snap, &units, period, !args.point, create()?)?,
    }
    println!(
        "Wrote {} {} units to {}.",
        units.len(),
        level,
        args.output.display()
    );
    Ok(())
}

/// `lentera export pmtiles`: the boundary layers' tiles as anonymous visitors get them.
fn pmtiles(snap: Arc<Snapshot>, args: &ExportArgs) -> Result<()> {
    if args.households {
        bail!("households are never written to a PMTiles archive (it is meant for publishing)");
    }
    let disclosure = lentera::aggregate::Disclosure {
        suppress_upto: args.suppress_below,
    };
    let period = snap
        .period(args.units.period)
        .map(|p| p.disclosed(disclosure));
    let tiles = lentera::tiles::TileSet::new(snap);
    let opts = PmtilesOptions {
        layers: args.layers.clone(),
        max_zoom: args.maxzoom,
    };
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let started = std::time::Instant::now();
    let written = write_pmtiles(
        &tiles,
        period.as_ref(),
        &opts,
        std::io::BufWriter::new(file),
    );
    let summary = match written {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&args.output);
            return Err(e.into());
        }
    };
    let size = std::fs::metadata(&args.output).map_or(0, |m| m.len());
    println!(
        "Wrote {} tiles ({} distinct; {} empty tiles left out) of {} up to zoom {} to {} ({:.1} MiB) in {:.1} s.",
        summary.tiles,
        summary.distinct,
        summary.empty,
        opts.layers
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        opts.max_zoom,
        args.output.display(),
        size as f64 / f64::from(1 << 20),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `lentera export geojson|csv --households`: streams the households of `period` to a file.
async fn households(
    store: &Arc<dyn Store>,
    snap: &Snapshot,
    period: Option<&PeriodIndicators>,
    format: Format,
    args: &ExportArgs,
) -> Result<()> {
    if !matches!(format, Format::Geojson | Format::Csv) {
        bail!("households are exported as geojson or csv");
    }
    let period = period.context("no households are loaded")?.period;
    let filter = HouseholdFilter {
        scope: Scope::All,
        parent: args.units.parent,
        bbox: None,
    };
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let out = std::io::BufWriter::new(file);
    let geojson = format == Format::Geojson;
    let mut chunks = stream_households(store.clone(), snap.batch_ids_of(period));
    let written = tokio::task::spawn_blocking(move || {
        let chunks = std::iter::from_fn(|| chunks.blocking_recv());
        if geojson {
            write_households_geojson(chunks, &filter, out)
        } else {
            write_households_csv(chunks, &filter, out)
        }
    })
    .await??;
    crate::accounts::audit_cli(
        store.as_ref(),
        lentera::model::AuditAction::HouseholdRead,
        "lentera export --households",
        format!(
            "period={period}{} file={}",
            args.units
                .parent
                .map(|p| format!(" parent={p}"))
                .unwrap_or_default(),
            args.output.display()
        ),
        Some(written),
    )
    .await?;
    println!(
        "Wrote {written} households of {period} to {} (NIK and KK masked).",
        args.output.display()
    );
    Ok(())
}
