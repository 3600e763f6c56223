//! The `lentera` command line.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::ingest::boundaries::{
    import_boundaries, BoundaryError, ImportIssue, ImportOptions, Severity,
};
use crate::ingest::households::model::SourceFormat;
use crate::ingest::households::privacy::Secret;
use crate::ingest::households::{
    import_households, store_geocoder, HouseholdImport, HouseholdImportOptions,
};
use crate::region::crosswalk::{read_crosswalk, Crosswalk};
use crate::region::{Kode, Level};
use crate::store::{open_store, RegionFilter, Store, StoreConfig};

/// How many findings are printed before the rest is left to `--report`.
const PRINTED_ISSUES: usize = 20;

#[derive(Parser, Debug)]
#[command(
    name = "lentera",
    version,
    about = "Geospatial analytics and mapping server for Indonesian poverty (BNBA) data",
    long_about = "Lentera imports region boundaries and poor-household (BNBA) files, checks every \
row, keeps identity numbers only as keyed hashes, and serves the data over HTTP.\n\n\
Data lives in the embedded store (a SQLite file in --data-dir) unless --database-url points \
to PostGIS.",
    after_help = "Examples:\n  \
lentera demo                                     # synthetic province on http://127.0.0.1:8080\n  \
lentera regions import ../shared/data/kaltim     # kabupaten, kecamatan and desa files\n  \
lentera regions list --level kecamatan --parent 64.72\n  \
lentera --database-url postgres://lentera@localhost/lentera serve --port 8080"
)]
struct Cli {
    /// Directory of the embedded store.
    #[arg(
        long,
        global = true,
        env = "LENTERA_DATA_DIR",
        default_value = "./lentera-data"
    )]
    data_dir: PathBuf,
    /// PostGIS connection URL; when given, the embedded store is not used.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Administrative boundaries and region codes.
    #[command(subcommand)]
    Regions(RegionsCommand),
    /// Poor-household (BNBA) files: import, batches, rejects.
    #[command(subcommand)]
    Households(HouseholdsCommand),
    /// Geocode a BNBA file to desa/kelurahan without importing it.
    #[command(
        after_help = "Writes one row per household: row,source_id,kode_desa,quality,flags,\
lon,lat,candidates. quality is gps, code, name_exact, name_fuzzy, kecamatan_only, \
kabupaten_only, ambiguous or unmatched; flags list gps_swapped, gps_zero, gps_outside, \
gps_mismatch, code_stale, code_partial, code_invalid and code_name_conflict. A desa is never \
guessed: ambiguous households list their candidates and get no kode_desa. lon/lat is the \
household's GPS when quality is gps, else a stable approximate point inside the desa.\n\n\
Examples:\n  \
lentera geocode p3ke.xlsx -o hasil.csv\n  \
lentera geocode verval.csv -o hasil.csv --regions ../shared/data/kaltim \\\n      \
--crosswalk ../shared/data/kaltim/bps_kemendagri.csv"
    )]
    Geocode(GeocodeArgs),
    /// Generate synthetic data for tests, demos and benchmarks.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Indicators per unit (households, desil, programmes, geocoding quality…) and how every
    /// batch's households were counted.
    #[command(
        after_help = "Households count in the desa their geocode chose; those known only at \
a kecamatan or kabupaten count there as desa_unknown; ambiguous and unmatched ones are not \
placed. Every batch reconciles: households = duplicates + counted + not placed.\n\n\
Examples:\n  lentera indicators --level kabupaten\n  \
lentera indicators --level desa --parent 64.72 --period 2025-03 --format csv > desa.csv\n  \
lentera indicators --level kecamatan --period 2025-09 --base 2025-03 --format json"
    )]
    Indicators(IndicatorsArgs),
    /// Export units with their indicators for GIS tools and spreadsheets (GeoJSON, CSV with WKT
    /// or a point, XLSX with a point, GeoPackage).
    #[command(
        after_help = "Examples:\n  lentera export geojson --level desa -o desa.geojson\n  \
lentera export csv --level desa --parent 64.72 --period 2025-06 -o samarinda.csv\n  \
lentera export csv --level kecamatan --point -o kecamatan.csv"
    )]
    Export(ExportArgs),
    /// Serve the API and the web map.
    Serve(ServeArgs),
    /// Generate the synthetic demo province into the store and serve it.
    #[command(
        after_help = "Examples:\n  lentera demo\n  lentera demo --port 9000\n  \
lentera --data-dir /tmp/demo demo --no-serve"
    )]
    Demo(DemoArgs),
}

#[derive(Subcommand, Debug)]
enum RegionsCommand {
    /// Import boundary files (GeoJSON, Shapefile .shp/.zip, GeoPackage) or directories of them.
    #[command(
        after_help = "Each unit's level comes from its code (64 / 64.72 / 64.72.01 / \
64.72.01.1004, dotted or not). An import replaces the stored units of the same level in each \
kabupaten/kota it covers (for kabupaten: in each province), all at once: if any file is \
unreadable or any feature refused, nothing changes.\n\n\
Examples:\n  \
lentera regions import kabupaten.geojson kecamatan.geojson desa.geojson\n  \
lentera regions import ../shared/data/kaltim\n  \
lentera regions import desa.shp --level desa --code-field KDEPUM --name-field WADMKD\n  \
lentera regions import batas.gpkg --dry-run --report temuan.csv"
    )]
    Import(ImportArgs),
    /// Load a BPS ↔ Kemendagri crosswalk CSV (kode_bps,nama_bps,kode_kemendagri).
    #[command(
        after_help = "Rows that cannot map (no or malformed Kemendagri code) and targets \
missing from the loaded boundaries are reported, never guessed.\n\nExample:\n  \
lentera regions crosswalk ../shared/data/kaltim/bps_kemendagri.csv"
    )]
    Crosswalk {
        /// The CSV file.
        file: PathBuf,
        /// Write every finding to this CSV file.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// List stored units.
    #[command(after_help = "Examples:\n  lentera regions list --level kabupaten\n  \
lentera regions list --level desa --parent 64.72.01 --format csv")]
    List {
        /// Only this level (provinsi, kabupaten, kecamatan, desa).
        #[arg(long)]
        level: Option<Level>,
        /// Only units inside this code.
        #[arg(long)]
        parent: Option<Kode>,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
        format: String,
    },
    /// Load the denominators of rates: all households and population per unit (CSV
    /// `kode,households,population`; an empty cell is unknown, not zero).
    #[command(
        after_help = "Codes may be of any level. A unit without a row gets the sum over its \
children when every child has one; otherwise its rates are unknown (null), never 0.\n\n\
Example:\n  lentera regions denominators penduduk-2025.csv"
    )]
    Denominators {
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum HouseholdsCommand {
    /// Import a P3KE, DTKS, DTSEN, verval or custom-mapped file (CSV or XLSX) as one batch.
    #[command(
        after_help = "Every row is checked; bad rows go to a reject report (row, column, \
value, reason) and never stop the good ones. NIK and KK numbers are stored only as keyed \
hashes under LENTERA_SECRET and as masked display forms. The batch is written all at once: \
an interrupted import leaves the store as it was. Importing the same file again does nothing.\n\n\
Examples:\n  \
LENTERA_SECRET=… lentera households import p3ke_samarinda.xlsx --period 2024-12\n  \
lentera households import dtks.txt --format dtks --period 2023-06\n  \
lentera households import data.csv --mapping kolom.toml --period 2025-03"
    )]
    Import(HouseholdImportArgs),
    /// List the imported batches.
    Batches,
    /// Remove a batch with its households.
    Remove {
        /// Batch id (see `lentera households batches`).
        id: i64,
    },
    /// List the households of a batch that need a look: not placed in a desa, or flagged by
    /// the geocoder; or apply a corrected review file.
    #[command(
        after_help = "Without --apply, writes the review file (CSV, columns in Bahasa Indonesia: \
id, baris, id_sumber, nik (masked), nama_kepala_keluarga, kode_wilayah, desa, kecamatan, \
kabupaten, alamat, latitude, longitude, kualitas, catatan, kandidat). Correct kode_wilayah, \
the names or the coordinates in place and give the file back with --apply: those households \
are geocoded again and stored; rows that cannot be used are listed with the reason.\n\n\
Examples:\n  lentera households review 3 -o tinjau.csv\n  \
lentera households review 3 --apply tinjau.csv"
    )]
    Review {
        /// Batch id.
        id: i64,
        /// Output file (standard output when omitted).
        #[arg(short, long, conflicts_with = "apply")]
        output: Option<PathBuf>,
        /// A corrected review file to apply.
        #[arg(long)]
        apply: Option<PathBuf>,
    },
    /// Write the reject report of a batch as CSV.
    Rejects {
        /// Batch id.
        id: i64,
        /// Output file (standard output when omitted).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct HouseholdImportArgs {
    /// The file (CSV, TXT or XLSX).
    file: PathBuf,
    /// Source format: p3ke, dtks, dtsen, verval or custom; detected from the header when omitted.
    #[arg(long)]
    format: Option<SourceFormat>,
    /// Column mapping (TOML) for other files.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Data period, YYYY-MM.
    #[arg(long)]
    period: String,
    /// Sheet of a workbook (the first sheet with a household header when omitted).
    #[arg(long)]
    sheet: Option<String>,
    /// Where to write the reject report (default: <data-dir>/rejects/batch-<id>.csv).
    #[arg(long)]
    rejects: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct GeocodeArgs {
    /// The household file (CSV, TXT or XLSX).
    input: PathBuf,
    /// Output CSV.
    #[arg(short, long)]
    output: PathBuf,
    /// Source format: p3ke, dtks, dtsen, verval or custom; detected when omitted.
    #[arg(long)]
    format: Option<SourceFormat>,
    /// Column mapping (TOML) for other files.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Sheet of a workbook.
    #[arg(long)]
    sheet: Option<String>,
    /// Boundary files, or a directory holding kabupaten, kecamatan and desa files, instead of
    /// the regions in the store.
    #[arg(long)]
    regions: Vec<PathBuf>,
    /// BPS ↔ Kemendagri crosswalk CSV (with --regions; the store's crosswalk otherwise).
    #[arg(long)]
    crosswalk: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum GenerateCommand {
    /// Write a synthetic household file for the regions in the store (or --regions).
    #[command(
        after_help = "Deterministic from --seed. Names, NIK/KK numbers, addresses with \
clerks' abbreviations and typos, region codes in several forms and GPS with phone errors are \
all made up; nothing real enters the file.\n\nExamples:\n  \
lentera generate households --format p3ke --count 10000 --seed 1 -o p3ke.xlsx\n  \
lentera generate households --format verval --count 500 --seed 2 -o verval.csv \\\n      \
--regions ../shared/data/kaltim --stats ../shared/data/kaltim/kabupaten_stats.csv"
    )]
    Households(GenerateArgs),
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Format to write: p3ke, dtks, dtsen or verval.
    #[arg(long)]
    format: SourceFormat,
    /// Number of households.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file; `.xlsx` writes a workbook, anything else CSV.
    #[arg(short, long)]
    output: PathBuf,
    /// Boundary files or a directory to take the desa from instead of the store.
    #[arg(long)]
    regions: Vec<PathBuf>,
    /// BPS ↔ Kemendagri crosswalk, to write some codes in BPS form.
    #[arg(long)]
    crosswalk: Option<PathBuf>,
    /// Kabupaten population and poverty figures (kode_kemendagri, penduduk_2025, persen_miskin_2024).
    #[arg(long)]
    stats: Option<PathBuf>,
    /// CSV delimiter.
    #[arg(long, default_value = ",")]
    delimiter: char,
    /// Write CSV in Windows-1252 instead of UTF-8.
    #[arg(long)]
    windows_1252: bool,
    /// Also write the true desa of each household (for geocoding evaluation).
    #[arg(long)]
    truth: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// Files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Require every feature to be at this level.
    #[arg(long)]
    level: Option<Level>,
    /// Property holding the region code.
    #[arg(long, default_value = "kode")]
    code_field: String,
    /// Property holding the region name.
    #[arg(long, default_value = "nama")]
    name_field: String,
    /// Import the valid features and skip refused ones instead of refusing the import.
    #[arg(long)]
    skip_invalid: bool,
    /// Check and report only; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write every finding to this CSV file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Format.
    #[arg(value_parser = ["geojson", "csv", "xlsx", "gpkg"])]
    format: String,
    /// Level of the units.
    #[arg(long, default_value = "desa")]
    level: Level,
    /// Only units inside this code.
    #[arg(long)]
    parent: Option<Kode>,
    /// Period `YYYY-MM` (default: the latest with data).
    #[arg(long)]
    period: Option<String>,
    /// CSV: a point inside each unit (lon, lat) instead of WKT.
    #[arg(long)]
    point: bool,
    /// Export the households of the period (head names and addresses, NIK and KK masked;
    /// GeoJSON points or CSV) instead of units. Personal data: keep the file where only
    /// those entitled can read it.
    #[arg(long, conflicts_with_all = ["level", "point"])]
    households: bool,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Args, Debug)]
struct IndicatorsArgs {
    /// Level of the units listed.
    #[arg(long, default_value = "kabupaten")]
    level: Level,
    /// Only units inside this code.
    #[arg(long)]
    parent: Option<Kode>,
    /// Period `YYYY-MM` (default: the latest with data).
    #[arg(long)]
    period: Option<String>,
    /// Add the change from this period.
    #[arg(long)]
    base: Option<String>,
    /// Output format (csv and json hold every indicator).
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    format: String,
}

#[derive(Args, Debug, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "LENTERA_BIND")]
    bind: IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080, env = "LENTERA_PORT")]
    port: u16,
    /// Seconds between checks of the store for new data (imports from the CLI, corrections,
    /// boundaries); a change rebuilds the snapshot and swaps it in.
    #[arg(long, default_value_t = 2.0, env = "LENTERA_REFRESH_SECS")]
    refresh_secs: f64,
    /// API tokens that may read household points, comma-separated: `TOKEN` for all
    /// households, `TOKEN@64.72` (or `TOKEN@64.72+64.71`) for those inside some units only.
    /// Without any, household data is never served.
    #[arg(long, env = "LENTERA_API_TOKENS", hide_env_values = true)]
    api_tokens: Option<String>,
    /// MiB of encoded vector tiles kept in memory.
    #[arg(long, default_value_t = 256, env = "LENTERA_TILE_CACHE_MIB")]
    tile_cache_mib: u64,
    /// Directory holding the web map's npm packages (`npm ci` there installs MapLibre).
    #[arg(long, env = "LENTERA_WEB_DIR", default_value = crate::server::web::DEFAULT_WEB_DIR)]
    web_dir: PathBuf,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Seed of the synthetic province.
    #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
    seed: u64,
    /// Generate and store only; do not start the server.
    #[arg(long)]
    no_serve: bool,
    /// The synthetic boundaries only, without the synthetic household files (to import
    /// files of your own into the demo province).
    #[arg(long)]
    no_households: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Runs the command line and turns errors into a one-line message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

fn init_tracing(cli: &Cli) {
    let default = match (cli.verbose, &cli.command) {
        (0, Command::Serve(_) | Command::Demo(_)) => "info",
        (0, _) => "warn",
        (1, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LENTERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<()> {
    let cfg = StoreConfig {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let store = open_store(&cfg).await.context("cannot open the store")?;
    match cli.command {
        Command::Regions(RegionsCommand::Import(args)) => {
            regions_import(store.as_ref(), args).await
        }
        Command::Regions(RegionsCommand::Crosswalk { file, report }) => {
            regions_crosswalk(store.as_ref(), &file, report.as_deref()).await
        }
        Command::Regions(RegionsCommand::List {
            level,
            parent,
            format,
        }) => regions_list(store.as_ref(), level, parent, &format).await,
        Command::Regions(RegionsCommand::Denominators { file }) => {
            let d = crate::aggregate::read_denominators(&file)?;
            store.replace_denominators(&d).await?;
            println!(
                "Loaded denominators of {} units from {}.",
                d.len(),
                file.display()
            );
            Ok(())
        }
        Command::Indicators(args) => indicators(store.as_ref(), args).await,
        Command::Export(args) => export(&store, args).await,
        Command::Households(cmd) => households(store.as_ref(), &cfg, cmd).await,
        Command::Geocode(args) => geocode(store.as_ref(), args).await,
        Command::Generate(GenerateCommand::Households(args)) => {
            generate(store.as_ref(), args).await
        }
        Command::Serve(args) => {
            let demo =
                store.get_meta("dataset").await?.as_deref() == Some(crate::demo::DATASET_SYNTHETIC);
            if !demo {
                // Outside the demo the server holds household data: it runs only with a secret.
                Secret::from_env()?;
            }
            serve(store, &args).await
        }
        Command::Demo(args) => demo(store, &cfg, args).await,
    }
}

async fn regions_import(store: &dyn Store, args: ImportArgs) -> Result<()> {
    let opts = ImportOptions {
        level: args.level,
        code_field: Some(args.code_field),
        name_field: Some(args.name_field),
        skip_invalid: args.skip_invalid,
        dry_run: args.dry_run,
    };
    let started = std::time::Instant::now();
    let outcome = import_boundaries(store, &args.paths, &opts).await;
    let issues = match &outcome {
        Ok(o) => Some(&o.prepared.issues),
        Err(BoundaryError::Invalid { issues, .. }) => Some(issues),
        Err(_) => None,
    };
    if let Some(issues) = issues {
        print_issues(issues);
        if let Some(path) = &args.report {
            write_issue_report(path, issues)?;
        }
    }
    let outcome = outcome?;
    let p = &outcome.prepared;
    let count = |s: Severity| p.issues.iter().filter(|i| i.severity == s).count();
    let mut by_level = std::collections::BTreeMap::<Level, usize>::new();
    for r in &p.regions {
        *by_level.entry(r.kode.level()).or_default() += 1;
    }
    let levels: Vec<String> = by_level.iter().map(|(l, n)| format!("{n} {l}")).collect();
    match &outcome.stored {
        Some(s) => println!(
            "Imported {} units ({}) from {} in {:.2} s: {} replaced, {} repaired, {} skipped, {} warnings.",
            s.inserted,
            levels.join(", "),
            p.sources.join(", "),
            started.elapsed().as_secs_f64(),
            s.removed,
            count(Severity::Repaired),
            p.refused(),
            count(Severity::Warning),
        ),
        None => println!(
            "Dry run: {} units ({}) would be imported; {} repaired, {} refused, {} warnings. Nothing was changed.",
            p.regions.len(),
            levels.join(", "),
            count(Severity::Repaired),
            p.refused(),
            count(Severity::Warning),
        ),
    }
    Ok(())
}

fn print_issues(issues: &[ImportIssue]) {
    for i in issues.iter().take(PRINTED_ISSUES) {
        eprintln!("{i}");
    }
    if issues.len() > PRINTED_ISSUES {
        eprintln!(
            "… and {} more findings (write them all with --report FILE)",
            issues.len() - PRINTED_ISSUES
        );
    }
}

fn write_issue_report(path: &Path, issues: &[ImportIssue]) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    w.write_record(["severity", "source", "feature", "kode", "message"])?;
    for i in issues {
        let sev = serde_json::to_value(i.severity)?;
        w.write_record([
            sev.as_str().unwrap_or_default(),
            &i.source,
            &i.feature.to_string(),
            i.kode.as_deref().unwrap_or(""),
            &i.message,
        ])?;
    }
    w.flush()?;
    Ok(())
}

async fn regions_crosswalk(store: &dyn Store, file: &Path, report: Option<&Path>) -> Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
    let load = read_crosswalk(f).with_context(|| format!("{}", file.display()))?;
    let known = store.region_codes().await?.into_iter().collect();
    let cw = Crosswalk::new(load.entries.clone(), known);
    let missing = cw.missing_targets();
    let no_target = load
        .entries
        .iter()
        .filter(|e| e.kode_kemendagri.is_none())
        .count();
    let mut lines: Vec<(usize, String, String)> = load
        .issues
        .iter()
        .map(|i| (i.line, i.kode_bps.clone(), i.problem.clone()))
        .collect();
    lines.extend(missing.iter().map(|e| {
        let target = e.kode_kemendagri.map(|k| k.to_string()).unwrap_or_default();
        (
            0,
            e.kode_bps.as_str().to_string(),
            format!("maps to {target}, which is not in the loaded boundaries"),
        )
    }));
    if let Some(path) = report {
        let mut w = csv::Writer::from_path(path)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
        w.write_record(["line", "kode_bps", "problem"])?;
        for (line, code, problem) in &lines {
            w.write_record([line.to_string().as_str(), code, problem])?;
        }
        w.flush()?;
    }
    for (line, code, problem) in lines.iter().take(PRINTED_ISSUES) {
        match line {
            0 => eprintln!("warning: BPS {code}: {problem}"),
            n => eprintln!("warning: line {n}: BPS {code}: {problem}"),
        }
    }
    if lines.len() > PRINTED_ISSUES {
        eprintln!(
            "… and {} more (write them all with --report FILE)",
            lines.len() - PRINTED_ISSUES
        );
    }
    store.replace_crosswalk(&load.entries).await?;
    let mapped = load.entries.len() - no_target - missing.len();
    println!(
        "Crosswalk loaded: {} rows; {mapped} map to loaded boundaries, {} map to codes not in \
         the boundaries, {no_target} have no Kemendagri code, {} rows refused.",
        load.entries.len(),
        missing.len(),
        load.issues.len() - no_target,
    );
    Ok(())
}

async fn regions_list(
    store: &dyn Store,
    level: Option<Level>,
    parent: Option<Kode>,
    format: &str,
) -> Result<()> {
    let rows = store.list_regions(&RegionFilter { level, parent }).await?;
    let stdout = std::io::stdout();
    match format {
        "json" => serde_json::to_writer_pretty(stdout.lock(), &rows)?,
        "csv" => {
            let mut w = csv::Writer::from_writer(stdout.lock());
            w.write_record(["kode", "nama", "level", "jenis", "parent"])?;
            for r in &rows {
                let parent = r.parent.map(|p| p.to_string()).unwrap_or_default();
                w.write_record([
                    r.kode.to_string().as_str(),
                    &r.nama,
                    r.level.as_str(),
                    r.jenis.as_str(),
                    &parent,
                ])?;
            }
            w.flush()?;
        }
        _ => {
            for r in &rows {
                println!(
                    "{:<14} {:<10} {}",
                    r.kode.to_string(),
                    r.jenis.as_str(),
                    r.nama
                );
            }
            eprintln!("{} units", rows.len());
        }
    }
    Ok(())
}

async fn export(store: &Arc<dyn Store>, args: ExportArgs) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let snap = crate::aggregate::load_snapshot(store.as_ref(), threads).await?;
    let period = match &args.period {
        None => snap.period(None),
        Some(p) => Some(
            snap.period(Some(p))
                .with_context(|| format!("no data for period {p}"))?,
        ),
    };
    if args.households {
        return export_households(store, &snap, period, &args).await;
    }
    let parent = args
        .parent
        .map(|k| snap.unit_index(k).with_context(|| format!("no region {k}")))
        .transpose()?;
    let filter = crate::export::UnitFilter {
        level: args.level,
        parent,
        bbox: None,
        thresholds: Vec::new(),
    };
    let units = crate::export::select(&snap, &filter, period);
    let table = args.level.as_str();
    match args.format.as_str() {
        "gpkg" => crate::export::write_gpkg(&snap, &units, period, table, &args.output)?,
        "xlsx" => std::fs::write(
            &args.output,
            crate::export::xlsx_bytes(&snap, &units, period, table)?,
        )
        .with_context(|| format!("cannot write {}", args.output.display()))?,
        format => {
            let file = std::fs::File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output.display()))?;
            let out = std::io::BufWriter::new(file);
            if format == "geojson" {
                crate::export::write_geojson(&snap, &units, period, out)?
            } else {
                crate::export::write_csv(&snap, &units, period, !args.point, out)?
            }
        }
    }
    println!(
        "Wrote {} {} units to {}.",
        units.len(),
        args.level,
        args.output.display()
    );
    Ok(())
}

/// `lentera export geojson|csv --households`: streams the households of `period` to a file.
async fn export_households(
    store: &Arc<dyn Store>,
    snap: &crate::aggregate::Snapshot,
    period: Option<&crate::aggregate::snapshot::PeriodIndicators>,
    args: &ExportArgs,
) -> Result<()> {
    use crate::export::{write_households_csv, write_households_geojson, HouseholdFilter};
    if !matches!(args.format.as_str(), "geojson" | "csv") {
        bail!("households are exported as geojson or csv");
    }
    let period = period.context("no households are loaded")?.period.clone();
    let batches = snap.batch_ids_of(&period);
    let filter = HouseholdFilter {
        scope: crate::tiles::Scope::All,
        parent: args.parent,
        bbox: None,
    };
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let out = std::io::BufWriter::new(file);
    let geojson = args.format == "geojson";
    let mut chunks = crate::export::stream_households(store.clone(), batches);
    let written = tokio::task::spawn_blocking(move || {
        let chunks = std::iter::from_fn(|| chunks.blocking_recv());
        if geojson {
            write_households_geojson(chunks, &filter, out)
        } else {
            write_households_csv(chunks, &filter, out)
        }
    })
    .await??;
    println!(
        "Wrote {written} households of {period} to {} (NIK and KK masked).",
        args.output.display()
    );
    Ok(())
}

async fn indicators(store: &dyn Store, args: IndicatorsArgs) -> Result<()> {
    use crate::aggregate::indicators::{value_by_name, HOUSEHOLDS};
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let snap = crate::aggregate::load_snapshot(store, threads).await?;
    let find = |p: &Option<String>| -> Result<_> {
        match p {
            None => Ok(None),
            Some(p) => snap
                .period(Some(p))
                .map(Some)
                .with_context(|| format!("no data for period {p}")),
        }
    };
    let period = find(&args.period)?.or_else(|| snap.period(None));
    let base = find(&args.base)?;
    let units: Vec<u32> = match args.parent {
        Some(k) => snap
            .descendants(
                snap.unit_index(k)
                    .with_context(|| format!("no region {k}"))?,
            )
            .collect(),
        None => (0..snap.units().len() as u32).collect(),
    };
    let units: Vec<u32> = units
        .into_iter()
        .filter(|&u| snap.unit(u).info.level == args.level)
        .collect();
    let rows = crate::server::indicators::unit_rows(&snap, &units, period, base);
    let stdout = std::io::stdout();
    match args.format.as_str() {
        "json" => serde_json::to_writer_pretty(stdout.lock(), &rows)?,
        "csv" => crate::server::indicators::write_csv(stdout.lock(), &rows)?,
        _ => {
            println!(
                "{:<14} {:<32} {:>10} {:>9} {:>9} {:>9} {:>10}",
                "kode", "nama", "households", "desil_1", "desil_1_4", "people", "desa_unk."
            );
            let show = |u: u32, name: &str| {
                let counts = period.and_then(|p| p.counts(u));
                value_by_name(name, counts, snap.denominators(u))
                    .map_or("-".to_string(), |v| format!("{v:.0}"))
            };
            for &u in &units {
                let info = &snap.unit(u).info;
                println!(
                    "{:<14} {:<32} {:>10} {:>9} {:>9} {:>9} {:>10}",
                    info.kode.to_string(),
                    info.nama.chars().take(32).collect::<String>(),
                    show(u, "households"),
                    show(u, "desil_1"),
                    show(u, "desil_1_4"),
                    show(u, "people"),
                    show(u, "desa_unknown"),
                );
            }
            let counted: u64 = units
                .iter()
                .filter_map(|&u| period.and_then(|p| p.counts(u)))
                .map(|c| c[HOUSEHOLDS])
                .sum();
            eprintln!(
                "{} units, {counted} households, period {} (\"-\" = no data)",
                units.len(),
                period.map_or("none", |p| p.period.as_str())
            );
        }
    }
    for b in snap.batches() {
        eprintln!(
            "batch {} ({}, {}): {} households = {} duplicates + {} counted ({} desa, {} kecamatan only, {} kabupaten only) + {} not placed{}; {} relocated by their point, {} with their point in another desa",
            b.id,
            b.file_name,
            b.period,
            b.households,
            b.duplicates,
            b.counted(),
            b.counted_desa,
            b.counted_kecamatan,
            b.counted_kabupaten,
            b.not_placed,
            if b.not_geocoded > 0 {
                format!(" ({} never geocoded: import boundaries first, then re-import)", b.not_geocoded)
            } else {
                String::new()
            },
            b.relocated,
            b.point_elsewhere,
        );
        if !b.reconciles() {
            bail!("batch {} does not reconcile", b.id);
        }
    }
    Ok(())
}

async fn households(store: &dyn Store, cfg: &StoreConfig, cmd: HouseholdsCommand) -> Result<()> {
    match cmd {
        HouseholdsCommand::Import(args) => households_import(store, cfg, args).await,
        HouseholdsCommand::Batches => {
            let batches = store.batches().await?;
            println!(
                "{:>5}  {:<8} {:<7} {:>10} {:>10} {:>9} {:>8}  {:<24} file",
                "batch", "source", "period", "rows", "households", "rejected", "dupl.", "imported"
            );
            for b in &batches {
                println!(
                    "{:>5}  {:<8} {:<7} {:>10} {:>10} {:>9} {:>8}  {:<24} {}",
                    b.id,
                    b.source,
                    b.period,
                    b.counts.rows_read,
                    b.counts.households,
                    b.counts.rows_rejected,
                    b.counts.duplicates_in_batch + b.duplicates_other,
                    b.imported_at,
                    b.file_name
                );
            }
            eprintln!("{} batches", batches.len());
            Ok(())
        }
        HouseholdsCommand::Remove { id } => match store.remove_batch(id).await? {
            Some(b) => {
                println!(
                    "Removed batch {id} ({}, {} households).",
                    b.file_name, b.counts.households
                );
                Ok(())
            }
            None => bail!("there is no batch {id}"),
        },
        HouseholdsCommand::Review { id, output, apply } => {
            households_review(store, id, output, apply).await
        }
        HouseholdsCommand::Rejects { id, output } => {
            if !store.batches().await?.iter().any(|b| b.id == id) {
                bail!("there is no batch {id}");
            }
            let rejects = store.rejects(id).await?;
            match output {
                Some(path) => write_rejects(&path, &rejects)?,
                None => write_rejects_to(std::io::stdout().lock(), &rejects)?,
            }
            Ok(())
        }
    }
}

fn write_rejects(path: &Path, rejects: &[crate::ingest::households::model::Reject]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    let f = std::fs::File::create(path).with_context(|| format!("{}", path.display()))?;
    write_rejects_to(f, rejects)
}

fn write_rejects_to(
    w: impl std::io::Write,
    rejects: &[crate::ingest::households::model::Reject],
) -> Result<()> {
    let mut w = csv::Writer::from_writer(w);
    w.write_record(["row", "column", "value", "reason"])?;
    for r in rejects {
        w.write_record([r.row.to_string().as_str(), &r.column, &r.value, &r.reason])?;
    }
    w.flush()?;
    Ok(())
}

async fn households_review(
    store: &dyn Store,
    id: i64,
    output: Option<PathBuf>,
    apply: Option<PathBuf>,
) -> Result<()> {
    use crate::geocode::review::{needing_review, read_corrections, write_review};
    if !store.batches().await?.iter().any(|b| b.id == id) {
        bail!("there is no batch {id}");
    }
    let geocoder = store_geocoder(store)
        .await?
        .context("no desa boundaries in the store: run `lentera regions import` first")?;
    let stored = store.households(Some(id)).await?;
    let Some(path) = apply else {
        let queue = needing_review(&stored);
        match &output {
            Some(p) => {
                let f = std::fs::File::create(p).with_context(|| format!("{}", p.display()))?;
                write_review(&queue, geocoder.gazetteer(), std::io::BufWriter::new(f))?;
                println!(
                    "{} of {} households of batch {id} need review; written to {}.",
                    queue.len(),
                    stored.len(),
                    p.display()
                );
            }
            None => write_review(&queue, geocoder.gazetteer(), std::io::stdout().lock())?,
        }
        return Ok(());
    };
    let f = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let (corrections, mut problems) = read_corrections(f).map_err(anyhow::Error::msg)?;
    let by_id: std::collections::HashMap<i64, &crate::store::StoredHousehold> =
        stored.iter().map(|s| (s.id, s)).collect();
    let mut session = geocoder.session();
    let mut updates = Vec::new();
    let mut resolved = 0u64;
    for c in &corrections {
        let Some(s) = by_id.get(&c.id) else {
            problems.push(crate::ingest::households::model::Reject {
                row: c.row,
                column: "id".into(),
                value: c.id.to_string(),
                reason: format!("batch {id} has no household with this id"),
            });
            continue;
        };
        let mut h = c.apply_to(&s.household);
        let g = session.geocode(&h);
        resolved += u64::from(!g.needs_review());
        h.geocode = Some(g);
        updates.push((c.id, h));
    }
    let updated = store.correct_households(id, updates).await?;
    println!(
        "Applied {} to batch {id}: {updated} households geocoded again, {resolved} of them \
         now placed without a flag, {} still to review.",
        path.display(),
        updated - resolved
    );
    if !problems.is_empty() {
        eprintln!(
            "{} row(s) of the review file were not used:",
            problems.len()
        );
        write_rejects_to(std::io::stderr().lock(), &problems)?;
    }
    Ok(())
}

async fn households_import(
    store: &dyn Store,
    cfg: &StoreConfig,
    args: HouseholdImportArgs,
) -> Result<()> {
    let secret = Secret::from_env()?;
    let opts = HouseholdImportOptions {
        format: args.format,
        mapping: args.mapping.clone(),
        period: args.period.clone(),
        sheet: args.sheet.clone(),
        progress: true,
    };
    let started = std::time::Instant::now();
    let geocoder = store_geocoder(store).await?;
    if geocoder.is_none() {
        eprintln!("warning: no desa boundaries in the store: households are imported without a desa (run `lentera regions import` first)");
    }
    let outcome = import_households(store, &args.file, &opts, &secret, geocoder).await?;
    let (batch, format, geocoded) = match outcome {
        HouseholdImport::AlreadyImported(b) => {
            println!(
                "{} was already imported as batch {} on {} (same SHA-256); nothing to do.",
                args.file.display(),
                b.id,
                b.imported_at
            );
            return Ok(());
        }
        HouseholdImport::Imported {
            batch,
            format,
            geocoded,
            ..
        } => (batch, format, geocoded),
    };
    let secs = started.elapsed().as_secs_f64();
    let c = &batch.counts;
    let rejects_path = match (&args.rejects, c.rows_rejected) {
        (Some(p), _) => Some(p.clone()),
        (None, 0) => None,
        (None, _) => Some(
            cfg.data_dir
                .join("rejects")
                .join(format!("batch-{}.csv", batch.id)),
        ),
    };
    if let Some(p) = &rejects_path {
        write_rejects(p, &store.rejects(batch.id).await?)?;
    }
    println!(
        "Batch {}: {} ({format}, period {}, {})",
        batch.id, batch.file_name, batch.period, batch.input
    );
    let rows = [
        ("rows read", c.rows_read),
        ("accepted", c.rows_accepted),
        ("rejected", c.rows_rejected),
        ("blank rows skipped", c.blank_rows),
        ("households", c.households),
        ("duplicates within the file", c.duplicates_in_batch),
        ("duplicates of other batches", batch.duplicates_other),
    ];
    for (label, n) in rows {
        println!("  {label:<28} {n:>10}");
    }
    if let Some(p) = rejects_path {
        println!("  reject report                {}", p.display());
    }
    if let Some(g) = geocoded {
        for q in crate::geocode::Quality::ALL {
            if let Some(n) = g.by_quality.get(&q) {
                println!("  geocoded {:<19} {n:>10}", q.as_str());
            }
        }
        println!(
            "  to review                    {:>10}  (lentera households review {})",
            g.needs_review, batch.id
        );
    }
    println!(
        "  time                         {secs:>9.1} s ({:.0} rows/s)",
        c.rows_read as f64 / secs.max(1e-9)
    );
    Ok(())
}

async fn geocode(store: &dyn Store, args: GeocodeArgs) -> Result<()> {
    use crate::geocode::file::{flag_names, geocode_file};
    use crate::geocode::{Geocoder, Quality};
    let geocoder = if args.regions.is_empty() {
        store_geocoder(store).await?.context(
            "no desa boundaries in the store: run `lentera regions import` or pass --regions",
        )?
    } else {
        let regions = crate::generate::regions_from_files(&args.regions)?;
        let crosswalk = match &args.crosswalk {
            Some(p) => {
                let f = std::fs::File::open(p).with_context(|| format!("{}", p.display()))?;
                read_crosswalk(f)?.entries
            }
            None => store.crosswalk().await?,
        };
        let known = regions.iter().map(|r| r.kode).collect();
        let cw = crate::region::crosswalk::Crosswalk::new(crosswalk, known);
        Arc::new(Geocoder::new(&regions, cw))
    };
    let opts = HouseholdImportOptions {
        format: args.format,
        mapping: args.mapping.clone(),
        sheet: args.sheet.clone(),
        progress: true,
        ..Default::default()
    };
    let out = std::fs::File::create(&args.output)
        .with_context(|| format!("{}", args.output.display()))?;
    let started = std::time::Instant::now();
    let s = geocode_file(&args.input, &opts, geocoder, std::io::BufWriter::new(out)).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Geocoded {} households from {} rows ({} rows rejected) into {}.",
        s.households,
        s.rows_read,
        s.rows_rejected,
        args.output.display()
    );
    let pct = |n: u64| 100.0 * n as f64 / s.households.max(1) as f64;
    for q in Quality::ALL {
        let n = s.by_quality.get(&q).copied().unwrap_or(0);
        println!("  {:<28} {n:>10} {:>6.1} %", q.as_str(), pct(n));
    }
    for f in flag_names() {
        if let Some(n) = s.by_flag.get(f) {
            println!("  flag {:<23} {n:>10} {:>6.1} %", f, pct(*n));
        }
    }
    println!(
        "  time                         {secs:>9.1} s ({:.0} households/s)",
        s.households as f64 / secs.max(1e-9)
    );
    Ok(())
}

async fn generate(store: &dyn Store, args: GenerateArgs) -> Result<()> {
    use crate::generate::{GenerateOptions, OutputEncoding};
    if args.format == SourceFormat::Custom {
        bail!("the generator writes p3ke, dtks, dtsen or verval files, not custom ones");
    }
    let regions = if args.regions.is_empty() {
        let mut all = Vec::new();
        for level in Level::ALL {
            all.extend(store.regions(level).await?);
        }
        all
    } else {
        crate::generate::regions_from_files(&args.regions)?
    };
    let crosswalk = match &args.crosswalk {
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("{}", p.display()))?;
            read_crosswalk(f)?.entries
        }
        None => store.crosswalk().await?,
    };
    let stats = match &args.stats {
        Some(p) => crate::generate::read_kabupaten_stats(p)?,
        None => Default::default(),
    };
    let opts = GenerateOptions {
        format: args.format,
        count: args.count,
        seed: args.seed,
        delimiter: u8::try_from(args.delimiter)
            .context("the delimiter must be one ASCII character")?,
        encoding: if args.windows_1252 {
            OutputEncoding::Windows1252
        } else {
            OutputEncoding::Utf8
        },
    };
    let summary = crate::generate::write_households(
        &regions,
        &crosswalk,
        &stats,
        &opts,
        &args.output,
        args.truth.as_deref(),
    )?;
    println!(
        "Wrote {} synthetic {} households ({} rows) to {}.",
        summary.households,
        args.format,
        summary.rows,
        args.output.display()
    );
    Ok(())
}

async fn serve(store: Arc<dyn Store>, args: &ServeArgs) -> Result<()> {
    let addr = SocketAddr::new(args.bind, args.port);
    let started = std::time::Instant::now();
    let live = crate::server::Live::load(store)
        .await
        .context("cannot build the first snapshot")?;
    tracing::info!(
        households = live.snapshot().households().len(),
        seconds = started.elapsed().as_secs_f64(),
        "snapshot ready"
    );
    let refresh = std::time::Duration::from_secs_f64(args.refresh_secs.clamp(0.1, 3600.0));
    let options = crate::server::ServerOptions {
        tokens: crate::server::tiles::ApiToken::parse_list(
            args.api_tokens.as_deref().unwrap_or(""),
        )?,
        tile_cache_bytes: args.tile_cache_mib.saturating_mul(1 << 20),
        web_dir: args.web_dir.clone(),
    };
    crate::server::serve(live, addr, refresh, options)
        .await
        .with_context(|| format!("cannot serve on {addr}"))
}

async fn demo(store: Arc<dyn Store>, cfg: &StoreConfig, args: DemoArgs) -> Result<()> {
    use crate::demo::{synthetic_province, DATASET_SYNTHETIC};
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
        let record = crate::store::ImportRecord {
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
        crate::demo::load_demo_households(store.as_ref(), args.seed).await?;
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
    if args.no_serve {
        return Ok(());
    }
    println!("Open http://{}:{}/", args.serve.bind, args.serve.port);
    serve(store, &args.serve).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
