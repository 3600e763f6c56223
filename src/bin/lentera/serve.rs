//! `lentera serve` and `lentera demo`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::args::{DemoArgs, ServeArgs};
use lentera::app::load_demo_households;
use lentera::demo::{synthetic_province, DATASET_SYNTHETIC, DEMO_SECRET};
use lentera::ingest::households::privacy::Secret;
use lentera::model::{NewUser, Password, Role, UserName};
use lentera::region::Kode;
use lentera::server::auth::AuthConfig;
use lentera::server::batches::UploadOptions;
use lentera::server::{Live, ServerOptions};
use lentera::store::{ImportRecord, PostgisStore, Store, StoreConfig};

/// Runs `lentera serve`: outside the demo the server holds household data, so it runs only
/// with a secret.
pub async fn serve_store(store: Arc<dyn Store>, cfg: &StoreConfig, args: &ServeArgs) -> Result<()> {
    let secret = store_secret(store.as_ref()).await?;
    serve(store, cfg, args, secret).await
}

/// The secret identity numbers are hashed with in `store`: the demo's own for the synthetic
/// province, else `LENTERA_SECRET`.
pub async fn store_secret(store: &dyn Store) -> Result<Secret> {
    let demo = store.get_meta("dataset").await?.as_deref() == Some(DATASET_SYNTHETIC);
    Ok(if demo {
        Secret::new(DEMO_SECRET.as_bytes().to_vec())?
    } else {
        Secret::from_env()?
    })
}

/// Serves `store` until Ctrl-C.
async fn serve(
    store: Arc<dyn Store>,
    cfg: &StoreConfig,
    args: &ServeArgs,
    secret: Secret,
) -> Result<()> {
    let addr = SocketAddr::new(args.bind, args.port);
    let started = std::time::Instant::now();
    let live = match &args.replica_url {
        None => Live::load(store).await,
        Some(url) => {
            if cfg.database_url.is_none() {
                bail!("--replica-url reads a replica of PostGIS: give the primary's --database-url too");
            }
            let replica = PostgisStore::connect_replica(url)
                .await
                .context("cannot open the read-only replica (--replica-url)")?;
            tracing::info!("snapshots and household exports are read from the replica");
            Live::with_replica(store, Arc::new(replica)).await
        }
    }
    .context("cannot build the first snapshot")?;
    tracing::info!(
        households = live.snapshot().households().len(),
        seconds = started.elapsed().as_secs_f64(),
        "snapshot ready"
    );
    let refresh = std::time::Duration::from_secs_f64(args.refresh_secs.clamp(0.1, 3600.0));
    let options = ServerOptions {
        auth: AuthConfig {
            private: args.private,
            behind_https: args.behind_https,
            suppress_upto: args.suppress_below,
            session_idle: std::time::Duration::from_secs(args.session_idle_minutes.max(1) * 60),
            session_max: std::time::Duration::from_secs(args.session_hours.max(1) * 3600),
            ..AuthConfig::default()
        },
        tile_cache_bytes: args.tile_cache_mib.saturating_mul(1 << 20),
        prerender_tiles: args.prerender_tiles,
        grace: std::time::Duration::from_secs_f64(args.grace_secs.clamp(0.0, 3600.0)),
        web_dir: args.web_dir.clone(),
        font_paths: if args.fonts.is_empty() {
            lentera::tiles::glyphs::font_paths_from_env()
        } else {
            args.fonts.clone()
        },
        uploads: UploadOptions {
            dir: cfg.data_dir.join("uploads"),
            max_bytes: args.max_upload_mib.saturating_mul(1 << 20),
            secret: Some(secret),
            memory: lentera::ingest::budget::MemoryBudget::mib(args.max_import_mib),
            ..UploadOptions::default()
        },
        header_timeout: std::time::Duration::from_secs_f64(
            args.header_timeout_secs.clamp(1.0, 3600.0),
        ),
    };
    lentera::server::serve(live, addr, refresh, options)
        .await
        .with_context(|| format!("cannot serve on {addr}"))
}

/// Runs `lentera demo`: the synthetic province (once per seed) and its households, then the
/// server.
pub async fn demo(store: Arc<dyn Store>, cfg: &StoreConfig, args: DemoArgs) -> Result<()> {
    let dataset = store.get_meta("dataset").await?;
    let counts = store.region_counts().await?;
    if counts.total() > 0 && dataset.as_deref() != Some(DATASET_SYNTHETIC) {
        bail!(
            "the store ({}) holds real boundaries; run the demo with another --data-dir",
            cfg.database_url
                .as_deref()
                .map(|_| "PostGIS".to_string())
                .unwrap_or_else(|| cfg.data_dir.display().to_string())
        );
    }
    let seed = args.seed.to_string();
    if store.get_meta("demo_seed").await?.as_deref() != Some(seed.as_str()) || counts.total() == 0 {
        let regions = synthetic_province(args.seed);
        let record = ImportRecord {
            sources: vec![format!("synthetic province (seed {seed})")],
            features_read: regions.len(),
            refused: 0,
            issues: "[]".into(),
        };
        store.set_meta("dataset", DATASET_SYNTHETIC).await?;
        store.replace_regions(&regions, &record).await?;
        store.set_meta("demo_seed", &seed).await?;
    }
    if !args.no_households && store.batches().await?.is_empty() {
        load_demo_households(store.as_ref(), args.seed).await?;
    }
    let c = store.region_counts().await?;
    let households: u64 = store
        .batches()
        .await?
        .iter()
        .map(|b| b.counts.households)
        .sum();
    println!(
        "Synthetic demo province ready: {} kabupaten/kota, {} kecamatan, {} desa/kelurahan, \
{households} synthetic households.",
        c.kabupaten + c.kota,
        c.kecamatan,
        c.desa + c.kelurahan
    );
    demo_accounts(store.as_ref()).await?;
    if args.no_serve {
        return Ok(());
    }
    println!("Open http://{}:{}/", args.serve.bind, args.serve.port);
    let secret = Secret::new(DEMO_SECRET.as_bytes().to_vec())?;
    serve(store, cfg, &args.serve, secret).await
}

/// The demo's accounts: an admin and an operator of the first synthetic kabupaten, created
/// once with random passwords that are printed (they are demo accounts on synthetic data).
async fn demo_accounts(store: &dyn Store) -> Result<()> {
    if !store.users().await?.is_empty() {
        println!("Demo accounts exist already (lentera users list).");
        return Ok(());
    }
    let kabupaten = store
        .list_regions(&lentera::store::RegionFilter {
            level: Some(lentera::region::Level::Kabupaten),
            parent: None,
        })
        .await?;
    let scope: Vec<Kode> = kabupaten.first().map(|k| k.kode).into_iter().collect();
    let accounts = [
        ("demo.admin", Role::Admin, Vec::new()),
        ("demo.operator", Role::Operator, scope),
    ];
    println!("Demo accounts (synthetic data only; passwords shown once):");
    for (name, role, scope) in accounts {
        let password = Password::random();
        let scope_text = scope
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let user = NewUser::new(UserName::parse(name)?, role, scope, &password)?;
        store.add_user(&user).await?;
        crate::accounts::audit_cli(
            store,
            lentera::model::AuditAction::UserAdd,
            "lentera demo",
            format!("{name} role={role} scope={scope_text} (demo account)"),
            None,
        )
        .await?;
        println!(
            "  {name:<14} {role:<9} {:<8} password: {}",
            if scope_text.is_empty() {
                "-"
            } else {
                &scope_text
            },
            password.reveal()
        );
    }
    Ok(())
}
