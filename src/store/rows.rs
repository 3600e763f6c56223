//! Stored rows, one map for both backends: the household and batch columns in store order,
//! read through [`Cells`] from a SQLite or a PostgreSQL row alike, and the plain values that
//! regions, crosswalk entries and geocoding results are written as.

use std::collections::HashMap;
use std::sync::LazyLock;

use strum::{EnumCount, IntoStaticStr, VariantArray};

use super::StoreError;
use crate::model::{
    AttrName, AuditEntry, AuditFilter, AuditRecord, BatchCounts, BatchInfo, BatchState,
    Denominators, DesilScale, Flags, Geocode, Household, IdHash, ListInfo, NewProgram, ProgramInfo,
    Programs, Round, SessionInfo, Sex, StoredHousehold, TargetList, Text, TokenInfo, User,
    UserName,
};
use crate::region::crosswalk::{BpsKode, CrosswalkEntry};
use crate::region::{Kode, Level, Region, RegionInfo};

/// A stored row of either backend, its cells read by position.
pub(super) trait Cells {
    /// Text (`NULL`: `None`).
    fn text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// A whole number.
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A floating-point number.
    fn real(&self, i: usize) -> Result<Option<f64>, StoreError>;
    /// A truth value.
    fn truth(&self, i: usize) -> Result<Option<bool>, StoreError>;
    /// Bytes.
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;

    /// Text that must be there.
    fn required_text(&self, i: usize) -> Result<String, StoreError> {
        self.text(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is empty")))
    }

    /// A whole number that must be there, as a count.
    fn count(&self, i: usize) -> Result<u64, StoreError> {
        Ok(self.int(i)?.map_or(0, |v| v.max(0) as u64))
    }
}

impl Cells for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(i)?)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        Ok(self.get(i)?)
    }
    fn truth(&self, i: usize) -> Result<Option<bool>, StoreError> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(i)?)
    }
}

impl Cells for tokio_postgres::Row {
    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn truth(&self, i: usize) -> Result<Option<bool>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.try_get(i)?)
    }
}

/// The columns of a household row (PostGIS; the embedded store's rows before schema 4), in
/// store order. Readers select `id` first, then these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray, EnumCount)]
#[strum(serialize_all = "snake_case")]
pub(super) enum HouseholdColumn {
    BatchId,
    Period,
    Source,
    SourceRow,
    SourceId,
    HeadName,
    NikHash,
    NikMasked,
    KkHash,
    KkMasked,
    NikKey,
    KkKey,
    Sex,
    BirthDate,
    Members,
    Street,
    Rt,
    Rw,
    Dusun,
    Desa,
    Kecamatan,
    Kabupaten,
    Provinsi,
    RegionCode,
    Desil,
    DesilScale,
    ExtremePoor,
    ProgramsKnown,
    ProgramsReceives,
    Lat,
    Lon,
    Attrs,
    DuplicateOf,
    KodeDesa,
    GeoUnit,
    GeoQuality,
    GeoFlags,
    GeoLon,
    GeoLat,
    GeoCandidates,
}

impl HouseholdColumn {
    /// The column's name.
    pub(super) fn name(self) -> &'static str {
        self.into()
    }

    /// The position of the column in a row that starts with `id`.
    fn at(self) -> usize {
        1 + self as usize
    }
}

/// The household columns in store order, comma-separated, for SQL.
pub(super) static HOUSEHOLD_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    HouseholdColumn::VARIANTS
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
});

/// A household row (`id` then [`HOUSEHOLD_COLUMNS`]) back.
pub(super) fn stored_household(r: &impl Cells) -> Result<StoredHousehold, StoreError> {
    use HouseholdColumn as C;
    let text = |c: C| Ok::<_, StoreError>(r.text(c.at())?.map(Text::from));
    let small = |c: C| Ok::<_, StoreError>(r.int(c.at())?.map(|v| v as u32));
    let household = Household {
        source_row: r.count(C::SourceRow.at())?,
        source_id: text(C::SourceId)?,
        head_name: text(C::HeadName)?,
        nik_hash: hash_from_bytes(r.blob(C::NikHash.at())?)?,
        nik_masked: text(C::NikMasked)?,
        kk_hash: hash_from_bytes(r.blob(C::KkHash.at())?)?,
        kk_masked: text(C::KkMasked)?,
        sex: r.text(C::Sex.at())?.and_then(|s| s.parse::<Sex>().ok()),
        birth_date: text(C::BirthDate)?,
        members: small(C::Members)?,
        address: crate::model::Address {
            street: text(C::Street)?,
            rt: text(C::Rt)?,
            rw: text(C::Rw)?,
            dusun: text(C::Dusun)?,
            desa: text(C::Desa)?,
            kecamatan: text(C::Kecamatan)?,
            kabupaten: text(C::Kabupaten)?,
            provinsi: text(C::Provinsi)?,
        },
        region_code: text(C::RegionCode)?,
        desil: small(C::Desil)?.map(|v| v as u8),
        desil_scale: scale_from_number(r.int(C::DesilScale.at())?),
        extreme_poor: r.truth(C::ExtremePoor.at())?,
        programs: Programs {
            known: r.count(C::ProgramsKnown.at())? as u16,
            receives: r.count(C::ProgramsReceives.at())? as u16,
        },
        lat: r.real(C::Lat.at())?,
        lon: r.real(C::Lon.at())?,
        attrs: attrs_from_text(&r.text(C::Attrs.at())?.unwrap_or_default())?,
        duplicate_of: r
            .text(C::DuplicateOf.at())?
            .map(|d| d.parse().map_err(corrupt))
            .transpose()?,
        geocode: geocode_from_columns(r, C::KodeDesa.at(), true)?,
    };
    Ok(StoredHousehold {
        id: r.int(0)?.unwrap_or_default(),
        batch_id: r.int(C::BatchId.at())?.unwrap_or_default(),
        period: r.required_text(C::Period.at())?.parse().map_err(corrupt)?,
        source: r.required_text(C::Source.at())?.parse().map_err(corrupt)?,
        household,
    })
}

/// A stored value that does not read back, as a store error.
pub(super) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The columns of a batch row, in the order [`batch_info`] reads them (PostGIS formats the
/// time itself).
pub(super) const BATCH_COLUMNS: &str = "id, file_name, sha256, source, period, input, \
    rows_read, rows_accepted, rows_rejected, blank_rows, households, duplicates_in_batch, \
    duplicates_other, imported_at, status, owner, area, submitted_by, submitted_at, decided_by, \
    decided_at, note";

/// A batch row ([`BATCH_COLUMNS`]) back.
pub(super) fn batch_info(r: &impl Cells) -> Result<BatchInfo, StoreError> {
    Ok(BatchInfo {
        id: r.int(0)?.unwrap_or_default(),
        file_name: r.required_text(1)?,
        sha256: r.required_text(2)?,
        source: r.required_text(3)?.parse().map_err(corrupt)?,
        period: r.required_text(4)?.parse().map_err(corrupt)?,
        input: r.required_text(5)?,
        counts: BatchCounts {
            rows_read: r.count(6)?,
            rows_accepted: r.count(7)?,
            rows_rejected: r.count(8)?,
            blank_rows: r.count(9)?,
            households: r.count(10)?,
            duplicates_in_batch: r.count(11)?,
        },
        duplicates_other: r.count(12)?,
        imported_at: r.required_text(13)?,
        state: BatchState {
            status: r.required_text(14)?.parse().map_err(corrupt)?,
            owner: r.text(15)?,
            area: r.text(16)?,
            submitted_by: r.text(17)?,
            submitted_at: r.text(18)?,
            decided_by: r.text(19)?,
            decided_at: r.text(20)?,
            note: r.text(21)?,
        },
    })
}

/// A geocoding result as stored: codes and lists as text, the point as two numbers.
#[derive(Debug, Default)]
pub(super) struct GeoColumns {
    pub kode_desa: Option<String>,
    pub unit: Option<String>,
    pub quality: Option<&'static str>,
    pub flags: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub candidates: Option<String>,
}

impl GeoColumns {
    /// The columns of `g` (all `NULL` without a result).
    pub(super) fn of(g: &Option<Geocode>) -> GeoColumns {
        let Some(g) = g else {
            return GeoColumns::default();
        };
        GeoColumns {
            kode_desa: g.kode_desa.map(|k| k.to_string()),
            unit: g.unit.map(|k| k.to_string()),
            quality: Some(g.quality.as_str()),
            flags: Some(g.flags.to_string()),
            lon: g.point.map(|p| p.0),
            lat: g.point.map(|p| p.1),
            candidates: Some(
                g.candidates
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
        }
    }
}

/// A stored geocoding result back, from the seven geocoding columns starting at `first`
/// (desa, unit, quality, flags, lon, lat, candidates; without `candidates` when
/// `with_candidates` is false); `None` for a household imported without regions.
pub(super) fn geocode_from_columns(
    r: &impl Cells,
    first: usize,
    with_candidates: bool,
) -> Result<Option<Geocode>, StoreError> {
    let Some(q) = r.text(first + 2)? else {
        return Ok(None);
    };
    let quality = q
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown geocode quality `{q}`")))?;
    let code = |i: usize| -> Result<Option<Kode>, StoreError> {
        r.text(i)?
            .filter(|s| !s.is_empty())
            .map(|s| parse_kode(&s))
            .transpose()
    };
    let candidates = match with_candidates {
        true => r.text(first + 6)?.unwrap_or_default(),
        false => String::new(),
    };
    let candidates = candidates
        .split(';')
        .filter(|s| !s.is_empty())
        .map(parse_kode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Geocode {
        kode_desa: code(first)?,
        unit: code(first + 1)?,
        quality,
        flags: Flags::parse(r.text(first + 3)?.as_deref().unwrap_or("")),
        point: r.real(first + 4)?.zip(r.real(first + 5)?),
        candidates,
    }))
}

/// The indexed form of an identity hash: its first 8 bytes as an integer. Indexes on these
/// are a quarter the size of indexes on the full hashes; matches are confirmed on the full
/// hash.
pub(super) fn index_key(hash: &Option<IdHash>) -> Option<i64> {
    Household::id_key(hash)
}

/// The stored number of a desil scale.
pub(super) fn scale_number(s: Option<DesilScale>) -> Option<i64> {
    s.map(|s| i64::from(s.max()))
}

fn scale_from_number(n: Option<i64>) -> Option<DesilScale> {
    match n {
        Some(4) => Some(DesilScale::Four),
        Some(10) => Some(DesilScale::Ten),
        _ => None,
    }
}

fn hash_from_bytes(b: Option<Vec<u8>>) -> Result<Option<IdHash>, StoreError> {
    b.map(|v| {
        IdHash::try_from(v.as_slice())
            .map_err(|_| StoreError::Corrupt("identity hash is not 32 bytes".into()))
    })
    .transpose()
}

/// Separates a key from its value in the stored attribute text.
const ATTR_KV: char = '\u{1f}';
/// Separates attributes in the stored attribute text.
const ATTR_SEP: char = '\u{1e}';

/// Encodes attributes as `key US value RS key US value…` (ASCII unit and record separators,
/// which spreadsheet cells cannot meaningfully hold and are dropped from them). Much cheaper
/// than JSON on the import path, where every row carries a dozen attributes.
pub(super) fn attrs_text(h: &Household) -> String {
    let mut out = String::with_capacity(h.attrs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in h.attrs.iter().enumerate() {
        if i > 0 {
            out.push(ATTR_SEP);
        }
        out.extend(k.chars().filter(|c| *c != ATTR_KV && *c != ATTR_SEP));
        out.push(ATTR_KV);
        out.extend(v.chars().filter(|c| *c != ATTR_KV && *c != ATTR_SEP));
    }
    out
}

fn attrs_from_text(s: &str) -> Result<Vec<(AttrName, Text)>, StoreError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(ATTR_SEP)
        .map(|kv| {
            kv.split_once(ATTR_KV)
                .map(|(k, v)| (AttrName::new(k), Text::from(v)))
                .ok_or_else(|| StoreError::Corrupt("household attribute without a value".into()))
        })
        .collect()
}

/// Denominators from `(kode, households, population)` rows as both stores return them.
pub(super) fn denominators_from_rows(
    rows: Vec<(String, Option<i64>, Option<i64>)>,
) -> Result<HashMap<Kode, Denominators>, StoreError> {
    rows.into_iter()
        .map(|(k, h, p)| {
            let d = Denominators {
                households: h.map(|v| v.max(0) as u64),
                population: p.map(|v| v.max(0) as u64),
            };
            Ok((parse_kode(&k)?, d))
        })
        .collect()
}

/// A region as the stores write it: plain values shared by both backends.
pub(super) struct RegionRow {
    pub kode: String,
    pub level: &'static str,
    pub parent: Option<String>,
    pub nama: String,
    pub jenis: &'static str,
    pub wkb: Vec<u8>,
    pub bbox: [f64; 4],
}

impl RegionRow {
    pub(super) fn from_region(r: &Region) -> RegionRow {
        RegionRow {
            kode: r.kode.to_string(),
            level: r.kode.level().as_str(),
            parent: r.kode.parent().map(|p| p.to_string()),
            nama: r.nama.clone(),
            jenis: r.kode.jenis().as_str(),
            wkb: crate::geometry::to_wkb(&r.geometry),
            bbox: crate::geometry::bbox(&r.geometry).unwrap_or([0.0; 4]),
        }
    }
}

/// The stored units an import replaces, as (level, code prefix) pairs: for kecamatan and desa
/// the kabupaten/kota each imported unit lies in, for kabupaten the province, for a province
/// itself. Importing the desa of one kabupaten thus leaves the other kabupaten's desa alone.
pub(super) fn replace_scope(regions: &[Region]) -> Vec<(&'static str, String)> {
    let mut scope: Vec<(&'static str, String)> = regions
        .iter()
        .map(|r| {
            let container = match r.kode.level() {
                Level::Provinsi => r.kode,
                Level::Kabupaten => r.kode.ancestor(Level::Provinsi).unwrap_or(r.kode),
                _ => r.kode.ancestor(Level::Kabupaten).unwrap_or(r.kode),
            };
            (r.kode.level().as_str(), container.to_string())
        })
        .collect();
    scope.sort();
    scope.dedup();
    scope
}

/// A stored code back.
pub(super) fn parse_kode(s: &str) -> Result<Kode, StoreError> {
    Kode::parse(s).map_err(corrupt)
}

/// A stored region back.
pub(super) fn region_from_row(kode: &str, nama: String, wkb: &[u8]) -> Result<Region, StoreError> {
    Ok(Region {
        kode: parse_kode(kode)?,
        nama,
        geometry: crate::geometry::from_wkb(wkb)
            .map_err(|e| StoreError::Corrupt(format!("{kode}: {e}")))?,
    })
}

/// A stored region without its geometry back.
pub(super) fn info_from_row(
    kode: &str,
    nama: String,
    bbox: [f64; 4],
) -> Result<RegionInfo, StoreError> {
    Ok(RegionInfo::new(parse_kode(kode)?, nama, Some(bbox)))
}

/// A stored crosswalk entry back.
pub(super) fn crosswalk_from_row(
    bps: String,
    nama: String,
    kmd: Option<String>,
) -> Result<CrosswalkEntry, StoreError> {
    Ok(CrosswalkEntry {
        kode_bps: BpsKode::parse(&bps).map_err(StoreError::Corrupt)?,
        nama_bps: nama,
        kode_kemendagri: kmd.as_deref().map(parse_kode).transpose()?,
    })
}

/// The LIKE pattern matching the codes strictly inside `parent`.
pub(super) fn descendants_pattern(parent: Kode) -> String {
    format!("{parent}.%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_list_is_the_stored_one() {
        assert_eq!(HouseholdColumn::COUNT, 40);
        assert!(HOUSEHOLD_COLUMNS.starts_with("batch_id, period, source, source_row, source_id"));
        assert!(HOUSEHOLD_COLUMNS.ends_with("geo_flags, geo_lon, geo_lat, geo_candidates"));
        assert!(HOUSEHOLD_COLUMNS.contains(" nik_key, kk_key, sex, birth_date, members, street,"));
    }
}

/// The columns of a user, read by [`user_from`] (the users table is `u`).
pub(super) const USER_COLUMNS: &str =
    "u.id, u.name, u.role, u.scope, u.disabled, u.failed_logins, u.locked_until, u.created_at";

/// A scope as stored: codes joined by commas.
pub(super) fn scope_text(scope: &[Kode]) -> String {
    scope
        .iter()
        .map(Kode::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A user from [`USER_COLUMNS`] starting at column `at`.
pub(super) fn user_from(r: &impl Cells, at: usize) -> Result<User, StoreError> {
    let name = r.required_text(at + 1)?;
    let role = r.required_text(at + 2)?;
    let scope = r.text(at + 3)?.unwrap_or_default();
    Ok(User {
        id: r.int(at)?.unwrap_or_default(),
        name: UserName::parse(&name).map_err(corrupt)?,
        role: role
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown role `{role}`")))?,
        scope: scope
            .split(',')
            .filter(|k| !k.is_empty())
            .map(parse_kode)
            .collect::<Result<_, _>>()?,
        disabled: r.truth(at + 4)?.unwrap_or(false),
        failed_logins: r.count(at + 5)? as u32,
        locked_until: r.text(at + 6)?,
        created_at: r.required_text(at + 7)?,
    })
}

/// The columns of a token, read by [`token_from`] (tokens `t`, their users `u`).
pub(super) const TOKEN_COLUMNS: &str =
    "t.id, u.name, t.label, t.created_at, t.expires_at, t.revoked_at";

/// A token from [`TOKEN_COLUMNS`].
pub(super) fn token_from(r: &impl Cells) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: r.int(0)?.unwrap_or_default(),
        user: UserName::parse(&r.required_text(1)?).map_err(corrupt)?,
        label: r.required_text(2)?,
        created_at: r.required_text(3)?,
        expires_at: r.text(4)?,
        revoked_at: r.text(5)?,
    })
}

/// The columns of a session, read by [`session_from`] (sessions `s`).
pub(super) const SESSION_COLUMNS: &str =
    "s.digest, s.user_id, s.csrf, s.created_at, s.last_seen_at, s.expires_at";

/// A session from [`SESSION_COLUMNS`].
pub(super) fn session_from(r: &impl Cells) -> Result<SessionInfo, StoreError> {
    Ok(SessionInfo {
        digest: r.required_text(0)?,
        user_id: r.int(1)?.unwrap_or_default(),
        csrf: r.required_text(2)?,
        created_at: r.required_text(3)?,
        last_seen_at: r.required_text(4)?,
        expires_at: r.required_text(5)?,
    })
}

/// The columns of an audit record, read by [`audit_from`].
pub(super) const AUDIT_COLUMNS: &str = "id, at, actor, role, action, scope, endpoint, params, \
    count, purpose, client, detail, prev_hash, hash";

/// An audit record from [`AUDIT_COLUMNS`].
pub(super) fn audit_from(r: &impl Cells) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: r.int(0)?.unwrap_or_default(),
        entry: AuditEntry {
            at: r.required_text(1)?,
            actor: r.text(2)?,
            role: r.text(3)?,
            action: r.required_text(4)?,
            scope: r.text(5)?,
            endpoint: r.required_text(6)?,
            params: r.required_text(7)?,
            count: r.int(8)?.map(|c| c.max(0) as u64),
            purpose: r.text(9)?,
            client: r.required_text(10)?,
            detail: r.required_text(11)?,
        },
        prev_hash: r.required_text(12)?,
        hash: r.required_text(13)?,
    })
}

/// The `WHERE` conditions of an audit listing after `after_id`, with `$n`/`?n` placeholders
/// numbered from 1 (both stores accept `$n`), and their values in order.
pub(super) fn audit_conditions(filter: &AuditFilter, after_id: i64) -> (String, Vec<AuditParam>) {
    let mut conds = vec!["id > $1".to_string()];
    let mut values = vec![AuditParam::Int(after_id)];
    if let Some(since) = &filter.since {
        values.push(AuditParam::Text(since.clone()));
        conds.push(format!("at >= ${}", values.len()));
    }
    if let Some(user) = &filter.user {
        values.push(AuditParam::Text(user.clone()));
        conds.push(format!("actor = ${}", values.len()));
    }
    if let Some(action) = filter.action {
        values.push(AuditParam::Text(action.as_str().to_string()));
        conds.push(format!("action = ${}", values.len()));
    }
    (conds.join(" AND "), values)
}

/// A value bound into an audit listing.
#[derive(Debug, Clone)]
pub(super) enum AuditParam {
    /// A number.
    Int(i64),
    /// Text.
    Text(String),
}

/// The columns of a round row, in the order [`round_from`] reads them.
pub(super) const ROUND_COLUMNS: &str =
    "period, deadline, expected, opened_by, opened_at, closed_by, closed_at";

/// A round from [`ROUND_COLUMNS`].
pub(super) fn round_from(r: &impl Cells) -> Result<Round, StoreError> {
    let expected = r.required_text(2)?;
    Ok(Round {
        period: r.required_text(0)?.parse().map_err(corrupt)?,
        deadline: r.required_text(1)?,
        expected: expected
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| k.parse().map_err(corrupt))
            .collect::<Result<_, _>>()?,
        opened_by: r.required_text(3)?,
        opened_at: r.required_text(4)?,
        closed_by: r.text(5)?,
        closed_at: r.text(6)?,
    })
}

/// The expected units of a round as stored: codes joined by commas.
pub(super) fn expected_text(round: &Round) -> String {
    round
        .expected
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The columns [`program_from`] reads.
pub(super) const PROGRAM_COLUMNS: &str =
    "id, name, agency, year, kind, desil, budget, unit_cost, created_by, created_at, list";

/// The order programmes are listed in.
pub(super) const PROGRAM_ORDER: &str = "ORDER BY year DESC, name, id";

/// A programme from [`PROGRAM_COLUMNS`].
pub(super) fn program_from(r: &impl Cells) -> Result<ProgramInfo, StoreError> {
    let amount = |i: usize| -> Result<Option<u64>, StoreError> {
        r.int(i)?
            .map(|v| u64::try_from(v).map_err(corrupt))
            .transpose()
    };
    Ok(ProgramInfo {
        id: r
            .int(0)?
            .ok_or_else(|| corrupt("a programme without an id"))?,
        program: NewProgram {
            name: r.required_text(1)?,
            agency: r.required_text(2)?,
            year: r
                .int(3)?
                .and_then(|y| i32::try_from(y).ok())
                .ok_or_else(|| corrupt("a programme without a year"))?,
            kind: r.required_text(4)?.parse().map_err(corrupt)?,
            desil: r.text(5)?.map(|d| d.parse().map_err(corrupt)).transpose()?,
            budget: amount(6)?,
            unit_cost: amount(7)?,
        },
        created_by: r.required_text(8)?,
        created_at: r.required_text(9)?,
        list: r
            .text(10)?
            .map(|l| serde_json::from_str::<ListInfo>(&l).map_err(corrupt))
            .transpose()?,
    })
}

/// A programme's values to write: kind, desil, budget and unit cost as stored.
pub(super) fn program_values(
    p: &NewProgram,
) -> (&'static str, Option<String>, Option<i64>, Option<i64>) {
    let amount = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    (
        p.kind.as_str(),
        p.desil.map(|d| d.to_string()),
        amount(p.budget),
        amount(p.unit_cost),
    )
}

/// A list's description as stored.
pub(super) fn list_text(list: &ListInfo) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(corrupt)
}

/// A list's rows as stored: one compact JSON array (a list is always written and read whole).
pub(super) fn members_text<T: serde::Serialize>(members: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(members).map_err(corrupt)
}

/// A list's rows from their stored text (none: empty).
pub(super) fn members_from<T: serde::de::DeserializeOwned>(
    text: Option<String>,
) -> Result<Vec<T>, StoreError> {
    text.map_or(Ok(Vec::new()), |t| {
        serde_json::from_str(&t).map_err(corrupt)
    })
}

/// The columns [`target_from`] reads.
pub(super) const TARGET_COLUMNS: &str =
    "id, name, period, criteria, created_by, created_at, households";

/// A saved target list from [`TARGET_COLUMNS`].
pub(super) fn target_from(r: &impl Cells) -> Result<TargetList, StoreError> {
    Ok(TargetList {
        id: r
            .int(0)?
            .ok_or_else(|| corrupt("a target list without an id"))?,
        name: r.required_text(1)?,
        period: r.required_text(2)?.parse().map_err(corrupt)?,
        criteria: r.required_text(3)?,
        created_by: r.required_text(4)?,
        created_at: r.required_text(5)?,
        households: r.int(6)?.unwrap_or(0).max(0) as u64,
    })
}
