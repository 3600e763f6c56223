//! The real Kalimantan Timur boundaries: imported through both stores, and converted by GDAL
//! to Shapefile and GeoPackage and imported again with the same result.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// It reports what it measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use geo::{Area, CoordsIter};
use lentera::app::import_boundaries;
use lentera::ingest::boundaries::{ImportOptions, Severity};
use lentera::region::{Kode, Level, Region};
use lentera::store::{PostgisStore, SqliteStore, Store};

fn kaltim_files() -> Vec<PathBuf> {
    ["kabupaten", "kecamatan", "desa"]
        .iter()
        .map(|l| common::kaltim().join(format!("{l}.geojson")))
        .collect()
}

async fn import_and_check_kaltim(store: Arc<dyn Store>) {
    let started = Instant::now();
    let outcome = import_boundaries(store.as_ref(), &kaltim_files(), &ImportOptions::default())
        .await
        .expect("the real boundaries import");
    eprintln!(
        "{}: imported {} Kaltim units in {:.2} s",
        store.backend(),
        outcome.prepared.regions.len(),
        started.elapsed().as_secs_f64()
    );
    let problems: Vec<String> = outcome
        .prepared
        .issues
        .iter()
        .filter(|i| i.severity != Severity::Repaired)
        .map(ToString::to_string)
        .collect();
    assert!(problems.is_empty(), "unexpected findings: {problems:?}");

    let c = store.region_counts().await.unwrap();
    assert_eq!((c.kabupaten, c.kota), (7, 3));
    assert_eq!(c.kecamatan, 105);
    assert_eq!((c.desa, c.kelurahan), (841, 197));

    let codes: HashSet<Kode> = store.region_codes().await.unwrap().into_iter().collect();
    let desa = store.regions(Level::Desa).await.unwrap();
    assert_eq!(desa.len(), 1038);
    for d in &desa {
        let kec = d.kode.parent().unwrap();
        let kab = kec.parent().unwrap();
        assert!(codes.contains(&kec), "{} has no kecamatan", d.kode);
        assert!(codes.contains(&kab), "{} has no kabupaten", d.kode);
        assert_eq!(kab.parent().unwrap().to_string(), "64");
    }
    let palaran = store
        .get_region(Kode::parse("64.72.01").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(palaran.nama, "Palaran");

    // Importing the same files again replaces, never duplicates.
    let again = import_boundaries(store.as_ref(), &kaltim_files(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(again.stored.unwrap().removed, 1153);
    assert_eq!(store.region_counts().await.unwrap(), c);
}

#[tokio::test]
async fn kaltim_imports_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    import_and_check_kaltim(Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap())).await;
}

#[tokio::test]
async fn kaltim_imports_into_postgis() {
    let url = common::fresh_postgis_url().await;
    import_and_check_kaltim(Arc::new(PostgisStore::connect(&url).await.unwrap())).await;
}

/// A geometry's vertices (without each ring's closing repeat), rounded to 1e-9 degrees and
/// sorted, so that ring orientation and start point do not matter.
fn vertex_set(r: &Region) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for p in &r.geometry.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            let n = ring.0.len() - 1;
            out.extend(
                ring.coords_iter()
                    .take(n)
                    .map(|c| ((c.x * 1e9).round() as i64, (c.y * 1e9).round() as i64)),
            );
        }
    }
    out.sort_unstable();
    out
}

async fn import_desa(path: &Path) -> Vec<Region> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).await.unwrap();
    let opts = ImportOptions {
        level: Some(Level::Desa),
        ..Default::default()
    };
    import_boundaries(&store, &[path.to_path_buf()], &opts)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    store.regions(Level::Desa).await.unwrap()
}

fn assert_same_units(label: &str, a: &[Region], b: &[Region]) {
    assert_eq!(a.len(), b.len(), "{label}: unit count");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.kode, y.kode, "{label}");
        assert_eq!(x.nama, y.nama, "{label}: {}", x.kode);
        assert_eq!(
            x.geometry.0.len(),
            y.geometry.0.len(),
            "{label}: parts of {}",
            x.kode
        );
        let (ax, ay) = (x.geometry.unsigned_area(), y.geometry.unsigned_area());
        assert!(
            (ax - ay).abs() <= 1e-9 * ax,
            "{label}: area of {}: {ax} vs {ay}",
            x.kode
        );
        assert_eq!(
            vertex_set(x),
            vertex_set(y),
            "{label}: vertices of {}",
            x.kode
        );
    }
}

/// Packs the files of a shapefile into a zip archive (stored, no compression).
fn zip_shapefile(shp: &Path, out: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let f = shp.with_extension(ext);
        if f.exists() {
            zip.start_file(format!("batas/desa.{ext}"), opts).unwrap();
            zip.write_all(&std::fs::read(&f).unwrap()).unwrap();
        }
    }
    zip.finish().unwrap();
}

#[tokio::test]
async fn gdal_conversions_import_to_the_same_units() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::kaltim().join("desa.geojson");
    let src_s = src.to_string_lossy().into_owned();
    let reference = import_desa(&src).await;
    assert_eq!(reference.len(), 1038);

    let shp = tmp.path().join("desa.shp");
    common::ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-lco",
        "ENCODING=UTF-8",
        shp.to_str().unwrap(),
        &src_s,
    ]);
    assert_same_units("shapefile", &reference, &import_desa(&shp).await);

    let zipped = tmp.path().join("desa.zip");
    zip_shapefile(&shp, &zipped);
    assert_same_units("zipped shapefile", &reference, &import_desa(&zipped).await);

    let gpkg = tmp.path().join("desa.gpkg");
    common::ogr2ogr(&["-f", "GPKG", gpkg.to_str().unwrap(), &src_s]);
    assert_same_units("geopackage", &reference, &import_desa(&gpkg).await);
}

#[tokio::test]
async fn real_crosswalk_reports_what_it_cannot_map() {
    use lentera::region::crosswalk::{read_crosswalk, BpsKode, Crosswalk, CrosswalkLookup};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).await.unwrap();
    import_boundaries(&store, &kaltim_files(), &ImportOptions::default())
        .await
        .unwrap();
    let file = std::fs::File::open(common::kaltim().join("bps_kemendagri.csv")).unwrap();
    let load = read_crosswalk(file).unwrap();
    assert_eq!(load.entries.len(), 1147);
    let no_target = load
        .entries
        .iter()
        .filter(|e| e.kode_kemendagri.is_none())
        .count();
    assert_eq!(no_target, 5);
    let known = store.region_codes().await.unwrap().into_iter().collect();
    let cw = Crosswalk::new(load.entries.clone(), known);
    assert_eq!(cw.missing_targets().len(), 21);
    let kode = |s: &str| CrosswalkLookup::Mapped(Kode::parse(s).unwrap());
    let bps = |s: &str| BpsKode::parse(s).unwrap();
    // The four kabupaten whose BPS and Kemendagri numbers differ.
    assert_eq!(cw.lookup(&bps("6402")), kode("64.07"));
    assert_eq!(cw.lookup(&bps("6403")), kode("64.02"));
    assert_eq!(cw.lookup(&bps("6404")), kode("64.08"));
    assert_eq!(cw.lookup(&bps("6405")), kode("64.03"));
    assert_eq!(cw.lookup(&bps("6499999999")), CrosswalkLookup::Unknown);
    store.replace_crosswalk(&load.entries).await.unwrap();
    assert_eq!(store.crosswalk().await.unwrap().len(), 1147);
}
