//! Programme lists: a household programme's beneficiaries (NIK or KK per row, optional name,
//! address and region code) or a location programme's places (a region code and an amount
//! per row), from CSV or XLSX with the same readers and limits as household files.
//!
//! Identity numbers are hashed under the installation secret as each row is read; what is
//! kept of them is the key the snapshot matches households with, and a masked form for the
//! report of rows that match nothing. Names and addresses are kept only for that report.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use super::budget::MemoryBudget;
use super::households::privacy::{mask, Secret};
use super::households::reader::{open_table, trim_cell, ReadError, Row, HEADER_SCAN_ROWS};
use super::households::validate::{check_identity, IdKind};
use crate::model::{Household, Member, ProgramKind};
use crate::region::Kode;

/// Why a list cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The file cannot be read as a table.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// No header naming the columns a list needs.
    #[error("{0}")]
    Header(String),
}

/// A row refused, with the reason in Bahasa Indonesia.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListReject {
    /// Row number in the file.
    pub row: u64,
    /// Why.
    pub alasan: String,
}

/// What the report of a row shows: identity numbers masked, name and address as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RowEcho {
    /// Row number in the file.
    pub row: u64,
    /// NIK, masked.
    pub nik: String,
    /// KK number, masked.
    pub kk: String,
    /// Name as written.
    pub nama: String,
    /// Address as written.
    pub alamat: String,
    /// Region code as written.
    pub kode: String,
}

/// A list as read.
#[derive(Debug, Default)]
pub struct ListRead {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows kept.
    pub members: Vec<Member>,
    /// Rows refused.
    pub refused: Vec<ListReject>,
    /// Rows repeating an earlier row's NIK (or KK when there is no NIK); kept once.
    pub repeats: u64,
    /// What the report shows of each kept row, by row (household lists only).
    pub echo: Vec<RowEcho>,
}

/// The columns found in the header.
#[derive(Debug, Default)]
struct Columns {
    nik: Option<usize>,
    kk: Option<usize>,
    kode: Option<usize>,
    amount: Option<usize>,
    nama: Option<usize>,
    alamat: Option<usize>,
}

/// A header cell's letters and digits, upper-case (`No. KK` → `NOKK`).
fn squeeze(cell: &str) -> String {
    cell.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Columns {
    /// Finds the columns of `header`; `None` when it names none a list can use.
    fn find(header: &[&str], kind: ProgramKind) -> Option<Columns> {
        let mut c = Columns::default();
        for (i, cell) in header.iter().enumerate() {
            let h = squeeze(cell);
            let slot = if h.starts_with("NIK") {
                &mut c.nik
            } else if h == "KK"
                || h.ends_with("KK")
                || h.contains("KARTUKELUARGA")
                || h.starts_with("NOKK")
                || h.starts_with("NOMORKK")
            {
                &mut c.kk
            } else if h.starts_with("KODE") || h.starts_with("KDDESA") || h == "IDDESA" {
                &mut c.kode
            } else if ["JUMLAH", "NILAI", "NOMINAL", "ANGGARAN", "BESARAN"]
                .iter()
                .any(|p| h.starts_with(p))
            {
                &mut c.amount
            } else if h.starts_with("NAMA") {
                &mut c.nama
            } else if h.starts_with("ALAMAT") {
                &mut c.alamat
            } else {
                continue;
            };
            // The first column of a kind wins (a second `NAMA_DESA` does not replace `NAMA`).
            slot.get_or_insert(i);
        }
        let usable = match kind {
            ProgramKind::Household => c.nik.is_some() || c.kk.is_some(),
            ProgramKind::Location => c.kode.is_some(),
        };
        usable.then_some(c)
    }
}

/// What a list of `kind` needs, in words.
fn needs(kind: ProgramKind) -> &'static str {
    match kind {
        ProgramKind::Household => {
            "a header naming a NIK column (NIK) or a KK column (NO_KK), with optional NAMA, \
             ALAMAT and KODE_WILAYAH"
        }
        ProgramKind::Location => {
            "a header naming a region code column (KODE_WILAYAH or KODE_DESA), with an \
             optional amount column (JUMLAH or NILAI)"
        }
    }
}

/// Reads the list at `path` for a programme of `kind`, hashing identity numbers under
/// `secret` as each row is read.
pub fn read_program_list(
    path: &Path,
    kind: ProgramKind,
    secret: &Secret,
) -> Result<ListRead, ListError> {
    let looks_right = move |rows: &[Row]| {
        rows.iter().take(HEADER_SCAN_ROWS).any(|(_, cells)| {
            let header: Vec<&str> = cells.iter().collect();
            Columns::find(&header, kind).is_some()
        })
    };
    let budget = MemoryBudget::mib(MemoryBudget::DEFAULT_MIB);
    let (stream, _) = open_table(path, None, &looks_right, budget)?;
    let mut columns: Option<Columns> = None;
    let mut out = ListRead::default();
    let mut seen: HashSet<i64> = HashSet::new();
    while let Some(chunk) = stream.next_chunk() {
        let rows = chunk?;
        for (row, cells) in &rows {
            let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).map(trim_cell);
            let Some(cols) = &columns else {
                let header: Vec<&str> = cells.iter().collect();
                if let Some(c) = Columns::find(&header, kind) {
                    columns = Some(c);
                } else if *row as usize > HEADER_SCAN_ROWS {
                    return Err(ListError::Header(format!(
                        "no header found: a list needs {}",
                        needs(kind)
                    )));
                }
                continue;
            };
            if cells.iter().all(|c| trim_cell(c).is_empty()) {
                continue;
            }
            out.rows_read += 1;
            match read_row(*row, cols, &cell, kind, secret) {
                Ok((member, echo)) => {
                    let key = member.nik_key.or(member.kk_key);
                    if kind == ProgramKind::Household && key.is_some_and(|k| !seen.insert(k)) {
                        out.repeats += 1;
                        continue;
                    }
                    out.members.push(member);
                    if kind == ProgramKind::Household {
                        out.echo.push(echo);
                    }
                }
                Err(alasan) => out.refused.push(ListReject { row: *row, alasan }),
            }
        }
        stream.recycle(rows);
    }
    if columns.is_none() {
        return Err(ListError::Header(format!(
            "no header found: a list needs {}",
            needs(kind)
        )));
    }
    Ok(out)
}

/// One data row: the member kept and what its report line shows, or why it is refused (in
/// Bahasa Indonesia).
fn read_row<'a>(
    row: u64,
    cols: &Columns,
    cell: &dyn Fn(Option<usize>) -> Option<&'a str>,
    kind: ProgramKind,
    secret: &Secret,
) -> Result<(Member, RowEcho), String> {
    let mut echo = RowEcho {
        row,
        ..RowEcho::default()
    };
    let id = |col: Option<usize>, id_kind: IdKind, shown: &mut String| {
        let raw = cell(col).unwrap_or("");
        if raw.is_empty() {
            return Ok(None);
        }
        match check_identity(raw, id_kind) {
            Ok(digits) => {
                *shown = mask(&digits).to_string();
                Ok(Household::id_key(&Some(secret.hash(&digits))))
            }
            Err(e) => {
                *shown = mask(raw).to_string();
                Err(super::households::alasan(&e))
            }
        }
    };
    let (mut nik_shown, mut kk_shown) = (String::new(), String::new());
    let nik = id(cols.nik, IdKind::Nik, &mut nik_shown);
    let kk = id(cols.kk, IdKind::Kk, &mut kk_shown);
    echo.nik = nik_shown;
    echo.kk = kk_shown;
    echo.nama = cell(cols.nama).unwrap_or("").chars().take(200).collect();
    echo.alamat = cell(cols.alamat).unwrap_or("").chars().take(200).collect();
    let kode_raw = cell(cols.kode).unwrap_or("");
    echo.kode = kode_raw.chars().take(20).collect();
    let kode = if kode_raw.is_empty() {
        None
    } else {
        Some(
            Kode::parse(kode_raw)
                .map_err(|_| format!("kode wilayah `{}` bukan kode Kemendagri", echo.kode))?,
        )
    };
    let amount = match cell(cols.amount).unwrap_or("") {
        "" => None,
        raw => Some(parse_amount(raw)?),
    };
    let (nik_key, kk_key) = match kind {
        ProgramKind::Household => {
            // A row with one good number is kept; a bad number is refused only when it is the
            // only one given.
            match (nik, kk) {
                (Ok(None), Ok(None)) => return Err("NIK dan No. KK kosong".into()),
                (Err(e), Ok(None)) | (Ok(None), Err(e)) | (Err(e), Err(_)) => return Err(e),
                (Ok(n), Ok(k)) => (n, k),
                (Ok(n), Err(_)) => (n, None),
                (Err(_), Ok(k)) => (None, k),
            }
        }
        ProgramKind::Location => {
            if kode.is_none() {
                return Err("kode wilayah kosong".into());
            }
            (None, None)
        }
    };
    Ok((
        Member {
            row,
            nik_key,
            kk_key,
            kode,
            amount,
        },
        echo,
    ))
}

/// An amount in rupiah as people and workbooks write it: `1.500.000`, `Rp 1.500.000,00`,
/// `1500000`, `1500000.5` (a workbook's number cell).
fn parse_amount(raw: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "jumlah `{}` bukan angka rupiah",
            raw.chars().take(30).collect::<String>()
        )
    };
    let t: String = raw
        .trim()
        .trim_start_matches(['R', 'r'])
        .trim_start_matches(['P', 'p'])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let thousands = |s: &str| {
        let mut groups = s.split('.');
        groups
            .next()
            .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()))
            && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
    };
    let number = if let Some((whole, cents)) = t.split_once(',') {
        let plain = whole.bytes().all(|b| b.is_ascii_digit());
        if !cents.bytes().all(|b| b.is_ascii_digit()) || !(plain || thousands(whole)) {
            return Err(bad());
        }
        whole.replace('.', "")
    } else if t.contains('.') && thousands(&t) {
        t.replace('.', "")
    } else {
        t
    };
    if number.is_empty()
        || number.matches('.').count() > 1
        || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err(bad());
    }
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("program-list-test-secret-0123456789").unwrap()
    }

    #[test]
    fn amounts_in_indonesian_writing() {
        assert_eq!(parse_amount("1.500.000"), Ok(1_500_000.0));
        assert_eq!(parse_amount("Rp 1.500.000,00"), Ok(1_500_000.0));
        assert_eq!(parse_amount("250000"), Ok(250_000.0));
        assert_eq!(parse_amount("2500.5"), Ok(2500.5));
        assert!(parse_amount("satu juta").is_err());
        assert!(parse_amount("-5").is_err());
    }

    #[test]
    fn beneficiary_rows_are_hashed_checked_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("penerima.csv");
        std::fs::write(
            &path,
            "Daftar penerima RTLH 2026\n\
             No;NIK;No. KK;Nama;Alamat;Kode Wilayah\n\
             1;6472014107850001;6472010101100001;SITI;RT 01;64.72.01.1001\n\
             2;;6472010101100002;BUDI;RT 02;\n\
             3;6472014107850001;;SITI lagi;RT 01;\n\
             4;64720141;;SALAH;;\n\
             5;;;KOSONG;;\n\
             6;6472014107850003;;KODE SALAH;;99.xx\n",
        )
        .unwrap();
        let s = secret();
        let read = read_program_list(&path, ProgramKind::Household, &s).unwrap();
        assert_eq!(read.rows_read, 6);
        assert_eq!(read.members.len(), 2);
        assert_eq!(read.repeats, 1);
        let reasons: Vec<_> = read
            .refused
            .iter()
            .map(|r| (r.row, r.alasan.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].1.contains("16 digit"), "{reasons:?}");
        assert!(reasons[1].1.contains("kosong"));
        assert!(reasons[2].1.contains("kode wilayah"));
        let first = &read.members[0];
        assert_eq!(
            first.nik_key,
            Household::id_key(&Some(s.hash("6472014107850001")))
        );
        assert_eq!(first.kode, Some("64.72.01.1001".parse().unwrap()));
        assert_eq!(read.echo[0].nik, "647201********01");
        assert_eq!(read.members[1].nik_key, None);
        assert!(read.members[1].kk_key.is_some());
    }

    #[test]
    fn a_file_without_usable_columns_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let e = read_program_list(&path, ProgramKind::Household, &secret()).unwrap_err();
        assert!(e.to_string().contains("NIK column"), "{e}");
        let e = read_program_list(&path, ProgramKind::Location, &secret()).unwrap_err();
        assert!(e.to_string().contains("region code"), "{e}");
    }

    #[test]
    fn places_with_amounts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lokasi.csv");
        std::fs::write(
            &path,
            "kode_desa,nama_desa,nilai\n64.72.01.1001,A,\"150.000.000\"\n64.72.01.1002,B,\n,C,5\n",
        )
        .unwrap();
        let read = read_program_list(&path, ProgramKind::Location, &secret()).unwrap();
        assert_eq!(read.members.len(), 2);
        assert_eq!(read.members[0].amount, Some(150_000_000.0));
        assert_eq!(read.members[1].amount, None);
        assert_eq!(read.refused.len(), 1);
        assert!(read.echo.is_empty());
    }
}
