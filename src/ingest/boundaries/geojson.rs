//! GeoJSON boundary reader: RFC 7946 plus the deviations found in the wild (a `crs` member
//! naming CRS84 or EPSG:4326, 3-D positions, a bare Feature instead of a collection).

use geojson::GeoJson;
use serde_json::Value;

use super::{BoundaryError, RawFeature, SourceLayer};

/// CRS names that mean WGS84 longitude/latitude in a GeoJSON `crs` member.
const WGS84_NAMES: [&str; 6] = [
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326",
];

/// Reads every feature of a GeoJSON text.
pub fn read(name: &str, text: &str) -> Result<SourceLayer, BoundaryError> {
    let fail = |message: String| BoundaryError::Format {
        source_name: name.to_string(),
        message,
    };
    let gj: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| fail(format!("not valid GeoJSON ({e})")))?;
    let features = match gj {
        GeoJson::FeatureCollection(fc) => {
            check_crs(name, fc.foreign_members.as_ref().and_then(|m| m.get("crs")))?;
            fc.features
        }
        GeoJson::Feature(f) => {
            check_crs(name, f.foreign_members.as_ref().and_then(|m| m.get("crs")))?;
            vec![f]
        }
        GeoJson::Geometry(_) => {
            return Err(fail(
                "a bare GeoJSON geometry has no properties to hold the region code and name; \
                 expected a FeatureCollection"
                    .into(),
            ))
        }
    };
    let features = features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let geometry = match &f.geometry {
                None => Err("feature has no geometry".to_string()),
                Some(g) => geo::Geometry::<f64>::try_from(&g.value)
                    .map_err(|e| format!("unreadable geometry: {e}"))
                    .and_then(crate::geometry::polygonal),
            };
            RawFeature {
                number: i + 1,
                properties: f.properties.unwrap_or_default(),
                geometry,
            }
        })
        .collect();
    Ok(SourceLayer {
        name: name.to_string(),
        features,
    })
}

fn check_crs(name: &str, crs: Option<&Value>) -> Result<(), BoundaryError> {
    let Some(crs) = crs else { return Ok(()) };
    if crs.is_null() {
        return Ok(());
    }
    let crs_name = crs
        .pointer("/properties/name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    if WGS84_NAMES.contains(&crs_name.to_ascii_lowercase().as_str()) {
        Ok(())
    } else {
        Err(BoundaryError::Crs {
            source_name: name.to_string(),
            crs: crs_name.to_string(),
        })
    }
}
