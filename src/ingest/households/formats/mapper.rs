//! One row of a file onto a household (or reject lines), through the columns its header names.

use super::columns::{aliases, required, PERSONAL_COLUMNS};
use super::{normalize_header, CustomMapping, Field};
use crate::ingest::archive::MAX_CELL_CHARS;
use crate::ingest::households::privacy::{mask, Secret};
use crate::ingest::households::reader::{trim_cell, Cells};
use crate::ingest::households::validate::{
    check_identity, parse_coord, parse_date, parse_desil, parse_members, parse_sex, parse_yes_no,
    IdKind,
};
use crate::model::{AttrName, DesilScale, Household, Reject, Sex, SourceFormat, Text};

/// Maps the columns of one file onto household fields and turns rows into households.
#[derive(Debug, Clone)]
pub struct RowMapper {
    /// The format.
    pub format: SourceFormat,
    columns: Vec<(Field, usize)>,
    attrs: Vec<(AttrName, usize)>,
    header: Vec<String>,
    desil_scale: Option<DesilScale>,
}

impl RowMapper {
    /// Builds the mapper for `header`. Fails, naming the missing headers, when a required
    /// column is absent.
    pub fn new(
        format: SourceFormat,
        header: &[String],
        custom: Option<&CustomMapping>,
    ) -> Result<RowMapper, String> {
        let norm: Vec<String> = header.iter().map(|h| normalize_header(h)).collect();
        let mut columns: Vec<(Field, usize)> = Vec::new();
        match custom {
            Some(m) => {
                for (field, name) in &m.columns {
                    let want = normalize_header(name);
                    let idx = norm.iter().position(|h| *h == want).ok_or_else(|| {
                        format!("the mapping names column `{name}`, which the header does not have")
                    })?;
                    columns.push((*field, idx));
                }
            }
            None => {
                for (field, names) in aliases(format) {
                    let found = names.iter().find_map(|a| {
                        norm.iter()
                            .enumerate()
                            .find(|(i, h)| *h == a && !columns.iter().any(|(_, c)| c == i))
                            .map(|(i, _)| i)
                    });
                    if let Some(i) = found {
                        columns.push((*field, i));
                    }
                }
            }
        }
        let missing: Vec<String> = required(format)
            .iter()
            .filter(|f| !columns.iter().any(|(c, _)| c == *f))
            .map(|f| f.name().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the {format} header lacks required columns: {}",
                missing.join(", ")
            ));
        }
        // A file that cannot place or identify any household is refused whole, in one
        // message, rather than read as a batch of nothing but rejected rows.
        let has = |f: &[Field]| columns.iter().any(|(c, _)| f.contains(c));
        if !has(&[
            Field::RegionCode,
            Field::Desa,
            Field::Kecamatan,
            Field::Kabupaten,
            Field::Lat,
            Field::Lon,
        ]) {
            return Err(format!(
                "the {format} header has no location column: give a region code (kode_desa, \
                 kode_wilayah), names of desa/kecamatan/kabupaten, or latitude and longitude"
            ));
        }
        if !has(&[Field::Nik, Field::Kk, Field::SourceId]) {
            return Err(format!(
                "the {format} header has no identity column: give the NIK or KK of the head \
                 of household, or the file's own household id"
            ));
        }
        let attrs = header
            .iter()
            .enumerate()
            .filter(|(i, h)| {
                let n = &norm[*i];
                !h.trim().is_empty()
                    && !columns.iter().any(|(_, c)| c == i)
                    && !PERSONAL_COLUMNS.iter().any(|p| n.contains(p))
            })
            .map(|(i, h)| (AttrName::new(h.trim()), i))
            .collect();
        let desil_scale = match format {
            SourceFormat::P3ke | SourceFormat::Dtks => Some(DesilScale::Four),
            SourceFormat::Dtsen | SourceFormat::Verval => Some(DesilScale::Ten),
            SourceFormat::Custom => match custom.and_then(|m| m.desil_scale) {
                Some(4) => Some(DesilScale::Four),
                Some(_) => Some(DesilScale::Ten),
                None => None,
            },
        };
        Ok(RowMapper {
            format,
            columns,
            attrs,
            header: header.iter().map(|h| h.trim().to_string()).collect(),
            desil_scale,
        })
    }

    /// Whether the mapped file has a DTKS-style relationship column (rows are persons).
    pub fn person_rows(&self) -> bool {
        self.format == SourceFormat::Dtks
    }

    /// Turns one row into a household, or into the reasons it is refused.
    pub fn household(
        &self,
        row: u64,
        cells: &Cells,
        secret: &Secret,
    ) -> Result<MappedRow, Vec<Reject>> {
        let mut h = Household {
            source_row: row,
            desil_scale: self.desil_scale,
            ..Default::default()
        };
        // A cell no spreadsheet could hold refuses its row, not the file: control characters
        // (a NUL from a damaged export) and text past Excel's 32,767 characters.
        // The whole record is checked at once first (a row of plain cells, nearly every row).
        let whole = cells.as_slice();
        let all_plain = whole.len() <= MAX_CELL_CHARS && plainly_fine(whole);
        let broken: Vec<Reject> = cells
            .iter()
            .filter(|_| !all_plain)
            .enumerate()
            .filter(|(_, c)| !plainly_fine(c))
            .filter_map(|(i, c)| {
                let reason = if c.chars().count() > MAX_CELL_CHARS {
                    format!("the cell is longer than {MAX_CELL_CHARS} characters")
                } else if c
                    .chars()
                    .any(|ch| ch.is_control() && !matches!(ch, '\t' | '\n' | '\r'))
                {
                    "the cell holds control characters (e.g. NUL) from a damaged file".to_string()
                } else {
                    return None;
                };
                Some(Reject {
                    row,
                    column: self
                        .header
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("kolom {}", i + 1)),
                    // Never the cell itself: it may be a NIK, and it is unprintable or huge.
                    value: String::new(),
                    reason,
                })
            })
            .collect();
        if !broken.is_empty() {
            return Err(broken);
        }
        let mut rejects = Vec::new();
        let mut relationship_head = None;
        for (field, idx) in &self.columns {
            let raw = cells.get(*idx).map(trim_cell).unwrap_or("");
            if raw.is_empty() {
                continue;
            }
            let mut fail = |reason: String, value: String| {
                rejects.push(Reject {
                    row,
                    column: self.header.get(*idx).cloned().unwrap_or_default(),
                    value,
                    reason,
                });
            };
            let text = || Some(Text::from(raw));
            match field {
                Field::SourceId => h.source_id = text(),
                Field::HeadName => h.head_name = text(),
                Field::Nik | Field::Kk => {
                    let kind = if *field == Field::Nik {
                        IdKind::Nik
                    } else {
                        IdKind::Kk
                    };
                    match check_identity(raw, kind) {
                        Ok(d) => {
                            let (hash, masked) = (Some(secret.hash(&d)), Some(mask(&d)));
                            if kind == IdKind::Nik {
                                (h.nik_hash, h.nik_masked) = (hash, masked);
                            } else {
                                (h.kk_hash, h.kk_masked) = (hash, masked);
                            }
                        }
                        Err(e) => fail(e, mask(raw).into()),
                    }
                }
                Field::Sex => match parse_sex(raw) {
                    Ok(s) => h.sex = Some(s),
                    Err(e) => fail(e, raw.to_string()),
                },
                Field::BirthDate => match parse_date(raw) {
                    Ok(d) => h.birth_date = Some(d),
                    Err(e) => fail(e, raw.to_string()),
                },
                Field::Members => match parse_members(raw) {
                    Ok(n) => h.members = Some(n),
                    Err(e) => fail(e, raw.to_string()),
                },
                Field::Street => h.address.street = text(),
                Field::Rt => h.address.rt = text(),
                Field::Rw => h.address.rw = text(),
                Field::Dusun => h.address.dusun = text(),
                Field::Desa => h.address.desa = text(),
                Field::Kecamatan => h.address.kecamatan = text(),
                Field::Kabupaten => h.address.kabupaten = text(),
                Field::Provinsi => h.address.provinsi = text(),
                Field::RegionCode => h.region_code = text(),
                Field::Desil => {
                    let max = self.desil_scale.map(|s| s.max()).unwrap_or(10);
                    match parse_desil(raw, max) {
                        Ok(d) => h.desil = Some(d),
                        Err(e) => fail(e, raw.to_string()),
                    }
                }
                Field::ExtremePoor => match parse_yes_no(raw) {
                    Ok(b) => h.extreme_poor = Some(b),
                    Err(e) => fail(e, raw.to_string()),
                },
                Field::Lat | Field::Lon => match parse_coord(raw) {
                    Ok(v) if *field == Field::Lat => h.lat = Some(v),
                    Ok(v) => h.lon = Some(v),
                    Err(e) => fail(e, raw.to_string()),
                },
                Field::Relationship => {
                    let n = normalize_header(raw);
                    relationship_head = Some(matches!(
                        n.as_str(),
                        "kepalakeluarga" | "1" | "kepala" | "krt"
                    ));
                }
                Field::Status => match verval_status(raw) {
                    Some((label, extreme)) => {
                        h.extreme_poor = Some(extreme);
                        h.attrs.push((AttrName::new("status"), label.into()));
                    }
                    None => fail(
                        "status must be Sangat Miskin, Miskin, Hampir Miskin, Rentan or Lainnya"
                            .into(),
                        raw.to_string(),
                    ),
                },
                Field::VervalDate => match parse_date(raw) {
                    Ok(d) => h.attrs.push((AttrName::new("tanggal_verval"), d)),
                    Err(e) => fail(e, raw.to_string()),
                },
                Field::Program(program) => match parse_yes_no(raw) {
                    Ok(b) => h.programs.set(*program, b),
                    Err(e) => fail(e, raw.to_string()),
                },
            }
        }
        self.check_required(row, &h, &mut rejects);
        if h.lat.is_some() != h.lon.is_some() {
            rejects.push(Reject {
                row,
                column: String::new(),
                value: String::new(),
                reason: "only one of latitude and longitude is given".into(),
            });
        }
        if !rejects.is_empty() {
            return Err(rejects);
        }
        h.attrs.reserve(self.attrs.len());
        for (name, idx) in &self.attrs {
            if let Some(v) = cells.get(*idx).map(trim_cell).filter(|s| !s.is_empty()) {
                // Filled in its slot rather than made and moved there: reading a short text
                // back whole right after its bytes were copied into its inline buffer stalls
                // the processor (the wide read waits for the narrow writes), which was a
                // third of mapping a row with a dozen attributes.
                h.attrs.push((*name, Text::default()));
                if let Some((_, slot)) = h.attrs.last_mut() {
                    mask_identity_numbers_into(v, slot);
                }
            }
        }
        // A row that states no desil has no desil scale: its silence is "no data", not a
        // rank on some scale.
        if h.desil.is_none() {
            h.desil_scale = None;
        }
        if h.source_id.is_none() && !self.person_rows() {
            h.source_id = h.kk_masked.clone().or_else(|| h.nik_masked.clone());
        }
        Ok(MappedRow {
            household: h,
            is_head: relationship_head.unwrap_or(true),
        })
    }

    fn check_required(&self, row: u64, h: &Household, rejects: &mut Vec<Reject>) {
        let present = |f: &Field| match f {
            Field::SourceId => h.source_id.is_some(),
            Field::HeadName => h.head_name.is_some(),
            Field::Nik => h.nik_hash.is_some(),
            Field::Kk => h.kk_hash.is_some(),
            Field::Desil => h.desil.is_some(),
            Field::Status => h.extreme_poor.is_some(),
            Field::VervalDate => h.attrs.iter().any(|(k, _)| *k == "tanggal_verval"),
            _ => true,
        };
        let refused_columns: Vec<String> = rejects.iter().map(|r| r.column.clone()).collect();
        let already = |f: &Field| {
            self.columns.iter().filter(|(c, _)| c == f).any(|(_, i)| {
                self.header
                    .get(*i)
                    .is_some_and(|h| refused_columns.contains(h))
            })
        };
        for f in required(self.format) {
            if !present(f) && !already(f) {
                let column = self
                    .columns
                    .iter()
                    .find(|(c, _)| c == f)
                    .and_then(|(_, i)| self.header.get(*i).cloned())
                    .unwrap_or_else(|| f.name().to_string());
                rejects.push(Reject {
                    row,
                    column,
                    value: String::new(),
                    reason: "required value is empty".into(),
                });
            }
        }
        let has_place = h.region_code.is_some() || h.address.desa.is_some();
        if !has_place {
            rejects.push(Reject {
                row,
                column: String::new(),
                value: String::new(),
                reason: "no location: neither a region code nor a desa/kelurahan name".into(),
            });
        }
    }
}

/// A mapped row: the household it describes, and for person-level files whether the row is
/// the household head.
#[derive(Debug, Clone)]
pub struct MappedRow {
    /// The household (for person rows: the person's fields).
    pub household: Household,
    /// Whether the row is the head's (always true for household-level files).
    pub is_head: bool,
}

/// Normalises a verification status and says whether it means extreme poverty.
fn verval_status(raw: &str) -> Option<(&'static str, bool)> {
    match normalize_header(raw).as_str() {
        "sangatmiskin" => Some(("Sangat Miskin", true)),
        "miskin" => Some(("Miskin", false)),
        "hampirmiskin" => Some(("Hampir Miskin", false)),
        "rentan" => Some(("Rentan", false)),
        "lainnya" => Some(("Lainnya", false)),
        _ => None,
    }
}

/// Sex values of the template, for writers.
pub fn sex_label(s: Sex) -> &'static str {
    match s {
        Sex::L => "Laki-laki",
        Sex::P => "Perempuan",
    }
}

/// Whether a cell is certainly within the length limit and free of control characters,
/// judged from its bytes alone (the common case, so that only the rare other cell is decoded
/// character by character): no more bytes than the limit has characters, and no byte of a C0
/// control, DEL or the lead byte 0xC2 that starts every C1 control (U+0080–U+009F).
fn plainly_fine(cell: &str) -> bool {
    // Folded without stopping early, so that the compiler checks many bytes per instruction.
    cell.len() <= MAX_CELL_CHARS
        && !cell.bytes().fold(false, |doubtful, b| {
            doubtful
                | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r'))
                | (b == 0x7f)
                | (b == 0xc2)
        })
}

/// `value` with every number that looks like a NIK or KK (16 digits, the first two a province
/// code 11–94) masked as the NIK is, appended to `out`: a column of member NIKs headed
/// `No. Identitas` or `ID Penduduk` is kept as an attribute, and must not keep them in clear.
fn mask_identity_numbers_into(value: &str, out: &mut Text) {
    let bytes = value.as_bytes();
    // Most cells hold no run of 16 digits: taken whole.
    let mut run = 0;
    if !bytes.iter().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 16
    }) {
        out.push_str(value);
        return;
    }
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if run == 0 {
            // Copy up to the next digit (byte offsets of ASCII digits are char boundaries).
            let next = bytes[i..]
                .iter()
                .position(u8::is_ascii_digit)
                .map_or(bytes.len(), |p| i + p);
            out.push_str(&value[i..next]);
            i = next;
            continue;
        }
        let digits = &value[i..i + run];
        let province = digits.get(..2).and_then(|p| p.parse::<u8>().ok());
        if run == 16 && province.is_some_and(|p| (11..=94).contains(&p)) {
            out.push_str(&mask(digits));
        } else {
            out.push_str(digits);
        }
        i += run;
    }
}

#[cfg(test)]
mod identity_tests {
    use super::{mask_identity_numbers_into, Text};

    fn mask_identity_numbers(value: &str) -> Text {
        let mut out = Text::default();
        mask_identity_numbers_into(value, &mut out);
        out
    }

    #[test]
    fn identity_numbers_in_any_column_are_masked() {
        assert_eq!(
            mask_identity_numbers("6472014107850001"),
            "647201********01"
        );
        assert_eq!(
            mask_identity_numbers("istri 6472014107850002, anak 6472011203100003"),
            "istri 647201********02, anak 647201********03"
        );
        // Not a NIK: too short, too long, no province prefix, a phone number.
        for v in [
            "081234567890",
            "64720141078500011",
            "0972014107850001",
            "Rp 1.500.000",
            "RT 003",
        ] {
            assert_eq!(mask_identity_numbers(v), v);
        }
        assert_eq!(
            mask_identity_numbers("Jl. Ahmad Yani № 5"),
            "Jl. Ahmad Yani № 5"
        );
    }
}
