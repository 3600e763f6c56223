//! The fuzz targets: each takes arbitrary bytes and runs them through one of Lentera's
//! readers of outside input, checking that it answers (an error in words is an answer) and
//! that what it answers keeps its own accounts. Shared by the libFuzzer binaries in `fuzz/`
//! and by `tests/fuzz_replay.rs`, which replays every stored corpus file as an ordinary test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use lentera::geocode::Geocoder;
use lentera::ingest::boundaries::{self, ImportOptions};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::households::{FileOptions, HouseholdFile};
use lentera::model::{BatchCounts, BatchSink, Household, ProgramKind, Reject};
use lentera::region::crosswalk::Crosswalk;
use lentera::region::{Kode, Level, Region};

/// A fuzz target: bytes in, a panic when something is wrong.
pub type Target = fn(&[u8]);

/// The targets by name, as the corpus directories are named.
pub const TARGETS: [(&str, Target); 7] = [
    ("household_file", household_file),
    ("program_list", program_list),
    ("boundary_geojson", boundary_geojson),
    ("boundary_file", boundary_file),
    ("values", values),
    ("stored_chunk", stored_chunk),
    ("http_request", http_request),
];

/// Where the targets keep their files: the test build's own scratch directory when replayed
/// by `cargo test` (gone with `target/`), the system's otherwise.
fn scratch() -> PathBuf {
    option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

/// A file holding one input, removed when dropped.
struct InputFile(PathBuf);

impl Drop for InputFile {
    fn drop(&mut self) {
        // With what SQLite leaves beside a file it opened as a GeoPackage.
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = self.0.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

impl std::ops::Deref for InputFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

/// A file of this thread holding `data`.
fn input_file(data: &[u8], suffix: &str) -> InputFile {
    let path = scratch().join(format!(
        "lentera-fuzz-{}-{:?}{suffix}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(data).unwrap();
    InputFile(path)
}

fn secret() -> Secret {
    Secret::new(b"fuzzing-secret-of-thirty-two-bytes!!".to_vec()).unwrap()
}

/// The synthetic province, for the geocoder and the server.
fn province() -> &'static [Region] {
    static REGIONS: OnceLock<Vec<Region>> = OnceLock::new();
    REGIONS.get_or_init(|| lentera::demo::synthetic_province(7))
}

fn geocoder() -> &'static Geocoder {
    static GEOCODER: OnceLock<Geocoder> = OnceLock::new();
    GEOCODER.get_or_init(|| {
        let regions: Vec<Region> = province()
            .iter()
            .filter(|r| r.kode.level() != Level::Provinsi)
            .cloned()
            .collect();
        let known = regions.iter().map(|r| r.kode).collect();
        Geocoder::new(&regions, Crosswalk::new(Vec::new(), known))
    })
}

/// Keeps what an import hands over, to check it against the counts.
#[derive(Default)]
struct Kept {
    households: u64,
    rejected_rows: BTreeSet<u64>,
    counts: Option<BatchCounts>,
}

impl BatchSink for Kept {
    type Error = std::convert::Infallible;
    fn file_hash(&mut self, _: &str) -> Result<(), Self::Error> {
        Ok(())
    }
    fn chunk(
        &mut self,
        households: Vec<Household>,
        rejects: Vec<Reject>,
    ) -> Result<(), Self::Error> {
        self.households += households.len() as u64;
        self.rejected_rows.extend(rejects.iter().map(|r| r.row));
        Ok(())
    }
    fn finish(&mut self, counts: BatchCounts) -> Result<(), Self::Error> {
        self.counts = Some(counts);
        Ok(())
    }
}

/// A household file (CSV in any encoding and delimiter, or an XLSX workbook): opened,
/// mapped, checked and geocoded; every data row is accepted or refused with a reason.
pub fn household_file(data: &[u8]) {
    let path = input_file(data, ".data");
    let Ok(file) = HouseholdFile::open(&path, &FileOptions::default()) else {
        return;
    };
    let mut kept = Kept::default();
    let Ok(produced) = file.feed(secret(), Some(geocoder()), &mut kept) else {
        return;
    };
    let c = produced.counts;
    assert_eq!(c.rows_read, c.rows_accepted + c.rows_rejected, "{c:?}");
    assert_eq!(kept.rejected_rows.len() as u64, c.rows_rejected, "{c:?}");
    assert_eq!(kept.households, c.households, "{c:?}");
    assert!(c.households <= c.rows_accepted, "{c:?}");
    if c.rows_read > 0 {
        assert_eq!(kept.counts, Some(c));
    }
}

/// A programme's beneficiary list: every row counted as a member, a repeat or a refusal.
pub fn program_list(data: &[u8]) {
    let path = input_file(data, ".list");
    for kind in [ProgramKind::Household, ProgramKind::Location] {
        if let Ok(read) = lentera::ingest::programs::read_program_list(&path, kind, &secret()) {
            let refused: HashSet<u64> = read.refused.iter().map(|r| r.row).collect();
            assert!(
                read.members.len() as u64 + read.repeats + refused.len() as u64 <= read.rows_read,
                "{} members, {} repeats, {} refused of {} rows",
                read.members.len(),
                read.repeats,
                refused.len(),
                read.rows_read
            );
        }
    }
}

/// Checks the layers of a boundary file the way an import does.
fn prepare_layers(layers: Vec<boundaries::SourceLayer>) {
    let features: usize = layers.iter().map(|l| l.features.len()).sum();
    let existing: HashSet<Kode> = province().iter().map(|r| r.kode).collect();
    let prepared = boundaries::prepare(layers, &ImportOptions::default(), &existing);
    assert_eq!(prepared.features_read, features);
    assert!(prepared.regions.len() <= features);
}

/// A GeoJSON text of boundaries.
pub fn boundary_geojson(data: &[u8]) {
    let path = input_file(data, ".geojson");
    if let Ok((layers, _)) = boundaries::read_file(&path) {
        prepare_layers(layers);
    }
}

/// A boundary file of any kind (GeoPackage, zipped or bare shapefile, GeoJSON), told apart by
/// its content.
pub fn boundary_file(data: &[u8]) {
    let path = input_file(data, "");
    if let Ok((layers, _)) = boundaries::read_file(&path) {
        prepare_layers(layers);
    }
}

/// The small values read from files and addresses: region codes, periods, identity numbers,
/// desil, dates, coordinates, programme kinds and desil ranges. What parses prints back to
/// what parses the same.
pub fn values(data: &[u8]) {
    use lentera::ingest::households::validate::{self, IdKind};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = Kode::parse(text) {
        assert_eq!(Kode::parse(&k.digits()).unwrap(), k);
        assert_eq!(Kode::parse(&k.to_string()).unwrap(), k);
        for level in Level::ALL {
            if let Some(a) = k.ancestor(level) {
                assert!(k.is_within(&a));
            }
        }
    }
    if let Ok(p) = text.parse::<lentera::model::Period>() {
        assert_eq!(p.to_string().parse::<lentera::model::Period>().unwrap(), p);
    }
    if let Ok(r) = text.parse::<lentera::model::DesilRange>() {
        assert_eq!(
            r.to_string().parse::<lentera::model::DesilRange>().unwrap(),
            r
        );
    }
    let _ = text.parse::<ProgramKind>();
    let _ = text.parse::<lentera::model::Coverage>();
    let _ = validate::check_identity(text, IdKind::Nik);
    let _ = validate::check_identity(text, IdKind::Kk);
    let _ = validate::parse_desil(text, 10);
    if let Ok(d) = validate::parse_date(text) {
        assert_eq!(validate::parse_date(&d).unwrap(), d, "{text:?}");
    }
    if let Ok(c) = validate::parse_coord(text) {
        assert!(c.is_finite());
    }
    let _ = validate::parse_members(text);
    let _ = validate::parse_yes_no(text);
    let _ = validate::parse_sex(text);
}

/// A household chunk as the embedded store keeps it (a store file or a backup can be
/// damaged or forged): decoded or refused in words, and what decodes encodes back to itself.
pub fn stored_chunk(data: &[u8]) {
    if let Ok(households) = lentera::store::decode_household_chunk(data) {
        let again = lentera::store::encode_household_chunk(&households).unwrap();
        let back = lentera::store::decode_household_chunk(&again).unwrap();
        assert_eq!(back, households);
    }
    let _ = lentera::store::decode_identity_keys(data);
}

/// The server over the synthetic province with its households, and tokens of an admin and
/// of an operator of one kabupaten.
struct Server {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

const ADMIN_TOKEN: &str = "lt_fuzzadmin0000000000000000000000000000000000000";
const OPERATOR_TOKEN: &str = "lt_fuzzoperator000000000000000000000000000000000";

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        use lentera::model::{NewToken, NewUser, Password, Role, UserName};
        use lentera::store::{ImportRecord, SqliteStore, Store};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir_in(scratch()).unwrap();
        let app = runtime.block_on(async {
            let store: Arc<dyn Store> = Arc::new(
                SqliteStore::open_dir(&dir.path().join("store"))
                    .await
                    .unwrap(),
            );
            let record = ImportRecord {
                sources: vec!["synthetic".into()],
                features_read: province().len(),
                refused: 0,
                issues: "[]".into(),
            };
            store.replace_regions(province(), &record).await.unwrap();
            lentera::app::load_demo_households(store.as_ref(), 7)
                .await
                .unwrap();
            let kabupaten = province()
                .iter()
                .find(|r| r.kode.level() == Level::Kabupaten)
                .unwrap()
                .kode;
            for (name, role, scope, token) in [
                ("fuzz.admin", Role::Admin, vec![], ADMIN_TOKEN),
                (
                    "fuzz.operator",
                    Role::Operator,
                    vec![kabupaten],
                    OPERATOR_TOKEN,
                ),
            ] {
                let user = UserName::parse(name).unwrap();
                let new = NewUser::new(user.clone(), role, scope, &Password::random()).unwrap();
                store.add_user(&new).await.unwrap();
                store
                    .add_token(&NewToken {
                        user,
                        digest: lentera::model::account::secret_digest(token),
                        label: "fuzz".into(),
                        expires_at: None,
                    })
                    .await
                    .unwrap();
            }
            let live = lentera::server::Live::load(store).await.unwrap();
            lentera::server::router(live)
        });
        Server {
            runtime,
            app,
            _dir: dir,
        }
    })
}

/// A request to the server: the first byte picks the caller (anonymous, admin or operator)
/// and the method, the rest is the path and query. Whatever arrives, the server answers
/// without a server error; nothing it answers to an anonymous caller names a household.
pub fn http_request(data: &[u8]) {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, Uri};
    use tower::ServiceExt;
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let target = if text.starts_with('/') {
        text.to_string()
    } else {
        format!("/{text}")
    };
    let Ok(uri) = target.parse::<Uri>() else {
        return;
    };
    let method = match first >> 4 {
        0..=11 => Method::GET,
        12 => Method::HEAD,
        13 => Method::POST,
        14 => Method::DELETE,
        _ => Method::OPTIONS,
    };
    let token = match first % 3 {
        0 => None,
        1 => Some(ADMIN_TOKEN),
        _ => Some(OPERATOR_TOKEN),
    };
    let s = server();
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let request = request.body(Body::empty()).unwrap();
    let (status, body) = s.runtime.block_on(async {
        let response = s.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap_or_default();
        (status, body)
    });
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{target} as {token:?}: {status} {}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    if token.is_none() && status.is_success() {
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("\"nama_kepala\"") && !text.contains("\"nik\""),
            "{target}: an anonymous answer names a household"
        );
    }
}
