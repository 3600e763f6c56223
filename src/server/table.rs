//! Tables handed out as files (CSV or an Excel workbook): rankings, coverage lists, target
//! lists. Headers and sheet names are in Bahasa Indonesia; cells holding a number are written
//! as numbers in the workbook, except the columns named as text (codes, masked numbers).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ApiError;

/// The formats of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// JSON.
    #[default]
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// A table: headers, rows of text cells, and the columns that stay text in a workbook.
pub struct Table {
    /// The workbook's sheet name.
    pub sheet: &'static str,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
    /// Columns written as text even when they read as numbers (codes, identity numbers).
    pub text_columns: Vec<usize>,
}

impl Table {
    /// The table as CSV (cells that a spreadsheet would run as a formula neutralised).
    pub fn csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut w = crate::model::sheet::SheetCsv::from_writer(Vec::new());
        w.write_record(&self.headers)?;
        for row in &self.rows {
            w.write_record(row)?;
        }
        w.into_inner().map_err(csv::Error::from)
    }

    /// The table as an Excel workbook.
    pub fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = book.add_worksheet();
        sheet.set_name(self.sheet)?;
        for (c, h) in self.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && !self.text_columns.contains(&c) => {
                        sheet.write_number(r, c as u16, n)?
                    }
                    _ => sheet.write_string(r, c as u16, v)?,
                };
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
        book.save_to_buffer()
    }

    /// The table as a download named `file` (without extension) in `format` (CSV or XLSX;
    /// JSON callers answer with their own document).
    pub fn download(&self, format: TableFormat, file: &str) -> Result<Response, ApiError> {
        let (bytes, ext, content_type) = match format {
            TableFormat::Xlsx => (
                self.xlsx().map_err(ApiError::internal)?,
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            _ => (
                self.csv().map_err(ApiError::internal)?,
                "csv",
                "text/csv; charset=utf-8",
            ),
        };
        Ok((
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.{ext}\""),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            bytes,
        )
            .into_response())
    }
}

/// A number as a table shows it: whole numbers without a decimal point.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}
