//! Versioned schema migrations, one list for both stores so their versions stay in step.
//!
//! A migration is applied once, in order, inside a transaction, and recorded in
//! `schema_migrations`. A database whose version is newer than this build knows is refused.

/// One schema step, in both SQL dialects.
pub struct Migration {
    /// Version number, starting at 1, without gaps.
    pub version: i64,
    /// Short description.
    pub name: &'static str,
    /// SQL for SQLite.
    pub sqlite: &'static str,
    /// SQL for PostgreSQL/PostGIS.
    pub postgres: &'static str,
}

/// All migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "regions, crosswalk, import log, metadata",
    sqlite: "
        CREATE TABLE regions (
            kode    TEXT PRIMARY KEY,
            level   TEXT NOT NULL,
            parent  TEXT,
            nama    TEXT NOT NULL,
            jenis   TEXT NOT NULL,
            geom    BLOB NOT NULL,
            min_lon REAL NOT NULL, min_lat REAL NOT NULL,
            max_lon REAL NOT NULL, max_lat REAL NOT NULL
        );
        CREATE INDEX regions_level ON regions(level, kode);
        CREATE INDEX regions_parent ON regions(parent);
        CREATE TABLE crosswalk (
            kode_bps        TEXT PRIMARY KEY,
            nama_bps        TEXT NOT NULL,
            kode_kemendagri TEXT
        );
        CREATE TABLE region_imports (
            id            INTEGER PRIMARY KEY,
            imported_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            sources       TEXT NOT NULL,
            features_read INTEGER NOT NULL,
            refused       INTEGER NOT NULL,
            removed       INTEGER NOT NULL,
            inserted      INTEGER NOT NULL,
            issues        TEXT NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ",
    postgres: "
        CREATE EXTENSION IF NOT EXISTS postgis;
        CREATE TABLE regions (
            kode    TEXT PRIMARY KEY,
            level   TEXT NOT NULL,
            parent  TEXT,
            nama    TEXT NOT NULL,
            jenis   TEXT NOT NULL,
            geom    geometry(MultiPolygon, 4326) NOT NULL,
            min_lon DOUBLE PRECISION NOT NULL, min_lat DOUBLE PRECISION NOT NULL,
            max_lon DOUBLE PRECISION NOT NULL, max_lat DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX regions_level ON regions(level, kode);
        CREATE INDEX regions_parent ON regions(parent);
        CREATE INDEX regions_geom ON regions USING gist (geom);
        CREATE TABLE crosswalk (
            kode_bps        TEXT PRIMARY KEY,
            nama_bps        TEXT NOT NULL,
            kode_kemendagri TEXT
        );
        CREATE TABLE region_imports (
            id            BIGSERIAL PRIMARY KEY,
            imported_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            sources       TEXT NOT NULL,
            features_read BIGINT NOT NULL,
            refused       BIGINT NOT NULL,
            removed       BIGINT NOT NULL,
            inserted      BIGINT NOT NULL,
            issues        TEXT NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ",
}];

/// The newest version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// Refuses a database written by a newer build.
pub fn check_not_newer(found: i64) -> Result<(), super::StoreError> {
    if found > latest_version() {
        return Err(super::StoreError::Migration(format!(
            "the database has schema version {found}, but this Lentera knows only up to {}; \
             upgrade Lentera",
            latest_version()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_start_at_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
    }
}
