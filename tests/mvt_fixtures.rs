//! The public MVT conformance fixtures (`@mapbox/mvt-fixtures`, installed from npm on first
//! run) through fast-mvt, the decoder Lentera's tests rely on: every tile valid for v2 decodes
//! to exactly what its `tile.json` says; every invalid one is refused or its bad part reported;
//! none panics.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// It reports what it measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use fast_mvt::{MvtReaderRef, MvtValueRef};
use serde_json::Value;

const PACKAGE: &str = "@mapbox/mvt-fixtures@4.0.0";

/// The fixtures directory, installed with npm into `target/npm` when missing.
fn fixtures() -> PathBuf {
    if let Ok(dir) = std::env::var("LENTERA_MVT_FIXTURES") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/npm");
    let dir = root.join("node_modules/@mapbox/mvt-fixtures/fixtures");
    if !dir.join("001/tile.mvt").exists() {
        std::fs::create_dir_all(&root).unwrap();
        let out = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&root)
            .arg(PACKAGE)
            .output()
            .expect("npm runs (apt-get install npm)");
        assert!(
            out.status.success(),
            "npm install {PACKAGE} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

/// What fast-mvt makes of a tile, in the fixtures' JSON shape, or the first error met.
/// `lenient` lets pass the geometries a decoder may refuse in a valid tile.
fn decode(bytes: &[u8], lenient: bool) -> Result<Value, String> {
    let reader = MvtReaderRef::new(bytes).map_err(|e| e.to_string())?;
    let mut layers = Vec::new();
    for layer in reader.layers() {
        let mut features = Vec::new();
        for f in layer.features() {
            // The spec lets a decoder use or refuse geometries of type UNKNOWN; a command whose
            // count claims more coordinates than the stream holds must be refused, not trusted
            // (fixture 057, "valid" in its wire format, tests exactly that).
            let may_refuse =
                matches!(f.geom_type_value(), None | Some(0)) || !counts_fit(f.geometry_commands());
            if !(lenient && may_refuse) {
                f.geometry().map_err(|e| format!("geometry: {e}"))?;
            }
            f.properties_vec().map_err(|e| format!("properties: {e}"))?;
            let mut feature = serde_json::Map::new();
            if let Some(id) = f.id() {
                feature.insert("id".into(), id.into());
            }
            feature.insert("tags".into(), f.tags().into());
            feature.insert("type".into(), f.geom_type_value().unwrap_or(0).into());
            feature.insert("geometry".into(), f.geometry_commands().into());
            features.push(Value::Object(feature));
        }
        let values: Vec<Value> = layer.values().map(value_json).collect();
        layers.push(serde_json::json!({
            "version": layer.version(),
            "name": layer.name(),
            "features": features,
            "keys": layer.keys(),
            "values": values,
            "extent": layer.extent(),
        }));
    }
    Ok(serde_json::json!({ "layers": layers }))
}

/// Whether every command's count fits in what follows it.
fn counts_fit(commands: &[u32]) -> bool {
    let mut i = 0;
    while i < commands.len() {
        let (id, count) = (commands[i] & 7, (commands[i] >> 3) as usize);
        i += 1;
        let params = if id == 7 { 0 } else { count * 2 };
        if params > commands.len() - i {
            return false;
        }
        i += params;
    }
    true
}

fn value_json(v: MvtValueRef<'_>) -> Value {
    match v {
        MvtValueRef::String(s) => serde_json::json!({ "string_value": s }),
        // The shortest decimal that reads back as the same f32, as the fixture writes it.
        MvtValueRef::Float(f) => {
            serde_json::json!({ "float_value": f.to_string().parse::<f64>().unwrap() })
        }
        MvtValueRef::Double(f) => serde_json::json!({ "double_value": f }),
        MvtValueRef::Int(i) => serde_json::json!({ "int_value": i }),
        MvtValueRef::UInt(u) => serde_json::json!({ "uint_value": u }),
        MvtValueRef::SInt(i) => serde_json::json!({ "sint_value": i }),
        MvtValueRef::Bool(b) => serde_json::json!({ "bool_value": b }),
        MvtValueRef::Null => Value::Null,
    }
}

/// The fixture's JSON with the defaults a decoder fills in (version 1, extent 4096, no tags,
/// type 0) and numbers compared as numbers.
fn normalised(mut expected: Value) -> Value {
    if let Some(layers) = expected.get_mut("layers").and_then(Value::as_array_mut) {
        for layer in layers {
            let l = layer.as_object_mut().unwrap();
            l.entry("version").or_insert(1.into());
            l.entry("extent").or_insert(4096.into());
            l.entry("keys").or_insert(Value::Array(vec![]));
            l.entry("values").or_insert(Value::Array(vec![]));
            // Some fixtures write a string value that looks like a number without quotes.
            for v in l["values"].as_array_mut().into_iter().flatten() {
                if let Some(n) = v.get("string_value").filter(|s| s.is_number()).cloned() {
                    v["string_value"] = Value::String(n.to_string());
                }
            }
            for f in l
                .get_mut("features")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let f = f.as_object_mut().unwrap();
                f.entry("tags").or_insert(Value::Array(vec![]));
                f.entry("type").or_insert(0.into());
                f.entry("geometry").or_insert(Value::Array(vec![]));
            }
        }
    } else {
        expected = serde_json::json!({ "layers": [] });
    }
    roundtrip_numbers(expected)
}

/// Re-reads numbers through f64 so `1` and `1.0` compare equal.
fn roundtrip_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.into_iter().map(roundtrip_numbers).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, roundtrip_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn conformance_fixtures_decode_as_specified_and_never_panic() {
    let dir = fixtures();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("tile.mvt").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 70, "{} fixtures", dirs.len());
    let (mut valid, mut refused, mut accepted_invalid) = (0, 0, Vec::new());
    for d in &dirs {
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("info.json")).unwrap()).unwrap();
        let bytes = std::fs::read(d.join("tile.mvt")).unwrap();
        let is_valid = info["validity"]["v2"] == true;
        let outcome = std::panic::catch_unwind(|| decode(&bytes, is_valid))
            .unwrap_or_else(|_| panic!("fixture {name}: the decoder panicked"));
        if is_valid {
            let got = outcome.unwrap_or_else(|e| panic!("fixture {name} is valid: {e}"));
            let expected: Value =
                serde_json::from_str(&std::fs::read_to_string(d.join("tile.json")).unwrap())
                    .unwrap();
            assert_eq!(
                roundtrip_numbers(got),
                normalised(expected),
                "fixture {name} decodes differently"
            );
            valid += 1;
        } else if outcome.is_err() {
            refused += 1;
        } else {
            let decoded = outcome.unwrap();
            let fatal = info["validity"]["error"] == "fatal";
            // A value of a type the spec does not know may be skipped (read as no value).
            let skipped_value = decoded["layers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["values"].as_array().unwrap().iter().any(Value::is_null));
            assert!(
                !fatal || skipped_value,
                "fixture {name} is fatally invalid but was accepted whole: {decoded}"
            );
            accepted_invalid.push(format!(
                "{name} ({})",
                info["validity"]["error"].as_str().unwrap_or("unspecified")
            ));
        }
    }
    println!(
        "{valid} valid fixtures decoded exactly; {refused} invalid ones refused; read with the \
         bad part skipped or a recoverable fault tolerated: {accepted_invalid:?}"
    );
}
