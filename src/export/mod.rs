//! Exports of units with their indicators: GeoJSON (RFC 7946, streamed feature by feature)
//! and CSV (with WKT or a representative point), filtered by level, parent, bounding box,
//! period and indicator thresholds.

use std::io::Write;

use geo::{BoundingRect, InteriorPoint};
use geojson::{Feature, FeatureWriter, Geometry, JsonObject};
use serde_json::Value;

use crate::aggregate::indicators::value_by_name;
use crate::aggregate::snapshot::PeriodIndicators;
use crate::aggregate::{Snapshot, COUNTS, RATES};
use crate::region::Level;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GeoJSON FeatureCollection.
    GeoJson,
    /// CSV with a WKT geometry column.
    CsvWkt,
    /// CSV with the longitude/latitude of a point inside each unit.
    CsvLonLat,
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

/// An indicator's bounds: `(name, at least, at most)`.
pub type Threshold = (String, Option<f64>, Option<f64>);

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
            (Some(q), Some(b)) => b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1],
            (Some(_), None) => false,
        })
        .filter(|&u| {
            filter.thresholds.iter().all(|(name, min, max)| {
                let v = value_by_name(name, period.and_then(|p| p.counts(u)), snap.denominators(u));
                v.is_some_and(|v| min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m))
            })
        })
        .collect()
}

/// The properties of a unit: code, names, period and every indicator (null for no data).
fn properties(snap: &Snapshot, u: u32, period: Option<&PeriodIndicators>) -> JsonObject {
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
        period.map_or(Value::Null, |p| p.period.clone().into()),
    );
    p.insert("has_data".into(), counts.is_some().into());
    for name in COUNTS
        .iter()
        .map(|f| f.name)
        .chain(RATES.iter().map(|f| f.name))
    {
        let v = value_by_name(name, counts, den);
        let is_count = COUNTS.iter().any(|c| c.name == name);
        let json = match v {
            None => Value::Null,
            Some(v) if is_count => (v as u64).into(),
            Some(v) => v.into(),
        };
        p.insert(name.into(), json);
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
    let bbox = units
        .iter()
        .filter_map(|&u| snap.unit(u).info.bbox)
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        });
    if let Some(b) = bbox {
        w.write_foreign_member("bbox", &b)?;
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
            properties: Some(properties(snap, u, period)),
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
    let mut w = csv::Writer::from_writer(out);
    let mut header: Option<Vec<String>> = None;
    for &u in units {
        let props = properties(snap, u, period);
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
