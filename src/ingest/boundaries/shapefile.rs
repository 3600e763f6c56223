//! Shapefile boundary reader: a `.shp` with its `.dbf` (and `.prj`, `.cpg`) beside it, or a
//! `.zip` holding one or more such sets. Only WGS84 longitude/latitude is accepted.

use std::io::{Cursor, Read};
use std::path::Path;

use geo::MultiPolygon;
use shapefile::dbase::{self, FieldValue};
use shapefile::Shape;

use super::{BoundaryError, RawFeature, SourceLayer};

/// The files of one shapefile, read into memory.
struct ShapefileParts {
    name: String,
    shp: Vec<u8>,
    dbf: Option<Vec<u8>>,
    prj: Option<String>,
    cpg: Option<String>,
}

/// Largest uncompressed member of a zip archive that will be read (guards against zip bombs).
const MAX_ZIP_MEMBER: u64 = 4 << 30;

/// Reads a `.shp` path and its sibling files.
pub fn read_shp(path: &Path) -> Result<(SourceLayer, Vec<String>), BoundaryError> {
    let name = super::display_name(path);
    let sibling = |ext: &str| -> Option<Vec<u8>> {
        [ext.to_string(), ext.to_ascii_uppercase()]
            .iter()
            .find_map(|e| std::fs::read(path.with_extension(e)).ok())
    };
    let shp = std::fs::read(path).map_err(|e| BoundaryError::io(path, e))?;
    let parts = ShapefileParts {
        name,
        shp,
        dbf: sibling("dbf"),
        prj: sibling("prj").map(|b| String::from_utf8_lossy(&b).into_owned()),
        cpg: sibling("cpg").map(|b| String::from_utf8_lossy(&b).into_owned()),
    };
    read_parts(parts)
}

/// Reads every shapefile inside a zip archive.
pub fn read_zip(path: &Path) -> Result<Vec<(SourceLayer, Vec<String>)>, BoundaryError> {
    let zip_name = super::display_name(path);
    let fail = |message: String| BoundaryError::Format {
        source_name: zip_name.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| BoundaryError::io(path, e))?;
    crate::ingest::archive::check_zip(
        std::io::BufReader::new(&file),
        &crate::ingest::archive::DEFAULT_LIMITS,
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| fail(format!("not a readable zip archive ({e})")))?;
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| fail(format!("damaged zip archive ({e})")))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry
            .name()
            .map_err(|e| fail(format!("damaged zip archive ({e})")))?
            .into_owned();
        let mut buf = Vec::new();
        (&mut entry)
            .take(MAX_ZIP_MEMBER)
            .read_to_end(&mut buf)
            .map_err(|e| fail(format!("cannot unpack {entry_name} ({e})")))?;
        members.push((entry_name, buf));
    }
    let stems: Vec<String> = members
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(".shp").or_else(|| n.strip_suffix(".SHP")))
        .map(str::to_string)
        .collect();
    if stems.is_empty() {
        return Err(fail("the zip archive holds no .shp file".into()));
    }
    let take = |stem: &str, ext: &str| -> Option<Vec<u8>> {
        members
            .iter()
            .find(|(n, _)| {
                n.len() == stem.len() + ext.len() + 1
                    && n.starts_with(stem)
                    && n[stem.len() + 1..].eq_ignore_ascii_case(ext)
            })
            .map(|(_, b)| b.clone())
    };
    stems
        .iter()
        .map(|stem| {
            let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
            read_parts(ShapefileParts {
                name: format!("{zip_name}:{stem}.shp"),
                shp: take(stem, "shp").unwrap_or_default(),
                dbf: take(stem, "dbf"),
                prj: take(stem, "prj").map(text),
                cpg: take(stem, "cpg").map(text),
            })
        })
        .collect()
}

fn read_parts(parts: ShapefileParts) -> Result<(SourceLayer, Vec<String>), BoundaryError> {
    let name = parts.name.clone();
    let fail = |message: String| BoundaryError::Format {
        source_name: name.clone(),
        message,
    };
    let mut warnings = Vec::new();
    match &parts.prj {
        Some(prj) => check_prj(&name, prj)?,
        None => warnings.push(format!(
            "{name}: no .prj file; coordinates are taken as WGS84 longitude/latitude"
        )),
    }
    let dbf = parts.dbf.ok_or_else(|| {
        fail("the .dbf file that holds the attributes (code, name) is missing".into())
    })?;
    let shape_reader = shapefile::ShapeReader::new(Cursor::new(parts.shp))
        .map_err(|e| fail(format!("not a readable .shp file ({e})")))?;
    let encoding = parts
        .cpg
        .as_deref()
        .and_then(|c| dbase::encoding::DynEncoding::from_name(c.trim()));
    let mut builder = dbase::ReaderBuilder::new();
    if let Some(enc) = encoding {
        builder = builder.with_encoding(enc);
    }
    let dbf_reader = builder
        .build(Cursor::new(dbf))
        .map_err(|e| fail(format!("not a readable .dbf file ({e})")))?;
    let mut reader = shapefile::Reader::new(shape_reader, dbf_reader);
    let mut features = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) = item.map_err(|e| {
            fail(format!(
                "truncated or damaged shapefile at record {} ({e})",
                i + 1
            ))
        })?;
        let properties = record
            .into_iter()
            .map(|(k, v)| (k, field_to_json(v)))
            .collect();
        features.push(RawFeature {
            number: i + 1,
            properties,
            geometry: shape_to_multipolygon(shape),
        });
    }
    Ok((SourceLayer { name, features }, warnings))
}

fn shape_to_multipolygon(shape: Shape) -> Result<MultiPolygon<f64>, String> {
    let converted = match shape {
        Shape::Polygon(p) => MultiPolygon::try_from(p),
        Shape::PolygonM(p) => MultiPolygon::try_from(p),
        Shape::PolygonZ(p) => MultiPolygon::try_from(p),
        Shape::NullShape => return Err("feature has no geometry (null shape)".into()),
        other => {
            return Err(format!(
                "geometry type {}, expected Polygon",
                other.shapetype()
            ))
        }
    };
    converted.map_err(|e| format!("unreadable polygon ({e})"))
}

fn field_to_json(v: FieldValue) -> serde_json::Value {
    use serde_json::Value;
    let num = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            Value::from(x as i64)
        } else {
            Value::from(x)
        }
    };
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => Value::String(s.trim().to_string()),
        FieldValue::Numeric(Some(x)) | FieldValue::Double(x) | FieldValue::Currency(x) => num(x),
        FieldValue::Float(Some(x)) => num(f64::from(x)),
        FieldValue::Integer(x) => Value::from(x),
        FieldValue::Logical(Some(b)) => Value::Bool(b),
        FieldValue::Date(Some(d)) => Value::String(format!("{d:?}")),
        _ => Value::Null,
    }
}

/// Accepts a `.prj` that names WGS84 geographic coordinates; refuses projected or other
/// geographic systems, naming them.
fn check_prj(name: &str, prj: &str) -> Result<(), BoundaryError> {
    let upper = prj.trim().to_ascii_uppercase();
    let quoted_name = || prj.split('"').nth(1).unwrap_or("unnamed").to_string();
    let is_projected = upper.starts_with("PROJCS") || upper.starts_with("PROJCRS");
    let is_wgs84 = ["WGS_1984", "WGS 84", "WGS84", "WGS 1984"]
        .iter()
        .any(|n| upper.contains(n));
    if is_projected || !is_wgs84 {
        return Err(BoundaryError::Crs {
            source_name: name.to_string(),
            crs: quoted_name(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prj_wgs84_is_accepted_and_others_refused() {
        let wgs84 = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert!(check_prj("a", wgs84).is_ok());
        let utm = r#"PROJCS["WGS_1984_UTM_Zone_50S",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]]"#;
        let err = check_prj("a", utm).unwrap_err().to_string();
        assert!(err.contains("WGS_1984_UTM_Zone_50S"), "{err}");
        let dgn = r#"GEOGCS["DGN95",DATUM["Datum_Geodesi_Nasional_1995"]]"#;
        assert!(check_prj("a", dgn).is_err());
    }
}
