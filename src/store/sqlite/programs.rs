//! Regional programmes, their lists and saved target lists in the embedded store.

use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{ListInfo, Member, NewProgram, ProgramInfo, TargetList, TargetMember};
use crate::store::rows::{
    list_text, members_from, members_text, program_from, program_values, target_from,
    PROGRAM_COLUMNS, PROGRAM_ORDER, TARGET_COLUMNS,
};
use crate::store::StoreError;

fn program(c: &Connection, id: i64) -> Result<Option<ProgramInfo>, StoreError> {
    let sql = format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = ?1");
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([id])?;
    rows.next()?.map(program_from).transpose()
}

pub(super) fn add_program(
    c: &mut Connection,
    p: &NewProgram,
    by: &str,
    at: &str,
) -> Result<ProgramInfo, StoreError> {
    let (kind, desil, budget, unit_cost) = program_values(p);
    c.execute(
        "INSERT INTO programs (name, agency, year, kind, desil, budget, unit_cost, created_by,
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![p.name, p.agency, p.year, kind, desil, budget, unit_cost, by, at],
    )?;
    program(c, c.last_insert_rowid())?
        .ok_or_else(|| StoreError::Corrupt("a programme just added is missing".into()))
}

pub(super) fn programs(c: &mut Connection) -> Result<Vec<ProgramInfo>, StoreError> {
    let sql = format!("SELECT {PROGRAM_COLUMNS} FROM programs {PROGRAM_ORDER}");
    let mut st = c.prepare(&sql)?;
    let rows = st.query_and_then([], |r| program_from(r))?;
    rows.collect()
}

pub(super) fn remove_program(
    c: &mut Connection,
    id: i64,
) -> Result<Option<ProgramInfo>, StoreError> {
    let found = program(c, id)?;
    if found.is_some() {
        c.execute("DELETE FROM programs WHERE id = ?1", [id])?;
    }
    Ok(found)
}

pub(super) fn set_program_list(
    c: &mut Connection,
    id: i64,
    list: &ListInfo,
    members: &[Member],
) -> Result<Option<ProgramInfo>, StoreError> {
    let changed = c.execute(
        "UPDATE programs SET list = ?2, members = ?3 WHERE id = ?1",
        params![id, list_text(list)?, members_text(members)?],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    program(c, id)
}

pub(super) fn program_members(c: &mut Connection, id: i64) -> Result<Vec<Member>, StoreError> {
    let text: Option<Option<String>> = c
        .query_row("SELECT members FROM programs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    members_from(text.flatten())
}

pub(super) fn save_target_list(
    c: &mut Connection,
    t: &TargetList,
    members: &[TargetMember],
) -> Result<TargetList, StoreError> {
    c.execute(
        "INSERT INTO target_lists (name, period, criteria, created_by, created_at, households,
             members) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.name,
            t.period.to_string(),
            t.criteria,
            t.created_by,
            t.created_at,
            members.len() as i64,
            members_text(members)?
        ],
    )?;
    Ok(TargetList {
        id: c.last_insert_rowid(),
        households: members.len() as u64,
        ..t.clone()
    })
}

pub(super) fn target_lists(c: &mut Connection) -> Result<Vec<TargetList>, StoreError> {
    let sql = format!("SELECT {TARGET_COLUMNS} FROM target_lists ORDER BY id DESC");
    let mut st = c.prepare(&sql)?;
    let rows = st.query_and_then([], |r| target_from(r))?;
    rows.collect()
}

pub(super) fn target_members(
    c: &mut Connection,
    id: i64,
) -> Result<Option<Vec<TargetMember>>, StoreError> {
    let text: Option<String> = c
        .query_row(
            "SELECT members FROM target_lists WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    text.map(|t| members_from(Some(t))).transpose()
}
