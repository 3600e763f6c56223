//! Vector tiles of the real Kalimantan Timur boundaries and generated households: read back by
//! the decoder Lentera relies on (fast-mvt), by a second one (geozero) and by GDAL; checked for
//! winding, zero-length segments and size; the household layer served to tokens only; and
//! new snapshots reaching clients without a restart.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// It reports what it measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use fast_mvt::{MvtReaderRef, MvtValueRef};
use lentera::aggregate::{Count, Indicator};
use lentera::model::Scope;
use lentera::model::SourceFormat;
use lentera::region::Kode;
use lentera::server::{router_with, Live, ServerOptions};
use lentera::store::Store;
use lentera::tiles::mercator::tiles_covering;
use lentera::tiles::{Layer, TileCoord, TileSet};

const TOKEN_ALL: &str = "semua-rumah-tangga-0123456789abcdef";
const TOKEN_SAMARINDA: &str = "dinsos-samarinda-0123456789abcdef";
/// Samarinda.
const SAMARINDA: (f64, f64) = (117.15, -0.50);

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    live: Live,
    app: axum::Router,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) =
        common::kaltim_sqlite(dir.path(), &[(SourceFormat::Verval, 20_000, 9, "2025-06")]).await;
    common::admin_and_samarinda(store.as_ref(), TOKEN_ALL, TOKEN_SAMARINDA).await;
    let live = Live::load(store.clone()).await.unwrap();
    let app = router_with(live.clone(), ServerOptions::default());
    World {
        _dir: dir,
        store,
        live,
        app,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A decoded feature: its id and its properties as text.
type Feature = (Option<u64>, BTreeMap<String, String>);

/// Features of each layer, decoded by fast-mvt.
fn decode(tile: &[u8]) -> BTreeMap<String, Vec<Feature>> {
    let reader = MvtReaderRef::new(tile).expect("tile decodes");
    let mut out = BTreeMap::new();
    for layer in reader.layers() {
        assert_eq!(layer.extent(), 4096);
        assert_eq!(layer.version(), 2);
        let mut features = Vec::new();
        for f in layer.features() {
            f.geometry().expect("geometry decodes");
            let props = f
                .properties_vec()
                .expect("properties decode")
                .into_iter()
                .map(|(k, v)| (k.to_string(), value_text(v)))
                .collect();
            features.push((f.id(), props));
        }
        out.insert(layer.name().to_string(), features);
    }
    out
}

fn value_text(v: MvtValueRef<'_>) -> String {
    match v {
        MvtValueRef::String(s) => s.to_string(),
        MvtValueRef::Float(f) => f.to_string(),
        MvtValueRef::Double(f) => f.to_string(),
        MvtValueRef::Int(i) | MvtValueRef::SInt(i) => i.to_string(),
        MvtValueRef::UInt(u) => u.to_string(),
        MvtValueRef::Bool(b) => b.to_string(),
        MvtValueRef::Null => "null".into(),
    }
}

/// Rings of a polygon feature from its raw commands, with checks the spec asks for: a ring
/// starts with MoveTo, goes on with LineTo and ends with ClosePath; no LineTo of length zero.
fn raw_rings(commands: &[u32]) -> Vec<Vec<(i64, i64)>> {
    let mut rings = Vec::new();
    let mut cursor = (0i64, 0i64);
    let mut i = 0;
    let mut ring: Vec<(i64, i64)> = Vec::new();
    let unzig = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
    while i < commands.len() {
        let (id, count) = (commands[i] & 7, commands[i] >> 3);
        i += 1;
        match id {
            1 => {
                assert_eq!(count, 1, "MoveTo of a polygon ring moves once");
                cursor.0 += unzig(commands[i]);
                cursor.1 += unzig(commands[i + 1]);
                i += 2;
                ring = vec![cursor];
            }
            2 => {
                for _ in 0..count {
                    let (dx, dy) = (unzig(commands[i]), unzig(commands[i + 1]));
                    assert!(dx != 0 || dy != 0, "zero-length segment");
                    cursor.0 += dx;
                    cursor.1 += dy;
                    ring.push(cursor);
                    i += 2;
                }
            }
            7 => {
                assert_eq!(count, 1);
                assert!(ring.len() >= 3, "a ring has at least three points");
                rings.push(std::mem::take(&mut ring));
            }
            other => panic!("unknown command {other}"),
        }
    }
    rings
}

fn area2(ring: &[(i64, i64)]) -> i64 {
    (0..ring.len())
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn ogrinfo(path: &Path) -> String {
    common::ogrinfo(&["-q", "-oo", "CLIP=NO"], path)
}

#[tokio::test]
async fn kaltim_tiles_decode_alike_in_fast_mvt_geozero_and_gdal_with_the_snapshot_figures() {
    let w = world().await;
    let snap = w.live.snapshot();
    let (x, y, _, _) = tiles_covering([SAMARINDA.0, SAMARINDA.1, SAMARINDA.0, SAMARINDA.1], 10);
    let uri = format!("/tiles/desa/10/{x}/{y}.mvt");
    let plain = common::fetch(&w.app, &uri, &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(
        plain.headers[header::CONTENT_TYPE],
        "application/vnd.mapbox-vector-tile"
    );
    let gz = common::fetch(&w.app, &uri, &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gunzip(&gz.body), plain.body);
    // Asked again without gzip: the decompressed bytes kept from the first time, the same
    // tag as the gzip representation (caches tell them apart by `Vary`).
    let again = common::fetch(&w.app, &uri, &[]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(!again.headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(again.body, plain.body);
    assert_eq!(again.headers[header::ETAG], gz.headers[header::ETAG]);
    let gz_again = common::fetch(&w.app, &uri, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(gz_again.body, gz.body);
    let tile = plain.body;

    // fast-mvt: the features and their figures are the snapshot's.
    let layers = decode(&tile);
    let desa = &layers["desa"];
    assert!(desa.len() > 20, "{} desa in the Samarinda tile", desa.len());
    // An anonymous reader: desa with 1–4 households carry no figures, only `suppressed`.
    let period = snap
        .period(None)
        .unwrap()
        .disclosed(lentera::aggregate::Disclosure::PUBLIC);
    let mut with_households = 0;
    let mut hidden = 0;
    for (id, props) in desa {
        let kode = Kode::parse(&props["kode"]).unwrap();
        assert_eq!(*id, Some(kode.digits().parse().unwrap()));
        let u = snap.unit_index(kode).unwrap();
        assert_eq!(props["nama"], snap.unit(u).info.nama);
        let want =
            Indicator::Count(Count::Households).value(period.counts(u), snap.denominators(u));
        assert_eq!(
            props.get("households").map(|v| v.parse::<f64>().unwrap()),
            want
        );
        with_households += usize::from(want.is_some_and(|v| v > 0.0));
        if period.suppressed(u) {
            hidden += 1;
            assert_eq!(props["suppressed"], "true");
        }
        assert!(!props.contains_key("nik") && !props.contains_key("head_name"));
    }
    assert!(with_households > 10);
    assert!(hidden > 0, "the tile has desa with 1–4 households");

    // Winding and validity from the raw commands: every polygon starts with an exterior ring
    // of positive area in tile coordinates (clockwise on screen).
    let reader = MvtReaderRef::new(&tile).unwrap();
    // Place names: one point per desa whose label point is in the tile, inside that desa
    // (its pole of inaccessibility), with the name a map shows.
    let labels = reader.layers().find(|l| l.name() == "desa_label").unwrap();
    let mut named = 0;
    for f in labels.features() {
        let c = f.geometry_commands();
        assert_eq!(c[0], 9, "one MoveTo: a point");
        let unzig = |v: u32| f64::from((v >> 1) as i32 ^ -((v & 1) as i32));
        let (tx, ty) = (unzig(c[1]), unzig(c[2]));
        assert!((0.0..4096.0).contains(&tx) && (0.0..4096.0).contains(&ty));
        let n = f64::from(1u32 << 10);
        let lon = (f64::from(x) + tx / 4096.0) / n * 360.0 - 180.0;
        let wy = (f64::from(y) + ty / 4096.0) / n;
        let lat = (std::f64::consts::PI * (1.0 - 2.0 * wy))
            .sinh()
            .atan()
            .to_degrees();
        let digits = f.id().unwrap().to_string();
        let kode = Kode::parse(&digits).unwrap();
        let unit = snap.unit(snap.unit_index(kode).unwrap());
        use geo::Contains;
        assert!(
            unit.geometry.contains(&geo::Point::new(lon, lat)),
            "the label of {kode} lies inside it"
        );
        named += 1;
    }
    assert!(named > 10, "{named} desa named in the Samarinda tile");
    assert_eq!(decode(&tile)["desa_label"].len(), named);
    for layer in reader.layers() {
        if layer.name() != "desa" {
            continue;
        }
        for f in layer.features() {
            let rings = raw_rings(f.geometry_commands());
            assert!(!rings.is_empty());
            assert!(area2(&rings[0]) > 0, "first ring must be an exterior ring");
            assert!(rings.iter().all(|r| area2(r) != 0));
        }
    }

    // geozero, a second decoder.
    use geozero::mvt::Message;
    let other = geozero::mvt::Tile::decode(tile.as_slice()).unwrap();
    let names: Vec<&str> = other.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["desa", "desa_label", "desa_batas"]);
    parent_borders_run_between_the_desa(&other);
    let l = &other.layers[0];
    let kode_key = l.keys.iter().position(|k| k == "kode").unwrap() as u32;
    let mut kodes_geozero = BTreeSet::new();
    for f in &l.features {
        let mut writer = geozero::geo_types::GeoWriter::new();
        geozero::mvt::process_geom(f, &mut writer).unwrap();
        assert!(matches!(
            writer.take_geometry(),
            Some(geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_))
        ));
        let pair = f.tags.chunks(2).find(|t| t[0] == kode_key).unwrap();
        kodes_geozero.insert(l.values[pair[1] as usize].string_value.clone().unwrap());
    }
    let kodes_fast: BTreeSet<String> = desa.iter().map(|(_, p)| p["kode"].clone()).collect();
    assert_eq!(kodes_geozero, kodes_fast);

    // GDAL's MVT driver.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("10/{x}"));
    std::fs::create_dir_all(&path).unwrap();
    let file = path.join(format!("{y}.pbf"));
    std::fs::write(&file, &tile).unwrap();
    let info = ogrinfo(&file);
    let gdal_kodes: BTreeSet<String> = info
        .lines()
        .filter_map(|l| l.trim().strip_prefix("kode (String) = "))
        .map(str::to_string)
        .collect();
    assert_eq!(gdal_kodes, kodes_fast);
    let geometries = info
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("POLYGON ") || l.starts_with("MULTIPOLYGON "))
        .count();
    assert_eq!(geometries, desa.len());
}

/// Checks a desa tile's parent borders (`desa_batas`) against its desa: every vertex of a
/// border lies on a desa's outline (a border never crosses a desa), and on either side of a
/// `kecamatan` border are desa of two kecamatan, of a `kabupaten` border desa of two
/// kabupaten/kota or of one only.
fn parent_borders_run_between_the_desa(tile: &geozero::mvt::Tile) {
    use geo::{Distance, Euclidean};
    let geometry = |f: &geozero::mvt::tile::Feature| {
        let mut writer = geozero::geo_types::GeoWriter::new();
        geozero::mvt::process_geom(f, &mut writer).unwrap();
        writer.take_geometry().unwrap()
    };
    let tag = |l: &geozero::mvt::tile::Layer, f: &geozero::mvt::tile::Feature, key: &str| {
        let k = l.keys.iter().position(|k| k == key)? as u32;
        let pair = f.tags.chunks(2).find(|t| t[0] == k)?;
        l.values[pair[1] as usize].string_value.clone()
    };
    let desa_layer = tile.layers.iter().find(|l| l.name == "desa").unwrap();
    let desa: Vec<(String, geo::MultiPolygon<f64>)> = desa_layer
        .features
        .iter()
        .map(|f| {
            let g = match geometry(f) {
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                other => panic!("a desa is a polygon, not {other:?}"),
            };
            (tag(desa_layer, f, "kode").unwrap(), g)
        })
        .collect();
    let borders = tile.layers.iter().find(|l| l.name == "desa_batas").unwrap();
    let (mut vertices, mut sides, mut thin) = (0, 0, 0);
    let mut kinds = BTreeSet::new();
    for f in &borders.features {
        let kind = tag(borders, f, "tingkat").unwrap();
        kinds.insert(kind.clone());
        let geo::Geometry::MultiLineString(lines) = (match geometry(f) {
            geo::Geometry::LineString(l) => {
                geo::Geometry::MultiLineString(geo::MultiLineString(vec![l]))
            }
            g => g,
        }) else {
            panic!("a border is a line");
        };
        for line in &lines.0 {
            for p in line.points() {
                if !(0.0..=4096.0).contains(&p.x()) || !(0.0..=4096.0).contains(&p.y()) {
                    continue;
                }
                let nearest = desa
                    .iter()
                    .flat_map(|(_, g)| g.0.iter())
                    .map(|poly| Euclidean.distance(&p, poly.exterior()))
                    .fold(f64::MAX, f64::min);
                assert!(
                    nearest <= 1.0,
                    "a {kind} border point {p:?} lies {nearest} units off every desa outline"
                );
                vertices += 1;
            }
            for seg in line.lines() {
                let mid = geo::Point::from(seg.start + seg.delta() / 2.0);
                if !(0.0..=4096.0).contains(&mid.x()) || !(0.0..=4096.0).contains(&mid.y()) {
                    continue;
                }
                // The desa whose outline runs along the segment.
                let along: Vec<&str> = desa
                    .iter()
                    .filter(|(_, g)| {
                        g.0.iter()
                            .any(|poly| Euclidean.distance(&mid, poly.exterior()) <= 1.5)
                    })
                    .map(|(k, _)| k.as_str())
                    .collect();
                let prefix =
                    |k: &str, parts: usize| k.split('.').take(parts).collect::<Vec<_>>().join(".");
                // Two desa that share the segment are of different kecamatan (a kecamatan
                // border) or kabupaten/kota (a kabupaten border); one desa alone is the data's
                // edge or a neighbour whose file leaves a gap.
                let parts = if kind == "kecamatan" { 3 } else { 2 };
                let apart = along.len() < 2
                    || along
                        .iter()
                        .any(|x| along.iter().any(|y| prefix(x, parts) != prefix(y, parts)));
                assert!(
                    apart,
                    "a {kind} border along {along:?} at {:?}–{:?}",
                    seg.start, seg.end
                );
                if along.len() < 2 {
                    thin += 1;
                }
                sides += 1;
            }
        }
    }
    assert!(kinds.contains("kecamatan"), "{kinds:?}");
    assert!(
        vertices > 50 && sides > 20,
        "{vertices} border points and {sides} sides checked"
    );
    assert!(
        thin < sides,
        "{thin} of {sides} segments along one desa only"
    );
}

#[tokio::test]
async fn no_kaltim_tile_is_over_500_kb_and_no_desa_is_lost() {
    let w = world().await;
    let tiles = TileSet::new(w.live.snapshot());
    let snap = w.live.snapshot();
    let period = snap.period(None);
    let bbox = [113.8, -2.5, 119.1, 2.6];
    let mut largest = 0usize;
    for layer in [
        Layer::Kabupaten,
        Layer::Kecamatan,
        Layer::Desa,
        Layer::Households,
    ] {
        let (min_z, _) = layer.zooms();
        for z in min_z..=14u8 {
            let (x0, y0, x1, y1) = tiles_covering(bbox, z);
            // Every tile up to zoom 10; beyond, the 3 × 3 tiles around the two big cities.
            let cells: Vec<(u32, u32)> = if z <= 10 {
                (x0..=x1)
                    .flat_map(|x| (y0..=y1).map(move |y| (x, y)))
                    .collect()
            } else {
                [SAMARINDA, (116.85, -1.25)]
                    .iter()
                    .flat_map(|c| {
                        let (cx, cy, _, _) = tiles_covering([c.0, c.1, c.0, c.1], z);
                        (cx - 1..=cx + 1).flat_map(move |x| (cy - 1..=cy + 1).map(move |y| (x, y)))
                    })
                    .collect()
            };
            let mut zoom_max = 0;
            let mut seen: BTreeSet<String> = BTreeSet::new();
            for (x, y) in cells {
                if let Some(t) = tiles
                    .render(
                        layer,
                        TileCoord::new(u32::from(z), x, y).unwrap(),
                        period,
                        &Scope::All,
                    )
                    .unwrap()
                {
                    zoom_max = zoom_max.max(t.len());
                    if layer == Layer::Desa && z <= 10 {
                        for (_, p) in &decode(&t)["desa"] {
                            seen.insert(p["kode"].clone());
                        }
                    }
                }
            }
            if layer == Layer::Desa && z <= 10 {
                assert_eq!(seen.len(), 1038, "every desa is drawn at zoom {z}");
            }
            println!(
                "{} z{z}: largest tile {:.1} KB",
                layer.as_str(),
                zoom_max as f64 / 1024.0
            );
            largest = largest.max(zoom_max);
        }
    }
    assert!(largest < 500 * 1024, "largest tile {largest} bytes");
}

#[tokio::test]
async fn households_are_served_to_tokens_only_within_their_units() {
    let w = world().await;
    let (x, y, _, _) = tiles_covering([SAMARINDA.0, SAMARINDA.1, SAMARINDA.0, SAMARINDA.1], 9);
    let uri = format!("/tiles/households/9/{x}/{y}.mvt");
    let none = common::fetch(&w.app, &uri, &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers[header::WWW_AUTHENTICATE], "Bearer");
    let wrong = common::fetch(
        &w.app,
        &uri,
        &[(
            header::AUTHORIZATION,
            "Bearer not-a-token-at-all-0123456789",
        )],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let all = common::fetch(&w.app, &uri, &[(header::AUTHORIZATION, &bearer(TOKEN_ALL))]).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.headers[header::CACHE_CONTROL], "private, no-store");
    let count = |body: &[u8]| -> u64 {
        decode(body)["households"]
            .iter()
            .map(|(_, p)| p["point_count"].parse::<u64>().unwrap())
            .sum()
    };
    let scoped = common::fetch(
        &w.app,
        &uri,
        &[(header::AUTHORIZATION, &bearer(TOKEN_SAMARINDA))],
    )
    .await;
    assert_eq!(scoped.status, StatusCode::OK);
    let (n_all, n_smd) = (count(&all.body), count(&scoped.body));
    assert!(
        n_smd > 0 && n_smd < n_all,
        "all {n_all}, Samarinda only {n_smd}"
    );

    // The scoped count is exactly the Samarinda households inside the tile.
    let snap = w.live.snapshot();
    let smd = Kode::parse("64.72").unwrap();
    let b = lentera::tiles::mercator::tile_bounds(9, x, y, 0.0);
    let expected = snap
        .households()
        .iter()
        .filter(|h| {
            h.unit()
                .is_some_and(|u| snap.unit(u).info.kode.is_within(&smd))
        })
        .filter(|h| {
            let (lon, lat) = (f64::from(h.lon), f64::from(h.lat));
            lon >= b[0] && lon < b[2] && lat > b[1] && lat <= b[3]
        })
        .count() as u64;
    assert!(
        n_smd.abs_diff(expected) <= expected / 100 + 2,
        "{n_smd} vs {expected}"
    );

    // Single points at high zoom carry no names or numbers, only desil, quality and PKH.
    let (x, y, _, _) = tiles_covering([SAMARINDA.0, SAMARINDA.1, SAMARINDA.0, SAMARINDA.1], 12);
    let mut found = false;
    for dx in 0..3 {
        for dy in 0..3 {
            let t = common::fetch(
                &w.app,
                &format!("/tiles/households/12/{}/{}.mvt", x + dx - 1, y + dy - 1),
                &[(header::AUTHORIZATION, &bearer(TOKEN_ALL))],
            )
            .await;
            if t.status != StatusCode::OK {
                continue;
            }
            for (_, p) in &decode(&t.body)["households"] {
                found = true;
                for key in p.keys() {
                    assert!(
                        ["cluster", "desil", "quality", "pkh"].contains(&key.as_str()),
                        "{key}"
                    );
                }
            }
        }
    }
    assert!(found, "no single households around Samarinda at zoom 12");

    // Public layers never need a token.
    let (x, y, _, _) = tiles_covering([SAMARINDA.0, SAMARINDA.1, SAMARINDA.0, SAMARINDA.1], 5);
    let public = common::fetch(&w.app, &format!("/tiles/kabupaten/5/{x}/{y}.mvt"), &[]).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .starts_with("public"));
}

#[tokio::test]
async fn tiles_follow_a_new_snapshot_and_bad_requests_get_clear_errors() {
    let w = world().await;
    let (x, y, _, _) = tiles_covering([SAMARINDA.0, SAMARINDA.1, SAMARINDA.0, SAMARINDA.1], 8);
    let uri = format!("/tiles/kecamatan/8/{x}/{y}.mvt");
    let first = common::fetch(&w.app, &uri, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.headers[header::ETAG].to_str().unwrap().to_string();
    let again = common::fetch(&w.app, &uri, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let had = |body: &[u8]| {
        decode(body)["kecamatan"]
            .iter()
            .any(|(_, p)| p.contains_key("households"))
    };
    assert!(had(&first.body));

    // Remove the batch: the next snapshot has no households, and the same tile URL says so.
    let batch = w.store.batches().await.unwrap()[0].id;
    w.store.remove_batch(batch).await.unwrap();
    assert!(w.live.refresh().await.unwrap());
    let after = common::fetch(&w.app, &uri, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "a stale tile must not be revalidated"
    );
    assert_ne!(after.headers[header::ETAG].to_str().unwrap(), etag);
    assert!(!had(&after.body));
    assert!(decode(&after.body)["kecamatan"]
        .iter()
        .all(|(_, p)| p["has_data"] == "false"));

    for (uri, want) in [
        ("/tiles/desa/17/0/0.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/desa/3/8/0.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/desa/3/0/0.png", StatusCode::BAD_REQUEST),
        ("/tiles/planet/3/0/0.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/desa/10/0/0.mvt", StatusCode::NO_CONTENT),
        (
            "/tiles/desa/10/0/0.mvt?period=1990-01",
            StatusCode::NOT_FOUND,
        ),
        ("/tiles/planet.json", StatusCode::NOT_FOUND),
    ] {
        let got = common::fetch(&w.app, uri, &[]).await;
        assert_eq!(got.status, want, "{uri}");
        if want.is_client_error() {
            let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{uri}"
            );
        }
    }

    // TileJSON and the style point at the tiles.
    for layer in ["kabupaten", "kecamatan", "desa", "households"] {
        let got = common::fetch(
            &w.app,
            &format!("/tiles/{layer}.json"),
            &[(header::HOST, "peta.example:8080")],
        )
        .await;
        let tj: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(tj["tilejson"], "3.0.0");
        assert_eq!(
            tj["tiles"][0],
            format!("http://peta.example:8080/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")
        );
        assert_eq!(tj["vector_layers"][0]["id"], layer);
        assert!(tj["vector_layers"][0]["fields"].as_object().unwrap().len() >= 5);
    }
    let style: serde_json::Value =
        serde_json::from_slice(&common::fetch(&w.app, "/style.json", &[]).await.body).unwrap();
    assert_eq!(style["version"], 8);
    for l in style["layers"].as_array().unwrap().iter().skip(1) {
        let source = l["source"].as_str().unwrap();
        assert!(style["sources"][source]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/tiles/{source}.json")));
    }
}

/// The tile pyramid drawn when a snapshot arrives serves the very tiles (bytes, ETag,
/// encoding, status) that are drawn on demand without it, and only to the readers it was
/// drawn for: a reader who sees exact small counts, or asks for another period, is drawn
/// for as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prerendered_tiles_are_the_tiles_drawn_on_demand() {
    let w = world().await;
    // A second server over the same store that pre-renders its tiles, as `lentera serve` does.
    let options = ServerOptions::default();
    let live = Live::load(w.store.clone()).await.unwrap();
    live.prerender(options.prerender());
    live.prepare_tiles().await.unwrap();
    let pyramid = live.pyramid().expect("a pyramid for the Kaltim snapshot");
    assert_eq!(pyramid.generation(), live.snapshot().generation);
    assert!(live.tiles_prepared());
    // Kabupaten and kecamatan to their deepest zoom, desa to zoom 14 at least (deeper desa
    // zooms pass the default budget and are drawn on demand).
    let deepest = pyramid.deepest();
    assert_eq!(deepest[..2], [Some(9), Some(12)]);
    assert!(deepest[2] >= Some(14), "{deepest:?}");
    let app = router_with(live.clone(), options);
    let health = common::get_json(&app, "/healthz").await.1;
    assert_eq!(health["tiles"]["prepared"], true);
    assert_eq!(health["tiles"]["prerendered"], pyramid.len());
    assert!(health["tiles"]["prerendered_mib"].as_f64().unwrap() > 0.0);

    let snap = live.snapshot();
    let latest = snap.period(None).unwrap().period.to_string();
    let mut uris = Vec::new();
    let mut held = 0;
    for (layer, deepest) in [Layer::Kabupaten, Layer::Kecamatan, Layer::Desa]
        .into_iter()
        .zip(deepest)
    {
        let (min, max) = layer.zooms();
        for z in min..=max {
            let touched = lentera::tiles::touched_tiles(&snap, &[layer.level().unwrap()], z);
            // Every tile of the coarse zooms, a spread of the deep ones.
            let step = (touched.len() / 40).max(1);
            for t in touched.iter().step_by(step) {
                uris.push(format!(
                    "/tiles/{}/{z}/{}/{}.mvt",
                    layer.as_str(),
                    t.x(),
                    t.y()
                ));
                held += usize::from(Some(z) <= deepest);
            }
        }
        // A tile with no unit in it (drawn on demand: the pyramid holds the tiles units touch).
        uris.push(format!("/tiles/{}/{max}/0/0.mvt", layer.as_str()));
    }
    for uri in &uris {
        for (query, auth) in [
            ("", None),
            (format!("?period={latest}").as_str(), None),
            ("", Some(bearer(TOKEN_ALL))),
        ] {
            for gzip in [true, false] {
                let uri = format!("{uri}{query}");
                let mut headers = Vec::new();
                if gzip {
                    headers.push((header::ACCEPT_ENCODING, "gzip, deflate"));
                }
                if let Some(a) = &auth {
                    headers.push((header::AUTHORIZATION, a.as_str()));
                }
                let drawn = common::fetch(&w.app, &uri, &headers).await;
                let held = common::fetch(&app, &uri, &headers).await;
                assert_eq!(held.status, drawn.status, "{uri}");
                assert_eq!(held.body, drawn.body, "{uri} (gzip: {gzip})");
                for h in [
                    header::ETAG,
                    header::CONTENT_ENCODING,
                    header::CACHE_CONTROL,
                ] {
                    assert_eq!(held.headers.get(&h), drawn.headers.get(&h), "{h} of {uri}");
                }
            }
        }
    }
    assert!(
        uris.len() > 500 && held > 400,
        "{} tiles compared",
        uris.len()
    );
    // The pyramid answered the anonymous requests, the cache nothing of them: only the
    // admin's tiles (exact counts) were drawn and cached by the pre-rendering server.
    let admin = bearer(TOKEN_ALL);
    let metrics = common::fetch(&app, "/metrics", &[(header::AUTHORIZATION, admin.as_str())]).await;
    let metrics = String::from_utf8(metrics.body.to_vec()).unwrap();
    let count = |result: &str| -> f64 {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("lentera_tile_cache_requests_total")
                    && l.contains(&format!("result=\"{result}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse().unwrap())
    };
    assert!(
        count("pyramid") >= (held * 4) as f64,
        "{held} held of {}: {metrics}",
        uris.len()
    );
}
