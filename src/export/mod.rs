//! Exports of units with their indicators: GeoJSON (RFC 7946, streamed feature by feature)
//! and CSV (with WKT or a representative point), filtered by level, parent, bounding box,
//! period and indicator thresholds.

mod households;
pub mod pmtiles;
mod table;

pub use households::{
    stream_households, write_households_csv, write_households_geojson, HouseholdChunk,
    HouseholdFilter, HOUSEHOLD_FIELDS,
};
pub use table::{
    unit_rows, write_indicator_csv, write_indicator_table, write_region_list, TableFormat, UnitRow,
};

use crate::model::sheet::SheetCsv;
use std::io::Write;

use geo::{BoundingRect, InteriorPoint, Intersects};
use geojson::{Feature, FeatureWriter, Geometry, JsonObject};
use serde_json::Value;

use crate::aggregate::{Indicator, PeriodIndicators, Snapshot};
use crate::region::Level;

/// The file formats units are exported in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "lowercase")]
pub enum Format {
    /// GeoJSON FeatureCollection (RFC 7946).
    Geojson,
    /// CSV with a WKT outline (or a point inside each unit).
    Csv,
    /// An Excel workbook with a point inside each unit.
    Xlsx,
    /// GeoPackage 1.3.
    Gpkg,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        self.into()
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Geojson => "application/geo+json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Gpkg => "application/geopackage+sqlite3",
        }
    }
}

/// Which units to export.
#[derive(Debug, Clone)]
pub struct UnitFilter {
    /// Level.
    pub level: Level,
    /// Only units inside this unit.
    pub parent: Option<u32>,
    /// Only units whose box meets `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox: Option<[f64; 4]>,
    /// Only units where every named indicator is within its bounds.
    pub thresholds: Vec<Threshold>,
}

/// An indicator's bounds: the units whose value is at least `min` and at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// The indicator.
    pub indicator: Indicator,
    /// At least this.
    pub min: Option<f64>,
    /// At most this.
    pub max: Option<f64>,
}

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// GeoJSON writing failed.
    #[error("cannot write GeoJSON: {0}")]
    GeoJson(#[from] geojson::Error),
    /// CSV writing failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The store failed while households were read.
    #[error("cannot read households: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// The units `filter` selects, in code order.
pub fn select(snap: &Snapshot, filter: &UnitFilter, period: Option<&PeriodIndicators>) -> Vec<u32> {
    let units: Vec<u32> = match filter.parent {
        Some(p) => snap.descendants(p).collect(),
        None => (0..snap.units().len() as u32).collect(),
    };
    units
        .into_iter()
        .filter(|&u| snap.unit(u).info.level == filter.level)
        .filter(|&u| match (filter.bbox, snap.unit(u).info.bbox) {
            (None, _) => true,
            (Some(q), Some(b)) => {
                b[0] <= q[2]
                    && b[2] >= q[0]
                    && b[1] <= q[3]
                    && b[3] >= q[1]
                    && snap.unit(u).geometry.intersects(&geo::Rect::new(
                        geo::coord! { x: q[0], y: q[1] },
                        geo::coord! { x: q[2], y: q[3] },
                    ))
            }
            (Some(_), None) => false,
        })
        .filter(|&u| {
            filter.thresholds.iter().all(|t| {
                let counts = period.and_then(|p| p.counts(u));
                let v = t.indicator.value(counts, snap.denominators(u));
                v.is_some_and(|v| t.min.is_none_or(|m| v >= m) && t.max.is_none_or(|m| v <= m))
            })
        })
        .collect()
}

/// The properties of a unit: code, names, period and every indicator (null for no data).
pub fn unit_properties(snap: &Snapshot, u: u32, period: Option<&PeriodIndicators>) -> JsonObject {
    let info = &snap.unit(u).info;
    let counts = period.and_then(|p| p.counts(u));
    let den = snap.denominators(u);
    let mut p = JsonObject::new();
    p.insert("kode".into(), info.kode.to_string().into());
    p.insert("nama".into(), info.nama.clone().into());
    p.insert("level".into(), info.level.as_str().into());
    p.insert("jenis".into(), info.jenis.as_str().into());
    p.insert(
        "parent".into(),
        info.parent.map_or(Value::Null, |k| k.to_string().into()),
    );
    p.insert(
        "period".into(),
        period.map_or(Value::Null, |p| p.period.to_string().into()),
    );
    p.insert("has_data".into(), counts.is_some().into());
    p.insert(
        "suppressed".into(),
        period.is_some_and(|p| p.suppressed(u)).into(),
    );
    for indicator in Indicator::all() {
        let json = match indicator.value(counts, den) {
            None => Value::Null,
            Some(v) if indicator.is_share() => v.into(),
            Some(v) => (v as u64).into(),
        };
        p.insert(indicator.name().into(), json);
    }
    p
}

/// Writes `units` as an RFC 7946 FeatureCollection (WGS84, exterior rings counter-clockwise,
/// `bbox` on the collection and on each feature), one feature at a time: memory does not grow
/// with the number of units.
pub fn write_geojson<W: Write>(
    snap: &Snapshot,
    units: &[u32],
    period: Option<&PeriodIndicators>,
    out: W,
) -> Result<(), ExportError> {
    let mut w = FeatureWriter::from_writer(out);
    let bbox = snap.bbox_of(units.iter().copied());
    if let Some(b) = bbox {
        w.write_foreign_member("bbox", &b)?;
    }
    if let Some(p) = period {
        w.write_foreign_member("note", &sources_note(snap, p.period))?;
        let batches: Vec<Value> = snap
            .batches()
            .iter()
            .filter(|b| b.period == p.period)
            .map(|b| {
                serde_json::json!({
                    "batch_id": b.id,
                    "file_name": b.file_name,
                    "source": b.source,
                    "imported_at": b.imported_at,
                    "households_counted": b.tally.counted(),
                    "states": b.tally.states,
                })
            })
            .collect();
        w.write_foreign_member("sources", &batches)?;
    }
    for &u in units {
        let unit = snap.unit(u);
        let geometry = (!unit.geometry.0.is_empty()).then(|| Geometry::from(&unit.geometry));
        let feature = Feature {
            bbox: unit
                .geometry
                .bounding_rect()
                .map(|r| vec![r.min().x, r.min().y, r.max().x, r.max().y]),
            geometry,
            id: Some(geojson::feature::Id::String(unit.info.kode.to_string())),
            properties: Some(unit_properties(snap, u, period)),
            foreign_members: None,
        };
        w.write_feature(&feature)?;
    }
    w.finish()?;
    Ok(())
}

/// Writes `units` as CSV: every property, then the geometry as WKT (`geometry_wkt`) or a point
/// inside the unit (`lon`, `lat`).
pub fn write_csv<W: Write>(
    snap: &Snapshot,
    units: &[u32],
    period: Option<&PeriodIndicators>,
    with_wkt: bool,
    out: W,
) -> Result<(), ExportError> {
    let mut w = SheetCsv::from_writer(out);
    let mut header: Option<Vec<String>> = None;
    for &u in units {
        let props = unit_properties(snap, u, period);
        if header.is_none() {
            let mut h: Vec<String> = props.keys().cloned().collect();
            if with_wkt {
                h.push("geometry_wkt".into());
            } else {
                h.extend(["lon".to_string(), "lat".to_string()]);
            }
            w.write_record(&h)?;
            header = Some(h);
        }
        let mut row: Vec<String> = props
            .values()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let geometry = &snap.unit(u).geometry;
        if with_wkt {
            row.push(wkt(geometry));
        } else {
            let p = geometry.interior_point();
            row.push(p.map(|p| p.x().to_string()).unwrap_or_default());
            row.push(p.map(|p| p.y().to_string()).unwrap_or_default());
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// A multipolygon as WKT. Hand-written: five lines, where the `wkt` crate would be one more
/// dependency for the same text.
fn wkt(g: &geo::MultiPolygon<f64>) -> String {
    let ring = |r: &geo::LineString<f64>| {
        let pts: Vec<String> = r.0.iter().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", pts.join(", "))
    };
    let polys: Vec<String> =
        g.0.iter()
            .map(|p| {
                let rings: Vec<String> = std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(ring)
                    .collect();
                format!("({})", rings.join(", "))
            })
            .collect();
    if polys.is_empty() {
        "MULTIPOLYGON EMPTY".into()
    } else {
        format!("MULTIPOLYGON ({})", polys.join(", "))
    }
}

/// What the figures of `period` rest on, in one sentence of Bahasa Indonesia: "Periode
/// 2025-06: DTKS (dtks.csv, diimpor 2025-07-01), verval (…). Indikator tanpa sumber yang
/// memuatnya bernilai kosong (tidak ada data), bukan 0."
pub fn sources_note(snap: &Snapshot, period: crate::model::Period) -> String {
    let mut batches: Vec<&crate::aggregate::BatchReport> = snap
        .batches()
        .iter()
        .filter(|b| b.period == period)
        .collect();
    batches.sort_by_key(|b| b.id);
    let list: Vec<String> = batches
        .into_iter()
        .map(|b| {
            format!(
                "{} ({}, diimpor {})",
                b.source.label(),
                b.file_name,
                b.imported_at.get(..10).unwrap_or(&b.imported_at)
            )
        })
        .collect();
    format!(
        "Periode {period}: {}. Indikator yang tidak dimuat sumbernya bernilai kosong (tidak ada data), bukan 0.",
        if list.is_empty() {
            "tidak ada sumber".to_string()
        } else {
            list.join(", ")
        }
    )
}

/// Writes `units` as a sheet `level` of an XLSX workbook: every property and the
/// longitude/latitude of a point inside each unit (outlines do not fit in a spreadsheet cell).
pub fn xlsx_bytes(
    snap: &Snapshot,
    units: &[u32],
    period: Option<&PeriodIndicators>,
    sheet_name: &str,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name)?;
    for (r, &u) in units.iter().enumerate() {
        let props = unit_properties(snap, u, period);
        let point = snap.unit(u).geometry.interior_point();
        if r == 0 {
            let names = props.keys().map(String::as_str).chain(["lon", "lat"]);
            for (c, name) in names.enumerate() {
                sheet.write_string_with_format(0, c as u16, name, &bold)?;
            }
        }
        let row = r as u32 + 1;
        let n = props.len() as u16;
        for (c, v) in props.values().enumerate() {
            let c = c as u16;
            match v {
                Value::Null => {}
                Value::Bool(b) => {
                    sheet.write_boolean(row, c, *b)?;
                }
                Value::Number(x) => {
                    sheet.write_number(row, c, x.as_f64().unwrap_or_default())?;
                }
                Value::String(s) => {
                    sheet.write_string(row, c, s)?;
                }
                other => {
                    sheet.write_string(row, c, other.to_string())?;
                }
            }
        }
        if let Some(p) = point {
            sheet.write_number(row, n, p.x())?;
            sheet.write_number(row, n + 1, p.y())?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    if let Some(p) = period {
        sources_sheet(book.add_worksheet(), snap, units, p.period, &bold)?;
    }
    book.save_to_buffer()
}

/// The sheet `sumber`: per unit, each batch of the period counted in it.
fn sources_sheet(
    sheet: &mut rust_xlsxwriter::Worksheet,
    snap: &Snapshot,
    units: &[u32],
    period: crate::model::Period,
    bold: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    sheet.set_name("sumber")?;
    const HEADER: [&str; 12] = [
        "kode",
        "nama",
        "periode",
        "batch",
        "berkas",
        "sumber",
        "diimpor",
        "rumah_tangga",
        "menurut_gps",
        "menurut_kode",
        "menurut_nama",
        "perlu_ditinjau",
    ];
    for (c, h) in HEADER.iter().chain(["memuat"].iter()).enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, bold)?;
    }
    let mut row = 1u32;
    for &u in units {
        let info = &snap.unit(u).info;
        for (b, s) in snap.sources_of(u, period) {
            sheet.write_string(row, 0, info.kode.to_string())?;
            sheet.write_string(row, 1, &info.nama)?;
            sheet.write_string(row, 2, period.to_string())?;
            sheet.write_number(row, 3, b.id as f64)?;
            sheet.write_string(row, 4, &b.file_name)?;
            sheet.write_string(row, 5, b.source.label())?;
            sheet.write_string(row, 6, &b.imported_at)?;
            for (c, v) in [
                s.households,
                s.placed_gps,
                s.placed_code,
                s.placed_names,
                s.flagged,
            ]
            .into_iter()
            .enumerate()
            {
                sheet.write_number(row, 7 + c as u16, v as f64)?;
            }
            let states: Vec<&str> = s.states.fields().map(|f| f.label()).collect();
            sheet.write_string(row, 12, states.join(", "))?;
            row += 1;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// WGS 84 as the OGC WKT a GeoPackage's `gpkg_spatial_ref_sys` holds.
const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]]";

/// A geometry as a GeoPackage blob: the `GP` header (version 0, little-endian, xy envelope,
/// SRS 4326) followed by its WKB.
fn gpkg_geometry(g: &geo::MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(b"GP");
    out.push(0); // version
    out.push(0b0000_0011); // little endian, envelope [minx, maxx, miny, maxy]
    out.extend_from_slice(&4326i32.to_le_bytes());
    let r = g.bounding_rect();
    let env = r.map_or([0.0; 4], |r| [r.min().x, r.max().x, r.min().y, r.max().y]);
    for v in env {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&crate::geometry::to_wkb(g));
    out
}

/// Writes `units` as a GeoPackage 1.3 file at `path` (replacing it), one feature table named
/// `table` with every property as a column. Written with rusqlite, which the embedded store
/// already uses: GeoPackage is SQLite with three metadata tables.
pub fn write_gpkg(
    snap: &Snapshot,
    units: &[u32],
    period: Option<&PeriodIndicators>,
    table: &str,
    path: &std::path::Path,
) -> Result<(), ExportError> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let mut conn = rusqlite::Connection::open(path).map_err(gpkg_error)?;
    let tx = conn.transaction().map_err(gpkg_error)?;
    let sample = unit_properties(snap, units.first().copied().unwrap_or(0), period);
    let columns: Vec<String> = sample
        .keys()
        .map(|k| {
            let ty = if matches!(
                k.as_str(),
                "kode" | "nama" | "level" | "jenis" | "parent" | "period"
            ) {
                "TEXT"
            } else if k == "has_data" {
                "BOOLEAN"
            } else if k.parse::<Indicator>().is_ok_and(|i| !i.is_share()) {
                "INTEGER"
            } else {
                "DOUBLE"
            };
            format!("\"{k}\" {ty}")
        })
        .collect();
    let bbox = snap.bbox_of(units.iter().copied()).unwrap_or([0.0; 4]);
    tx.execute_batch(&format!(
        "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300;
         CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
           organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
           definition TEXT NOT NULL, description TEXT);
         CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
           identifier TEXT UNIQUE, description TEXT DEFAULT '',
           last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
           srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
           geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
           m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name));
         INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL);
         CREATE TABLE \"{table}\" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON, {});
         INSERT INTO gpkg_geometry_columns VALUES ('{table}', 'geom', 'MULTIPOLYGON', 4326, 0, 0);",
        columns.join(", ")
    ))
    .map_err(gpkg_error)?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84', 4326, 'EPSG', 4326, ?1, NULL)",
        [WGS84_WKT],
    )
    .map_err(gpkg_error)?;
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id)
         VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, 4326)",
        rusqlite::params![table, bbox[0], bbox[1], bbox[2], bbox[3]],
    )
    .map_err(gpkg_error)?;
    {
        let placeholders: Vec<String> = (0..=sample.len()).map(|i| format!("?{}", i + 1)).collect();
        let names: Vec<String> = sample.keys().map(|k| format!("\"{k}\"")).collect();
        let mut st = tx
            .prepare(&format!(
                "INSERT INTO \"{table}\" (geom, {}) VALUES ({})",
                names.join(", "),
                placeholders.join(", ")
            ))
            .map_err(gpkg_error)?;
        for &u in units {
            let props = unit_properties(snap, u, period);
            let mut values: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Blob(
                gpkg_geometry(&snap.unit(u).geometry),
            )];
            values.extend(props.values().map(|v| match v {
                Value::Null => rusqlite::types::Value::Null,
                Value::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
                Value::Number(n) if n.is_u64() || n.is_i64() => {
                    rusqlite::types::Value::Integer(n.as_i64().unwrap_or_default())
                }
                Value::Number(n) => rusqlite::types::Value::Real(n.as_f64().unwrap_or_default()),
                Value::String(s) => rusqlite::types::Value::Text(s.clone()),
                other => rusqlite::types::Value::Text(other.to_string()),
            }));
            st.execute(rusqlite::params_from_iter(values))
                .map_err(gpkg_error)?;
        }
    }
    tx.commit().map_err(gpkg_error)?;
    Ok(())
}

fn gpkg_error(e: rusqlite::Error) -> ExportError {
    ExportError::Io(std::io::Error::other(format!("GeoPackage: {e}")))
}
