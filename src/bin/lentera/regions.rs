//! `lentera regions import|crosswalk|list|denominators`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::args::{ImportArgs, RegionsCommand};
use lentera::app::{import_boundaries, BoundaryImportError};
use lentera::export::write_region_list;
use lentera::ingest::boundaries::{BoundaryError, ImportIssue, ImportOptions, Severity};
use lentera::ingest::denominators::read_denominators;
use lentera::model::sheet::SheetCsv;
use lentera::region::crosswalk::{read_crosswalk, Crosswalk};
use lentera::region::Level;
use lentera::store::{RegionFilter, Store};

/// How many findings are printed before the rest is left to `--report`.
const PRINTED_ISSUES: usize = 20;

/// Runs a `regions` command.
pub async fn run(store: &dyn Store, cmd: RegionsCommand) -> Result<()> {
    match cmd {
        RegionsCommand::Import(args) => import(store, args).await,
        RegionsCommand::Crosswalk { file, report } => {
            crosswalk(store, &file, report.as_deref()).await
        }
        RegionsCommand::List {
            level,
            parent,
            format,
        } => {
            let rows = store.list_regions(&RegionFilter { level, parent }).await?;
            write_region_list(std::io::stdout().lock(), &rows, format)?;
            if format == lentera::export::TableFormat::Table {
                eprintln!("{} units", rows.len());
            }
            Ok(())
        }
        RegionsCommand::Denominators { file } => {
            let d = read_denominators(&file)?;
            store.replace_denominators(&d).await?;
            println!(
                "Loaded denominators of {} units from {}.",
                d.len(),
                file.display()
            );
            Ok(())
        }
    }
}

async fn import(store: &dyn Store, args: ImportArgs) -> Result<()> {
    let opts = ImportOptions {
        level: args.level,
        code_field: Some(args.code_field),
        name_field: Some(args.name_field),
        skip_invalid: args.skip_invalid,
        dry_run: args.dry_run,
    };
    let started = std::time::Instant::now();
    let outcome = import_boundaries(store, &args.paths, &opts).await;
    let issues = match &outcome {
        Ok(o) => Some(&o.prepared.issues),
        Err(BoundaryImportError::Files(BoundaryError::Invalid { issues, .. })) => Some(issues),
        Err(_) => None,
    };
    if let Some(issues) = issues {
        print_issues(issues);
        if let Some(path) = &args.report {
            write_issue_report(path, issues)?;
        }
    }
    let outcome = outcome?;
    let p = &outcome.prepared;
    let count = |s: Severity| p.issues.iter().filter(|i| i.severity == s).count();
    let mut by_level = std::collections::BTreeMap::<Level, usize>::new();
    for r in &p.regions {
        *by_level.entry(r.kode.level()).or_default() += 1;
    }
    let levels: Vec<String> = by_level.iter().map(|(l, n)| format!("{n} {l}")).collect();
    match &outcome.stored {
        Some(s) => println!(
            "Imported {} units ({}) from {} in {:.2} s: {} replaced, {} repaired, {} skipped, {} warnings.",
            s.inserted,
            levels.join(", "),
            p.sources.join(", "),
            started.elapsed().as_secs_f64(),
            s.removed,
            count(Severity::Repaired),
            p.refused(),
            count(Severity::Warning),
        ),
        None => println!(
            "Dry run: {} units ({}) would be imported; {} repaired, {} refused, {} warnings. Nothing was changed.",
            p.regions.len(),
            levels.join(", "),
            count(Severity::Repaired),
            p.refused(),
            count(Severity::Warning),
        ),
    }
    Ok(())
}

/// Prints the first findings, and how many more there are.
fn print_issues(issues: &[ImportIssue]) {
    for i in issues.iter().take(PRINTED_ISSUES) {
        eprintln!("{i}");
    }
    print_remainder(issues.len(), "findings");
}

/// Says how many of `total` lines were not printed.
fn print_remainder(total: usize, what: &str) {
    if total > PRINTED_ISSUES {
        eprintln!(
            "… and {} more {what} (write them all with --report FILE)",
            total - PRINTED_ISSUES
        );
    }
}

fn write_issue_report(path: &Path, issues: &[ImportIssue]) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    let mut w = SheetCsv::from_writer(std::io::BufWriter::new(file));
    w.write_record(["severity", "source", "feature", "kode", "message"])?;
    for i in issues {
        let sev = serde_json::to_value(i.severity)?;
        w.write_record([
            sev.as_str().unwrap_or_default(),
            &i.source,
            &i.feature.to_string(),
            i.kode.as_deref().unwrap_or(""),
            &i.message,
        ])?;
    }
    w.flush()?;
    Ok(())
}

async fn crosswalk(store: &dyn Store, file: &Path, report: Option<&Path>) -> Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
    let load = read_crosswalk(f).with_context(|| format!("{}", file.display()))?;
    let known = store.region_codes().await?.into_iter().collect();
    let cw = Crosswalk::new(load.entries.clone(), known);
    let missing = cw.missing_targets();
    let no_target = load
        .entries
        .iter()
        .filter(|e| e.kode_kemendagri.is_none())
        .count();
    let mut lines: Vec<(usize, String, String)> = load
        .issues
        .iter()
        .map(|i| (i.line, i.kode_bps.clone(), i.problem.clone()))
        .collect();
    lines.extend(missing.iter().map(|e| {
        let target = e.kode_kemendagri.map(|k| k.to_string()).unwrap_or_default();
        (
            0,
            e.kode_bps.as_str().to_string(),
            format!("maps to {target}, which is not in the loaded boundaries"),
        )
    }));
    if let Some(path) = report {
        let mut w = csv::Writer::from_path(path)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
        w.write_record(["line", "kode_bps", "problem"])?;
        for (line, code, problem) in &lines {
            w.write_record([line.to_string().as_str(), code, problem])?;
        }
        w.flush()?;
    }
    for (line, code, problem) in lines.iter().take(PRINTED_ISSUES) {
        match line {
            0 => eprintln!("warning: BPS {code}: {problem}"),
            n => eprintln!("warning: line {n}: BPS {code}: {problem}"),
        }
    }
    print_remainder(lines.len(), "rows");
    store.replace_crosswalk(&load.entries).await?;
    let mapped = load.entries.len() - no_target - missing.len();
    println!(
        "Crosswalk loaded: {} rows; {mapped} map to loaded boundaries, {} map to codes not in \
         the boundaries, {no_target} have no Kemendagri code, {} rows refused.",
        load.entries.len(),
        missing.len(),
        load.issues.len() - no_target,
    );
    Ok(())
}
