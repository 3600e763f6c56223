//! Zip archives (XLSX workbooks, zipped shapefiles) checked before anything is inflated. An
//! upload can be any file: a workbook of under a megabyte can declare (or hold) gigabytes of
//! XML, list thousands of entries pointing at the same compressed bytes, or announce two
//! billion shared strings so that a reader reserves memory for them. [`check_zip`] reads only
//! the central directory and refuses such an archive in words; [`check_shared_strings`]
//! inflates a workbook's string table once, counting, before the XLSX reader (which keeps
//! that table in memory and reserves room from its declared count) is let near it.
//!
//! Hand-written because neither the zip crate nor calamine can be told these limits.

use std::io::{Read, Seek};

/// What an archive may hold.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Entries in the archive.
    pub max_entries: usize,
    /// Uncompressed bytes of all entries together.
    pub max_total: u64,
    /// Uncompressed bytes over compressed bytes, for entries above [`RATIO_FLOOR`].
    pub max_ratio: u64,
}

/// Entries smaller than this are not held to the compression ratio (tiny XML parts compress
/// very well and cannot hurt).
pub const RATIO_FLOOR: u64 = 1 << 20;

/// The limits for household workbooks and zipped boundary files.
pub const DEFAULT_LIMITS: ZipLimits = ZipLimits {
    max_entries: 10_000,
    // A workbook of a million households is well under 1 GiB of XML.
    max_total: 4 << 30,
    // Spreadsheet XML compresses 5–30×; zip bombs compress a thousandfold.
    max_ratio: 200,
};

/// Longest text of one cell, as in Excel.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Why an archive is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a zip archive, or a damaged one.
    #[error("not a readable zip archive ({0})")]
    Damaged(String),
    /// Too many entries.
    #[error("the archive lists {0} entries (at most {1}); it is refused unread")]
    TooManyEntries(usize, usize),
    /// It would inflate to too much.
    #[error("the archive would inflate to {0} MiB (at most {1} MiB); it is refused unread")]
    TooLarge(u64, u64),
    /// An entry compresses too well to be a real file.
    #[error("`{name}` would inflate {ratio}-fold (at most {max}-fold): a compression bomb, refused unread")]
    Ratio {
        /// The entry.
        name: String,
        /// Its ratio.
        ratio: u64,
        /// The limit.
        max: u64,
    },
    /// Two entries share compressed bytes.
    #[error("entries `{0}` and `{1}` overlap in the archive: refused unread")]
    Overlap(String, String),
    /// An entry inflates past the size it declares.
    #[error("`{0}` inflates past the size it declares: refused")]
    Lies(String),
    /// A workbook's string table declares more strings than it can hold.
    #[error("the workbook declares {declared} shared strings in {bytes} bytes of XML, which cannot hold them: refused")]
    SharedStrings {
        /// Strings declared.
        declared: u64,
        /// Bytes of the table.
        bytes: u64,
    },
}

/// Checks the central directory of the zip archive `reader` against `limits`: entry count,
/// total and per-entry compression ratio by the sizes declared, and entries whose
/// compressed bytes overlap (the trick that makes a small archive list a great deal).
pub fn check_zip<R: Read + Seek>(reader: R, limits: &ZipLimits) -> Result<(), ArchiveError> {
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| ArchiveError::Damaged(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries(
            archive.len(),
            limits.max_entries,
        ));
    }
    let mut spans: Vec<(u64, u64, String)> = Vec::with_capacity(archive.len());
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| ArchiveError::Damaged(e.to_string()))?;
        let name = entry
            .name()
            .map_or_else(|_| format!("entry {i}"), |n| n.into_owned());
        let (size, packed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if size > RATIO_FLOOR && size / packed.max(1) > limits.max_ratio {
            return Err(ArchiveError::Ratio {
                name,
                ratio: size / packed.max(1),
                max: limits.max_ratio,
            });
        }
        let start = entry.data_start().unwrap_or(0);
        spans.push((start, start.saturating_add(packed), name));
    }
    if total > limits.max_total {
        return Err(ArchiveError::TooLarge(total >> 20, limits.max_total >> 20));
    }
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.0 < a.1 || (b.0 == a.0 && a.1 > a.0) {
            return Err(ArchiveError::Overlap(a.2.clone(), b.2.clone()));
        }
    }
    Ok(())
}

/// Inflates a workbook's shared-string table (`xl/sharedStrings.xml`, if any) once without
/// keeping it: refuses a table that inflates past its declared size, or whose `<sst
/// uniqueCount>` declares more strings than its bytes can hold (each takes at least `<si/>`).
/// Returns the table's size inflated (0 without a table).
pub fn check_shared_strings<R: Read + Seek>(reader: R) -> Result<u64, ArchiveError> {
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| ArchiveError::Damaged(e.to_string()))?;
    let index = (0..archive.len()).find(|&i| {
        archive
            .name_for_index(i)
            .is_some_and(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case("xl/sharedStrings.xml")))
    });
    let Some(index) = index else {
        return Ok(0);
    };
    let entry = archive
        .by_index(index)
        .map_err(|e| ArchiveError::Damaged(e.to_string()))?;
    let declared_size = entry.size();
    let name = entry
        .name()
        .map_or_else(|_| "xl/sharedStrings.xml".into(), |n| n.into_owned());
    // Read at most one byte more than declared: a longer stream lies.
    let mut limited = entry.take(declared_size.saturating_add(1));
    let mut head = Vec::with_capacity(4096);
    (&mut limited)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| ArchiveError::Damaged(e.to_string()))?;
    let rest = std::io::copy(&mut limited, &mut std::io::sink())
        .map_err(|e| ArchiveError::Damaged(e.to_string()))?;
    let inflated = head.len() as u64 + rest;
    if inflated > declared_size {
        return Err(ArchiveError::Lies(name));
    }
    if let Some(declared) = declared_count(&head) {
        if declared.saturating_mul(5) > inflated {
            return Err(ArchiveError::SharedStrings {
                declared,
                bytes: inflated,
            });
        }
    }
    Ok(inflated)
}

/// The `uniqueCount` (or `count`) an `<sst …>` start tag at the head of the table declares.
fn declared_count(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let tag_start = text.find("<sst")?;
    let tag = &text[tag_start
        ..text[tag_start..]
            .find('>')
            .map_or(text.len(), |e| tag_start + e)];
    ["uniqueCount=", "count="]
        .iter()
        .filter_map(|attr| {
            let at = tag.find(attr)? + attr.len();
            let quoted = tag[at..].strip_prefix(['"', '\''])?;
            let digits: String = quoted.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .max()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn bombs_and_lies_are_refused_before_inflating() {
        let normal = zip_of(&[("a.xml", b"<a>1</a>"), ("b.xml", b"<b>2</b>")]);
        assert_eq!(check_zip(Cursor::new(&normal), &DEFAULT_LIMITS), Ok(()));
        // 64 MiB of zeros compress ~1000-fold.
        let zeros = vec![0u8; 64 << 20];
        let bomb = zip_of(&[("xl/worksheets/sheet1.xml", &zeros)]);
        assert!(bomb.len() < 1 << 20);
        assert!(matches!(
            check_zip(Cursor::new(&bomb), &DEFAULT_LIMITS),
            Err(ArchiveError::Ratio { .. })
        ));
        let few = ZipLimits {
            max_entries: 1,
            ..DEFAULT_LIMITS
        };
        assert!(matches!(
            check_zip(Cursor::new(&normal), &few),
            Err(ArchiveError::TooManyEntries(2, 1))
        ));
        let err = check_zip(Cursor::new(b"not a zip".to_vec()), &DEFAULT_LIMITS).unwrap_err();
        assert!(matches!(err, ArchiveError::Damaged(_)));
        // Two billion strings declared in a few bytes.
        let sst = br#"<?xml version="1.0"?><sst xmlns="x" count="2000000000" uniqueCount="2000000000"><si><t>a</t></si></sst>"#;
        let book = zip_of(&[("xl/sharedStrings.xml", sst)]);
        assert!(matches!(
            check_shared_strings(Cursor::new(&book)),
            Err(ArchiveError::SharedStrings {
                declared: 2_000_000_000,
                ..
            })
        ));
        let fine = br#"<sst uniqueCount="2"><si><t>a</t></si><si><t>b</t></si></sst>"#;
        assert_eq!(
            check_shared_strings(Cursor::new(&zip_of(&[("xl/sharedStrings.xml", fine)]))),
            Ok(fine.len() as u64)
        );
        assert_eq!(check_shared_strings(Cursor::new(&normal)), Ok(0));
    }
}
