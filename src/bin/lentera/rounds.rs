//! `lentera rounds open|list|close`.

use anyhow::{bail, Result};

use crate::accounts::{audit_cli, cli_user};
use crate::args::RoundsCommand;
use lentera::model::{AuditAction, Round};
use lentera::region::Level;
use lentera::store::Store;

/// Runs a `rounds` command.
pub async fn run(store: &dyn Store, cmd: RoundsCommand) -> Result<()> {
    match cmd {
        RoundsCommand::Open {
            period,
            deadline,
            expect,
        } => {
            let loaded: Vec<_> = store
                .regions(Level::Kabupaten)
                .await?
                .into_iter()
                .map(|r| r.kode)
                .collect();
            if loaded.is_empty() {
                bail!("no kabupaten/kota are loaded: run `lentera regions import` first");
            }
            if let Some(k) = expect.iter().find(|k| !loaded.contains(k)) {
                bail!("{k} is not a loaded kabupaten/kota");
            }
            let expected = if expect.is_empty() { loaded } else { expect };
            let round = Round {
                period,
                deadline,
                expected,
                opened_by: cli_user(),
                opened_at: lentera::model::account::now(),
                closed_by: None,
                closed_at: None,
            }
            .checked()?;
            store.open_round(&round).await?;
            audit_cli(
                store,
                AuditAction::RoundOpen,
                "lentera rounds open",
                format!("round {period} until {}", round.deadline),
                Some(round.expected.len() as u64),
            )
            .await?;
            println!(
                "Round {period} is open until {} for {} kabupaten/kota.",
                round.deadline,
                round.expected.len()
            );
            Ok(())
        }
        RoundsCommand::List => {
            let rounds = store.rounds().await?;
            println!(
                "{:<8} {:<11} {:>9}  {:<10} opened by",
                "period", "deadline", "expected", "state"
            );
            for r in &rounds {
                let days = r
                    .days_left(std::time::SystemTime::now())
                    .map_or(String::new(), |d| {
                        if d >= 0 {
                            format!("{d} days left")
                        } else {
                            format!("{} days late", -d)
                        }
                    });
                let state = if r.is_open() { "open" } else { "closed" };
                println!(
                    "{:<8} {:<11} {:>9}  {:<10} {} {}",
                    r.period.to_string(),
                    r.deadline,
                    r.expected.len(),
                    state,
                    r.opened_by,
                    if r.is_open() { days } else { String::new() }
                );
            }
            eprintln!("{} rounds", rounds.len());
            Ok(())
        }
        RoundsCommand::Close { period } => {
            let Some(round) = store
                .close_round(period, &cli_user(), &lentera::model::account::now())
                .await?
            else {
                bail!("there is no round {period}");
            };
            audit_cli(
                store,
                AuditAction::RoundClose,
                "lentera rounds close",
                format!("round {period}"),
                None,
            )
            .await?;
            println!(
                "Round {} is closed; uploads for it are refused from now on.",
                round.period
            );
            Ok(())
        }
    }
}
