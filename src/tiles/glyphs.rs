//! Glyphs for map labels: MapLibre draws text from signed-distance-field glyph PBFs fetched
//! at the style's `glyphs` URL, 256 code points per file. Lentera makes them from open
//! TrueType/OpenType fonts on the machine (DejaVu from Debian's `fonts-dejavu-core`, Noto
//! Sans from `fonts-noto-core`, or a directory given with `--fonts`), with `pbf_font_tools`
//! (FreeType and `sdf_glyph_renderer`, as Martin's font server does), so that a map works
//! offline and no label request leaves the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pbf_font_tools::prost::Message;

/// Where fonts are looked for when none are named: DejaVu (installed with almost every
/// Debian system) and Noto Sans (only its Latin faces: the package holds hundreds of
/// scripts' files, and names here are Latin).
const DEFAULT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
];

/// Font files read from one directory at most (a font directory is not a disk to crawl).
const MAX_FILES: usize = 4096;

/// Regular faces the map's labels use, best first.
pub const REGULAR: [&str; 3] = ["Noto Sans Regular", "DejaVu Sans Book", "DejaVu Sans"];
/// Bold faces the map's labels use, best first.
pub const BOLD: [&str; 2] = ["Noto Sans Bold", "DejaVu Sans Bold"];

/// Why glyphs cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum GlyphError {
    /// No font of the stack is known.
    #[error("no font named `{0}`; fonts here: {1}")]
    UnknownFont(String, String),
    /// The range is not one MapLibre asks for.
    #[error("glyph ranges are `{{start}}-{{start+255}}.pbf` with start a multiple of 256 up to 65280, not `{0}`")]
    BadRange(String),
    /// FreeType could not draw the font.
    #[error("cannot draw glyphs from {path}: {message}")]
    Render {
        /// The font file.
        path: String,
        /// FreeType's error.
        message: String,
    },
}

/// One face of a font file.
#[derive(Debug, Clone)]
struct Face {
    path: PathBuf,
    /// Only the whole file's faces can be drawn by `pbf_font_tools`; a face other than the
    /// first of a collection is drawn with the others and picked out by name.
    collection: bool,
}

/// The fonts found, by the name MapLibre asks for ("family style": "DejaVu Sans Bold").
#[derive(Debug, Clone, Default)]
pub struct Fonts {
    faces: BTreeMap<String, Face>,
}

/// The font files and directories: those in `LENTERA_FONTS` (separated by `:`) or the
/// defaults.
pub fn font_paths_from_env() -> Vec<PathBuf> {
    match std::env::var_os("LENTERA_FONTS") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
        _ => DEFAULT_PATHS.iter().map(PathBuf::from).collect(),
    }
}

impl Fonts {
    /// Reads the names of the fonts in `paths` (font files, or directories searched with
    /// their subdirectories); files FreeType cannot open are skipped with a warning, missing
    /// paths silently.
    pub fn discover(paths: &[PathBuf]) -> Fonts {
        let mut fonts = Fonts::default();
        let Ok(lib) = pbf_font_tools::freetype::Library::init() else {
            tracing::warn!("FreeType cannot start: map labels are not available");
            return fonts;
        };
        {
            for path in font_files(paths) {
                let Ok(face) = lib.new_face(&path, 0) else {
                    tracing::warn!(path = %path.display(), "not a font FreeType can read; skipped");
                    continue;
                };
                let count = face.num_faces();
                for index in 0..count {
                    let face = if index == 0 {
                        face.clone()
                    } else {
                        match lib.new_face(&path, index as isize) {
                            Ok(f) => f,
                            Err(_) => continue,
                        }
                    };
                    let Some(mut name) = face.family_name() else {
                        continue;
                    };
                    if let Some(style) = face.style_name() {
                        name.push(' ');
                        name.push_str(&style);
                    }
                    fonts.faces.entry(name).or_insert_with(|| Face {
                        path: path.clone(),
                        collection: count > 1,
                    });
                }
            }
        }
        fonts
    }

    /// The file of the font named `name` (the first face of a collection is what a PDF
    /// embeds).
    pub fn path_of(&self, name: &str) -> Option<&Path> {
        self.faces
            .get(name)
            .filter(|f| !f.collection)
            .map(|f| f.path.as_path())
    }

    /// The names of the fonts found.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.faces.keys().map(String::as_str)
    }

    /// Whether no font was found.
    pub fn is_empty(&self) -> bool {
        self.faces.is_empty()
    }

    /// The first of `wanted` that was found, else any font.
    pub fn pick(&self, wanted: &[&str]) -> Option<&str> {
        wanted
            .iter()
            .find_map(|w| self.faces.get_key_value(*w).map(|(k, _)| k.as_str()))
            .or_else(|| self.names().next())
    }

    /// The glyph PBF of code points `range` ("0-255") for the font stack `stack` (names
    /// separated by commas, as MapLibre joins `text-font`): each glyph from the first font
    /// of the stack that has it. Fonts of the stack that are not here are passed over; a
    /// stack of none of them is an error. CPU-bound (tens of milliseconds): run it off the
    /// async workers.
    pub fn range(&self, stack: &str, range: &str) -> Result<Vec<u8>, GlyphError> {
        let start = parse_range(range)?;
        let faces: Vec<(&str, &Face)> = stack
            .split(',')
            .map(str::trim)
            .filter_map(|n| self.faces.get_key_value(n).map(|(k, f)| (k.as_str(), f)))
            .collect();
        if faces.is_empty() {
            let known: Vec<&str> = self.names().collect();
            return Err(GlyphError::UnknownFont(
                stack.chars().take(200).collect(),
                if known.is_empty() {
                    "none (install fonts-dejavu-core or give --fonts)".into()
                } else {
                    known.join(", ")
                },
            ));
        }
        let mut drawn = Vec::with_capacity(faces.len());
        for (name, face) in faces {
            let render = |e: pbf_font_tools::PbfFontError| GlyphError::Render {
                path: face.path.display().to_string(),
                message: e.to_string(),
            };
            let mut glyphs =
                pbf_font_tools::glyph_range_for_font(&face.path, start, start + 255, 24, 8, 0.25)
                    .map_err(render)?;
            if face.collection {
                glyphs.stacks.retain(|s| s.name == name);
            }
            drawn.push(glyphs);
        }
        let mut combined = pbf_font_tools::combine_glyphs(drawn).unwrap_or_default();
        // MapLibre reads the stack's name and range from the first stack only.
        for s in &mut combined.stacks {
            s.name = stack.to_string();
        }
        Ok(combined.encode_to_vec())
    }
}

/// The font files `paths` name: files as given, directories searched (three levels deep,
/// at most [`MAX_FILES`] files each).
pub fn font_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
        } else {
            let mut found = Vec::new();
            collect_font_files(path, &mut found, 0);
            files.extend(found);
        }
    }
    files
}

/// `0-255` → 0; the start must be a multiple of 256 and the end 255 past it.
fn parse_range(range: &str) -> Result<u32, GlyphError> {
    let bad = || GlyphError::BadRange(range.chars().take(40).collect());
    let (a, b) = range.split_once('-').ok_or_else(bad)?;
    let strict = |s: &str| {
        (!s.is_empty() && s.len() <= 5 && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (start, end) = (strict(a).ok_or_else(bad)?, strict(b).ok_or_else(bad)?);
    if start % 256 != 0 || end != start + 255 || start > 65280 {
        return Err(bad());
    }
    Ok(start)
}

/// TrueType/OpenType files under `dir`, at most [`MAX_FILES`], three directories deep.
fn collect_font_files(dir: &Path, out: &mut Vec<PathBuf>, depth: u8) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if out.len() >= MAX_FILES {
            return;
        }
        if path.is_dir() {
            if depth < 3 {
                collect_font_files(&path, out, depth + 1);
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["ttf", "otf", "ttc"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        }) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert_eq!(parse_range("0-255").ok(), Some(0));
        assert_eq!(parse_range("256-511").ok(), Some(256));
        assert_eq!(parse_range("65280-65535").ok(), Some(65280));
        for bad in [
            "",
            "0-256",
            "1-256",
            "-0-255",
            "65536-65791",
            "0x0-255",
            "+0-255",
            "0-255-3",
            "00000000000-255",
        ] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }
}
