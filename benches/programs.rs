//! Benchmark: a regional programme's beneficiary list of 100,000 rows over 300,000 generated
//! households of the synthetic province.
//!
//! Prints, for the list: reading (NIK checked and hashed per row) in rows/s, the whole upload
//! (read + stored), and the matching the snapshot does (a snapshot built with the list
//! against one without it); then the targeting builder's ranking. The peer, in the same run,
//! is PostgreSQL doing the same matching as a join: the list's keys loaded into a table and
//! joined with an indexed table of the households' keys, counted per desa, and the same
//! ranking as a `GROUP BY`. Run with `cargo bench --bench programs` (optionally
//! `-- HOUSEHOLDS LIST_ROWS`).

// Benchmark code: a failed unwrap is the run failing, and printing is its report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use lentera::aggregate::{Criteria, Target};
use lentera::app::{
    import_households, load_snapshot, store_geocoder, upload_program_list, HouseholdImportOptions,
    ListUpload,
};
use lentera::ingest::households::privacy::Secret;
use lentera::ingest::programs::read_program_list;
use lentera::model::{Coverage, Household, NewProgram, ProgramKind, SourceFormat};
use lentera::region::Level;
use lentera::store::{SqliteStore, Store};

const SECRET: &str = "programme-bench-secret-0123456789abcdef";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let households = args.next().unwrap_or(300_000);
    let list_rows = args.next().unwrap_or(100_000);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    let regions = lentera::demo::synthetic_province(lentera::demo::DEFAULT_SEED);
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_dir(&dir.path().join("store"))
            .await
            .unwrap(),
    );
    store
        .replace_regions(&regions, &Default::default())
        .await
        .unwrap();
    let file = dir.path().join("p3ke.csv");
    common::write_generated(&regions, SourceFormat::P3ke, households, 7, &file);
    let secret = Secret::new(SECRET).unwrap();
    let t = Instant::now();
    let geocoder = store_geocoder(store.as_ref()).await.unwrap();
    let options = HouseholdImportOptions {
        file: Default::default(),
        period: "2026-03".parse().unwrap(),
        state: Default::default(),
        file_name: None,
    };
    import_households(store.as_ref(), &file, &options, &secret, geocoder)
        .await
        .unwrap();
    println!(
        "imported {households} P3KE households in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // The list: 90 % of its rows name households of the file, the rest match nothing.
    let niks = common::generated_niks(&file);
    let known = list_rows * 9 / 10;
    let step = (niks.len() / known.max(1)).max(1);
    let mut list = String::from("NIK;NAMA;ALAMAT\n");
    let mut listed = 0;
    for n in niks.iter().step_by(step).take(known) {
        list.push_str(&format!("{n};PENERIMA;JL. MELATI\n"));
        listed += 1;
    }
    for i in 0..list_rows - listed {
        list.push_str(&format!("99710141{:08};BUKAN BNBA;\n", 10_000_000 + i));
    }
    let list_file = dir.path().join("penerima.csv");
    std::fs::write(&list_file, list).unwrap();

    // Reading alone.
    let mut reads = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let read = read_program_list(&list_file, ProgramKind::Household, &secret).unwrap();
        reads.push(t.elapsed().as_secs_f64());
        assert_eq!(read.rows_read as usize, list_rows);
    }
    let read_s = median(reads);
    println!(
        "read {list_rows} list rows (checked, hashed): {:.3} s, {:.0} rows/s",
        read_s,
        list_rows as f64 / read_s
    );

    // Snapshot without the list, then the upload, then the snapshot with it.
    let mut without = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        load_snapshot(store.as_ref(), threads).await.unwrap();
        without.push(t.elapsed().as_secs_f64());
    }
    let program = store
        .add_program(
            &NewProgram {
                name: "Bedah Rumah".into(),
                agency: "Dinas Perumahan".into(),
                year: 2026,
                kind: ProgramKind::Household,
                desil: Some("1-2".parse().unwrap()),
                budget: None,
                unit_cost: None,
            },
            "bench",
            "2026-03-01T00:00:00Z",
        )
        .await
        .unwrap();
    let t = Instant::now();
    upload_program_list(
        store.as_ref(),
        ListUpload {
            program: program.id,
            path: &list_file,
            file_name: "penerima.csv".into(),
            period: "2026-03".parse().unwrap(),
            by: "bench".into(),
        },
        secret.clone(),
    )
    .await
    .unwrap();
    let upload_s = t.elapsed().as_secs_f64();
    let mut with = Vec::new();
    let mut snap = None;
    for _ in 0..3 {
        let t = Instant::now();
        snap = Some(load_snapshot(store.as_ref(), threads).await.unwrap());
        with.push(t.elapsed().as_secs_f64());
    }
    let snap = snap.unwrap();
    let (without, with) = (median(without), median(with));
    let (_, tally) = snap.programs().by_id(program.id).unwrap();
    let matching = (with - without).max(1e-6);
    println!(
        "upload (read + store): {upload_s:.3} s; snapshot {without:.3} s without the list, \
         {with:.3} s with it: matching {list_rows} rows took {matching:.3} s ({:.0} rows/s); \
         {} rows matched, {} not",
        list_rows as f64 / matching,
        tally.rows_matched,
        tally.unmatched.len()
    );

    // The targeting builder.
    let criteria = Criteria {
        period: "2026-03".parse().unwrap(),
        desil_max: 1,
        not_covered: Some(Coverage::Program(program.id)),
        area: None,
        level: Level::Desa,
        min_households: 1,
        by_share: false,
        quota: Some(5_000),
    };
    let mut ranks = Vec::new();
    let mut units = 0;
    for _ in 0..9 {
        let t = Instant::now();
        let r = Target::new(&snap, criteria.clone()).unwrap().rank();
        ranks.push(t.elapsed().as_secs_f64());
        units = r.units.len();
    }
    let rank_s = median(ranks);
    println!(
        "targeting ranking over {households} households: {:.1} ms ({units} desa)",
        rank_s * 1e3
    );

    // Peer: PostgreSQL doing the same as joins.
    let url = common::fresh_postgis_url().await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let stored = store.households(None).await.unwrap();
    let keys: Vec<i64> = stored
        .iter()
        .map(|h| Household::id_key(&h.household.nik_hash).unwrap_or(0))
        .collect();
    let desa: Vec<String> = stored
        .iter()
        .map(|h| {
            h.household
                .geocode
                .as_ref()
                .and_then(|g| g.kode_desa)
                .map(|k| k.to_string())
                .unwrap_or_default()
        })
        .collect();
    let desil: Vec<i32> = stored
        .iter()
        .map(|h| i32::from(h.household.desil.unwrap_or(0)))
        .collect();
    client
        .batch_execute("CREATE TABLE hh (nik_key bigint, desa text, desil int)")
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO hh SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[])",
            &[&keys, &desa, &desil],
        )
        .await
        .unwrap();
    client
        .batch_execute("CREATE INDEX ON hh (nik_key); ANALYZE hh")
        .await
        .unwrap();
    let read = read_program_list(&list_file, ProgramKind::Household, &secret).unwrap();
    let list_keys: Vec<i64> = read.members.iter().filter_map(|m| m.nik_key).collect();
    let mut joins = Vec::new();
    let mut ranks_pg = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        client
            .batch_execute(&format!("CREATE TABLE b{i} (nik_key bigint)"))
            .await
            .unwrap();
        client
            .execute(
                &format!("INSERT INTO b{i} SELECT unnest($1::bigint[])"),
                &[&list_keys],
            )
            .await
            .unwrap();
        client
            .query(
                &format!(
                    "SELECT h.desa, count(*), count(*) FILTER (WHERE h.desil BETWEEN 1 AND 2)
                     FROM b{i} JOIN hh h USING (nik_key) GROUP BY h.desa"
                ),
                &[],
            )
            .await
            .unwrap();
        joins.push(t.elapsed().as_secs_f64());
        client
            .batch_execute(&format!("CREATE INDEX ON b{i} (nik_key); ANALYZE b{i}"))
            .await
            .unwrap();
        let t = Instant::now();
        client
            .query(
                &format!(
                    "SELECT h.desa, count(*) FROM hh h WHERE h.desil = 1
                     AND NOT EXISTS (SELECT 1 FROM b{i} b WHERE b.nik_key = h.nik_key)
                     GROUP BY h.desa ORDER BY 2 DESC, 1"
                ),
                &[],
            )
            .await
            .unwrap();
        ranks_pg.push(t.elapsed().as_secs_f64());
    }
    let (join_s, rank_pg) = (median(joins), median(ranks_pg));
    println!(
        "peer PostgreSQL: load + join + count per desa {join_s:.3} s; ranking GROUP BY {:.1} ms",
        rank_pg * 1e3
    );
    println!(
        "ratio: matching {:.2}× PostgreSQL's join (read + hash + match {:.3} s against its load + \
         join, which starts from keys already hashed); ranking {:.2}× PostgreSQL's GROUP BY",
        matching / join_s,
        read_s + matching,
        rank_s / rank_pg
    );
}
