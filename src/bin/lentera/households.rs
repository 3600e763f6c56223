//! `lentera households import|batches|remove|review|rejects`.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::accounts::audit_cli;
use crate::args::{HouseholdImportArgs, HouseholdsCommand};
use crate::shared::{write_rejects, write_rejects_to};
use lentera::app::{import_households, store_geocoder, HouseholdImport, HouseholdImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::review::{needing_review, read_corrections, write_review};
use lentera::model::{AuditAction, Quality, Reject, StoredHousehold};
use lentera::store::{Store, StoreConfig};

/// Runs a `households` command.
pub async fn run(store: &dyn Store, cfg: &StoreConfig, cmd: HouseholdsCommand) -> Result<()> {
    match cmd {
        HouseholdsCommand::Import(args) => import(store, cfg, args).await,
        HouseholdsCommand::Batches => {
            let batches = store.batches().await?;
            println!(
                "{:>5}  {:<8} {:<7} {:<12} {:>10} {:>10} {:>9} {:>8}  {:<24} file",
                "batch",
                "source",
                "period",
                "status",
                "rows",
                "households",
                "rejected",
                "dupl.",
                "imported"
            );
            for b in &batches {
                println!(
                    "{:>5}  {:<8} {:<7} {:<12} {:>10} {:>10} {:>9} {:>8}  {:<24} {}",
                    b.id,
                    b.source.as_str(),
                    b.period.to_string(),
                    b.state.status.as_str(),
                    b.counts.rows_read,
                    b.counts.households,
                    b.counts.rows_rejected,
                    b.counts.duplicates_in_batch + b.duplicates_other,
                    b.imported_at,
                    b.file_name
                );
            }
            eprintln!("{} batches", batches.len());
            Ok(())
        }
        HouseholdsCommand::Remove { id } => match store.remove_batch(id).await? {
            Some(b) => {
                audit_cli(
                    store,
                    AuditAction::BatchRemove,
                    "lentera households remove",
                    format!("batch {id} ({})", b.file_name),
                    Some(b.counts.households),
                )
                .await?;
                println!(
                    "Removed batch {id} ({}, {} households).",
                    b.file_name, b.counts.households
                );
                Ok(())
            }
            None => bail!("there is no batch {id}"),
        },
        HouseholdsCommand::Review { id, output, apply } => review(store, id, output, apply).await,
        HouseholdsCommand::Rejects { id, output } => {
            existing_batch(store, id).await?;
            let rejects = store.rejects(id).await?;
            audit_cli(
                store,
                AuditAction::HouseholdRead,
                "lentera households rejects",
                format!("batch {id}"),
                Some(rejects.len() as u64),
            )
            .await?;
            match output {
                Some(path) => write_rejects(&path, &rejects)?,
                None => write_rejects_to(std::io::stdout().lock(), &rejects)?,
            }
            Ok(())
        }
    }
}

/// Refuses a batch id the store does not hold.
async fn existing_batch(store: &dyn Store, id: i64) -> Result<()> {
    if !store.batches().await?.iter().any(|b| b.id == id) {
        bail!("there is no batch {id}");
    }
    Ok(())
}

async fn review(
    store: &dyn Store,
    id: i64,
    output: Option<PathBuf>,
    apply: Option<PathBuf>,
) -> Result<()> {
    existing_batch(store, id).await?;
    let geocoder = store_geocoder(store)
        .await?
        .context("no desa boundaries in the store: run `lentera regions import` first")?;
    let stored = store.households(Some(id)).await?;
    let Some(path) = apply else {
        let queue = needing_review(&stored);
        audit_cli(
            store,
            AuditAction::HouseholdRead,
            "lentera households review",
            format!("batch {id}"),
            Some(queue.len() as u64),
        )
        .await?;
        match &output {
            Some(p) => {
                let f = std::fs::File::create(p).with_context(|| format!("{}", p.display()))?;
                write_review(&queue, geocoder.gazetteer(), std::io::BufWriter::new(f))?;
                println!(
                    "{} of {} households of batch {id} need review; written to {}.",
                    queue.len(),
                    stored.len(),
                    p.display()
                );
            }
            None => write_review(&queue, geocoder.gazetteer(), std::io::stdout().lock())?,
        }
        return Ok(());
    };
    let f = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let (corrections, mut problems) = read_corrections(f).map_err(anyhow::Error::msg)?;
    let by_id: HashMap<i64, &StoredHousehold> = stored.iter().map(|s| (s.id, s)).collect();
    let mut session = geocoder.session();
    let mut updates = Vec::new();
    let mut resolved = 0u64;
    for c in &corrections {
        let Some(s) = by_id.get(&c.id) else {
            problems.push(Reject {
                row: c.row,
                column: "id".into(),
                value: c.id.to_string(),
                reason: format!("batch {id} has no household with this id"),
            });
            continue;
        };
        let mut h = c.apply_to(&s.household);
        let g = session.geocode(&h);
        resolved += u64::from(!g.needs_review());
        h.geocode = Some(g);
        updates.push((c.id, h));
    }
    let updated = store.correct_households(id, updates).await?;
    audit_cli(
        store,
        AuditAction::BatchCorrect,
        "lentera households review --apply",
        format!("batch {id}"),
        Some(updated),
    )
    .await?;
    println!(
        "Applied {} to batch {id}: {updated} households geocoded again, {resolved} of them \
         now placed without a flag, {} still to review.",
        path.display(),
        updated - resolved
    );
    if !problems.is_empty() {
        eprintln!(
            "{} row(s) of the review file were not used:",
            problems.len()
        );
        write_rejects_to(std::io::stderr().lock(), &problems)?;
    }
    Ok(())
}

async fn import(store: &dyn Store, cfg: &StoreConfig, args: HouseholdImportArgs) -> Result<()> {
    let secret = Secret::from_env()?;
    let opts = HouseholdImportOptions {
        file: args.read.options(),
        period: args.period,
        state: Default::default(),
        file_name: None,
    };
    let started = std::time::Instant::now();
    let geocoder = store_geocoder(store).await?;
    if geocoder.is_none() {
        eprintln!("warning: no desa boundaries in the store: households are imported without a desa (run `lentera regions import` first)");
    }
    let outcome = import_households(store, &args.file, &opts, &secret, geocoder).await?;
    let (batch, format, geocoded) = match outcome {
        HouseholdImport::AlreadyImported(b) => {
            println!(
                "{} was already imported as batch {} on {} (same SHA-256); nothing to do.",
                args.file.display(),
                b.id,
                b.imported_at
            );
            return Ok(());
        }
        HouseholdImport::Imported {
            batch,
            format,
            geocoded,
            ..
        } => (batch, format, geocoded),
    };
    audit_cli(
        store,
        AuditAction::BatchImport,
        "lentera households import",
        format!(
            "batch {} ({}, {}, {})",
            batch.id, batch.file_name, batch.source, batch.period
        ),
        Some(batch.counts.households),
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let c = &batch.counts;
    let rejects_path = match (&args.rejects, c.rows_rejected) {
        (Some(p), _) => Some(p.clone()),
        (None, 0) => None,
        (None, _) => Some(
            cfg.data_dir
                .join("rejects")
                .join(format!("batch-{}.csv", batch.id)),
        ),
    };
    if let Some(p) = &rejects_path {
        write_rejects(p, &store.rejects(batch.id).await?)?;
    }
    println!(
        "Batch {}: {} ({format}, period {}, {})",
        batch.id, batch.file_name, batch.period, batch.input
    );
    let rows = [
        ("rows read", c.rows_read),
        ("accepted", c.rows_accepted),
        ("rejected", c.rows_rejected),
        ("blank rows skipped", c.blank_rows),
        ("households", c.households),
        ("duplicates within the file", c.duplicates_in_batch),
        ("duplicates of other batches", batch.duplicates_other),
    ];
    for (label, n) in rows {
        println!("  {label:<28} {n:>10}");
    }
    if let Some(p) = rejects_path {
        println!("  reject report                {}", p.display());
    }
    if let Some(g) = geocoded {
        for q in Quality::ALL {
            if let Some(n) = g.by_quality.get(q) {
                println!("  geocoded {:<19} {n:>10}", q.as_str());
            }
        }
        println!(
            "  to review                    {:>10}  (lentera households review {})",
            g.needs_review, batch.id
        );
    }
    println!(
        "  time                         {secs:>9.1} s ({:.0} rows/s)",
        c.rows_read as f64 / secs.max(1e-9)
    );
    Ok(())
}
