//! Benchmark: uploading a 1,000,000-row DTSEN CSV over HTTP (`POST /api/batches`) to a
//! server on the embedded store with the real Kaltim boundaries, against importing the same
//! file directly (`lentera households import`'s path) as the peer in the same run.
//!
//! Prints the size of the file, the time of each, their ratio, and the growth of the
//! process's peak resident memory during the upload (the server streams the body to disk and
//! imports it chunk by chunk: it must stay well under the file's size). Then an operator's
//! upload of the same file, limited to Kota Samarinda, where most rows are refused as outside
//! the area. Run with `cargo bench --bench upload` (optionally `-- ROWS`).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{peak_rss_mib, reset_peak_rss, rss_mib, Discard};
use lentera::app::{import_households, store_geocoder, HouseholdImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::model::{Role, SourceFormat};
use lentera::server::batches::UploadOptions;
use lentera::server::{router_over, AppState, Live, ServerOptions};
use lentera::store::{SqliteStore, Store};

const SECRET: &str = "upload-benchmark-secret-0123456789";

/// Sends `file` as the body of `POST path` over a plain TCP connection, 256 KiB at a time;
/// returns the status line and the body of the answer.
async fn post_file(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    file: &std::path::Path,
) -> (String, String) {
    let size = std::fs::metadata(file).unwrap().len();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut f = tokio::fs::File::open(file).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        conn.write_all(&buf[..n]).await.unwrap();
    }
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

/// The JSON of a (possibly chunked) HTTP body.
fn json_of(body: &str) -> serde_json::Value {
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |e| e + 1);
    serde_json::from_str(&body[start..end]).unwrap_or(serde_json::Value::Null)
}

#[tokio::main]
async fn main() {
    let rows = common::rows_arg(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let regions = lentera::ingest::boundaries::regions_from_files(&[common::kaltim()]).unwrap();
    let file = dir.path().join("dtsen.csv");
    let t = Instant::now();
    common::write_generated(&regions, SourceFormat::Dtsen, rows, 7, &file);
    let size_mib = std::fs::metadata(&file).unwrap().len() as f64 / f64::from(1 << 20);
    println!(
        "generated {rows} DTSEN rows over Kaltim ({size_mib:.0} MiB) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let secret = Secret::new(SECRET).unwrap();

    // Peer: the same file imported directly into a store of its own.
    let peer: Arc<dyn Store> = Arc::new(
        SqliteStore::open_dir(&dir.path().join("peer"))
            .await
            .unwrap(),
    );
    peer.replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let geocoder = store_geocoder(peer.as_ref()).await.unwrap();
    let opts = HouseholdImportOptions {
        file: Default::default(),
        period: "2026-03".parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    // The stages without the store: reading, checking, geocoding, repeats within the file.
    let stage_before = rss_mib();
    reset_peak_rss();
    let opened =
        lentera::ingest::households::HouseholdFile::open(&file, &Default::default()).unwrap();
    let (g, sec) = (geocoder.clone(), secret.clone());
    tokio::task::spawn_blocking(move || {
        let mut sink = Discard;
        opened.feed(sec, g.as_deref(), &mut sink).unwrap();
    })
    .await
    .unwrap();
    let stage_growth = peak_rss_mib() - stage_before;
    let peer_before = rss_mib();
    reset_peak_rss();
    let t = Instant::now();
    import_households(peer.as_ref(), &file, &opts, &secret, geocoder)
        .await
        .unwrap();
    let direct = t.elapsed().as_secs_f64();
    let peer_growth = peak_rss_mib() - peer_before;
    drop(peer);

    // The server, on a store of its own.
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_dir(&dir.path().join("server"))
            .await
            .unwrap(),
    );
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    common::user_with_token(
        store.as_ref(),
        "admin",
        Role::Admin,
        &[],
        "lt_bench_admin_0123456789abcdef",
    )
    .await;
    common::user_with_token(
        store.as_ref(),
        "op.samarinda",
        Role::Operator,
        &["64.72"],
        "lt_bench_operator_0123456789abcd",
    )
    .await;
    let live = Live::load(store.clone()).await.unwrap();
    let state = AppState::new(
        live,
        ServerOptions {
            uploads: UploadOptions {
                dir: dir.path().join("uploads"),
                max_bytes: 1 << 30,
                secret: Some(Secret::new(SECRET).unwrap()),
                ..UploadOptions::default()
            },
            ..Default::default()
        },
    );
    let app = router_over(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let before = rss_mib();
    reset_peak_rss();
    let t = Instant::now();
    let (status, body) = post_file(
        addr,
        "/api/batches?period=2026-03&name=dtsen.csv",
        "lt_bench_admin_0123456789abcdef",
        &file,
    )
    .await;
    let upload = t.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    let summary = json_of(&body);
    assert!(status.contains("200"), "{status}: {body}");
    assert_eq!(
        summary["rows_read"].as_u64(),
        Some(rows as u64),
        "{summary}"
    );
    println!("upload of {rows} rows ({size_mib:.0} MiB) as an admin, HTTP → disk → import:");
    println!(
        "  upload + import    {upload:>8.2} s   {:>10.0} rows/s",
        rows as f64 / upload
    );
    println!(
        "  peer: direct import{direct:>8.2} s   {:>10.0} rows/s",
        rows as f64 / direct
    );
    println!("  upload / direct time ratio {:.3}", upload / direct);
    println!("  peer: direct import peak RSS growth {peer_growth:.0} MiB (of which reading, checking and geocoding without a store: {stage_growth:.0} MiB)");
    println!(
        "  peak RSS growth    {:>8.0} MiB (before {before:.0} MiB, peak {peak:.0} MiB; file {size_mib:.0} MiB; target < 300 MiB)",
        peak - before
    );

    // An operator's upload of the same rows into a period of its own (a copy with one more
    // blank line, so that its SHA-256 differs): households of earlier batches of the same
    // period are linked as repeats, which holds their keys in memory, so the period is kept
    // apart to measure the upload alone.
    let copy = dir.path().join("dtsen-samarinda.csv");
    std::fs::copy(&file, &copy).unwrap();
    let mut appended = std::fs::OpenOptions::new()
        .append(true)
        .open(&copy)
        .unwrap();
    std::io::Write::write_all(&mut appended, b"\n").unwrap();
    let before = rss_mib();
    reset_peak_rss();
    let t = Instant::now();
    let (status, body) = post_file(
        addr,
        "/api/batches?period=2026-06&name=dtsen-samarinda.csv",
        "lt_bench_operator_0123456789abcd",
        &copy,
    )
    .await;
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    let summary = json_of(&body);
    assert!(status.contains("200"), "{status}: {body}");
    println!("upload of the same rows by the operator of Kota Samarinda (64.72), another period:");
    println!(
        "  upload + import    {secs:>8.2} s   kept {} households, {} rows outside the area",
        summary["households"], summary["outside_area"]
    );
    println!("  peak RSS growth    {:>8.0} MiB", peak - before);
}
