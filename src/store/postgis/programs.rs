//! Regional programmes, their lists and saved target lists in PostGIS.

use super::PostgisStore;
use crate::model::{ListInfo, Member, NewProgram, ProgramInfo, TargetList, TargetMember};
use crate::store::rows::{
    list_text, members_from, members_text, program_from, program_values, target_from,
    PROGRAM_COLUMNS, PROGRAM_ORDER, TARGET_COLUMNS,
};
use crate::store::StoreError;

impl PostgisStore {
    async fn program(&self, id: i64) -> Result<Option<ProgramInfo>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = $1");
        c.query_opt(&sql, &[&id])
            .await?
            .map(|r| program_from(&r))
            .transpose()
    }

    pub(super) async fn add_program_row(
        &self,
        p: &NewProgram,
        by: &str,
        at: &str,
    ) -> Result<ProgramInfo, StoreError> {
        let (kind, desil, budget, unit_cost) = program_values(p);
        let c = self.client().await?;
        let id: i64 = c
            .query_one(
                "INSERT INTO programs (name, agency, year, kind, desil, budget, unit_cost,
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 RETURNING id",
                &[
                    &p.name,
                    &p.agency,
                    &i64::from(p.year),
                    &kind,
                    &desil,
                    &budget,
                    &unit_cost,
                    &by,
                    &at,
                ],
            )
            .await?
            .try_get(0)?;
        self.program(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a programme just added is missing".into()))
    }

    pub(super) async fn program_rows(&self) -> Result<Vec<ProgramInfo>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {PROGRAM_COLUMNS} FROM programs {PROGRAM_ORDER}");
        c.query(&sql, &[]).await?.iter().map(program_from).collect()
    }

    pub(super) async fn remove_program_row(
        &self,
        id: i64,
    ) -> Result<Option<ProgramInfo>, StoreError> {
        let found = self.program(id).await?;
        if found.is_some() {
            let c = self.client().await?;
            c.execute("DELETE FROM programs WHERE id = $1", &[&id])
                .await?;
        }
        Ok(found)
    }

    pub(super) async fn set_program_list_row(
        &self,
        id: i64,
        list: &ListInfo,
        members: &[Member],
    ) -> Result<Option<ProgramInfo>, StoreError> {
        let (list, members) = (list_text(list)?, members_text(members)?);
        let c = self.client().await?;
        let changed = c
            .execute(
                "UPDATE programs SET list = $2, members = $3 WHERE id = $1",
                &[&id, &list, &members],
            )
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.program(id).await
    }

    pub(super) async fn program_member_rows(&self, id: i64) -> Result<Vec<Member>, StoreError> {
        let c = self.client().await?;
        let text: Option<String> = match c
            .query_opt("SELECT members FROM programs WHERE id = $1", &[&id])
            .await?
        {
            Some(r) => r.try_get(0)?,
            None => None,
        };
        members_from(text)
    }

    pub(super) async fn save_target_row(
        &self,
        t: &TargetList,
        members: &[TargetMember],
    ) -> Result<TargetList, StoreError> {
        let text = members_text(members)?;
        let c = self.client().await?;
        let id: i64 = c
            .query_one(
                "INSERT INTO target_lists (name, period, criteria, created_by, created_at,
                     households, members) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &t.name,
                    &t.period.to_string(),
                    &t.criteria,
                    &t.created_by,
                    &t.created_at,
                    &(members.len() as i64),
                    &text,
                ],
            )
            .await?
            .try_get(0)?;
        Ok(TargetList {
            id,
            households: members.len() as u64,
            ..t.clone()
        })
    }

    pub(super) async fn target_rows(&self) -> Result<Vec<TargetList>, StoreError> {
        let c = self.client().await?;
        let sql = format!("SELECT {TARGET_COLUMNS} FROM target_lists ORDER BY id DESC");
        c.query(&sql, &[]).await?.iter().map(target_from).collect()
    }

    pub(super) async fn target_member_rows(
        &self,
        id: i64,
    ) -> Result<Option<Vec<TargetMember>>, StoreError> {
        let c = self.client().await?;
        match c
            .query_opt("SELECT members FROM target_lists WHERE id = $1", &[&id])
            .await?
        {
            Some(r) => Ok(Some(members_from(r.try_get(0)?)?)),
            None => Ok(None),
        }
    }
}
