//! Goals kept in the store (one list under the meta key `goals`, in both backends): small,
//! set by an administrator, read by every server over the store.

use crate::aggregate::goals::{
    goals_from_text, goals_to_text, sort_goals, with_goal, Goal, GoalError,
};
use crate::aggregate::Indicator;
use crate::region::Kode;
use crate::store::{Store, StoreError};

/// The meta key the goals are kept under.
const KEY: &str = "goals";

/// Why goals could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum GoalStoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored list is damaged.
    #[error(transparent)]
    Goal(#[from] GoalError),
}

/// The goals set, in a stable order.
pub async fn goals(store: &dyn Store) -> Result<Vec<Goal>, GoalStoreError> {
    let mut goals = match store.get_meta(KEY).await? {
        Some(text) => goals_from_text(&text)?,
        None => Vec::new(),
    };
    sort_goals(&mut goals);
    Ok(goals)
}

/// Sets `goal` (replacing one of the same indicator, unit and year); returns all goals.
pub async fn set_goal(store: &dyn Store, goal: Goal) -> Result<Vec<Goal>, GoalStoreError> {
    let goals = with_goal(goals(store).await?, goal);
    store.set_meta(KEY, &goals_to_text(&goals)).await?;
    Ok(goals)
}

/// Removes the goals of `indicator` for `unit` (`None`: those set for everywhere), of
/// `year` only when given; returns how many were removed.
pub async fn remove_goals(
    store: &dyn Store,
    indicator: Indicator,
    unit: Option<Kode>,
    year: Option<u16>,
) -> Result<usize, GoalStoreError> {
    let mut goals = goals(store).await?;
    let before = goals.len();
    goals.retain(|g| {
        !(g.indicator == indicator && g.unit == unit && year.is_none_or(|y| g.year == y))
    });
    let removed = before - goals.len();
    if removed > 0 {
        store.set_meta(KEY, &goals_to_text(&goals)).await?;
    }
    Ok(removed)
}
