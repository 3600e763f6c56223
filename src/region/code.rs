//! Kemendagri region codes (`kode wilayah`): parsing, normalising and navigating.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Level;

/// Why a string is not a Kemendagri region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KodeError {
    /// Nothing was given.
    #[error("empty region code")]
    Empty,
    /// A character other than a digit or a dot.
    #[error("region code `{0}` has characters other than digits and dots")]
    NotDigits(String),
    /// The segments do not have the lengths 2, 2, 2, 4.
    #[error("region code `{0}` is not of the form PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD (2, 4, 6 or 10 digits)")]
    Shape(String),
    /// A segment is all zeros, or the province is outside 11–99.
    #[error("region code `{code}`: {reason}")]
    OutOfRange {
        /// The code as given.
        code: String,
        /// Which part is wrong.
        reason: &'static str,
    },
    /// The village part does not start with 1 or 2.
    #[error("region code `{0}`: the 4-digit village part must start with 1 (kelurahan) or 2 (desa); is this a BPS code?")]
    VillagePart(String),
}

/// A Kemendagri region code at any level, from province (`64`) to village (`64.72.01.1004`).
///
/// Parsing accepts the dotted form and the bare digits (`6472011004`); `Display` gives the
/// dotted form. The type is `Copy` and orders like the dotted strings (parents first).
///
/// ```
/// use lentera::region::{Kode, Level};
///
/// let palaran_kel = Kode::parse("6472011004").unwrap();
/// assert_eq!(palaran_kel.to_string(), "64.72.01.1004");
/// assert_eq!(palaran_kel.level(), Level::Desa);
/// assert!(palaran_kel.is_kelurahan());
/// assert_eq!(palaran_kel.parent(), Some(Kode::parse("64.72.01").unwrap()));
/// // A BPS village code is not a Kemendagri code: it needs the crosswalk.
/// assert!(Kode::parse("6472010001").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kode {
    prov: u8,
    kab: u8,
    kec: u8,
    desa: u16,
}

impl Kode {
    /// Parses a code in dotted (`64.72.01.1004`) or plain-digit (`6472011004`) form.
    pub fn parse(input: &str) -> Result<Kode, KodeError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(KodeError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(KodeError::NotDigits(s.to_string()));
        }
        let digits: String = if s.contains('.') {
            let parts: Vec<&str> = s.split('.').collect();
            let widths = [2usize, 2, 2, 4];
            if parts.len() > 4 || parts.iter().zip(widths).any(|(p, w)| p.len() != w) {
                return Err(KodeError::Shape(s.to_string()));
            }
            parts.concat()
        } else {
            s.to_string()
        };
        if ![2, 4, 6, 10].contains(&digits.len()) {
            return Err(KodeError::Shape(s.to_string()));
        }
        Self::from_digits(&digits, s)
    }

    fn from_digits(d: &str, original: &str) -> Result<Kode, KodeError> {
        let num = |r: std::ops::Range<usize>| d.get(r).map(|x| x.parse::<u16>().unwrap_or(0));
        let out_of_range = |reason| KodeError::OutOfRange {
            code: original.to_string(),
            reason,
        };
        let prov = num(0..2).unwrap_or(0);
        if !(11..=99).contains(&prov) {
            return Err(out_of_range("province part must be 11–99"));
        }
        let kab = num(2..4);
        if kab == Some(0) {
            return Err(out_of_range("kabupaten/kota part must not be 00"));
        }
        let kec = num(4..6);
        if kec == Some(0) {
            return Err(out_of_range("kecamatan part must not be 00"));
        }
        let desa = num(6..10);
        if let Some(v) = desa {
            if !(1000..3000).contains(&v) || v % 1000 == 0 {
                return Err(KodeError::VillagePart(original.to_string()));
            }
        }
        Ok(Kode {
            prov: prov as u8,
            kab: kab.unwrap_or(0) as u8,
            kec: kec.unwrap_or(0) as u8,
            desa: desa.unwrap_or(0),
        })
    }

    /// The administrative level this code names.
    pub fn level(&self) -> Level {
        if self.desa != 0 {
            Level::Desa
        } else if self.kec != 0 {
            Level::Kecamatan
        } else if self.kab != 0 {
            Level::Kabupaten
        } else {
            Level::Provinsi
        }
    }

    /// The code of the unit one level up, or `None` for a province.
    pub fn parent(&self) -> Option<Kode> {
        let mut p = *self;
        match self.level() {
            Level::Provinsi => return None,
            Level::Kabupaten => p.kab = 0,
            Level::Kecamatan => p.kec = 0,
            Level::Desa => p.desa = 0,
        }
        Some(p)
    }

    /// The ancestor at `level`, or `None` when `level` is below this code's level.
    pub fn ancestor(&self, level: Level) -> Option<Kode> {
        if level > self.level() {
            return None;
        }
        let mut k = *self;
        while k.level() > level {
            k = k.parent()?;
        }
        Some(k)
    }

    /// The unit at `level` holding this one (this one itself when it is not below `level`):
    /// the kecamatan of a desa, the kabupaten of a kecamatan or desa.
    pub fn at_level(&self, level: Level) -> Kode {
        self.ancestor(level).unwrap_or(*self)
    }

    /// All ancestors, from the province down to the direct parent.
    pub fn ancestors(&self) -> Vec<Kode> {
        let mut out = Vec::new();
        let mut k = *self;
        while let Some(p) = k.parent() {
            out.push(p);
            k = p;
        }
        out.reverse();
        out
    }

    /// Whether `self` lies within `other` (or is it).
    pub fn is_within(&self, other: &Kode) -> bool {
        self.ancestor(other.level()).as_ref() == Some(other)
    }

    /// True for a kelurahan (village part `1xxx`), false for a desa (`2xxx`) or any higher level.
    pub fn is_kelurahan(&self) -> bool {
        self.level() == Level::Desa && self.desa < 2000
    }

    /// True for a kota (kabupaten part 71 and above) and for everything inside one.
    pub fn is_kota(&self) -> bool {
        self.kab >= 71
    }

    /// The code as plain digits (`6472011004`), as P3KE's `Kode Kemdagri` column holds it.
    pub fn digits(&self) -> String {
        let (bytes, len) = self.digit_bytes();
        bytes[..len].iter().map(|b| char::from(*b)).collect()
    }

    /// The dotted form (`64.72.01.1004`) as ASCII bytes and its length. Written from the
    /// digits rather than with `write!` per part: codes are written for every stored household.
    fn dotted_bytes(&self) -> ([u8; 13], usize) {
        let (digits, len) = self.digit_bytes();
        let mut out = [0u8; 13];
        let mut n = 0;
        for (i, d) in digits[..len].iter().enumerate() {
            if matches!(i, 2 | 4 | 6) {
                out[n] = b'.';
                n += 1;
            }
            out[n] = *d;
            n += 1;
        }
        (out, n)
    }

    /// The code as plain ASCII digits without allocating: the bytes and how many of them are
    /// used (2, 4, 6 or 10), for hot paths that hash or compare codes.
    pub fn digit_bytes(&self) -> ([u8; 10], usize) {
        let mut out = [0u8; 10];
        let mut len = 0;
        let mut put = |v: u16, width: u32| {
            for i in (0..width).rev() {
                // Each part is below 10^width, so every digit is 0..=9.
                out[len] = b'0' + (v / 10u16.pow(i) % 10) as u8;
                len += 1;
            }
        };
        put(u16::from(self.prov), 2);
        if self.kab != 0 {
            put(u16::from(self.kab), 2);
        }
        if self.kec != 0 {
            put(u16::from(self.kec), 2);
        }
        if self.desa != 0 {
            put(self.desa, 4);
        }
        (out, len)
    }

    /// The kind of unit: provinsi, kabupaten, kota, kecamatan, desa or kelurahan.
    pub fn jenis(&self) -> super::Jenis {
        use super::Jenis;
        match self.level() {
            Level::Provinsi => Jenis::Provinsi,
            Level::Kabupaten if self.is_kota() => Jenis::Kota,
            Level::Kabupaten => Jenis::Kabupaten,
            Level::Kecamatan => Jenis::Kecamatan,
            Level::Desa if self.is_kelurahan() => Jenis::Kelurahan,
            Level::Desa => Jenis::Desa,
        }
    }

    /// Builds a code from its numeric parts (zero for absent lower parts), checking it.
    pub fn from_parts(prov: u8, kab: u8, kec: u8, desa: u16) -> Result<Kode, KodeError> {
        let text = match (kab, kec, desa) {
            (0, 0, 0) => format!("{prov:02}"),
            (_, 0, 0) => format!("{prov:02}.{kab:02}"),
            (_, _, 0) => format!("{prov:02}.{kab:02}.{kec:02}"),
            _ => format!("{prov:02}.{kab:02}.{kec:02}.{desa:04}"),
        };
        Kode::parse(&text)
    }
}

impl fmt::Display for Kode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (out, n) = self.dotted_bytes();
        // Only ASCII digits and dots were written.
        f.pad(std::str::from_utf8(&out[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Kode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kode({self})")
    }
}

impl FromStr for Kode {
    type Err = KodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kode::parse(s)
    }
}

impl Serialize for Kode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // From a buffer on the stack: `collect_str` would format it once to measure and once
        // to write in compact formats, for every stored household.
        let (out, n) = self.dotted_bytes();
        let text = std::str::from_utf8(&out[..n]).map_err(serde::ser::Error::custom)?;
        s.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for Kode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Kode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_and_plain_forms_are_the_same_code() {
        let a = Kode::parse("64.72.01.1004").unwrap();
        let b = Kode::parse("6472011004").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "64.72.01.1004");
        assert_eq!(a.digits(), "6472011004");
        assert_eq!(
            Kode::parse(" 64.72 ").unwrap(),
            Kode::parse("6472").unwrap()
        );
    }

    #[test]
    fn levels_and_parents() {
        let d = Kode::parse("64.72.01.1004").unwrap();
        assert_eq!(d.level(), Level::Desa);
        assert_eq!(d.parent().unwrap().to_string(), "64.72.01");
        assert_eq!(d.parent().unwrap().level(), Level::Kecamatan);
        assert_eq!(Kode::parse("64.72").unwrap().level(), Level::Kabupaten);
        assert_eq!(Kode::parse("64").unwrap().parent(), None);
        let chain: Vec<String> = d.ancestors().iter().map(|k| k.to_string()).collect();
        assert_eq!(chain, ["64", "64.72", "64.72.01"]);
        assert_eq!(d.ancestor(Level::Kabupaten).unwrap().to_string(), "64.72");
        assert!(d.is_within(&Kode::parse("6472").unwrap()));
        assert!(!d.is_within(&Kode::parse("6471").unwrap()));
        assert_eq!(Kode::parse("64.72").unwrap().ancestor(Level::Desa), None);
    }

    #[test]
    fn desa_and_kelurahan_are_told_apart() {
        use crate::region::Jenis;
        assert!(Kode::parse("64.72.01.1004").unwrap().is_kelurahan());
        assert!(!Kode::parse("64.01.01.2009").unwrap().is_kelurahan());
        assert_eq!(Kode::parse("64.01.01.2009").unwrap().jenis(), Jenis::Desa);
        assert_eq!(Kode::parse("64.72").unwrap().jenis(), Jenis::Kota);
        assert_eq!(Kode::parse("64.07").unwrap().jenis(), Jenis::Kabupaten);
    }

    #[test]
    fn malformed_codes_are_refused_with_a_reason() {
        assert_eq!(Kode::parse(""), Err(KodeError::Empty));
        assert!(matches!(Kode::parse("64.7201"), Err(KodeError::Shape(_))));
        assert!(matches!(Kode::parse("64720110"), Err(KodeError::Shape(_))));
        assert!(matches!(
            Kode::parse("64.72.01.100"),
            Err(KodeError::Shape(_))
        ));
        assert!(matches!(Kode::parse("64-72"), Err(KodeError::NotDigits(_))));
        assert!(matches!(
            Kode::parse("00"),
            Err(KodeError::OutOfRange { .. })
        ));
        assert!(matches!(
            Kode::parse("6400"),
            Err(KodeError::OutOfRange { .. })
        ));
        // A BPS village code read as Kemendagri: the village part 0001 is impossible.
        assert!(matches!(
            Kode::parse("6472010001"),
            Err(KodeError::VillagePart(_))
        ));
        assert!(Kode::parse("64.72.01.1004.1").is_err());
    }

    #[test]
    fn ordering_puts_parents_first() {
        let mut v: Vec<Kode> = ["64.72.01.1004", "64.72", "64.01", "64.72.01", "64"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|k| k.to_string()).collect();
        assert_eq!(s, ["64", "64.01", "64.72", "64.72.01", "64.72.01.1004"]);
    }

    #[test]
    fn from_parts_round_trips() {
        let k = Kode::from_parts(99, 71, 3, 1012).unwrap();
        assert_eq!(k.to_string(), "99.71.03.1012");
        assert!(Kode::from_parts(99, 1, 2, 3012).is_err());
    }
}
