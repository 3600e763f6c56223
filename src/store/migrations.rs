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
pub const MIGRATIONS: &[Migration] = &[
    Migration {
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
    },
    Migration {
        version: 2,
        name: "household batches, households, rejects",
        sqlite: "
        CREATE TABLE household_batches (
            id                  INTEGER PRIMARY KEY,
            file_name           TEXT NOT NULL,
            sha256              TEXT NOT NULL UNIQUE,
            source              TEXT NOT NULL,
            period              TEXT NOT NULL,
            input               TEXT NOT NULL,
            rows_read           INTEGER NOT NULL DEFAULT 0,
            rows_accepted       INTEGER NOT NULL DEFAULT 0,
            rows_rejected       INTEGER NOT NULL DEFAULT 0,
            blank_rows          INTEGER NOT NULL DEFAULT 0,
            households          INTEGER NOT NULL DEFAULT 0,
            duplicates_in_batch INTEGER NOT NULL DEFAULT 0,
            duplicates_other    INTEGER NOT NULL DEFAULT 0,
            imported_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE households (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES household_batches(id),
            period TEXT NOT NULL, source TEXT NOT NULL, source_row INTEGER NOT NULL,
            source_id TEXT, head_name TEXT,
            nik_hash BLOB, nik_masked TEXT, kk_hash BLOB, kk_masked TEXT,
            nik_key INTEGER, kk_key INTEGER,
            sex TEXT, birth_date TEXT, members INTEGER,
            street TEXT, rt TEXT, rw TEXT, dusun TEXT, desa TEXT, kecamatan TEXT,
            kabupaten TEXT, provinsi TEXT, region_code TEXT,
            desil INTEGER, desil_scale INTEGER, extreme_poor INTEGER,
            programs_known INTEGER NOT NULL, programs_receives INTEGER NOT NULL,
            lat REAL, lon REAL, attrs TEXT NOT NULL, duplicate_of TEXT
        );
        CREATE INDEX households_batch ON households(batch_id);
        CREATE INDEX households_kk ON households(kk_key);
        CREATE INDEX households_nik ON households(nik_key);
        CREATE TABLE household_rejects (
            batch_id INTEGER NOT NULL REFERENCES household_batches(id),
            row INTEGER NOT NULL, column_name TEXT NOT NULL, value TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        CREATE INDEX household_rejects_batch ON household_rejects(batch_id, row);
    ",
        postgres: "
        CREATE TABLE household_batches (
            id                  BIGSERIAL PRIMARY KEY,
            file_name           TEXT NOT NULL,
            sha256              TEXT NOT NULL UNIQUE,
            source              TEXT NOT NULL,
            period              TEXT NOT NULL,
            input               TEXT NOT NULL,
            rows_read           BIGINT NOT NULL DEFAULT 0,
            rows_accepted       BIGINT NOT NULL DEFAULT 0,
            rows_rejected       BIGINT NOT NULL DEFAULT 0,
            blank_rows          BIGINT NOT NULL DEFAULT 0,
            households          BIGINT NOT NULL DEFAULT 0,
            duplicates_in_batch BIGINT NOT NULL DEFAULT 0,
            duplicates_other    BIGINT NOT NULL DEFAULT 0,
            imported_at         TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE households (
            id BIGSERIAL PRIMARY KEY,
            batch_id BIGINT NOT NULL REFERENCES household_batches(id),
            period TEXT NOT NULL, source TEXT NOT NULL, source_row BIGINT NOT NULL,
            source_id TEXT, head_name TEXT,
            nik_hash BYTEA, nik_masked TEXT, kk_hash BYTEA, kk_masked TEXT,
            nik_key BIGINT, kk_key BIGINT,
            sex TEXT, birth_date TEXT, members BIGINT,
            street TEXT, rt TEXT, rw TEXT, dusun TEXT, desa TEXT, kecamatan TEXT,
            kabupaten TEXT, provinsi TEXT, region_code TEXT,
            desil BIGINT, desil_scale BIGINT, extreme_poor BOOLEAN,
            programs_known BIGINT NOT NULL, programs_receives BIGINT NOT NULL,
            lat DOUBLE PRECISION, lon DOUBLE PRECISION, attrs TEXT NOT NULL, duplicate_of TEXT
        );
        CREATE INDEX households_batch ON households(batch_id);
        CREATE INDEX households_kk ON households(kk_key);
        CREATE INDEX households_nik ON households(nik_key);
        CREATE TABLE household_rejects (
            batch_id BIGINT NOT NULL REFERENCES household_batches(id),
            row BIGINT NOT NULL, column_name TEXT NOT NULL, value TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        CREATE INDEX household_rejects_batch ON household_rejects(batch_id, row);
    ",
    },
    Migration {
        version: 3,
        name: "geocoding results on households",
        sqlite: "
        ALTER TABLE households ADD COLUMN kode_desa TEXT;
        ALTER TABLE households ADD COLUMN geo_unit TEXT;
        ALTER TABLE households ADD COLUMN geo_quality TEXT;
        ALTER TABLE households ADD COLUMN geo_flags TEXT;
        ALTER TABLE households ADD COLUMN geo_lon REAL;
        ALTER TABLE households ADD COLUMN geo_lat REAL;
        ALTER TABLE households ADD COLUMN geo_candidates TEXT;
    ",
        postgres: "
        ALTER TABLE households ADD COLUMN kode_desa TEXT;
        ALTER TABLE households ADD COLUMN geo_unit TEXT;
        ALTER TABLE households ADD COLUMN geo_quality TEXT;
        ALTER TABLE households ADD COLUMN geo_flags TEXT;
        ALTER TABLE households ADD COLUMN geo_lon DOUBLE PRECISION;
        ALTER TABLE households ADD COLUMN geo_lat DOUBLE PRECISION;
        ALTER TABLE households ADD COLUMN geo_candidates TEXT;
    ",
    },
    Migration {
        version: 4,
        name: "embedded store: households in chunks, identity keys per batch, duplicate links",
        sqlite: "
        CREATE TABLE household_chunks (
            batch_id    INTEGER NOT NULL REFERENCES household_batches(id),
            chunk       INTEGER NOT NULL,
            first_index INTEGER NOT NULL,
            households  INTEGER NOT NULL,
            data        BLOB NOT NULL,
            PRIMARY KEY (batch_id, chunk)
        );
        CREATE TABLE household_keys (
            batch_id INTEGER PRIMARY KEY REFERENCES household_batches(id),
            period   TEXT NOT NULL,
            data     BLOB NOT NULL
        );
        CREATE INDEX household_keys_period ON household_keys(period, batch_id);
        CREATE TABLE household_links (
            batch_id    INTEGER NOT NULL,
            idx         INTEGER NOT NULL,
            other_batch INTEGER NOT NULL,
            PRIMARY KEY (batch_id, idx)
        ) WITHOUT ROWID;
        CREATE INDEX household_links_other ON household_links(other_batch);
    ",
        // PostGIS keeps a row per household (binary COPY is fast there, and SQL users and
        // GIS clients read the table directly).
        postgres: "SELECT 1;",
    },
    Migration {
        version: 5,
        name: "denominators; a generation counter bumped by every change the snapshot reads",
        sqlite: "
        CREATE TABLE denominators (
            kode       TEXT PRIMARY KEY,
            households INTEGER,
            population INTEGER
        );
        INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0');
        CREATE TRIGGER generation_regions_insert AFTER INSERT ON regions BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_regions_update AFTER UPDATE ON regions BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_regions_delete AFTER DELETE ON regions BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_crosswalk_insert AFTER INSERT ON crosswalk BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_crosswalk_update AFTER UPDATE ON crosswalk BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_crosswalk_delete AFTER DELETE ON crosswalk BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_batches_insert AFTER INSERT ON household_batches BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_batches_update AFTER UPDATE ON household_batches BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_batches_delete AFTER DELETE ON household_batches BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_chunks_insert AFTER INSERT ON household_chunks BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_chunks_update AFTER UPDATE ON household_chunks BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_chunks_delete AFTER DELETE ON household_chunks BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_links_insert AFTER INSERT ON household_links BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_links_update AFTER UPDATE ON household_links BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_household_links_delete AFTER DELETE ON household_links BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_denominators_insert AFTER INSERT ON denominators BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_denominators_update AFTER UPDATE ON denominators BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_denominators_delete AFTER DELETE ON denominators BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
    ",
        postgres: "
        CREATE TABLE denominators (
            kode       TEXT PRIMARY KEY,
            households BIGINT,
            population BIGINT
        );
        INSERT INTO meta (key, value) VALUES ('generation', '0') ON CONFLICT (key) DO NOTHING;
        CREATE FUNCTION lentera_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation';
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER generation_regions AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON regions
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_generation();
        CREATE TRIGGER generation_crosswalk AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crosswalk
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_generation();
        CREATE TRIGGER generation_household_batches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON household_batches
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_generation();
        CREATE TRIGGER generation_households AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON households
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_generation();
        CREATE TRIGGER generation_denominators AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON denominators
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_generation();
    ",
    },
    Migration {
        version: 6,
        name: "users, API tokens, web sessions, the audit trail",
        sqlite: "
        CREATE TABLE users (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            role          TEXT NOT NULL,
            scope         TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            disabled      INTEGER NOT NULL DEFAULT 0,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until  TEXT,
            created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE api_tokens (
            id         INTEGER PRIMARY KEY,
            user_id    INTEGER NOT NULL REFERENCES users(id),
            digest     TEXT NOT NULL UNIQUE,
            label      TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            expires_at TEXT,
            revoked_at TEXT
        );
        CREATE TABLE sessions (
            digest       TEXT PRIMARY KEY,
            user_id      INTEGER NOT NULL REFERENCES users(id),
            csrf         TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            expires_at   TEXT NOT NULL
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE audit_log (
            id        INTEGER PRIMARY KEY,
            at        TEXT NOT NULL,
            actor     TEXT,
            role      TEXT,
            action    TEXT NOT NULL,
            scope     TEXT,
            endpoint  TEXT NOT NULL,
            params    TEXT NOT NULL,
            count     INTEGER,
            purpose   TEXT,
            client    TEXT NOT NULL,
            detail    TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash      TEXT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    ",
        postgres: "
        CREATE TABLE users (
            id            BIGSERIAL PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            role          TEXT NOT NULL,
            scope         TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            disabled      BOOLEAN NOT NULL DEFAULT false,
            failed_logins BIGINT NOT NULL DEFAULT 0,
            locked_until  TEXT,
            created_at    TEXT NOT NULL
                DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
        );
        CREATE TABLE api_tokens (
            id         BIGSERIAL PRIMARY KEY,
            user_id    BIGINT NOT NULL REFERENCES users(id),
            digest     TEXT NOT NULL UNIQUE,
            label      TEXT NOT NULL,
            created_at TEXT NOT NULL
                DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
            expires_at TEXT,
            revoked_at TEXT
        );
        CREATE TABLE sessions (
            digest       TEXT PRIMARY KEY,
            user_id      BIGINT NOT NULL REFERENCES users(id),
            csrf         TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            expires_at   TEXT NOT NULL
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE audit_log (
            id        BIGINT PRIMARY KEY,
            at        TEXT NOT NULL,
            actor     TEXT,
            role      TEXT,
            action    TEXT NOT NULL,
            scope     TEXT,
            endpoint  TEXT NOT NULL,
            params    TEXT NOT NULL,
            count     BIGINT,
            purpose   TEXT,
            client    TEXT NOT NULL,
            detail    TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash      TEXT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    ",
    },
    Migration {
        version: 7,
        name: "verval rounds; where each batch stands in its round",
        sqlite: "
        ALTER TABLE household_batches ADD COLUMN status TEXT NOT NULL DEFAULT 'diterima';
        ALTER TABLE household_batches ADD COLUMN owner TEXT;
        ALTER TABLE household_batches ADD COLUMN area TEXT;
        ALTER TABLE household_batches ADD COLUMN submitted_by TEXT;
        ALTER TABLE household_batches ADD COLUMN submitted_at TEXT;
        ALTER TABLE household_batches ADD COLUMN decided_by TEXT;
        ALTER TABLE household_batches ADD COLUMN decided_at TEXT;
        ALTER TABLE household_batches ADD COLUMN note TEXT;
        CREATE TABLE rounds (
            period    TEXT PRIMARY KEY,
            deadline  TEXT NOT NULL,
            expected  TEXT NOT NULL,
            opened_by TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            closed_by TEXT,
            closed_at TEXT
        );
    ",
        postgres: "
        ALTER TABLE household_batches ADD COLUMN status TEXT NOT NULL DEFAULT 'diterima',
            ADD COLUMN owner TEXT, ADD COLUMN area TEXT,
            ADD COLUMN submitted_by TEXT, ADD COLUMN submitted_at TEXT,
            ADD COLUMN decided_by TEXT, ADD COLUMN decided_at TEXT, ADD COLUMN note TEXT;
        CREATE TABLE rounds (
            period    TEXT PRIMARY KEY,
            deadline  TEXT NOT NULL,
            expected  TEXT NOT NULL,
            opened_by TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            closed_by TEXT,
            closed_at TEXT
        );
    ",
    },
    Migration {
        version: 8,
        name: "regional programmes with their lists; saved target lists",
        sqlite: "
        CREATE TABLE programs (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            agency     TEXT NOT NULL,
            year       INTEGER NOT NULL,
            kind       TEXT NOT NULL,
            desil      TEXT,
            budget     INTEGER,
            unit_cost  INTEGER,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            list       TEXT,
            members    TEXT
        );
        CREATE TABLE target_lists (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            period     TEXT NOT NULL,
            criteria   TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            households INTEGER NOT NULL,
            members    TEXT NOT NULL
        );
        CREATE TRIGGER generation_programs_insert AFTER INSERT ON programs BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_programs_update AFTER UPDATE ON programs BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
        CREATE TRIGGER generation_programs_delete AFTER DELETE ON programs BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;
    ",
        postgres: "
        CREATE TABLE programs (
            id         BIGSERIAL PRIMARY KEY,
            name       TEXT NOT NULL,
            agency     TEXT NOT NULL,
            year       BIGINT NOT NULL,
            kind       TEXT NOT NULL,
            desil      TEXT,
            budget     BIGINT,
            unit_cost  BIGINT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            list       TEXT,
            members    TEXT
        );
        CREATE TABLE target_lists (
            id         BIGSERIAL PRIMARY KEY,
            name       TEXT NOT NULL,
            period     TEXT NOT NULL,
            criteria   TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            households BIGINT NOT NULL,
            members    TEXT NOT NULL
        );
        CREATE TRIGGER generation_programs AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON programs
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_generation();
    ",
    },
    Migration {
        version: 9,
        name: "a new generation is announced to every listening server (PostgreSQL NOTIFY)",
        // One process reads the embedded store: nothing to announce.
        sqlite: "SELECT 1;",
        postgres: "
        CREATE OR REPLACE FUNCTION lentera_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation';
            -- Delivered when the transaction commits, once however many statements bumped it.
            PERFORM pg_notify('lentera_generation', '');
            RETURN NULL;
        END
        $$;
    ",
    },
    Migration {
        version: 10,
        name: "a second counter, bumped by every change a snapshot cannot follow by adding batches",
        // `rewrites` moves with boundaries, the crosswalk, denominators, programmes, and with
        // any change to households already stored or a batch removed; an import (new rows)
        // or a batch's state does not move it, so a server adds such a batch to its snapshot.
        sqlite: "
        INSERT OR IGNORE INTO meta (key, value) VALUES ('rewrites', '0');
        CREATE TRIGGER rewrites_regions_insert AFTER INSERT ON regions BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_regions_update AFTER UPDATE ON regions BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_regions_delete AFTER DELETE ON regions BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_crosswalk_insert AFTER INSERT ON crosswalk BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_crosswalk_update AFTER UPDATE ON crosswalk BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_crosswalk_delete AFTER DELETE ON crosswalk BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_denominators_insert AFTER INSERT ON denominators BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_denominators_update AFTER UPDATE ON denominators BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_denominators_delete AFTER DELETE ON denominators BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_programs_insert AFTER INSERT ON programs BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_programs_update AFTER UPDATE ON programs BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_programs_delete AFTER DELETE ON programs BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_household_chunks_update AFTER UPDATE ON household_chunks BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_household_chunks_delete AFTER DELETE ON household_chunks BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_household_links_update AFTER UPDATE ON household_links BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_household_links_delete AFTER DELETE ON household_links BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
        CREATE TRIGGER rewrites_household_batches_delete AFTER DELETE ON household_batches BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rewrites';
        END;
    ",
        postgres: "
        INSERT INTO meta (key, value) VALUES ('rewrites', '0') ON CONFLICT (key) DO NOTHING;
        CREATE FUNCTION lentera_bump_rewrites() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'rewrites';
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER rewrites_regions AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON regions
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_rewrites();
        CREATE TRIGGER rewrites_crosswalk AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crosswalk
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_rewrites();
        CREATE TRIGGER rewrites_denominators AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON denominators
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_rewrites();
        CREATE TRIGGER rewrites_programs AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON programs
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_rewrites();
        CREATE TRIGGER rewrites_households AFTER UPDATE OR DELETE OR TRUNCATE ON households
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_rewrites();
        CREATE TRIGGER rewrites_household_batches AFTER DELETE OR TRUNCATE ON household_batches
            FOR EACH STATEMENT EXECUTE FUNCTION lentera_bump_rewrites();
    ",
    },
];

/// The newest version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// The migrations a database at version `found` still needs, oldest first; a database written
/// by a newer build is refused.
pub fn pending(found: i64) -> Result<&'static [Migration], super::StoreError> {
    if found > latest_version() {
        return Err(super::StoreError::Migration(format!(
            "the database has schema version {found}, but this Lentera knows only up to {}; \
             upgrade Lentera",
            latest_version()
        )));
    }
    let start = MIGRATIONS.partition_point(|m| m.version <= found);
    Ok(&MIGRATIONS[start..])
}

/// The error of migration `m` failing, saying which.
pub fn failed(m: &Migration, why: impl std::fmt::Display) -> super::StoreError {
    super::StoreError::Migration(format!("version {} ({}): {why}", m.version, m.name))
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

    #[test]
    fn pending_migrations_follow_the_version_found() {
        assert_eq!(pending(0).unwrap().len(), MIGRATIONS.len());
        assert_eq!(pending(3).unwrap()[0].version, 4);
        assert!(pending(latest_version()).unwrap().is_empty());
        let err = pending(latest_version() + 1)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("upgrade Lentera"), "{err}");
    }
}
