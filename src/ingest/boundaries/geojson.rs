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

/// How large a GeoJSON boundary file may be. A GeoJSON text is parsed whole, and its
/// coordinates take two to three times the text's bytes in memory: a file past these limits is
/// refused (or a feature past them refused alone) before it can exhaust the machine.
#[derive(Debug, Clone, Copy)]
pub struct GeoJsonLimits {
    /// Bytes of the file.
    pub max_bytes: u64,
    /// Features of the file.
    pub max_features: usize,
    /// Positions (vertices) of one feature's geometry.
    pub max_positions: usize,
}

/// The limits of `lentera regions import`: the desa of all Indonesia (84,000 features) or a
/// province at full survey resolution fit; the nation at full resolution is a GeoPackage's
/// job.
pub const LIMITS: GeoJsonLimits = GeoJsonLimits {
    max_bytes: 1 << 30,
    max_features: 500_000,
    max_positions: 5_000_000,
};

/// Refuses a GeoJSON file larger than `limits` allow, before it is read.
pub fn check_size(name: &str, bytes: u64, limits: &GeoJsonLimits) -> Result<(), BoundaryError> {
    if bytes > limits.max_bytes {
        return Err(BoundaryError::Format {
            source_name: name.to_string(),
            message: format!(
                "the GeoJSON file is {} MiB, more than the {} MiB a GeoJSON boundary file may \
                 be (it is read whole, and would take several times that in memory): split it \
                 per province, or convert it to GeoPackage (`ogr2ogr -f GPKG batas.gpkg {name}`)",
                bytes.div_ceil(1 << 20),
                limits.max_bytes >> 20
            ),
        });
    }
    Ok(())
}

/// The positions of a geometry, counted without converting it; an error in words for a
/// position of fewer than two numbers (RFC 7946 asks for at least two, and the conversion to
/// geometry types would index past its end).
fn positions(value: &geojson::GeometryValue) -> Result<usize, String> {
    use geojson::GeometryValue as V;
    let all = |ps: &[geojson::Position]| match ps.iter().position(|p| p.len() < 2) {
        Some(i) => Err(format!(
            "position {} has {} number(s); a position needs a longitude and a latitude",
            i + 1,
            ps[i].len()
        )),
        None => Ok(ps.len()),
    };
    let rings = |rs: &[Vec<geojson::Position>]| rs.iter().map(|r| all(r)).sum::<Result<usize, _>>();
    match value {
        V::Point { coordinates } => all(std::slice::from_ref(coordinates)),
        V::MultiPoint { coordinates } | V::LineString { coordinates } => all(coordinates),
        V::MultiLineString { coordinates } | V::Polygon { coordinates } => rings(coordinates),
        V::MultiPolygon { coordinates } => coordinates.iter().map(|p| rings(p)).sum(),
        V::GeometryCollection { geometries } => {
            geometries.iter().map(|g| positions(&g.value)).sum()
        }
    }
}

/// Reads every feature of a GeoJSON text under the import's [`LIMITS`].
pub fn read(name: &str, text: &str) -> Result<SourceLayer, BoundaryError> {
    read_within(name, text, &LIMITS)
}

/// Reads every feature of a GeoJSON text; a feature with more positions than `limits` allow
/// is refused alone, a file with more features refused whole.
pub fn read_within(
    name: &str,
    text: &str,
    limits: &GeoJsonLimits,
) -> Result<SourceLayer, BoundaryError> {
    check_size(name, text.len() as u64, limits)?;
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
    if features.len() > limits.max_features {
        return Err(fail(format!(
            "{} features, more than the {} a GeoJSON boundary file may hold: split it per \
             province, or convert it to GeoPackage",
            features.len(),
            limits.max_features
        )));
    }
    let features = features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let geometry = match &f.geometry {
                None => Err("feature has no geometry".to_string()),
                Some(g) => match positions(&g.value) {
                    Err(e) => Err(format!("unreadable geometry: {e}")),
                    Ok(n) if n > limits.max_positions => Err(format!(
                        "the geometry has {n} points, more than the {} one boundary may have; \
                         simplify it (e.g. `ogr2ogr -simplify 0.0001`)",
                        limits.max_positions
                    )),
                    Ok(_) => geo::Geometry::<f64>::try_from(&g.value)
                        .map_err(|e| format!("unreadable geometry: {e}"))
                        .and_then(crate::geometry::polygonal),
                },
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SMALL: GeoJsonLimits = GeoJsonLimits {
        max_bytes: 2_000,
        max_features: 2,
        max_positions: 5,
    };

    fn feature(kode: &str, ring: &str) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"kode":"{kode}","nama":"A"}},"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}"#
        )
    }

    fn collection(features: &[String]) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        )
    }

    #[test]
    fn a_feature_with_too_many_points_is_refused_alone() {
        let square = "[0,0],[1,0],[1,1],[0,0]";
        let jagged = "[0,0],[1,0],[1,0.5],[1,1],[0.5,1],[0,0]";
        let text = collection(&[feature("64.01", square), feature("64.02", jagged)]);
        let layer = read_within("batas.geojson", &text, &SMALL).unwrap();
        assert!(layer.features[0].geometry.is_ok());
        let err = layer.features[1].geometry.as_ref().unwrap_err();
        assert!(err.contains("6 points, more than the 5"), "{err}");
    }

    #[test]
    fn a_position_of_one_number_refuses_its_feature() {
        let text = collection(&[
            feature("64.01", "[0,0],[1,0],[1,1],[0,0]"),
            feature("64.02", "[0,0],[1],[1,1],[0,0]"),
        ]);
        let layer = read_within("batas.geojson", &text, &LIMITS).unwrap();
        assert!(layer.features[0].geometry.is_ok());
        let err = layer.features[1].geometry.as_ref().unwrap_err();
        assert!(err.contains("position 2 has 1 number(s)"), "{err}");
    }

    #[test]
    fn too_many_features_or_bytes_refuse_the_file_in_words() {
        let square = "[0,0],[1,0],[1,1],[0,0]";
        let three = collection(&[
            feature("64.01", square),
            feature("64.02", square),
            feature("64.03", square),
        ]);
        let err = read_within("batas.geojson", &three, &SMALL)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 features, more than the 2"), "{err}");
        let big = collection(&[feature("64.01", &[square; 100].join(","))]);
        let err = read_within("batas.geojson", &big, &SMALL)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GeoPackage") && err.contains("split it"),
            "{err}"
        );
    }
}
