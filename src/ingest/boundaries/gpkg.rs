//! GeoPackage boundary reader.
//!
//! GeoPackage is SQLite with a small binary header in front of each WKB geometry. It is read
//! here with rusqlite, which the embedded store already uses; geozero's GeoPackage support
//! needs sqlx, whose SQLite build conflicts with rusqlite's, so the 8–72 byte header is
//! parsed by hand (`strip_gpkg_header`) and the WKB handed to the `wkb` crate.

use std::path::Path;

use rusqlite::{types::ValueRef, Connection, OpenFlags};

use super::{BoundaryError, RawFeature, SourceLayer};

/// Reads every feature table of a GeoPackage.
pub fn read(path: &Path) -> Result<Vec<SourceLayer>, BoundaryError> {
    let name = super::display_name(path);
    let fail = |message: String| BoundaryError::Format {
        source_name: name.clone(),
        message,
    };
    let sql_fail = |e: rusqlite::Error| fail(format!("not a readable GeoPackage ({e})"));
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql_fail)?;
    let tables: Vec<(String, String, i64)> = conn
        .prepare(
            "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c \
             JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
             WHERE c.data_type = 'features' ORDER BY c.table_name",
        )
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(sql_fail)?;
    if tables.is_empty() {
        return Err(fail("the GeoPackage has no feature table".into()));
    }
    tables
        .into_iter()
        .map(|(table, column, srs_id)| {
            let layer_name = format!("{name}:{table}");
            check_srs(&conn, &layer_name, srs_id)?;
            read_table(&conn, &layer_name, &table, &column)
        })
        .collect()
}

fn check_srs(conn: &Connection, layer: &str, srs_id: i64) -> Result<(), BoundaryError> {
    let (org, org_id, srs_name): (String, i64, String) = conn
        .query_row(
            "SELECT organization, organization_coordsys_id, srs_name FROM gpkg_spatial_ref_sys \
             WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| BoundaryError::Format {
            source_name: layer.to_string(),
            message: format!("spatial reference system {srs_id} is not described ({e})"),
        })?;
    let is_wgs84 = (org.eq_ignore_ascii_case("EPSG") && org_id == 4326)
        || (org.eq_ignore_ascii_case("OGC") && srs_name.to_ascii_uppercase().contains("CRS84"));
    if is_wgs84 {
        Ok(())
    } else {
        Err(BoundaryError::Crs {
            source_name: layer.to_string(),
            crs: format!("{org}:{org_id} {srs_name}"),
        })
    }
}

fn read_table(
    conn: &Connection,
    layer: &str,
    table: &str,
    geom_column: &str,
) -> Result<SourceLayer, BoundaryError> {
    let fail = |e: rusqlite::Error| BoundaryError::Format {
        source_name: layer.to_string(),
        message: format!("cannot read the table ({e})"),
    };
    let sql = format!("SELECT * FROM {}", quote_ident(table));
    let mut stmt = conn.prepare(&sql).map_err(fail)?;
    let columns: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([]).map_err(fail)?;
    let mut features = Vec::new();
    while let Some(row) = rows.next().map_err(fail)? {
        let mut properties = serde_json::Map::new();
        let mut geometry = Err("feature has no geometry".to_string());
        for (i, col) in columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(fail)?;
            if col == geom_column {
                if let ValueRef::Blob(b) = value {
                    geometry = strip_gpkg_header(b).and_then(crate::geometry::from_wkb);
                }
                continue;
            }
            properties.insert(col.clone(), sql_to_json(value));
        }
        features.push(RawFeature {
            number: features.len() + 1,
            properties,
            geometry,
        });
    }
    Ok(SourceLayer {
        name: layer.to_string(),
        features,
    })
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn sql_to_json(v: ValueRef<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Returns the WKB inside a GeoPackage geometry blob (magic `GP`, version, flags, srs id,
/// optional envelope of 0/32/48/64 bytes).
fn strip_gpkg_header(blob: &[u8]) -> Result<&[u8], String> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return Err("geometry blob is not in GeoPackage format".into());
    }
    let flags = blob[3];
    if flags & 0b0010_0000 != 0 {
        return Err("extended GeoPackage geometry types are not supported".into());
    }
    if flags & 0b0001_0000 != 0 {
        return Err("feature has an empty geometry".into());
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        n => return Err(format!("invalid GeoPackage envelope indicator {n}")),
    };
    blob.get(8 + envelope..)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| "geometry blob is truncated".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_stripped_for_each_envelope_size() {
        let wkb = [1u8, 3, 0, 0, 0];
        for (indicator, len) in [(0u8, 0usize), (1, 32), (2, 48), (4, 64)] {
            let mut blob = vec![b'G', b'P', 0, indicator << 1 | 1, 0xE6, 0x10, 0, 0];
            blob.extend(std::iter::repeat_n(0u8, len));
            blob.extend(wkb);
            assert_eq!(strip_gpkg_header(&blob).unwrap(), &wkb);
        }
        assert!(strip_gpkg_header(b"XX").is_err());
        assert!(strip_gpkg_header(&[b'G', b'P', 0, 1 << 1, 0, 0, 0, 0]).is_err());
    }
}
