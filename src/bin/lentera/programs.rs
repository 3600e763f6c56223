//! `lentera programs add|list|remove|beneficiaries`.

use anyhow::{Context, Result};

use crate::accounts::{audit_cli, cli_user};
use crate::args::ProgramsCommand;
use lentera::app::{load_snapshot, upload_program_list, ListReport, ListUpload};
use lentera::model::sheet::SheetCsv;
use lentera::model::{AuditAction, NewProgram, ProgramKind};
use lentera::store::Store;

/// Runs a `programs` command.
pub async fn run(store: &dyn Store, cmd: ProgramsCommand) -> Result<()> {
    match cmd {
        ProgramsCommand::Add {
            name,
            agency,
            year,
            kind,
            desil,
            budget,
            unit_cost,
        } => {
            let program = NewProgram {
                name,
                agency,
                year,
                kind,
                desil,
                budget,
                unit_cost,
            }
            .checked()?;
            let stored = store
                .add_program(&program, &cli_user(), &lentera::model::account::now())
                .await?;
            audit_cli(
                store,
                AuditAction::ProgramAdd,
                "lentera programs add",
                format!("program {} ({})", stored.id, stored.program.name),
                None,
            )
            .await?;
            println!(
                "Programme {} registered: {} ({}, {}).",
                stored.id, stored.program.name, stored.program.agency, stored.program.year
            );
            Ok(())
        }
        ProgramsCommand::List => {
            let programs = store.programs().await?;
            if programs.is_empty() {
                println!("No programmes are registered (lentera programs add).");
                return Ok(());
            }
            println!(
                "{:>4}  {:<30} {:<24} {:>4}  {:<9} {:<6} list",
                "id", "name", "agency", "year", "kind", "desil"
            );
            for p in &programs {
                let list = p.list.as_ref().map_or("none".to_string(), |l| {
                    format!("{} rows for {} ({})", l.rows_kept, l.period, l.file_name)
                });
                println!(
                    "{:>4}  {:<30} {:<24} {:>4}  {:<9} {:<6} {list}",
                    p.id,
                    p.program.name,
                    p.program.agency,
                    p.program.year,
                    p.program.kind.as_str(),
                    p.program.desil.map_or("all".into(), |d| d.to_string()),
                );
            }
            Ok(())
        }
        ProgramsCommand::Remove { id } => {
            let removed = store
                .remove_program(id)
                .await?
                .with_context(|| format!("programme {id} is not registered"))?;
            audit_cli(
                store,
                AuditAction::ProgramRemove,
                "lentera programs remove",
                format!("program {id} ({})", removed.program.name),
                None,
            )
            .await?;
            println!("Programme {id} ({}) removed.", removed.program.name);
            Ok(())
        }
        ProgramsCommand::Beneficiaries {
            id,
            file,
            period,
            report,
        } => {
            let secret = crate::serve::store_secret(store).await?;
            let upload = ListUpload {
                program: id,
                path: &file,
                file_name: file
                    .file_name()
                    .map_or("daftar".into(), |n| n.to_string_lossy().into_owned()),
                period,
                by: cli_user(),
            };
            let (stored, read) = upload_program_list(store, upload, secret)
                .await
                .with_context(|| format!("cannot take the list {}", file.display()))?;
            audit_cli(
                store,
                AuditAction::ProgramList,
                "lentera programs beneficiaries",
                format!("program {id} period {period}"),
                Some(read.members.len() as u64),
            )
            .await?;
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            let snap = load_snapshot(store, threads).await?;
            let kind = stored.program.kind;
            let r = ListReport::new(stored, &read, &snap);
            println!(
                "{} rows read: {} kept, {} repeated, {} refused.",
                r.rows_read, r.rows_kept, r.repeats, r.rows_refused
            );
            if kind == ProgramKind::Household {
                println!(
                    "{} rows match a household of {period}; {} match none ({} of them name a \
                     known region, counted there as leakage).",
                    r.matched, r.unmatched, r.unmatched_placed
                );
            }
            if let Some(path) = report {
                write_report(&path, &r)?;
                println!("Rows refused or matching nothing: {}", path.display());
            }
            Ok(())
        }
    }
}

/// Writes the rows refused and the rows matching no household (NIK and KK masked) to `path`.
fn write_report(path: &std::path::Path, r: &ListReport) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = SheetCsv::from_writer(file);
    w.write_record([
        "baris",
        "status",
        "alasan",
        "nik",
        "no_kk",
        "nama",
        "alamat",
        "kode_wilayah",
    ])?;
    for x in &r.refused {
        w.write_record([
            x.row.to_string().as_str(),
            "ditolak",
            x.alasan.as_str(),
            "",
            "",
            "",
            "",
            "",
        ])?;
    }
    for e in &r.unmatched_rows {
        w.write_record([
            e.row.to_string().as_str(),
            "tidak cocok",
            "tidak ditemukan di BNBA periode ini",
            e.nik.as_str(),
            e.kk.as_str(),
            e.nama.as_str(),
            e.alamat.as_str(),
            e.kode.as_str(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
