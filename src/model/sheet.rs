//! Text bound for a spreadsheet. A CSV cell that begins with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is a formula to Excel and LibreOffice (`=HYPERLINK(…)`, `+cmd|…`): a
//! household file whose names or addresses hold one would run it on the desk of whoever
//! opens Lentera's export. Every CSV Lentera writes goes through [`SheetCsv`], which puts an
//! apostrophe before such a cell (the usual defence; spreadsheets show the text as typed)
//! and leaves real numbers (`-1.5`, `+62`) alone. [`restore`] takes the apostrophe off again
//! where Lentera reads its own file back (the review file).

use std::borrow::Cow;
use std::io::Write;

/// Whether a spreadsheet would read `cell` as a formula.
fn is_formula(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) && !is_number(cell)
}

/// A plain decimal number (sign, digits, one point): what a cell starting with `-` or `+`
/// may be without being a formula.
fn is_number(cell: &str) -> bool {
    let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    !digits.is_empty()
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().any(|b| b.is_ascii_digit())
}

/// `cell` as it is safe to write: with a leading apostrophe when a spreadsheet would read it
/// as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if is_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A cell of a file Lentera wrote, as it was before [`neutralise`].
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if is_formula(rest) => rest,
        _ => cell,
    }
}

/// A CSV writer whose every cell is [`neutralise`]d.
pub struct SheetCsv<W: Write>(csv::Writer<W>);

impl<W: Write> SheetCsv<W> {
    /// A comma-separated writer over `out`.
    pub fn from_writer(out: W) -> SheetCsv<W> {
        SheetCsv(csv::Writer::from_writer(out))
    }

    /// Over a writer configured elsewhere.
    pub fn new(w: csv::Writer<W>) -> SheetCsv<W> {
        SheetCsv(w)
    }

    /// Writes one record.
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        for cell in record {
            self.0.write_field(neutralise(cell.as_ref()).as_bytes())?;
        }
        // An empty record after fields ends the record.
        self.0.write_record(std::iter::empty::<&[u8]>())
    }

    /// Flushes the buffer to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }

    /// The underlying writer, flushed.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.0.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        for f in [
            "=HYPERLINK(\"http://x\",\"klik\")",
            "@SUM(A1:A9)",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "\t=1",
            "\r=1",
            "-",
            "+",
            "=",
        ] {
            assert_eq!(neutralise(f), format!("'{f}"), "{f}");
            assert_eq!(restore(&neutralise(f)), f);
        }
        for n in [
            "-1.5", "+62", "-0.4731", "117.15", "0", "Siti", "", "'kutip", "6472",
        ] {
            assert_eq!(neutralise(n), n, "{n}");
            assert_eq!(restore(n), n);
        }
        let mut w = SheetCsv::from_writer(Vec::new());
        w.write_record(["=1+1", "-0.5", "a,b"]).unwrap();
        w.write_record(["x", "", "@"]).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text, "'=1+1,-0.5,\"a,b\"\nx,,'@\n");
    }
}
