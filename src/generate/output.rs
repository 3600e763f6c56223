//! Where generated rows go: a CSV file (UTF-8 or Windows-1252) or a workbook with title rows.

use std::path::Path;

use super::{GenerateError, OutputEncoding};
use crate::model::SourceFormat;

/// Title rows above the header in generated workbooks, as real exports have.
pub(super) const XLSX_TITLE_ROWS: u32 = 3;

/// Where generated rows go. One lives per run, so the size difference between the variants
/// does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Sink {
    Csv(
        csv::Writer<std::io::BufWriter<std::fs::File>>,
        OutputEncoding,
    ),
    Xlsx(XlsxSink),
}

impl Sink {
    pub(super) fn row(&mut self, cells: &[String]) -> Result<(), GenerateError> {
        match self {
            Sink::Csv(w, OutputEncoding::Utf8) => w.write_record(cells),
            Sink::Csv(w, OutputEncoding::Windows1252) => w.write_record(
                cells
                    .iter()
                    .map(|c| encoding_rs::WINDOWS_1252.encode(c).0.into_owned()),
            ),
            Sink::Xlsx(x) => return x.row(cells),
        }
        .map_err(|e| GenerateError::Input(e.to_string()))
    }

    pub(super) fn finish(self, out: &Path) -> Result<(), GenerateError> {
        match self {
            Sink::Csv(mut w, _) => w.flush().map_err(|source| GenerateError::Io {
                path: out.to_path_buf(),
                source,
            }),
            Sink::Xlsx(x) => x.finish(out),
        }
    }
}

pub(super) struct XlsxSink {
    pub(super) book: rust_xlsxwriter::Workbook,
    pub(super) next_row: u32,
    pub(super) err: Option<String>,
}

impl XlsxSink {
    pub(super) fn new(format: SourceFormat) -> XlsxSink {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let mut err = sheet
            .set_name(if format == SourceFormat::P3ke {
                "Keluarga"
            } else {
                "Data"
            })
            .err()
            .map(|e| e.to_string());
        let titles = [
            format!(
                "DATA {} (SINTETIS, BUKAN DATA SEBENARNYA)",
                format.as_str().to_uppercase()
            ),
            "Dibuat oleh lentera generate households".to_string(),
        ];
        for (i, t) in titles.iter().enumerate() {
            if let Err(e) = sheet.write_string(i as u32, 0, t) {
                err = Some(e.to_string());
            }
        }
        XlsxSink {
            book,
            next_row: XLSX_TITLE_ROWS,
            err,
        }
    }

    pub(super) fn row(&mut self, cells: &[String]) -> Result<(), GenerateError> {
        let sheet = self
            .book
            .worksheet_from_index(0)
            .map_err(|e| GenerateError::Input(e.to_string()))?;
        for (c, v) in cells.iter().enumerate() {
            if let Err(e) = sheet.write_string(self.next_row, c as u16, v) {
                self.err = Some(e.to_string());
            }
        }
        self.next_row += 1;
        Ok(())
    }

    pub(super) fn finish(mut self, out: &Path) -> Result<(), GenerateError> {
        let xlsx_err = |message: String| GenerateError::Xlsx {
            path: out.to_path_buf(),
            message,
        };
        if let Some(e) = self.err {
            return Err(xlsx_err(e));
        }
        self.book.save(out).map_err(|e| xlsx_err(e.to_string()))
    }
}
