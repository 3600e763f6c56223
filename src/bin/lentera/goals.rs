//! `lentera goals set|list|remove`.

use anyhow::{bail, Context, Result};

use crate::accounts::audit_cli;
use crate::args::GoalsCommand;
use lentera::aggregate::goals::Goal;
use lentera::aggregate::Indicator;
use lentera::app::goals::{goals, remove_goals, set_goal};
use lentera::model::AuditAction;
use lentera::store::Store;

/// Runs a `goals` command.
pub async fn run(store: &dyn Store, cmd: GoalsCommand) -> Result<()> {
    match cmd {
        GoalsCommand::Set {
            indicator,
            value,
            year,
            unit,
        } => {
            let indicator: Indicator = indicator.parse()?;
            if let Some(k) = unit {
                // A province is not stored as a unit of its own: its loaded units name it.
                let loaded = store.region_codes().await?;
                if !loaded.iter().any(|c| c.is_within(&k)) {
                    bail!("{k} is not a loaded region: run `lentera regions import` first, or check the code");
                }
            }
            // A rate is given in percent and kept as a share.
            let stored = if indicator.is_share() {
                value / 100.0
            } else {
                value
            };
            let goal = Goal::new(indicator, stored, year, unit)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("the goal was not set")?;
            let all = set_goal(store, goal.clone()).await?;
            audit_cli(
                store,
                AuditAction::GoalSet,
                "lentera goals set",
                describe(&goal),
                None,
            )
            .await?;
            println!("Goal set: {}. Goals: {}.", describe(&goal), all.len());
            Ok(())
        }
        GoalsCommand::List => {
            let goals = goals(store).await?;
            if goals.is_empty() {
                println!("No goals set: `lentera goals set --help` shows how.");
            }
            for g in &goals {
                println!("{}", describe(g));
            }
            Ok(())
        }
        GoalsCommand::Remove {
            indicator,
            unit,
            year,
        } => {
            let indicator: Indicator = indicator.parse()?;
            let removed = remove_goals(store, indicator, unit, year).await?;
            if removed == 0 {
                bail!(
                    "no goal of {} is set for {}",
                    indicator.name(),
                    where_(unit)
                );
            }
            audit_cli(
                store,
                AuditAction::GoalSet,
                "lentera goals remove",
                format!(
                    "removed {removed} goal(s) of {} for {}",
                    indicator.name(),
                    where_(unit)
                ),
                Some(removed as u64),
            )
            .await?;
            println!("Removed {removed} goal(s).");
            Ok(())
        }
    }
}

fn where_(unit: Option<lentera::region::Kode>) -> String {
    unit.map_or_else(|| "everywhere".to_string(), |k| k.to_string())
}

/// `extreme_poor_rate 0 % by 2026 for 64`.
fn describe(g: &Goal) -> String {
    let value = if g.indicator.is_share() {
        format!("{} %", g.value * 100.0)
    } else {
        format!("{}", g.value)
    };
    format!(
        "{} {value} by {} for {}",
        g.indicator.name(),
        g.year,
        where_(g.unit)
    )
}
