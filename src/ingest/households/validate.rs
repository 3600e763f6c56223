//! Field checks for household rows. Each returns the clean value or a reason in plain words
//! for the reject report.
//!
//! Dates are parsed by hand: the files use a handful of day-first forms, Indonesian month
//! names and Excel serial numbers, none of which needs a calendar crate.

use std::borrow::Cow;

use crate::model::Text;
use crate::region::{Kode, Level};

/// Identity number kinds: they share the 16-digit shape but not the date part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum IdKind {
    /// Nomor Induk Kependudukan: region(6) + birth date DDMMYY (day + 40 for women) + serial(4).
    #[strum(serialize = "NIK")]
    Nik,
    /// Nomor Kartu Keluarga: region(6) + issue date DDMMYY + serial(4).
    #[strum(serialize = "KK number")]
    Kk,
}

/// Checks a NIK or KK number and returns its 16 digits.
pub fn check_identity(raw: &str, kind: IdKind) -> Result<Cow<'_, str>, String> {
    let name: &str = kind.into();
    let trimmed = raw.trim().trim_start_matches('\'');
    let s: Cow<'_, str> = if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(trimmed.chars().filter(|c| !c.is_whitespace()).collect())
    };
    if s.contains(['E', 'e']) && s.contains(['.', ',']) && s.chars().any(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{name} was turned into a number by a spreadsheet (scientific notation): digits are lost; format the column as text and export again"
        ));
    }
    if s.chars().any(|c| !c.is_ascii_digit()) {
        return Err(format!(
            "{name} must be 16 digits; it contains other characters"
        ));
    }
    if s.len() != 16 {
        return Err(format!("{name} must be 16 digits; it has {}", s.len()));
    }
    let region = &s[..6];
    match Kode::parse(region) {
        Ok(k) if k.level() == Level::Kecamatan => {}
        _ => {
            return Err(format!(
                "{name} starts with {region}, which is not a kecamatan code (PPKKCC)"
            ))
        }
    }
    if kind == IdKind::Nik {
        let day: u32 = s[6..8].parse().unwrap_or(0);
        let month: u32 = s[8..10].parse().unwrap_or(0);
        let day = if day > 40 { day - 40 } else { day };
        if !(1..=31).contains(&day) || !(1..=12).contains(&month) {
            return Err(format!(
                "{name} digits 7–12 must be a birth date (DDMMYY, day + 40 for women)"
            ));
        }
    }
    Ok(s)
}

/// Parses a desil (`3`, `3.0`, `Desil 3`) and checks it against the scale's maximum.
pub fn parse_desil(raw: &str, max: u8) -> Result<u8, String> {
    let s = raw.trim().to_ascii_lowercase();
    let s = s.trim_start_matches("desil").trim();
    let s = s.strip_suffix(".0").unwrap_or(s);
    let d: u8 = s
        .parse()
        .map_err(|_| format!("desil `{}` is not a whole number", raw.trim()))?;
    if d == 0 || d > max {
        return Err(format!(
            "desil {d} is outside the 1–{max} scale of this source"
        ));
    }
    Ok(d)
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maret",
    "april",
    "mei",
    "juni",
    "juli",
    "agustus",
    "september",
    "oktober",
    "november",
    "desember",
];

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn iso(y: i32, m: u32, d: u32) -> Result<Text, String> {
    if !(1900..=2100).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(format!("{d:02}-{m:02}-{y} is not a calendar date"));
    }
    // Written digit by digit: a formatter call per date is a noticeable part of an import.
    let mut out = *b"0000-00-00";
    for (i, digit) in [y / 1000, y / 100 % 10, y / 10 % 10, y % 10]
        .into_iter()
        .enumerate()
    {
        out[i] = b'0' + digit as u8;
    }
    (out[5], out[6]) = (b'0' + (m / 10) as u8, b'0' + (m % 10) as u8);
    (out[8], out[9]) = (b'0' + (d / 10) as u8, b'0' + (d % 10) as u8);
    std::str::from_utf8(&out)
        .map(Text::from)
        .map_err(|_| format!("date {y:04}-{m:02}-{d:02} cannot be written"))
}

/// The civil date of an Excel serial day number (1900 date system).
pub fn excel_serial_to_iso(serial: f64) -> Result<Text, String> {
    // Days from 1970-01-01 to Excel's day 0 (1899-12-30, which absorbs Excel's 1900 leap bug).
    let (y, m, d) = civil_from_days(serial.floor() as i64 - 25569);
    iso(y as i32, m, d)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (year, month, day): Howard Hinnant's
/// `civil_from_days`, a few lines where a date crate would be a dependency for two uses.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses a date: `YYYY-MM-DD` (time ignored), `DD-MM-YYYY`, `DD/MM/YYYY`, `DD.MM.YYYY`,
/// `12 Januari 1980`, or an Excel serial number. Returns ISO `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<Text, String> {
    let s = raw.trim();
    let bad = || format!("date `{s}` is not in a known form (DD-MM-YYYY, YYYY-MM-DD)");
    if let Ok(serial) = s.parse::<f64>() {
        if (1.0..80_000.0).contains(&serial) {
            return excel_serial_to_iso(serial);
        }
        return Err(bad());
    }
    let date_part = s.split(['T', ' ']).next().unwrap_or(s);
    let parts: Vec<&str> = date_part.split(['-', '/', '.']).collect();
    let num = |p: &str| p.trim().parse::<u32>().ok();
    if parts.len() == 3 {
        let (a, b, c) = (num(parts[0]), num(parts[1]), num(parts[2]));
        if let (Some(a), Some(b), Some(c)) = (a, b, c) {
            return if parts[0].len() == 4 {
                iso(a as i32, b, c)
            } else if parts[2].len() == 4 {
                iso(c as i32, b, a)
            } else {
                Err(bad())
            };
        }
    }
    let words: Vec<String> = s.split_whitespace().map(|w| w.to_lowercase()).collect();
    if words.len() == 3 {
        // The month's first three letters (counted as characters: a typed month may hold any
        // letter, and a byte count could cut one in half).
        let prefix: String = words[1].chars().take(3).collect();
        let month = MONTHS
            .iter()
            .position(|m| prefix.chars().count() == 3 && m.starts_with(&prefix));
        if let (Some(d), Some(m), Some(y)) = (num(&words[0]), month, num(&words[2])) {
            return iso(y as i32, m as u32 + 1, d);
        }
    }
    Err(bad())
}

/// Parses a coordinate, accepting a decimal comma (`-0,5123`).
pub fn parse_coord(raw: &str) -> Result<f64, String> {
    let s = raw.trim();
    let normal = if s.contains(',') && !s.contains('.') {
        s.replace(',', ".")
    } else {
        s.to_string()
    };
    match normal.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("coordinate `{s}` is not a number")),
    }
}

/// Parses a yes/no cell (`Ya`, `Tidak`, `Y`, `T`, `1`, `0`, `Penerima`, `Bukan Penerima`…).
pub fn parse_yes_no(raw: &str) -> Result<bool, String> {
    const YES: [&str; 8] = ["ya", "y", "yes", "1", "true", "penerima", "ada", "iya"];
    const NO: [&str; 9] = [
        "tidak",
        "t",
        "no",
        "n",
        "0",
        "false",
        "bukan penerima",
        "tidak ada",
        "bukan",
    ];
    let s = raw.trim();
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(s));
    if is(&YES) {
        Ok(true)
    } else if is(&NO) {
        Ok(false)
    } else {
        Err(format!("`{}` is not Ya or Tidak", s.to_lowercase()))
    }
}

/// Parses the sex of a person (`L`, `P`, `Laki-laki`, `Perempuan`, `1`, `2`).
pub fn parse_sex(raw: &str) -> Result<crate::model::Sex, String> {
    use crate::model::Sex;
    // Most files write one of these; anything else is normalised first.
    let t = raw.trim();
    if ["l", "laki-laki"].iter().any(|w| w.eq_ignore_ascii_case(t)) {
        return Ok(Sex::L);
    }
    if ["p", "perempuan"].iter().any(|w| w.eq_ignore_ascii_case(t)) {
        return Ok(Sex::P);
    }
    let s: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    match s.as_str() {
        "l" | "lakilaki" | "laki" | "1" | "pria" => Ok(Sex::L),
        "p" | "perempuan" | "2" | "wanita" => Ok(Sex::P),
        _ => Err(format!("sex `{}` is not L or P", raw.trim())),
    }
}

/// Parses a member count (1–50).
pub fn parse_members(raw: &str) -> Result<u32, String> {
    let s = raw.trim();
    let s = s.strip_suffix(".0").unwrap_or(s);
    match s.parse::<u32>() {
        Ok(n) if (1..=50).contains(&n) => Ok(n),
        _ => Err(format!("member count `{s}` is not a number from 1 to 50")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers() {
        assert_eq!(
            check_identity("6472014107850001", IdKind::Nik).unwrap(),
            "6472014107850001"
        );
        assert_eq!(
            check_identity(" '6472010107850001 ", IdKind::Nik).unwrap(),
            "6472010107850001"
        );
        let letters = check_identity("64720141078500A1", IdKind::Nik).unwrap_err();
        assert!(letters.contains("other characters"), "{letters}");
        assert!(check_identity("647201410785", IdKind::Nik)
            .unwrap_err()
            .contains("has 12"));
        assert!(check_identity("6.47201E+15", IdKind::Nik)
            .unwrap_err()
            .contains("scientific"));
        assert!(check_identity("0072014107850001", IdKind::Nik)
            .unwrap_err()
            .contains("kecamatan"));
        assert!(check_identity("6472009907850001", IdKind::Nik)
            .unwrap_err()
            .contains("kecamatan"));
        assert!(check_identity("6472013513850001", IdKind::Nik)
            .unwrap_err()
            .contains("birth date"));
        // KK numbers carry an issue date that is not checked as a birth date.
        assert!(check_identity("6472013513850001", IdKind::Kk).is_ok());
    }

    #[test]
    fn desil_scales() {
        assert_eq!(parse_desil("3", 4), Ok(3));
        assert_eq!(parse_desil("Desil 2", 4), Ok(2));
        assert_eq!(parse_desil("4.0", 4), Ok(4));
        assert!(parse_desil("5", 4).unwrap_err().contains("1–4"));
        assert!(parse_desil("11", 10).unwrap_err().contains("1–10"));
        assert!(parse_desil("0", 10).is_err());
        assert!(parse_desil("satu", 10)
            .unwrap_err()
            .contains("not a whole number"));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1985-07-01").unwrap(), "1985-07-01");
        assert_eq!(parse_date("12 Januari 1980").unwrap(), "1980-01-12");
        assert_eq!(parse_date("3 agu 1999").unwrap(), "1999-08-03");
        // A month of multi-byte letters is refused, not cut in the middle of a letter.
        assert!(parse_date("12 M\u{e9}\u{e9} 1980").is_err());
        assert!(parse_date("1 \u{1e3e}a 2000").is_err());
        assert_eq!(parse_date("01-07-1985").unwrap(), "1985-07-01");
        assert_eq!(parse_date("01/07/1985").unwrap(), "1985-07-01");
        assert_eq!(parse_date("1985-07-01 00:00:00").unwrap(), "1985-07-01");
        assert_eq!(parse_date("12 Januari 1980").unwrap(), "1980-01-12");
        assert_eq!(parse_date("29 Feb 2024").unwrap(), "2024-02-29");
        assert_eq!(parse_date("31229").unwrap(), "1985-07-01");
        assert_eq!(
            excel_serial_to_iso(1.0).unwrap_err(),
            "31-12-1899 is not a calendar date"
        );
        assert!(parse_date("30-02-1985").is_err());
        assert!(parse_date("kemarin").is_err());
        assert!(parse_date("29 Feb 2023").is_err());
    }

    #[test]
    fn coordinates_accept_decimal_commas() {
        assert_eq!(parse_coord("-0,5123").unwrap(), -0.5123);
        assert_eq!(parse_coord(" 117.15 ").unwrap(), 117.15);
        assert!(parse_coord("abc").unwrap_err().contains("not a number"));
        assert!(parse_coord("NaN").is_err());
    }

    #[test]
    fn yes_no_sex_members() {
        assert_eq!(parse_yes_no("Ya"), Ok(true));
        assert_eq!(parse_yes_no("TIDAK"), Ok(false));
        assert!(parse_yes_no("mungkin").is_err());
        assert_eq!(parse_sex("Laki-Laki"), Ok(crate::model::Sex::L));
        assert_eq!(parse_sex("P"), Ok(crate::model::Sex::P));
        assert!(parse_sex("X").is_err());
        assert_eq!(parse_members("5"), Ok(5));
        assert!(parse_members("0").is_err());
        assert!(parse_members("lima").is_err());
    }
}
