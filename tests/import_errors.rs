//! Malformed boundary files of every format: each gives a clear one-line error and leaves the
//! stored boundaries as they were.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use lentera::demo::synthetic_province;
use lentera::region::{Level, Region};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
    sample: PathBuf,
}

/// A store holding the demo province, and a sample GeoJSON with the desa of one kecamatan.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let regions = synthetic_province(3);
    let all = dir.join("province.geojson");
    common::write_geojson(&all, &regions);
    let data = dir.join("store");
    let out = common::lentera(&data, &["regions", "import", all.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sample_regions: Vec<Region> = regions
        .into_iter()
        .filter(|r| r.kode.level() == Level::Desa && r.kode.to_string().starts_with("99.01.01."))
        .collect();
    let sample = dir.join("sample.geojson");
    common::write_geojson(&sample, &sample_regions);
    Fixture {
        _tmp: tmp,
        dir,
        data,
        sample,
    }
}

fn stored(data: &Path) -> String {
    let out = common::lentera(data, &["regions", "list", "--format", "json"]);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Imports `file` and checks: failure, a last stderr line that is one `error:` line naming
/// `expect`, and an unchanged store.
fn assert_refused(fx: &Fixture, file: &Path, expect: &str) {
    let before = stored(&fx.data);
    let out = common::lentera(&fx.data, &["regions", "import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{} was accepted", file.display());
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: "),
        "last line is not an error: {stderr}"
    );
    assert!(
        last.to_lowercase().contains(&expect.to_lowercase()),
        "{}: expected `{expect}` in: {last}",
        file.display()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stored(&fx.data),
        before,
        "{} changed the store",
        file.display()
    );
}

fn edit_json(src: &Path, dst: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(dst, v.to_string()).unwrap();
}

fn truncate_file(src: &Path, dst: &Path) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn malformed_geojson_is_refused_with_one_line() {
    let fx = fixture();
    let p = |n: &str| fx.dir.join(n);

    truncate_file(&fx.sample, &p("truncated.geojson"));
    assert_refused(&fx, &p("truncated.geojson"), "not valid GeoJSON");

    edit_json(&fx.sample, &p("line.geojson"), |v| {
        v["features"][2]["geometry"] = serde_json::json!({"type": "LineString", "coordinates": [[124.1, -6.0], [124.2, -6.1]]});
    });
    assert_refused(&fx, &p("line.geojson"), "geometry type LineString");

    edit_json(&fx.sample, &p("nocode.geojson"), |v| {
        for f in v["features"].as_array_mut().unwrap() {
            let props = f["properties"].as_object_mut().unwrap();
            let code = props.remove("kode").unwrap();
            props.insert("kd".into(), code);
        }
    });
    assert_refused(&fx, &p("nocode.geojson"), "missing code property `kode`");

    edit_json(&fx.sample, &p("utm.geojson"), |v| {
        v["crs"] = serde_json::json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32750"}});
    });
    assert_refused(&fx, &p("utm.geojson"), "coordinate reference system");

    std::fs::write(p("garbage.geojson"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    assert_refused(&fx, &p("garbage.geojson"), "garbage.geojson");

    std::fs::write(
        p("empty.geojson"),
        r#"{"type":"FeatureCollection","features":[]}"#,
    )
    .unwrap();
    assert_refused(&fx, &p("empty.geojson"), "no features");
}

#[test]
fn malformed_shapefiles_are_refused_with_one_line() {
    let fx = fixture();
    let sample = fx.sample.to_str().unwrap().to_string();
    let shp = |n: &str| fx.dir.join(format!("{n}.shp"));

    common::ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        shp("good").to_str().unwrap(),
        &sample,
    ]);
    std::fs::copy(fx.dir.join("good.dbf"), fx.dir.join("truncated.dbf")).unwrap();
    std::fs::copy(fx.dir.join("good.prj"), fx.dir.join("truncated.prj")).unwrap();
    truncate_file(&shp("good"), &shp("truncated"));
    assert_refused(&fx, &shp("truncated"), "truncated or damaged shapefile");

    common::ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-nlt",
        "MULTILINESTRING",
        shp("lines").to_str().unwrap(),
        &sample,
    ]);
    assert_refused(&fx, &shp("lines"), "geometry type");

    common::ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-select",
        "nama",
        shp("nocode").to_str().unwrap(),
        &sample,
    ]);
    assert_refused(&fx, &shp("nocode"), "missing code property `kode`");

    common::ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:32750",
        shp("utm").to_str().unwrap(),
        &sample,
    ]);
    assert_refused(&fx, &shp("utm"), "WGS_1984_UTM_Zone_50S");

    std::fs::remove_file(fx.dir.join("good.dbf")).unwrap();
    assert_refused(&fx, &shp("good"), ".dbf file");

    std::fs::write(
        fx.dir.join("notazip.zip"),
        b"PK\x03\x04 this is not really a zip",
    )
    .unwrap();
    assert_refused(&fx, &fx.dir.join("notazip.zip"), "zip");
}

#[test]
fn malformed_geopackages_are_refused_with_one_line() {
    let fx = fixture();
    let sample = fx.sample.to_str().unwrap().to_string();
    let gpkg = |n: &str| fx.dir.join(format!("{n}.gpkg"));

    common::ogr2ogr(&["-f", "GPKG", gpkg("good").to_str().unwrap(), &sample]);
    truncate_file(&gpkg("good"), &gpkg("truncated"));
    assert_refused(&fx, &gpkg("truncated"), "truncated.gpkg");

    common::ogr2ogr(&[
        "-f",
        "GPKG",
        "-nlt",
        "MULTILINESTRING",
        gpkg("lines").to_str().unwrap(),
        &sample,
    ]);
    assert_refused(&fx, &gpkg("lines"), "geometry type MultiLineString");

    common::ogr2ogr(&[
        "-f",
        "GPKG",
        "-select",
        "nama",
        gpkg("nocode").to_str().unwrap(),
        &sample,
    ]);
    assert_refused(&fx, &gpkg("nocode"), "missing code property `kode`");

    common::ogr2ogr(&[
        "-f",
        "GPKG",
        "-t_srs",
        "EPSG:32750",
        gpkg("utm").to_str().unwrap(),
        &sample,
    ]);
    assert_refused(&fx, &gpkg("utm"), "EPSG:32750");

    std::fs::write(gpkg("text"), "just some text").unwrap();
    assert_refused(&fx, &gpkg("text"), "not a readable GeoPackage");
}

#[test]
fn skip_invalid_imports_the_rest_and_field_names_can_be_chosen() {
    let fx = fixture();
    let p = |n: &str| fx.dir.join(n);
    edit_json(&fx.sample, &p("line.geojson"), |v| {
        v["features"][0]["geometry"] =
            serde_json::json!({"type": "Point", "coordinates": [124.1, -6.0]});
    });
    let n_sample = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&fx.sample).unwrap())
        .unwrap()["features"]
        .as_array()
        .unwrap()
        .len();
    let report = p("report.csv");
    let out = common::lentera(
        &fx.data,
        &[
            "regions",
            "import",
            p("line.geojson").to_str().unwrap(),
            "--skip-invalid",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("Imported {} units", n_sample - 1)),
        "{stdout}"
    );
    assert!(stdout.contains("1 skipped"), "{stdout}");
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(report_text.starts_with("severity,source,feature,kode,message"));
    assert!(report_text.contains("geometry type Point"), "{report_text}");

    // The dry run changes nothing; custom field names are honoured.
    edit_json(&fx.sample, &p("custom.geojson"), |v| {
        for f in v["features"].as_array_mut().unwrap() {
            let props = f["properties"].as_object_mut().unwrap();
            let code = props.remove("kode").unwrap();
            let name = props.remove("nama").unwrap();
            props.insert(
                "KD_DESA".into(),
                serde_json::Value::from(
                    code.as_str()
                        .unwrap()
                        .replace('.', "")
                        .parse::<i64>()
                        .unwrap(),
                ),
            );
            props.insert("WADMKD".into(), name);
        }
    });
    let before = stored(&fx.data);
    let custom = p("custom.geojson");
    let args = [
        "regions",
        "import",
        custom.to_str().unwrap(),
        "--code-field",
        "kd_desa",
        "--name-field",
        "WADMKD",
        "--level",
        "desa",
    ];
    let dry = common::lentera(&fx.data, &[&args[..], &["--dry-run"]].concat());
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert_eq!(stored(&fx.data), before);
    let real = common::lentera(&fx.data, &args);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert!(String::from_utf8_lossy(&real.stdout).contains(&format!("Imported {n_sample} units")));

    // A level that does not fit is refused.
    let wrong = common::lentera(
        &fx.data,
        &[
            "regions",
            "import",
            fx.sample.to_str().unwrap(),
            "--level",
            "kecamatan",
        ],
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--level kecamatan"));
}
