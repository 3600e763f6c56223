//! One test suite, run against both stores: the embedded SQLite file and a real PostGIS.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use lentera::demo::synthetic_province;
use lentera::region::crosswalk::{BpsKode, CrosswalkEntry};
use lentera::region::{Kode, Level, Region};
use lentera::store::{
    migrations, ImportRecord, PostgisStore, RegionFilter, SqliteStore, Store, StoreError,
};

fn record(name: &str, n: usize) -> ImportRecord {
    ImportRecord {
        sources: vec![name.to_string()],
        features_read: n,
        refused: 0,
        issues: "[]".into(),
    }
}

fn k(s: &str) -> Kode {
    Kode::parse(s).unwrap()
}

/// The behaviour every store must have. `reopen` opens the same database again.
async fn suite<F, Fut>(store: Arc<dyn Store>, reopen: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn Store>>,
{
    assert_eq!(
        store.schema_version().await.unwrap(),
        migrations::latest_version()
    );
    assert_eq!(store.region_counts().await.unwrap().total(), 0);
    assert!(store.region_codes().await.unwrap().is_empty());

    // Import the synthetic province and read it back exactly.
    let regions = synthetic_province(5);
    let summary = store
        .replace_regions(&regions, &record("demo", regions.len()))
        .await
        .unwrap();
    assert_eq!(summary.inserted as usize, regions.len());
    assert_eq!(summary.removed, 0);
    let counts = store.region_counts().await.unwrap();
    assert_eq!(counts.total() as usize, regions.len());
    assert_eq!(counts.provinsi, 1);
    assert_eq!(counts.kabupaten + counts.kota, 5);
    assert_eq!(counts.kota, 1);
    let desa_total = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .count();
    assert_eq!((counts.desa + counts.kelurahan) as usize, desa_total);

    for level in Level::ALL {
        let stored = store.regions(level).await.unwrap();
        let expected: Vec<&Region> = regions.iter().filter(|r| r.kode.level() == level).collect();
        assert_eq!(stored.len(), expected.len(), "{level}");
        for (s, e) in stored.iter().zip(expected) {
            assert_eq!(s, e, "{level} {} differs after a round trip", e.kode);
        }
    }
    let one = regions
        .iter()
        .find(|r| r.kode.level() == Level::Desa)
        .unwrap();
    assert_eq!(
        store.get_region(one.kode).await.unwrap().as_ref(),
        Some(one)
    );
    assert_eq!(store.get_region(k("99.98.01.2001")).await.unwrap(), None);

    // Filters: level, and units inside a parent at any depth.
    let kota_kel = store
        .list_regions(&RegionFilter {
            level: Some(Level::Desa),
            parent: Some(k("99.71")),
        })
        .await
        .unwrap();
    assert!(!kota_kel.is_empty());
    assert!(kota_kel
        .iter()
        .all(|r| r.kode.is_within(&k("99.71")) && r.kode.is_kelurahan()));
    let all = store.list_regions(&RegionFilter::default()).await.unwrap();
    assert_eq!(all.len(), regions.len());
    let codes: Vec<Kode> = all.iter().map(|r| r.kode).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted, "lists are ordered by code");
    let kec = store
        .list_regions(&RegionFilter {
            level: Some(Level::Kecamatan),
            parent: Some(k("99.01")),
        })
        .await
        .unwrap();
    assert!(kec.iter().all(|r| r.parent == Some(k("99.01"))));
    assert!(kec[0].bbox.is_some());

    // Re-importing the desa of one kota replaces that kota's desa only.
    let kota_desa: Vec<Region> = regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa && r.kode.is_within(&k("99.71")))
        .cloned()
        .collect();
    let fewer = kota_desa[1..].to_vec();
    let s2 = store
        .replace_regions(&fewer, &record("desa kota", fewer.len()))
        .await
        .unwrap();
    assert_eq!(s2.removed as usize, kota_desa.len());
    let after = store.region_counts().await.unwrap();
    assert_eq!((after.desa + after.kelurahan) as usize, desa_total - 1);
    assert_eq!(after.kecamatan, counts.kecamatan);
    assert_eq!(store.get_region(kota_desa[0].kode).await.unwrap(), None);

    // A failing import changes nothing.
    let mut broken = fewer.clone();
    broken.push(fewer[0].clone()); // duplicate code: the insert fails half way
    assert!(store
        .replace_regions(&broken, &record("broken", broken.len()))
        .await
        .is_err());
    assert_eq!(store.region_counts().await.unwrap(), after);

    let log = store.region_imports().await.unwrap();
    assert_eq!(log.len(), 2, "the failed import is not logged");
    assert_eq!(log[0].sources, vec!["desa kota".to_string()]);
    assert!(log[0].id > log[1].id);
    assert!(log[0].imported_at.starts_with("20"));

    // Crosswalk round trip, including a row without a target.
    let cw = vec![
        CrosswalkEntry {
            kode_bps: BpsKode::parse("9901").unwrap(),
            nama_bps: "SATU".into(),
            kode_kemendagri: Some(k("99.01")),
        },
        CrosswalkEntry {
            kode_bps: BpsKode::parse("9901010001").unwrap(),
            nama_bps: "DESA TANPA KODE".into(),
            kode_kemendagri: None,
        },
    ];
    store.replace_crosswalk(&cw).await.unwrap();
    assert_eq!(store.crosswalk().await.unwrap(), cw);
    store.replace_crosswalk(&cw[..1]).await.unwrap();
    assert_eq!(store.crosswalk().await.unwrap(), cw[..1].to_vec());

    // Metadata.
    assert_eq!(store.get_meta("dataset").await.unwrap(), None);
    store.set_meta("dataset", "a").await.unwrap();
    store.set_meta("dataset", "b").await.unwrap();
    assert_eq!(
        store.get_meta("dataset").await.unwrap().as_deref(),
        Some("b")
    );

    accounts(store.as_ref()).await;

    // Reopening applies no migration twice and keeps the data.
    drop(store);
    let again = reopen().await;
    assert_eq!(
        again.schema_version().await.unwrap(),
        migrations::latest_version()
    );
    assert_eq!(again.region_counts().await.unwrap(), after);
    assert_eq!(
        again.get_meta("dataset").await.unwrap().as_deref(),
        Some("b")
    );
}

/// Users, tokens, sessions and the audit trail behave alike in both stores.
async fn accounts(store: &dyn Store) {
    use lentera::model::account::{now, secret_digest};
    use lentera::model::{
        AuditAction, AuditEntry, AuditFilter, ChainCheck, NewToken, NewUser, Password, Role,
        SessionInfo, UserChange, UserName,
    };
    let name = UserName::parse("op.samarinda").unwrap();
    let pw = Password::new("kata-sandi-panjang".into()).unwrap();
    let user = NewUser::new(name.clone(), Role::Operator, vec![k("64.72")], &pw).unwrap();
    let added = store.add_user(&user).await.unwrap();
    assert_eq!(
        (added.role, added.scope.clone()),
        (Role::Operator, vec![k("64.72")])
    );
    assert!(matches!(
        store.add_user(&user).await,
        Err(StoreError::UserExists(_))
    ));
    let account = store.account(&name).await.unwrap().unwrap();
    assert!(pw.matches(&account.password_hash));
    // Failed logins count up and lock at the limit; a success or an unlock resets them.
    let fail = UserChange::LoginFailed {
        lock_after: 2,
        until: "2999-01-01T00:00:00.000Z".into(),
    };
    store.change_user(&name, &fail).await.unwrap();
    assert!(!store
        .account(&name)
        .await
        .unwrap()
        .unwrap()
        .user
        .is_locked());
    let locked = store.change_user(&name, &fail).await.unwrap().unwrap();
    assert!(locked.is_locked() && locked.failed_logins == 2);
    let open = store
        .change_user(&name, &UserChange::Unlock)
        .await
        .unwrap()
        .unwrap();
    assert!(!open.is_locked() && open.failed_logins == 0);
    let wider = UserChange::Scope(vec![k("64.72"), k("64.71")]);
    let changed = store.change_user(&name, &wider).await.unwrap().unwrap();
    assert_eq!(changed.scope.len(), 2);
    let nobody = UserName::parse("nobody").unwrap();
    assert!(store
        .change_user(&nobody, &UserChange::Disable)
        .await
        .unwrap()
        .is_none());

    let token = store
        .add_token(&NewToken {
            user: name.clone(),
            digest: secret_digest("lt_secret"),
            label: "qgis".into(),
            expires_at: None,
        })
        .await
        .unwrap();
    let (found, owner) = store
        .token_user(&secret_digest("lt_secret"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, owner.name.clone()), (token.id, name.clone()));
    assert!(found.is_valid());
    assert!(store
        .token_user(&secret_digest("other"))
        .await
        .unwrap()
        .is_none());
    let revoked = store.revoke_token(token.id).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some() && !revoked.is_valid());
    assert_eq!(store.tokens(Some(&name)).await.unwrap().len(), 1);
    assert!(store.tokens(Some(&nobody)).await.unwrap().is_empty());
    assert_eq!(store.tokens(None).await.unwrap().len(), 1);

    let session = SessionInfo {
        digest: secret_digest("cookie"),
        user_id: added.id,
        csrf: "csrf".into(),
        created_at: now(),
        last_seen_at: now(),
        expires_at: "2999-01-01T00:00:00.000Z".into(),
    };
    store.add_session(&session).await.unwrap();
    let (s, u) = store.session_user(&session.digest).await.unwrap().unwrap();
    assert_eq!((s.csrf.as_str(), u.id), ("csrf", added.id));
    store
        .touch_session(&session.digest, "2999-01-01T00:00:00.000Z")
        .await
        .unwrap();
    // Disabling a user ends their sessions.
    store
        .change_user(&name, &UserChange::Disable)
        .await
        .unwrap();
    assert!(store.session_user(&session.digest).await.unwrap().is_none());
    store.change_user(&name, &UserChange::Enable).await.unwrap();

    // The trail: appended in two batches, one chain, filtered by user and action.
    let entry = |action, actor: &str| {
        let mut e = AuditEntry::new(action, "GET /x");
        e.actor = Some(actor.into());
        e.count = Some(3);
        e
    };
    store
        .append_audit(&[
            entry(AuditAction::Login, "a"),
            entry(AuditAction::HouseholdRead, "a"),
        ])
        .await
        .unwrap();
    store
        .append_audit(&[entry(AuditAction::HouseholdRead, "b")])
        .await
        .unwrap();
    let all = store.audit(&AuditFilter::default(), 0, 100).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2, 3]);
    let mut check = ChainCheck::new();
    assert!(all.iter().all(|r| check.next(r).is_ok()));
    let reads_of_a = AuditFilter {
        user: Some("a".into()),
        action: Some(AuditAction::HouseholdRead),
        since: Some("2000-01-01".into()),
    };
    let got = store.audit(&reads_of_a, 0, 100).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].entry, all[1].entry);
    assert_eq!(
        store
            .audit(&AuditFilter::default(), 2, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn sqlite_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&path).await.unwrap());
    suite(store, || {
        let p = path.clone();
        async move { Arc::new(SqliteStore::open_dir(&p).await.unwrap()) as Arc<dyn Store> }
    })
    .await;
}

#[tokio::test]
async fn postgis_store_passes_the_suite() {
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    suite(store, || {
        let u = url.clone();
        async move { Arc::new(PostgisStore::connect(&u).await.unwrap()) as Arc<dyn Store> }
    })
    .await;
}

#[tokio::test]
async fn sqlite_refuses_a_database_from_a_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open_dir(dir.path()).await.unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("lentera.sqlite")).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open_dir(dir.path())
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, StoreError::Migration(_)), "{err}");
    assert!(err.to_string().contains("999"));
}

#[tokio::test]
async fn postgis_refuses_a_database_from_a_newer_version() {
    let url = common::fresh_postgis_url().await;
    drop(PostgisStore::connect(&url).await.unwrap());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
        .await
        .unwrap();
    let err = PostgisStore::connect(&url).await.err().expect("refused");
    assert!(matches!(err, StoreError::Migration(_)), "{err}");
}

#[tokio::test]
async fn postgis_geometries_are_valid_multipolygons_in_wgs84() {
    let url = common::fresh_postgis_url().await;
    let store = PostgisStore::connect(&url).await.unwrap();
    let regions = synthetic_province(9);
    store
        .replace_regions(&regions, &record("demo", regions.len()))
        .await
        .unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE ST_IsValid(geom)),
                    count(*) FILTER (WHERE ST_SRID(geom) = 4326 AND GeometryType(geom) = 'MULTIPOLYGON')
             FROM regions",
            &[],
        )
        .await
        .unwrap();
    let (n, valid, typed): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(n as usize, regions.len());
    assert_eq!(valid, n);
    assert_eq!(typed, n);
}
