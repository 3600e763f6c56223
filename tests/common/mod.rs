//! Helpers shared by the integration tests: the reference data path, a throwaway PostGIS
//! cluster, GeoJSON fixtures and running the `lentera` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use lentera::app::{import_households, store_geocoder, HouseholdImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::households::FileOptions;
use lentera::model::SourceFormat;
use lentera::region::Region;
use lentera::store::{SqliteStore, Store};
use std::sync::Arc;

/// The shared reference data (`LENTERA_SHARED_DATA`, default `../shared/data`).
pub fn shared_data() -> PathBuf {
    let dir = std::env::var_os("LENTERA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(
        dir.join("kaltim/desa.geojson").exists(),
        "reference data not found in {}: set LENTERA_SHARED_DATA to the folder holding kaltim/",
        dir.display()
    );
    dir
}

/// The Kalimantan Timur reference folder.
pub fn kaltim() -> PathBuf {
    shared_data().join("kaltim")
}

/// Runs the `lentera` binary with `args` against the embedded store in `data_dir`.
pub fn lentera(data_dir: &Path, args: &[&str]) -> Output {
    let dir = data_dir.to_string_lossy();
    lentera_with(&["--data-dir", &dir], args)
}

/// Writes regions as a GeoJSON FeatureCollection with `kode` and `nama` properties.
pub fn write_geojson(path: &Path, regions: &[Region]) {
    let features: Vec<geojson::Feature> = regions
        .iter()
        .map(|r| {
            let mut props = serde_json::Map::new();
            props.insert("kode".into(), r.kode.to_string().into());
            props.insert("nama".into(), r.nama.clone().into());
            geojson::Feature {
                geometry: Some(geojson::Geometry::from(&r.geometry)),
                properties: Some(props),
                ..Default::default()
            }
        })
        .collect();
    let fc = geojson::FeatureCollection {
        features,
        bbox: None,
        foreign_members: None,
    };
    std::fs::write(path, fc.to_string()).unwrap();
}

/// Runs `ogr2ogr` with `args`, failing the test with GDAL's message when it fails.
pub fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr (gdal-bin) is installed; scripts/test.sh installs it");
    assert!(
        out.status.success(),
        "ogr2ogr {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway PostgreSQL cluster with PostGIS, started once per test binary and stopped by a
/// watchdog when the test process ends.
struct Cluster {
    port: u16,
    socket_dir: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

fn pg_bin_dir() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL server not installed (/usr/lib/postgresql missing)".to_string())?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when the tests run as root (initdb refuses
/// to run as root).
fn pg_command(bin: &Path, tool: &str, args: &[&str]) -> Result<Output, String> {
    let tool_path = bin.join(tool);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&tool_path);
        c
    } else {
        Command::new(&tool_path)
    };
    cmd.args(args)
        .output()
        .map_err(|e| format!("cannot run {tool}: {e}"))
}

/// A local TCP port free at the time of asking (for a server a test starts).
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

fn start_cluster() -> Result<Cluster, String> {
    let bin = pg_bin_dir()?;
    let version = bin
        .parent()
        .and_then(|p| p.file_name())
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default();
    let control = format!("/usr/share/postgresql/{version}/extension/postgis.control");
    if !Path::new(&control).exists() {
        return Err(format!(
            "PostGIS is not installed for PostgreSQL {version}: apt-get install postgresql-{version}-postgis-3"
        ));
    }
    let dir = cluster_dir()?;
    let data = dir.join("data");
    let d = data.to_string_lossy().into_owned();
    let out = pg_command(
        &bin,
        "initdb",
        &[
            "-D",
            &d,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = free_port();
    pg_start(&bin, &dir, port)?;
    watchdog(&bin, &dir)?;
    Ok(Cluster {
        port,
        socket_dir: dir,
    })
}

/// A new directory for a cluster's files and socket, owned by the `postgres` user when the
/// tests run as root.
fn cluster_dir() -> Result<PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lentera-pg-{}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if is_root() {
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !chown.success() {
            return Err("cannot hand the cluster directory to the postgres user".into());
        }
    }
    Ok(dir)
}

/// Stops the cluster in `dir` and removes its files once this test process is gone.
fn watchdog(bin: &Path, dir: &Path) -> Result<(), String> {
    let sock = dir.to_string_lossy().into_owned();
    let d = dir.join("data").to_string_lossy().into_owned();
    let pg_ctl = bin.join("pg_ctl").to_string_lossy().into_owned();
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {runas}{pg_ctl} -D {d} stop -m immediate >/dev/null 2>&1; rm -rf {sock}",
        pid = std::process::id(),
        runas = if is_root() {
            "runuser -u postgres -- "
        } else {
            ""
        },
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster watchdog: {e}"))?;
    Ok(())
}

/// Starts a hot-standby streaming replica of the throwaway cluster (`pg_basebackup -R`, every
/// database of the primary replayed as it commits) and returns a URL of `database` on it.
#[allow(dead_code)]
pub fn streaming_replica(database: &str) -> String {
    let cluster = CLUSTER
        .get()
        .and_then(|c| c.as_ref().ok())
        .expect("the throwaway cluster was started (fresh_postgis_url)");
    let bin = pg_bin_dir().unwrap();
    let dir = cluster_dir().unwrap();
    let d = dir.join("data").to_string_lossy().into_owned();
    let port = cluster.port.to_string();
    let out = pg_command(
        &bin,
        "pg_basebackup",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-D",
            &d,
            "-R",
            "-X",
            "stream",
            // A checkpoint at once, not spread over minutes.
            "--checkpoint=fast",
            "--no-sync",
        ],
    )
    .unwrap();
    assert!(
        out.status.success(),
        "pg_basebackup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replica_port = free_port();
    pg_start(&bin, &dir, replica_port).unwrap();
    watchdog(&bin, &dir).unwrap();
    format!("postgres://postgres@127.0.0.1:{replica_port}/{database}")
}

/// Starts the cluster in `dir` on `port`.
fn pg_start(bin: &Path, dir: &Path, port: u16) -> Result<(), String> {
    let sock = dir.to_string_lossy().into_owned();
    let d = dir.join("data").to_string_lossy().into_owned();
    let opts = format!(
        "-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c jit=off"
    );
    let log = dir.join("postgres.log").to_string_lossy().into_owned();
    let out = pg_command(
        bin,
        "pg_ctl",
        &["-D", &d, "-o", &opts, "-l", &log, "-w", "start"],
    )?;
    if !out.status.success() {
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {log_text}"));
    }
    Ok(())
}

/// Stops the throwaway cluster of this test process (fast shutdown: connections are cut) or
/// starts it again on the same port: for fault tests, which run in a test binary of their
/// own so that no other test meets the stopped cluster.
#[allow(dead_code)]
pub fn postgis_running(running: bool) {
    let cluster = CLUSTER
        .get()
        .and_then(|c| c.as_ref().ok())
        .expect("the throwaway cluster was started (fresh_postgis_url)");
    let bin = pg_bin_dir().unwrap();
    if running {
        pg_start(&bin, &cluster.socket_dir, cluster.port).unwrap();
    } else {
        let d = cluster
            .socket_dir
            .join("data")
            .to_string_lossy()
            .into_owned();
        let out = pg_command(&bin, "pg_ctl", &["-D", &d, "-m", "fast", "-w", "stop"]).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A URL to a fresh, empty database in the throwaway cluster.
pub async fn fresh_postgis_url() -> String {
    let cluster = CLUSTER
        .get_or_init(start_cluster)
        .as_ref()
        .unwrap_or_else(|e| panic!("throwaway PostGIS cluster: {e}"));
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let db = format!("lentera_test_{n}");
    let admin = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        cluster.port
    );
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .expect("connect to the throwaway cluster");
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create a test database");
    drop(client);
    let _ = task.await;
    format!("postgres://postgres@127.0.0.1:{}/{db}", cluster.port)
}

/// A fresh PostGIS holding `regions` (through Lentera's PostGIS store) and a table
/// `pts (geom geometry(Point, 4326))` with `points`; returns a client of it.
pub async fn postgis_with_points(
    regions: &[Region],
    points: &[(f64, f64)],
) -> tokio_postgres::Client {
    use lentera::store::{ImportRecord, PostgisStore, Store};
    let url = fresh_postgis_url().await;
    let store = PostgisStore::connect(&url).await.unwrap();
    let record = ImportRecord {
        sources: vec!["reference".into()],
        features_read: regions.len(),
        refused: 0,
        issues: "[]".into(),
    };
    store.replace_regions(regions, &record).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE pts (geom geometry(Point, 4326))")
        .await
        .unwrap();
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    client
        .execute(
            "INSERT INTO pts SELECT ST_SetSRID(ST_MakePoint(x, y), 4326)
             FROM unnest($1::float8[], $2::float8[]) AS t(x, y)",
            &[&xs, &ys],
        )
        .await
        .unwrap();
    client
}

/// The desa of `regions` as `(code, outline)` pairs.
pub fn desa_outlines(regions: &[Region]) -> Vec<(lentera::region::Kode, geo::MultiPolygon<f64>)> {
    regions
        .iter()
        .filter(|r| r.kode.level() == lentera::region::Level::Desa)
        .map(|r| (r.kode, r.geometry.clone()))
        .collect()
}

/// Loads the real Kalimantan Timur boundaries into `store` and returns them.
#[allow(dead_code)]
pub async fn load_kaltim(store: &dyn Store) -> Vec<Region> {
    let regions = lentera::ingest::boundaries::regions_from_files(&[kaltim()]).unwrap();
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    regions
}

/// An embedded store in `dir` holding the real Kaltim boundaries and, for each
/// `(format, count, seed, period)`, that many generated households imported for the period.
#[allow(dead_code)]
pub async fn kaltim_sqlite(
    dir: &Path,
    imports: &[(SourceFormat, usize, u64, &str)],
) -> (Arc<dyn Store>, Vec<Region>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir).await.unwrap());
    let regions = load_kaltim(store.as_ref()).await;
    for &(format, count, seed, period) in imports {
        import_generated(store.as_ref(), &regions, format, count, seed, period).await;
    }
    (store, regions)
}

/// Writes `count` generated households of `format` over `regions` (deterministic from
/// `seed`) to `path` as a comma-separated UTF-8 file.
#[allow(dead_code)]
pub fn write_generated(
    regions: &[Region],
    format: SourceFormat,
    count: usize,
    seed: u64,
    path: &Path,
) {
    use lentera::generate::{write_households, GenerateOptions, OutputEncoding};
    let opts = GenerateOptions {
        format,
        count,
        seed,
        delimiter: b',',
        encoding: OutputEncoding::Utf8,
    };
    write_households(regions, &[], &Default::default(), &opts, path, None).unwrap();
}

/// Generates `count` households of `format` over `regions` (deterministic from `seed`) and
/// imports them into `store` for `period`, geocoded against the stored regions.
#[allow(dead_code)]
pub async fn import_generated(
    store: &dyn Store,
    regions: &[Region],
    format: SourceFormat,
    count: usize,
    seed: u64,
    period: &str,
) {
    import_generated_as(
        store,
        regions,
        format,
        (count, seed),
        period,
        Default::default(),
    )
    .await;
}

/// [`import_generated`] as a batch in `state` (a draft of a verval round, say); its id.
#[allow(dead_code)]
pub async fn import_generated_as(
    store: &dyn Store,
    regions: &[Region],
    format: SourceFormat,
    (count, seed): (usize, u64),
    period: &str,
    state: lentera::model::BatchState,
) -> i64 {
    use Secret;
    use {import_households, store_geocoder, HouseholdImportOptions};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("households.csv");
    write_generated(regions, format, count, seed, &file);
    let secret = Secret::new("generated-households-secret-0123456789").unwrap();
    let geocoder = store_geocoder(store).await.unwrap();
    let import = HouseholdImportOptions {
        file: Default::default(),
        period: period.parse().unwrap(),
        state,
        file_name: None,
    };
    match import_households(store, &file, &import, &secret, geocoder)
        .await
        .unwrap()
    {
        lentera::app::HouseholdImport::Imported { batch, .. } => batch.id,
        other => panic!("not imported: {other:?}"),
    }
}

/// What `ogrinfo -ro -al ARGS PATH` prints (GDAL as an independent reader).
#[allow(dead_code)]
pub fn ogrinfo(args: &[&str], path: &Path) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al"])
        .args(args)
        .arg(path)
        .output()
        .expect("ogrinfo (gdal-bin) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The count a benchmark was given (`cargo bench --bench NAME -- COUNT`), else `default`.
#[allow(dead_code)]
pub fn rows_arg(default: usize) -> usize {
    std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(default)
}

/// The peak resident set size of this process so far, MiB (Linux `VmHWM`).
#[allow(dead_code)]
pub fn peak_rss_mib() -> f64 {
    proc_status_mib("VmHWM:")
}

/// The resident set size of this process now, MiB (Linux `VmRSS`).
#[allow(dead_code)]
pub fn rss_mib() -> f64 {
    proc_status_mib("VmRSS:")
}

fn proc_status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Resets the peak resident set size to the current one (Linux: `5` to `clear_refs`).
#[allow(dead_code)]
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A response read whole.
#[allow(dead_code)]
pub struct Fetched {
    /// Its status.
    pub status: axum::http::StatusCode,
    /// Its headers.
    pub headers: axum::http::HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

#[allow(dead_code)]
impl Fetched {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `GET uri` with `headers` to `app` and reads the response whole.
#[allow(dead_code)]
pub async fn fetch(
    app: &axum::Router,
    uri: &str,
    headers: &[(axum::http::header::HeaderName, &str)],
) -> Fetched {
    let mut req = axum::http::Request::get(uri);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    send(app, req.body(axum::body::Body::empty()).unwrap()).await
}

/// Sends `req` to `app` and reads the response whole.
#[allow(dead_code)]
pub async fn send(app: &axum::Router, req: axum::http::Request<axum::body::Body>) -> Fetched {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

/// Adds an admin whose personal token is `admin_token` and an operator of Kota Samarinda
/// (64.72) whose token is `samarinda_token`.
#[allow(dead_code)]
pub async fn admin_and_samarinda(store: &dyn Store, admin_token: &str, samarinda_token: &str) {
    use lentera::model::Role;
    user_with_token(store, "admin", Role::Admin, &[], admin_token).await;
    user_with_token(
        store,
        "op.samarinda",
        Role::Operator,
        &["64.72"],
        samarinda_token,
    )
    .await;
}

/// `GET uri` of `app`: the status and the body as JSON (a test fails when it is not JSON).
#[allow(dead_code)]
pub async fn get_json(
    app: &axum::Router,
    uri: &str,
) -> (axum::http::StatusCode, serde_json::Value) {
    let got = fetch(app, uri, &[]).await;
    let v = serde_json::from_slice(&got.body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", got.text()));
    (got.status, v)
}

/// The secret of households imported by [`import_file`].
pub const SCENARIO_SECRET: &str = "provenance-test-secret-0123456789abcdef";

/// Imports `file` into `store` for `period`, geocoded against the stored regions.
#[allow(dead_code)]
pub async fn import_file(store: &dyn Store, file: &Path, period: &str, options: FileOptions) {
    let geocoder = store_geocoder(store).await.unwrap();
    let import = HouseholdImportOptions {
        file: options,
        period: period.parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    import_households(
        store,
        file,
        &import,
        &Secret::new(SCENARIO_SECRET).unwrap(),
        geocoder,
    )
    .await
    .unwrap();
}

/// Rewrites the CSV at `path` to `out` with `edit` applied to every data row (header given).
#[allow(dead_code)]
pub fn edit_csv(path: &Path, out: &Path, mut edit: impl FnMut(&[String], &mut Vec<String>)) {
    let delimiter = if std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .contains('|')
    {
        b'|'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_path(out)
        .unwrap();
    w.write_record(&header).unwrap();
    for rec in r.records() {
        let mut row: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        edit(&header, &mut row);
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

/// The index of column `name` in `header`.
#[allow(dead_code)]
pub fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// Households whose sources state different things: P3KE for 2024-12; DTKS and a verval
/// file with GPS and an empty desil column for 2025-06, on the real Kaltim boundaries.
#[allow(dead_code)]
pub async fn scenario(d: &Path) -> (Arc<dyn Store>, Vec<Region>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&d.join("store")).await.unwrap());
    let regions = load_kaltim(store.as_ref()).await;
    let p3ke = d.join("p3ke.csv");
    write_generated(&regions, SourceFormat::P3ke, 1500, 21, &p3ke);
    let dtks = d.join("dtks.csv");
    write_generated(&regions, SourceFormat::Dtks, 900, 22, &dtks);
    let verval_full = d.join("verval-lengkap.csv");
    write_generated(&regions, SourceFormat::Verval, 600, 23, &verval_full);
    let verval = d.join("verval.csv");
    edit_csv(&verval_full, &verval, |h, row| row[col(h, "desil")].clear());
    import_file(store.as_ref(), &p3ke, "2024-12", FileOptions::default()).await;
    import_file(store.as_ref(), &dtks, "2025-06", FileOptions::default()).await;
    import_file(store.as_ref(), &verval, "2025-06", FileOptions::default()).await;
    (store, regions)
}

/// Adds user `name` with `role` and `scope` (codes) and a personal API token whose secret is
/// `secret`; returns the secret. The password is random (tests log in with [`login_user`]).
pub async fn user_with_token(
    store: &dyn Store,
    name: &str,
    role: lentera::model::Role,
    scope: &[&str],
    secret: &str,
) -> String {
    use lentera::model::{NewToken, NewUser, Password, UserName};
    let scope = scope
        .iter()
        .map(|k| lentera::region::Kode::parse(k).unwrap())
        .collect();
    let name = UserName::parse(name).unwrap();
    let user = NewUser::new(name.clone(), role, scope, &Password::random()).unwrap();
    store.add_user(&user).await.unwrap();
    store
        .add_token(&NewToken {
            user: name,
            digest: lentera::model::account::secret_digest(secret),
            label: "test".into(),
            expires_at: None,
        })
        .await
        .unwrap();
    secret.to_string()
}

/// Runs the `lentera` binary with `store` (`--data-dir DIR` or `--database-url URL`) and
/// `args`.
#[allow(dead_code)]
pub fn lentera_with(store: &[&str], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lentera"))
        .args(store)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the lentera binary runs")
}

/// The router over `live` with every small count shown (as logged-in operators, analysts and
/// admins see them), for tests that check figures exactly.
#[allow(dead_code)]
pub fn exact_router(live: lentera::server::Live) -> axum::Router {
    lentera::server::router_with(
        live,
        lentera::server::ServerOptions {
            auth: lentera::server::auth::AuthConfig {
                suppress_upto: 0,
                ..Default::default()
            },
            ..Default::default()
        },
    )
}

/// A sink that drops what it is handed: an import's stages without a store.
#[allow(dead_code)]
pub struct Discard;

impl lentera::model::BatchSink for Discard {
    type Error = std::convert::Infallible;
    fn file_hash(&mut self, _: &str) -> Result<(), Self::Error> {
        Ok(())
    }
    fn chunk(
        &mut self,
        _: Vec<lentera::model::Household>,
        _: Vec<lentera::model::Reject>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
    fn finish(&mut self, _: lentera::model::BatchCounts) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// `method uri` on `app` with a bearer `token` and a JSON content type.
#[allow(dead_code)]
pub async fn call_with_token(
    app: &axum::Router,
    method: axum::http::Method,
    uri: &str,
    token: &str,
    body: axum::body::Body,
) -> Fetched {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    send(app, req).await
}

/// `method uri` on `app` with a bearer `token` and a JSON body (none for null); the status
/// and the JSON answer (null when the answer is not JSON).
#[allow(dead_code)]
pub async fn json_with_token(
    app: &axum::Router,
    method: axum::http::Method,
    uri: &str,
    token: &str,
    body: serde_json::Value,
) -> (axum::http::StatusCode, serde_json::Value) {
    let body = if body.is_null() {
        axum::body::Body::empty()
    } else {
        axum::body::Body::from(body.to_string())
    };
    let got = call_with_token(app, method, uri, token, body).await;
    let v = serde_json::from_slice(&got.body).unwrap_or(serde_json::Value::Null);
    (got.status, v)
}

/// The NIK column of a generated P3KE file, in file order.
#[allow(dead_code)]
pub fn generated_niks(path: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let nik = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "NIK")
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap()[nik].to_string())
        .collect()
}
