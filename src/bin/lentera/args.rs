//! The command line's arguments, typed where they are read: levels, codes, periods and formats
//! are parsed once here, and groups shared by several commands are one struct each.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use lentera::export::{Format, TableFormat};
use lentera::ingest::budget::MemoryBudget;
use lentera::ingest::households::FileOptions;
use lentera::model::{AuditAction, Period, Role, SourceFormat, UserName};
use lentera::region::{Kode, Level};

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
pub struct Cli {
    /// Directory of the embedded store.
    #[arg(
        long,
        global = true,
        env = "LENTERA_DATA_DIR",
        default_value = "./lentera-data"
    )]
    pub data_dir: PathBuf,
    /// PostGIS connection URL; when given, the embedded store is not used.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines as text, or as one JSON object per line (for journald, Loki, Elasticsearch).
    #[arg(long, global = true, env = "LENTERA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Settings from a TOML file: `long-option = value` lines (e.g. `port = 8080`,
    /// `data-dir = "/var/lib/lentera"`, `private = true`, `secret = "…"`); the command line and
    /// the environment take precedence.
    #[arg(long, global = true, env = "LENTERA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
    #[command(
        after_help = "Aggregates are public (units with 1–4 households hidden, see \
--suppress-below); household data needs a login or a personal API token of a user whose \
role and scope open it. With --private every request needs a login.\n\n\
Examples:\n  lentera serve --port 8080\n  \
lentera serve --private --behind-https --bind 0.0.0.0"
    )]
    Serve(ServeArgs),
    /// People who use Lentera: roles, scopes, passwords.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Personal API tokens for GIS clients and scripts.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// The audit trail: list it, or verify its hash chain.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  lentera audit --since 2026-11-01 --user op.samarinda\n  \
lentera audit --action household_read --format csv > akses.csv\n  lentera audit verify"
    )]
    Audit(AuditArgs),
    /// Write a consistent copy of the whole store (households, users, audit trail) to a new
    /// file, while servers keep running.
    #[command(
        after_help = "The embedded store is copied with SQLite's online backup; PostGIS \
with pg_dump (custom format). Examples:\n  lentera backup -o lentera-2026-12-01.sqlite\n  \
lentera --database-url postgres://… backup -o lentera-2026-12-01.dump"
    )]
    Backup {
        /// The backup file (must not exist).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Replace the whole store with a backup; running servers pick it up within
    /// --refresh-secs.
    #[command(
        after_help = "Everything written after the backup was taken is replaced, the \
audit trail included; the restore itself is recorded in the restored trail.\n\n\
Example:\n  lentera restore lentera-2026-12-01.sqlite"
    )]
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Verval rounds: the periods the province collects verified lists for.
    #[command(
        subcommand,
        after_help = "Operators upload their kabupaten's list in the web page (or with \
POST /api/batches); their batches count once an admin accepts them. A period without a round \
works as before: imports by admins count at once.\n\n\
Examples:\n  lentera rounds open 2026-03 --deadline 2026-04-30\n  \
lentera rounds open 2026-03 --deadline 2026-04-30 --expect 64.01,64.72\n  \
lentera rounds list\n  lentera rounds close 2026-03"
    )]
    Rounds(RoundsCommand),
    /// Regional programmes: register them, upload their lists, see what they reach.
    #[command(
        subcommand,
        after_help = "A household programme's list names its beneficiaries by NIK or KK number (hashed under LENTERA_SECRET as they are read, never stored in clear) and is matched to the households of a period; a location programme's list names region codes with amounts. Coverage, gaps and the targeting builder are in the web page's \"Program\" view and at /api/programs.\n\n\
Examples:\n  lentera programs add \"Bedah Rumah\" --agency \"Dinas Perumahan\" --year 2026 --desil 1-4 \
--budget 5000000000 --unit-cost 20000000\n  \
lentera programs beneficiaries 1 penerima.xlsx --period 2026-03 --report tidak-cocok.csv\n  \
lentera programs list\n  lentera programs remove 1"
    )]
    Programs(ProgramsCommand),
    /// Goals: the value an indicator should reach by a year, drawn as the target line of the
    /// map's trend charts and in the printed profiles.
    #[command(
        subcommand,
        after_help = "A goal set for a unit holds for every unit inside it; one without --unit \
holds everywhere. A rate's value is a percentage.\n\n\
Examples:\n  lentera goals set --indicator extreme_poor_rate --value 0 --year 2026 --unit 64\n  \
lentera goals set --indicator desil_1_rate --value 2.5 --year 2027\n  \
lentera goals list\n  lentera goals remove --indicator extreme_poor_rate --unit 64"
    )]
    Goals(GoalsCommand),
    /// Draw a static map (PNG) for a report, a slide or a chat group.
    #[command(
        subcommand,
        after_help = "The picture is the one GET /api/map.png gives for the same parameters \
(the same classes and colours as the web map, aggregate figures as an anonymous reader sees \
them), byte for byte.\n\n\
Examples:\n  lentera render map --level desa --parent 64.72 -o peta-samarinda.png\n  \
lentera render map --level kecamatan --indicator desil_1_rate --scale 2 -o peta-cetak.png\n  \
lentera render profile 64.08 -o profil-kutai-timur.pdf"
    )]
    Render(RenderCommand),
    /// Generate the synthetic demo province into the store and serve it.
    #[command(
        after_help = "Examples:\n  lentera demo\n  lentera demo --port 9000\n  \
lentera --data-dir /tmp/demo demo --no-serve"
    )]
    Demo(DemoArgs),
}

#[derive(Subcommand, Debug)]
pub enum RegionsCommand {
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
        #[arg(long, value_enum, default_value_t)]
        format: TableFormat,
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
pub enum HouseholdsCommand {
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

/// How to read a household file: its format (detected when omitted), a custom mapping, the
/// sheet of a workbook.
#[derive(Args, Debug, Clone)]
pub struct FileArgs {
    /// Source format; detected from the header when omitted.
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Option<SourceFormat>,
    /// Column mapping (TOML) for other files.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Sheet of a workbook (the first sheet with a household header when omitted).
    #[arg(long)]
    pub sheet: Option<String>,
    /// MiB by which the import may grow this process (the file's repeats, the index of earlier
    /// batches, a workbook's strings); past it the import stops in words and keeps nothing.
    /// 0: no limit.
    #[arg(long, default_value_t = MemoryBudget::DEFAULT_MIB, env = "LENTERA_MAX_IMPORT_MIB")]
    pub max_import_mib: u64,
}

impl FileArgs {
    /// The reading options, with a progress bar on a terminal.
    pub fn options(&self) -> FileOptions {
        FileOptions {
            format: self.format,
            mapping: self.mapping.clone(),
            sheet: self.sheet.clone(),
            progress: true,
            memory: MemoryBudget::mib(self.max_import_mib),
            ..FileOptions::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct HouseholdImportArgs {
    /// The file (CSV, TXT or XLSX).
    pub file: PathBuf,
    #[command(flatten)]
    pub read: FileArgs,
    /// Data period, YYYY-MM.
    #[arg(long)]
    pub period: Period,
    /// Where to write the reject report (default: <data-dir>/rejects/batch-<id>.csv).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

/// Where the regions come from: boundary files, or the store.
#[derive(Args, Debug, Clone)]
pub struct RegionSource {
    /// Boundary files, or a directory holding kabupaten, kecamatan and desa files, instead of
    /// the regions in the store.
    #[arg(long)]
    pub regions: Vec<PathBuf>,
    /// BPS ↔ Kemendagri crosswalk CSV (the store's crosswalk when omitted).
    #[arg(long)]
    pub crosswalk: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GeocodeArgs {
    /// The household file (CSV, TXT or XLSX).
    pub input: PathBuf,
    /// Output CSV.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub read: FileArgs,
    #[command(flatten)]
    pub source: RegionSource,
}

#[derive(Subcommand, Debug)]
pub enum GenerateCommand {
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
pub struct GenerateArgs {
    /// Format to write: p3ke, dtks, dtsen or verval.
    #[arg(long, value_enum, ignore_case = true)]
    pub format: SourceFormat,
    /// Number of households.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file; `.xlsx` writes a workbook, anything else CSV.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub source: RegionSource,
    /// Kabupaten population and poverty figures (kode_kemendagri, penduduk_2025, persen_miskin_2024).
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// CSV delimiter.
    #[arg(long, default_value = ",")]
    pub delimiter: char,
    /// Write CSV in Windows-1252 instead of UTF-8.
    #[arg(long)]
    pub windows_1252: bool,
    /// Also write the true desa of each household (for geocoding evaluation).
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Require every feature to be at this level.
    #[arg(long)]
    pub level: Option<Level>,
    /// Property holding the region code.
    #[arg(long, default_value = "kode")]
    pub code_field: String,
    /// Property holding the region name.
    #[arg(long, default_value = "nama")]
    pub name_field: String,
    /// Import the valid features and skip refused ones instead of refusing the import.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Check and report only; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write every finding to this CSV file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// Which units: those of a level, inside a unit, in a period.
#[derive(Args, Debug, Clone)]
pub struct UnitSelection {
    /// Level of the units (default: kabupaten/kota for indicators, desa for exports).
    #[arg(long)]
    pub level: Option<Level>,
    /// Only units inside this code.
    #[arg(long)]
    pub parent: Option<Kode>,
    /// Period `YYYY-MM` (default: the latest with data).
    #[arg(long)]
    pub period: Option<Period>,
}

/// What `lentera export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// GeoJSON FeatureCollection (RFC 7946).
    Geojson,
    /// CSV with a WKT outline (or a point inside each unit).
    Csv,
    /// An Excel workbook with a point inside each unit.
    Xlsx,
    /// GeoPackage 1.3.
    Gpkg,
    /// A PMTiles v3 archive of the boundary layers' vector tiles, as the server serves them
    /// to anonymous visitors: a public map for any static web host, or offline.
    Pmtiles,
}

impl ExportFormat {
    /// The unit export format, `None` for PMTiles.
    pub fn units(self) -> Option<Format> {
        match self {
            ExportFormat::Geojson => Some(Format::Geojson),
            ExportFormat::Csv => Some(Format::Csv),
            ExportFormat::Xlsx => Some(Format::Xlsx),
            ExportFormat::Gpkg => Some(Format::Gpkg),
            ExportFormat::Pmtiles => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Format.
    #[arg(value_enum)]
    pub format: ExportFormat,
    #[command(flatten)]
    pub units: UnitSelection,
    /// CSV: a point inside each unit (lon, lat) instead of WKT.
    #[arg(long)]
    pub point: bool,
    /// Export the households of the period (head names and addresses, NIK and KK masked;
    /// GeoJSON points or CSV) instead of units. Personal data: keep the file where only
    /// those entitled can read it.
    #[arg(long, conflicts_with_all = ["level", "point"])]
    pub households: bool,
    /// PMTiles: the boundary layers, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "kabupaten,kecamatan,desa", value_parser = parse_layer)]
    pub layers: Vec<lentera::tiles::Layer>,
    /// PMTiles: the deepest zoom written (MapLibre draws deeper zooms from it).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub maxzoom: u8,
    /// PMTiles: units with 1 up to this many households carry no figures (as anonymous
    /// visitors see them; 0 shows every figure, for a file that stays inside the office).
    #[arg(long, default_value_t = 4)]
    pub suppress_below: u64,
    /// Output file.
    #[arg(short, long)]
    pub output: PathBuf,
}

fn parse_layer(s: &str) -> Result<lentera::tiles::Layer, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a layer (kabupaten, kecamatan, desa)"))
}

#[derive(Args, Debug)]
pub struct IndicatorsArgs {
    #[command(flatten)]
    pub units: UnitSelection,
    /// Add the change from this period.
    #[arg(long)]
    pub base: Option<Period>,
    /// Output format (csv and json hold every indicator).
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "LENTERA_BIND")]
    pub bind: IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080, env = "LENTERA_PORT")]
    pub port: u16,
    /// Seconds between checks of the store for new data (imports from the CLI, corrections,
    /// boundaries); a change rebuilds the snapshot and swaps it in.
    #[arg(long, default_value_t = 2.0, env = "LENTERA_REFRESH_SECS")]
    pub refresh_secs: f64,
    /// Require a login for everything but the page and the login itself.
    #[arg(long, env = "LENTERA_PRIVATE")]
    pub private: bool,
    /// Served behind a TLS-terminating reverse proxy: session cookies are `Secure`, and the
    /// client address is the last one of X-Forwarded-For.
    #[arg(long, env = "LENTERA_BEHIND_HTTPS")]
    pub behind_https: bool,
    /// Anonymous visitors and viewers do not see the figures of units with 1 up to this many
    /// households (0: show all; the page shows "< N+1").
    #[arg(long, default_value_t = 4, env = "LENTERA_SUPPRESS_BELOW")]
    pub suppress_below: u64,
    /// Minutes without a request after which a web session ends.
    #[arg(long, default_value_t = 120, env = "LENTERA_SESSION_IDLE_MINUTES")]
    pub session_idle_minutes: u64,
    /// Hours after login at which a web session ends in any case.
    #[arg(long, default_value_t = 12, env = "LENTERA_SESSION_HOURS")]
    pub session_hours: u64,
    /// Seconds that requests in flight (exports, uploads) may take to finish after SIGTERM or
    /// Ctrl-C; new connections are refused meanwhile.
    #[arg(long, default_value_t = 30.0, env = "LENTERA_GRACE_SECS")]
    pub grace_secs: f64,
    /// Seconds a client may take to send a request's headers (and a kept-alive connection may
    /// stay idle); slower clients are disconnected, so they cannot hold the server's
    /// connections.
    #[arg(long, default_value_t = 15.0, env = "LENTERA_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: f64,
    /// MiB of encoded vector tiles kept in memory.
    #[arg(long, default_value_t = 256, env = "LENTERA_TILE_CACHE_MIB")]
    pub tile_cache_mib: u64,
    /// Most public boundary tiles drawn ahead, on all cores, whenever new data arrives, so
    /// that no map reader waits for a tile (a province to zoom 14 is ~35,000 tiles, ~12 MiB);
    /// coarse layers first, deeper zooms past the budget are drawn on demand. 0: none.
    #[arg(long, default_value_t = lentera::server::pyramid::DEFAULT_PRERENDER_TILES, env = "LENTERA_PRERENDER_TILES")]
    pub prerender_tiles: usize,
    /// Largest household file an operator or admin may upload in the page or through
    /// `POST /api/batches`, MiB; larger uploads get `413` and leave nothing behind.
    #[arg(long, default_value_t = lentera::server::batches::DEFAULT_MAX_UPLOAD_MIB, env = "LENTERA_MAX_UPLOAD_MIB")]
    pub max_upload_mib: u64,
    /// MiB by which one upload's import may grow the server (see `households import`); past
    /// it the upload is refused in words and nothing is kept. 0: no limit.
    #[arg(long, default_value_t = MemoryBudget::DEFAULT_MIB, env = "LENTERA_MAX_IMPORT_MIB")]
    pub max_import_mib: u64,
    /// Directory holding the web map's npm packages (`npm ci` there installs MapLibre).
    #[arg(long, env = "LENTERA_WEB_DIR", default_value = lentera::server::web::DEFAULT_WEB_DIR)]
    pub web_dir: PathBuf,
    /// Font files or directories the map's place names are drawn with (TrueType/OpenType;
    /// repeat or separate with `:`). Default: DejaVu Sans (Debian `fonts-dejavu-core`) and
    /// Noto Sans (`fonts-noto-core`) where installed. Without fonts the map shows no names.
    #[arg(long = "fonts", env = "LENTERA_FONTS", value_delimiter = ':')]
    pub fonts: Vec<PathBuf>,
    /// URL of a read-only streaming replica of the --database-url primary: snapshots and
    /// household exports are read there, sessions, the audit trail, uploads and imports go to
    /// the primary (PostGIS only).
    #[arg(long, env = "LENTERA_REPLICA_URL", hide_env_values = true)]
    pub replica_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum RenderCommand {
    /// A choropleth map as PNG.
    Map(Box<RenderMapArgs>),
    /// The printable profile of a unit as PDF (GET /api/profile/{kode}.pdf).
    Profile {
        /// The unit's code, e.g. 64.08.
        kode: String,
        /// Where the PDF goes.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// What `render map` draws (the parameters of `/api/map.png`).
#[derive(Args, Debug)]
pub struct RenderMapArgs {
    /// Level of the units coloured: kabupaten, kecamatan or desa.
    #[arg(long)]
    pub level: Option<String>,
    /// Only units inside this one (its code).
    #[arg(long)]
    pub parent: Option<String>,
    /// What is coloured (an indicator, or its change `…_change` with --base).
    #[arg(long)]
    pub indicator: Option<String>,
    /// The period (latest when absent).
    #[arg(long)]
    pub period: Option<String>,
    /// The base period of a change.
    #[arg(long)]
    pub base: Option<String>,
    /// How classes are made: ckmeans, quantile, equal_interval, pretty, manual.
    #[arg(long)]
    pub method: Option<String>,
    /// Class breaks for the manual method, e.g. 10,50,100.
    #[arg(long)]
    pub breaks: Option<String>,
    /// The number of classes (3–9).
    #[arg(long)]
    pub classes: Option<String>,
    /// The colours (a ColorBrewer name such as YlOrRd).
    #[arg(long)]
    pub palette: Option<String>,
    /// Width in pixels (200–4000, default 1200).
    #[arg(long)]
    pub width: Option<String>,
    /// Height in pixels (200–4000, default 800).
    #[arg(long)]
    pub height: Option<String>,
    /// 2 for print: twice the pixels, the same layout.
    #[arg(long)]
    pub scale: Option<String>,
    /// The title (default: the indicator and the area).
    #[arg(long)]
    pub title: Option<String>,
    /// Draw the names of the units: true or false (default true).
    #[arg(long)]
    pub labels: Option<String>,
    /// Where the PNG goes.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum GoalsCommand {
    /// Set a goal (replacing one of the same indicator, unit and year).
    Set {
        /// The indicator (`lentera indicators --help` and /api/fields list them), e.g.
        /// `extreme_poor_rate`, `desil_1_rate`, `desil_1`.
        #[arg(long)]
        indicator: String,
        /// The value to reach: a percentage for a rate, a number of households for a count.
        #[arg(long)]
        value: f64,
        /// The year by which.
        #[arg(long)]
        year: u16,
        /// The unit it is set for (and every unit inside it); everywhere when absent.
        #[arg(long)]
        unit: Option<Kode>,
    },
    /// List the goals.
    List,
    /// Remove the goals of an indicator for a unit (of one year with --year).
    Remove {
        /// The indicator.
        #[arg(long)]
        indicator: String,
        /// The unit (the goals set for everywhere when absent).
        #[arg(long)]
        unit: Option<Kode>,
        /// Only the goal of this year.
        #[arg(long)]
        year: Option<u16>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RoundsCommand {
    /// Open the round of a period (or change the deadline and expected units of the round
    /// already open; reopens a closed one).
    Open {
        /// The period, YYYY-MM.
        period: Period,
        /// The last day of delivery, YYYY-MM-DD.
        #[arg(long)]
        deadline: String,
        /// The kabupaten/kota expected to deliver, comma separated (every loaded one when
        /// absent).
        #[arg(long, value_delimiter = ',')]
        expect: Vec<Kode>,
    },
    /// List the rounds.
    List,
    /// Close a round: no more uploads.
    Close {
        /// The period, YYYY-MM.
        period: Period,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProgramsCommand {
    /// Register a programme.
    Add {
        /// Its name.
        name: String,
        /// The agency running it.
        #[arg(long)]
        agency: String,
        /// Budget year.
        #[arg(long)]
        year: i32,
        /// Whom it reaches: households (a list of NIK/KK) or locations (region codes).
        #[arg(long, default_value = "household")]
        kind: lentera::model::ProgramKind,
        /// The desil range it is meant for, e.g. 1-4 (every desil when absent).
        #[arg(long)]
        desil: Option<lentera::model::DesilRange>,
        /// Budget in rupiah.
        #[arg(long)]
        budget: Option<u64>,
        /// Cost per household or place in rupiah.
        #[arg(long)]
        unit_cost: Option<u64>,
    },
    /// List the programmes with their lists.
    List,
    /// Remove a programme and its list.
    Remove {
        /// The programme's id.
        id: i64,
    },
    /// Upload a programme's list (CSV or XLSX), replacing the one before.
    Beneficiaries {
        /// The programme's id.
        id: i64,
        /// The file.
        file: PathBuf,
        /// The period whose households it is matched to, YYYY-MM.
        #[arg(long)]
        period: Period,
        /// Write the rows refused or matching no household (NIK and KK masked) to this CSV.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user (the password is asked for, or read from standard input).
    #[command(
        after_help = "Roles: admin (everything, manages users), operator (imports and \
reads household data of its kabupaten/kota or kecamatan), analyst (aggregates everywhere, \
household data of the scope granted, always with a stated purpose), viewer (aggregates \
only).\n\nExamples:\n  lentera users add admin.prov --role admin\n  \
echo \"$PASS\" | lentera users add op.samarinda --role operator --scope 64.72 --password-stdin\n  \
lentera users add bappeda --role analyst --scope 64.72,64.71"
    )]
    Add {
        /// User name (letters, digits, `.`, `_`, `-`, `@`).
        name: UserName,
        /// Role.
        #[arg(long, value_enum)]
        role: Role,
        /// Region codes of the user's jurisdiction, comma-separated.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<Kode>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user: no login, sessions end, tokens stop working.
    Disable {
        /// User name.
        name: UserName,
    },
    /// Enable a user again (and lift a lockout).
    Enable {
        /// User name.
        name: UserName,
    },
    /// Lift the lockout after too many failed logins.
    Unlock {
        /// User name.
        name: UserName,
    },
    /// Set a new password (the user's sessions end).
    Passwd {
        /// User name.
        name: UserName,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Replace a user's scope.
    Grant {
        /// User name.
        name: UserName,
        /// Region codes, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<Kode>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Create a personal API token for a user; it is printed once and stored only as a hash.
    #[command(
        after_help = "The token works as `Authorization: Bearer TOKEN` with the user's \
role and scope, e.g. in QGIS or GDAL:\n  \
ogrinfo OAPIF:http://host:8080/ogc --config GDAL_HTTP_HEADERS \"Authorization: Bearer TOKEN\"\n\n\
Examples:\n  lentera tokens create op.samarinda --expires 90d --label qgis"
    )]
    Create {
        /// User name.
        name: UserName,
        /// Lifetime (e.g. 90d, 12h); without it the token never expires.
        #[arg(long)]
        expires: Option<humantime::Duration>,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (of one user, or all).
    List {
        /// User name.
        name: Option<UserName>,
    },
    /// Revoke a token.
    Revoke {
        /// Token id (see `lentera tokens list`).
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub verify: Option<AuditCommand>,
    /// From this date or time on (2026-11-01, 2026-11-01T08:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// One user's records.
    #[arg(long)]
    pub user: Option<String>,
    /// One action's records.
    #[arg(long, value_enum)]
    pub action: Option<AuditAction>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain; names the first record altered, removed or inserted.
    Verify,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Seed of the synthetic province.
    #[arg(long, default_value_t = lentera::demo::DEFAULT_SEED)]
    pub seed: u64,
    /// Generate and store only; do not start the server.
    #[arg(long)]
    pub no_serve: bool,
    /// The synthetic boundaries only, without the synthetic household files (to import
    /// files of your own into the demo province).
    #[arg(long)]
    pub no_households: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_are_typed_where_they_are_read() {
        let cli = Cli::try_parse_from([
            "lentera",
            "indicators",
            "--level",
            "desa",
            "--parent",
            "6472",
            "--period",
            "2025-03",
            "--format",
            "csv",
        ])
        .unwrap();
        let Command::Indicators(args) = cli.command else {
            panic!("indicators")
        };
        assert_eq!(args.units.level, Some(Level::Desa));
        assert_eq!(
            args.units.parent.map(|k| k.to_string()).as_deref(),
            Some("64.72")
        );
        assert_eq!(args.format, TableFormat::Csv);
        let bad = Cli::try_parse_from(["lentera", "export", "pdf", "-o", "x"]).unwrap_err();
        assert!(bad.to_string().contains("pdf"), "{bad}");
        let bad = Cli::try_parse_from([
            "lentera",
            "households",
            "import",
            "f.csv",
            "--period",
            "2024-13",
        ])
        .unwrap_err();
        assert!(bad.to_string().contains("YYYY-MM"), "{bad}");
        let ok = Cli::try_parse_from([
            "lentera",
            "households",
            "import",
            "f.csv",
            "--period",
            "2024-12",
            "--format",
            "P3KE",
        ]);
        assert!(ok.is_ok());
    }
}
