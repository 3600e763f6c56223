//! `lentera backup` and `lentera restore` round trip while a server runs on the store: the
//! backup is taken under load, the store then changes (a batch removed, a user added), the
//! restore brings back exactly what was backed up — households, users and the audit trail —
//! and the running server serves the restored figures without a restart. Both stores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use lentera::model::{AuditAction, AuditEntry, Role, SourceFormat};
use lentera::server::{router, Live};
use lentera::store::{PostgisStore, SqliteStore, Store};

async fn round_trip(store: Arc<dyn Store>, cli: &[&str], backup: &std::path::Path) {
    let regions = common::load_kaltim(store.as_ref()).await;
    for (seed, period) in [(71, "2025-03"), (72, "2025-09")] {
        common::import_generated(
            store.as_ref(),
            &regions,
            SourceFormat::Verval,
            1_500,
            seed,
            period,
        )
        .await;
    }
    common::user_with_token(
        store.as_ref(),
        "op.samarinda",
        Role::Operator,
        &["64.72"],
        "lt_backup_test_token_0123456789",
    )
    .await;
    store
        .append_audit(&[AuditEntry::new(AuditAction::HouseholdRead, "GET /x")])
        .await
        .unwrap();
    let live = Live::load(store.clone()).await.unwrap();
    let app = router(live.clone());
    let refresher = live.spawn_refresher(Duration::from_millis(100));
    let before = common::get_json(&app, "/api/indicators?level=kabupaten&period=2025-03")
        .await
        .1;

    // The backup, taken while requests run.
    let busy = {
        let app = app.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                common::get_json(&app, "/api/indicators?level=desa").await;
            }
        })
    };
    let out = common::lentera_with(cli, &["backup", "-o", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    busy.await.unwrap();
    let again = common::lentera_with(cli, &["backup", "-o", backup.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing file is not overwritten"
    );

    // The store changes after the backup.
    let first = store
        .batches()
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.period == "2025-03")
        .unwrap();
    store.remove_batch(first.id).await.unwrap();
    common::user_with_token(
        store.as_ref(),
        "late.user",
        Role::Viewer,
        &[],
        "lt_backup_test_late_0123456789",
    )
    .await;
    let trail_before = store.audit(&Default::default(), 0, 100_000).await.unwrap();
    let mut status = 200;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = common::get_json(&app, "/api/indicators?level=kabupaten&period=2025-03")
            .await
            .0
            .as_u16();
        if status == 404 {
            break;
        }
    }
    assert_eq!(
        status, 404,
        "the removed period is gone from the running server"
    );

    // A file that is not a backup is refused, and changes nothing.
    let junk = backup.with_extension("junk");
    std::fs::write(&junk, b"bukan cadangan").unwrap();
    let out = common::lentera_with(cli, &["restore", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(store.batches().await.unwrap().len(), 1);

    // The restore, with the server running: it serves the restored figures.
    let out = common::lentera_with(cli, &["restore", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut after = serde_json::Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, body) =
            common::get_json(&app, "/api/indicators?level=kabupaten&period=2025-03").await;
        if status.is_success() {
            after = body;
            break;
        }
    }
    assert_eq!(after, before, "the restored figures are the backed-up ones");
    let users: Vec<String> = store
        .users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.name.to_string())
        .collect();
    assert_eq!(users, vec!["op.samarinda"]);
    assert_eq!(store.batches().await.unwrap().len(), 2);
    // The trail is the backed-up one, then the restore itself; its chain holds.
    let trail = store.audit(&Default::default(), 0, 100_000).await.unwrap();
    assert!(trail.len() < trail_before.len() + 2);
    assert_eq!(trail.last().unwrap().entry.action, "restore");
    let verified = common::lentera_with(cli, &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    refresher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_the_embedded_store_under_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&data).await.unwrap());
    let d = data.to_str().unwrap().to_string();
    round_trip(
        store,
        &["--data-dir", &d],
        &dir.path().join("cadangan.sqlite"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_postgis_under_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_postgis_url().await;
    let store: Arc<dyn Store> = Arc::new(PostgisStore::connect(&url).await.unwrap());
    round_trip(
        store,
        &["--database-url", &url],
        &dir.path().join("cadangan.dump"),
    )
    .await;
}
