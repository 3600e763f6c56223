//! Boundary import: GeoJSON, Shapefile (`.shp` or `.zip`) and GeoPackage files of provinces,
//! kabupaten/kota, kecamatan and desa/kelurahan.
//!
//! Reading and checking happen before anything is written: every feature must have a valid
//! code, a name and a polygonal geometry (repaired when a union of its parts fixes it), or
//! the whole import is refused and the store keeps its previous boundaries.

mod geojson;
mod gpkg;
mod shapefile;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use geo::MultiPolygon;
use serde::Serialize;

use crate::geometry::{clean_boundary, Cleaned};
use crate::region::{Kode, Level, Region};

/// One feature as read from a file, before checking.
#[derive(Debug, Clone)]
pub struct RawFeature {
    /// 1-based position in its layer.
    pub number: usize,
    /// Attributes, as JSON values.
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// The geometry, or why it could not be read.
    pub geometry: Result<MultiPolygon<f64>, String>,
}

/// The features of one file or one layer of a file.
#[derive(Debug, Clone)]
pub struct SourceLayer {
    /// File name, with `:layer` for multi-layer sources.
    pub name: String,
    /// Features in file order.
    pub features: Vec<RawFeature>,
}

/// Errors that stop a boundary import. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    /// The file cannot be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not in the format its name or content says.
    #[error("{source_name}: {message}")]
    Format {
        /// File (and layer) name.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// The file's coordinates are not WGS84 longitude/latitude.
    #[error("{source_name}: coordinate reference system `{crs}` is not WGS84 longitude/latitude; reproject first, e.g. `ogr2ogr -t_srs EPSG:4326 out.gpkg in.shp`")]
    Crs {
        /// File (and layer) name.
        source_name: String,
        /// The CRS the file names.
        crs: String,
    },
    /// The format cannot be told from the name or content.
    #[error(
        "{0}: unknown boundary format; expected .geojson/.json, .shp, .zip (shapefile) or .gpkg"
    )]
    UnknownFormat(PathBuf),
    /// Features were refused.
    #[error(
        "{count} of {total} features cannot be imported (first: {first}); nothing was changed"
    )]
    Invalid {
        /// How many features were refused.
        count: usize,
        /// How many were read.
        total: usize,
        /// The first problem, in words.
        first: String,
        /// Every finding of the refused import, for the report.
        issues: Vec<ImportIssue>,
    },
    /// No features at all.
    #[error("no features found in {0}; nothing was changed")]
    Empty(String),
}

impl BoundaryError {
    fn io(path: &Path, source: std::io::Error) -> BoundaryError {
        BoundaryError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How serious an import finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The feature cannot be imported.
    Error,
    /// The geometry was invalid and has been repaired.
    Repaired,
    /// Imported, but worth a look (e.g. the parent unit is not loaded).
    Warning,
}

/// One finding of an import, tied to a feature where there is one.
#[derive(Debug, Clone, Serialize)]
pub struct ImportIssue {
    /// How serious.
    pub severity: Severity,
    /// File (and layer) name.
    pub source: String,
    /// 1-based feature number in that source, 0 for findings about the whole import.
    pub feature: usize,
    /// Region code, when known.
    pub kode: Option<String>,
    /// What was found, in plain words.
    pub message: String,
}

impl fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Repaired => "repaired",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.source)?;
        if self.feature > 0 {
            write!(f, " feature {}", self.feature)?;
        }
        if let Some(k) = &self.kode {
            write!(f, " ({k})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Options of `lentera regions import`.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Every feature must be at this level when given.
    pub level: Option<Level>,
    /// Property holding the code (default `kode`).
    pub code_field: Option<String>,
    /// Property holding the name (default `nama`).
    pub name_field: Option<String>,
    /// Import the valid features and skip the refused ones instead of refusing the import.
    pub skip_invalid: bool,
    /// Check and report only; write nothing.
    pub dry_run: bool,
}

/// Checked units ready to be stored, with every finding.
#[derive(Debug, Default)]
pub struct PreparedImport {
    /// The units that passed.
    pub regions: Vec<Region>,
    /// Every finding, in source order.
    pub issues: Vec<ImportIssue>,
    /// Sources read.
    pub sources: Vec<String>,
    /// Features read in all.
    pub features_read: usize,
}

impl PreparedImport {
    /// Number of refused features.
    pub fn refused(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Error && i.feature > 0)
            .count()
    }
}

/// The file name of a path, for messages.
fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// File extensions read as boundaries when a directory is given.
const BOUNDARY_EXTENSIONS: [&str; 5] = ["geojson", "json", "shp", "zip", "gpkg"];

/// Expands directories into the boundary files they hold (sorted by name).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, BoundaryError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| BoundaryError::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        BOUNDARY_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                    })
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads the layers of one boundary file, choosing the reader by extension or content.
/// Returns the layers and any warnings about the file as a whole.
pub fn read_file(path: &Path) -> Result<(Vec<SourceLayer>, Vec<String>), BoundaryError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let kind = match ext.as_str() {
        "geojson" | "json" => "geojson",
        "shp" => "shp",
        "zip" => "zip",
        "gpkg" => "gpkg",
        _ => sniff(path)?,
    };
    match kind {
        "geojson" => {
            let size = std::fs::metadata(path)
                .map_err(|e| BoundaryError::io(path, e))?
                .len();
            geojson::check_size(&display_name(path), size, &geojson::LIMITS)?;
            let bytes = std::fs::read(path).map_err(|e| BoundaryError::io(path, e))?;
            let text = String::from_utf8(bytes).map_err(|_| BoundaryError::Format {
                source_name: display_name(path),
                message: "not valid GeoJSON (the file is not UTF-8 text)".into(),
            })?;
            Ok((vec![geojson::read(&display_name(path), &text)?], vec![]))
        }
        "shp" => {
            let (layer, warnings) = shapefile::read_shp(path)?;
            Ok((vec![layer], warnings))
        }
        "zip" => {
            let (layers, warnings): (Vec<_>, Vec<_>) =
                shapefile::read_zip(path)?.into_iter().unzip();
            Ok((layers, warnings.concat()))
        }
        _ => Ok((gpkg::read(path)?, vec![])),
    }
}

fn sniff(path: &Path) -> Result<&'static str, BoundaryError> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).map_err(|e| BoundaryError::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| BoundaryError::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(b"SQLite format 3") {
        Ok("gpkg")
    } else if head.starts_with(b"PK\x03\x04") {
        Ok("zip")
    } else if head.starts_with(&[0, 0, 0x27, 0x0a]) {
        Ok("shp")
    } else if head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
    {
        Ok("geojson")
    } else {
        Err(BoundaryError::UnknownFormat(path.to_path_buf()))
    }
}

/// Finds a property by exact name, then case-insensitively.
fn property<'a>(
    props: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    props.get(name).or_else(|| {
        props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A property value as text: strings trimmed, whole numbers without a fraction.
fn property_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

/// Checks the features of all layers and turns the good ones into regions. `existing` holds
/// the codes already in the store, so parents loaded earlier count for the nesting check.
pub fn prepare(
    layers: Vec<SourceLayer>,
    opts: &ImportOptions,
    existing: &HashSet<Kode>,
) -> PreparedImport {
    let code_field = opts.code_field.as_deref().unwrap_or("kode");
    let name_field = opts.name_field.as_deref().unwrap_or("nama");
    let mut out = PreparedImport::default();
    let mut first_seen: HashMap<Kode, (String, usize)> = HashMap::new();
    for layer in layers {
        out.sources.push(layer.name.clone());
        for f in layer.features {
            out.features_read += 1;
            let mut issue = |severity, kode: Option<String>, message: String| {
                out.issues.push(ImportIssue {
                    severity,
                    source: layer.name.clone(),
                    feature: f.number,
                    kode,
                    message,
                });
            };
            let Some(raw_code) = property(&f.properties, code_field).and_then(property_text) else {
                let available: Vec<&str> = f.properties.keys().map(String::as_str).collect();
                issue(
                    Severity::Error,
                    None,
                    format!(
                        "missing code property `{code_field}` (properties present: {}); name it with --code-field",
                        if available.is_empty() { "none".to_string() } else { available.join(", ") }
                    ),
                );
                continue;
            };
            let kode = match Kode::parse(&raw_code) {
                Ok(k) => k,
                Err(e) => {
                    issue(Severity::Error, Some(raw_code), e.to_string());
                    continue;
                }
            };
            let label = Some(kode.to_string());
            if let Some(level) = opts.level {
                if kode.level() != level {
                    issue(
                        Severity::Error,
                        label,
                        format!("is a {} code but --level {level} was given", kode.level()),
                    );
                    continue;
                }
            }
            let Some(nama) = property(&f.properties, name_field).and_then(property_text) else {
                issue(
                    Severity::Error,
                    label,
                    format!("missing name property `{name_field}`; name it with --name-field"),
                );
                continue;
            };
            if let Some((src, n)) = first_seen.get(&kode) {
                issue(
                    Severity::Error,
                    label,
                    format!("code appears twice (first in {src} feature {n})"),
                );
                continue;
            }
            let geometry = match f.geometry.and_then(clean_boundary) {
                Ok(Cleaned::Valid(g)) => g,
                Ok(Cleaned::Repaired(g, why)) => {
                    issue(
                        Severity::Repaired,
                        label.clone(),
                        format!("invalid geometry repaired: {why}"),
                    );
                    g
                }
                Err(e) => {
                    issue(Severity::Error, label, e);
                    continue;
                }
            };
            for (level, field) in [
                (Level::Kabupaten, "kode_kab"),
                (Level::Kecamatan, "kode_kec"),
            ] {
                let stated = property(&f.properties, field).and_then(property_text);
                if let (Some(stated), Some(actual)) = (stated, kode.ancestor(level)) {
                    if kode.level() > level && Kode::parse(&stated).ok() != Some(actual) {
                        issue(
                            Severity::Warning,
                            label.clone(),
                            format!(
                                "property {field} says {stated} but the code nests in {actual}"
                            ),
                        );
                    }
                }
            }
            first_seen.insert(kode, (layer.name.clone(), f.number));
            out.regions.push(Region {
                kode,
                nama,
                geometry,
            });
        }
    }
    check_parents(&mut out, existing);
    out
}

/// Reports units whose parent (kabupaten for a kecamatan, kecamatan for a desa) is neither in
/// this import nor already in the store.
fn check_parents(out: &mut PreparedImport, existing: &HashSet<Kode>) {
    let imported: HashSet<Kode> = out.regions.iter().map(|r| r.kode).collect();
    let mut missing: BTreeMap<Kode, usize> = BTreeMap::new();
    for r in &out.regions {
        if r.kode.level() < Level::Kecamatan {
            continue;
        }
        if let Some(p) = r.kode.parent() {
            if !imported.contains(&p) && !existing.contains(&p) {
                *missing.entry(p).or_default() += 1;
            }
        }
    }
    for (parent, n) in missing {
        out.issues.push(ImportIssue {
            severity: Severity::Warning,
            source: out.sources.join(", "),
            feature: 0,
            kode: Some(parent.to_string()),
            message: format!(
                "{n} unit(s) nest in {} {parent}, which is not loaded",
                parent.level()
            ),
        });
    }
}

/// Reads and checks boundary files, ready to be stored: an error when any file is unreadable,
/// when there is nothing to import, or (without `skip_invalid`) when any feature is refused.
/// `existing` are the codes already stored, so parents loaded earlier count for the nesting
/// check.
pub fn check_files(
    paths: &[PathBuf],
    opts: &ImportOptions,
    existing: &HashSet<Kode>,
) -> Result<PreparedImport, BoundaryError> {
    let files = expand_paths(paths)?;
    let mut layers = Vec::new();
    let mut file_warnings = Vec::new();
    for f in &files {
        let (l, w) = read_file(f)?;
        layers.extend(l);
        file_warnings.extend(w);
    }
    let mut prepared = prepare(layers, opts, existing);
    prepared
        .issues
        .extend(file_warnings.into_iter().map(|message| ImportIssue {
            severity: Severity::Warning,
            source: String::new(),
            feature: 0,
            kode: None,
            message,
        }));
    if prepared.features_read == 0 {
        return Err(BoundaryError::Empty(prepared.sources.join(", ")));
    }
    let refused = prepared.refused();
    if refused > 0 && !opts.skip_invalid {
        let first = prepared
            .issues
            .iter()
            .find(|i| i.severity == Severity::Error)
            .map(|i| i.to_string().trim_start_matches("error: ").to_string())
            .unwrap_or_default();
        return Err(BoundaryError::Invalid {
            count: refused,
            total: prepared.features_read,
            first,
            issues: prepared.issues,
        });
    }
    if prepared.regions.is_empty() {
        return Err(BoundaryError::Empty(prepared.sources.join(", ")));
    }
    Ok(prepared)
}

/// Reads boundary files (any import format, or a directory of them) into regions, leaving out
/// features that cannot be used: for tools (the generator, `lentera geocode --regions`) that
/// need the units of a file without storing them.
pub fn regions_from_files(paths: &[PathBuf]) -> Result<Vec<Region>, BoundaryError> {
    let files = expand_paths(paths)?;
    let mut layers = Vec::new();
    for f in &files {
        layers.extend(read_file(f)?.0);
    }
    let prepared = prepare(layers, &ImportOptions::default(), &HashSet::new());
    Ok(prepared.regions)
}
