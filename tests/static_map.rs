//! `/api/map.png` and `lentera render map`: the static map draws every desa in the colour
//! `/api/choropleth` gives its class, names and a legend when asked, and the command line
//! writes the API's very bytes.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use axum::http::StatusCode;
use geo::{Distance, Euclidean};
use lentera::model::SourceFormat;
use lentera::region::Kode;
use lentera::server::{router_with, Live, ServerOptions};
use lentera::tiles::mercator::to_world;
use resvg::tiny_skia::Pixmap;

fn rgb(hex: &str) -> (u8, u8, u8) {
    let v = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    (v(1), v(3), v(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_static_map_draws_each_desa_in_its_class_colour() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (store, _) =
        common::kaltim_sqlite(&data, &[(SourceFormat::P3ke, 15_000, 31, "2025-03")]).await;
    let live = Live::load(store).await.unwrap();
    let snap = live.snapshot();
    let app = router_with(live, ServerOptions::default());

    let uri = "/api/map.png?level=desa&parent=64.72&labels=false&width=1200&height=900";
    let plain = common::fetch(&app, uri, &[]).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    assert_eq!(plain.headers["content-type"], "image/png");
    let frame: Vec<f64> = plain.headers["x-map-frame"]
        .to_str()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let pixmap = Pixmap::decode_png(&plain.body).unwrap();
    assert_eq!((pixmap.width(), pixmap.height()), (1200, 900));
    let (_, choropleth) = common::get_json(&app, "/api/choropleth?level=desa&parent=64.72").await;
    let colors: Vec<&str> = choropleth["colors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let (mut checked, mut near_edge) = (0, 0);
    for u in choropleth["units"].as_array().unwrap() {
        let kode = Kode::parse(u["kode"].as_str().unwrap()).unwrap();
        let unit = snap.unit(snap.unit_index(kode).unwrap());
        let [lon, lat] = lentera::geometry::label_point(&unit.geometry).unwrap();
        // Only points at least 2.5 px inside the outline: a pixel nearer the edge mixes with
        // the border line.
        let point = geo::Point::new(lon, lat);
        let edge_deg = unit
            .geometry
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|ring| Euclidean.distance(&point, ring))
            .fold(f64::MAX, f64::min);
        if edge_deg / 360.0 * frame[2] < 2.5 {
            near_edge += 1;
            continue;
        }
        let (wx, wy) = to_world(lon, lat);
        let (px, py) = (
            frame[0] + (wx - frame[3]) * frame[2],
            frame[1] + (wy - frame[4]) * frame[2],
        );
        let c = pixmap.pixel(px as u32, py as u32).unwrap();
        let want = match u["class"].as_u64() {
            Some(class) => colors[class as usize],
            None if u["few"] == true => choropleth["few_color"].as_str().unwrap(),
            None => choropleth["no_data_color"].as_str().unwrap(),
        };
        assert_eq!(
            (c.red(), c.green(), c.blue()),
            rgb(want),
            "{kode} at pixel {px:.0},{py:.0}: class {} is {want}",
            u["class"]
        );
        checked += 1;
    }
    println!("{checked} kelurahan checked by pixel, {near_edge} too narrow at this size");
    assert!(checked >= 45, "{checked} of 59 kelurahan checked");

    // With names: text is drawn around the largest units' label points, and the legend holds
    // every class colour.
    let named = common::fetch(
        &app,
        "/api/map.png?level=desa&parent=64.72&width=1200&height=900",
        &[],
    )
    .await;
    assert_eq!(named.status, StatusCode::OK);
    assert_ne!(named.body, plain.body);
    let named = Pixmap::decode_png(&named.body).unwrap();
    let dark = |p: &Pixmap, x0: u32, x1: u32, y0: u32, y1: u32| {
        let mut n = 0;
        for x in x0..x1 {
            for y in y0..y1 {
                let c = p.pixel(x, y).unwrap();
                n += usize::from(c.red() < 60 && c.green() < 60 && c.blue() < 60);
            }
        }
        n
    };
    assert!(dark(&named, 0, 900, 58, 860) > dark(&pixmap, 0, 900, 58, 860) + 500);
    for c in &colors {
        let want = rgb(c);
        let found = (950..1200)
            .flat_map(|x| (58..860).map(move |y| (x, y)))
            .any(|(x, y)| {
                let p = named.pixel(x, y).unwrap();
                (p.red(), p.green(), p.blue()) == want
            });
        assert!(found, "the legend shows the class colour {c}");
    }

    // Bad sizes and parameters are refused in words.
    for bad in [
        "/api/map.png?width=50",
        "/api/map.png?width=100000",
        "/api/map.png?scale=3",
        "/api/map.png?labels=maybe",
        "/api/map.png?level=desa&parent=99.99",
    ] {
        let got = common::fetch(&app, bad, &[]).await;
        assert!(
            got.status == StatusCode::BAD_REQUEST || got.status == StatusCode::NOT_FOUND,
            "{bad}: {}",
            got.status
        );
        assert!(got.text().contains("error"), "{bad}: {}", got.text());
    }

    // The command line writes the API's bytes.
    let file = dir.path().join("peta.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lentera"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "render", "map", "--level", "desa", "--parent", "64.72", "--labels", "false",
            "--width", "1200", "--height", "900", "-o",
        ])
        .arg(&file)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&file).unwrap() == plain.body,
        "the CLI's PNG is the API's"
    );
}
