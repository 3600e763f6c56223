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
    let mut first: Option<(f64, f64, (u8, u8, u8))> = None;
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
        first.get_or_insert((px, py, rgb(want)));
        checked += 1;
    }
    println!("{checked} kelurahan checked by pixel, {near_edge} too narrow at this size");
    assert!(checked >= 45, "{checked} of 59 kelurahan checked");

    // For print: twice the pixels, the same picture.
    let print = common::fetch(&app, &format!("{uri}&scale=2"), &[]).await;
    assert_eq!(print.status, StatusCode::OK);
    let print = Pixmap::decode_png(&print.body).unwrap();
    assert_eq!((print.width(), print.height()), (2400, 1800));
    let (px, py, want) = first.unwrap();
    let c = print.pixel((px * 2.0) as u32, (py * 2.0) as u32).unwrap();
    assert_eq!(
        (c.red(), c.green(), c.blue()),
        want,
        "scale=2 draws the same map"
    );

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
    let out = common::lentera(
        &data,
        &[
            "render",
            "map",
            "--level",
            "desa",
            "--parent",
            "64.72",
            "--labels",
            "false",
            "--width",
            "1200",
            "--height",
            "900",
            "-o",
            file.to_str().unwrap(),
        ],
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_pdf_holds_the_figures_of_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::kaltim_sqlite(
        dir.path(),
        &[
            (SourceFormat::P3ke, 12_000, 61, "2025-03"),
            (SourceFormat::Dtsen, 12_000, 62, "2025-09"),
        ],
    )
    .await;
    let goal = lentera::aggregate::goals::Goal::new(
        lentera::aggregate::Indicator::Count(lentera::aggregate::Count::Desil1),
        0.0,
        2026,
        Some(Kode::parse("64").unwrap()),
    )
    .unwrap();
    lentera::app::goals::set_goal(store.as_ref(), goal)
        .await
        .unwrap();
    let app = router_with(Live::load(store).await.unwrap(), ServerOptions::default());
    let started = std::time::Instant::now();
    let pdf = common::fetch(&app, "/api/profile/64.08.pdf", &[]).await;
    let took = started.elapsed();
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.text());
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    println!(
        "profile of 64.08: {} KB in {} ms",
        pdf.body.len() / 1024,
        took.as_millis()
    );
    let file = dir.path().join("profil.pdf");
    std::fs::write(&file, &pdf.body).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs (scripts/test.sh installs poppler-utils)");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Profil Kemiskinan Kabupaten Kutai Timur"),
        "{text}"
    );

    // The headline figures are those of /api/regions/64.08.
    let (_, region) = common::get_json(&app, "/api/regions/64.08").await;
    let id = |v: u64| {
        let s = v.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push('.');
            }
            out.push(c);
        }
        out
    };
    let lines: Vec<&str> = text.lines().collect();
    for (label, field) in [
        ("Rumah tangga BNBA", "households"),
        ("Desil 1 (sangat miskin)", "desil_1"),
        ("Desil 1–4", "desil_1_4"),
    ] {
        let want = id(region[field].as_u64().unwrap());
        // The value is on the line under its label, in the label's column.
        let (i, line) = lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.contains(label))
            .unwrap_or_else(|| panic!("{label} in the profile"));
        let column = line.find(label).unwrap();
        let below = lines[i + 1];
        let value: String = below
            .get(column..)
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        assert_eq!(
            value, want,
            "{label}: the profile shows {value}, the API {want}"
        );
    }

    // The table is /api/targets of the kecamatan of 64.08.
    let (_, targets) = common::get_json(&app, "/api/targets?level=kecamatan&parent=64.08").await;
    let rows: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 4 && w[0].parse::<usize>().is_ok() && w[1].starts_with("64.08."))
                .then(|| (w[0].to_string(), w[1].to_string()))
        })
        .collect();
    let want: Vec<(String, String)> = targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["rank"].to_string(),
                t["kode"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(rows, want, "the profile's table is /api/targets");
    for t in targets["targets"].as_array().unwrap() {
        assert!(text.contains(t["nama"].as_str().unwrap()));
    }
    assert!(text.contains("Target 2026"), "the trend shows the goal");
    assert!(text.contains("Sumber data") && text.contains("DTSEN periode 2025-09"));

    // poppler draws every page.
    let prefix = dir.path().join("halaman");
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(&file)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("halaman")
        })
        .count();
    assert!(pages >= 1, "pdftoppm drew {pages} pages");

    // The command line writes the same document.
    let cli = dir.path().join("profil-cli.pdf");
    let out = common::lentera(
        dir.path(),
        &["render", "profile", "64.08", "-o", cli.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&cli).unwrap() == pdf.body,
        "the CLI's PDF is the API's"
    );

    // An unknown unit or a file that is no PDF is refused in words.
    for bad in [
        "/api/profile/99.99.pdf",
        "/api/profile/64.08.docx",
        "/api/profile/x.pdf",
    ] {
        let got = common::fetch(&app, bad, &[]).await;
        assert!(
            got.status == StatusCode::NOT_FOUND || got.status == StatusCode::BAD_REQUEST,
            "{bad}: {}",
            got.status
        );
    }
}
