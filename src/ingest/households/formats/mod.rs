//! Source formats: which header names mean which household field, how a format is recognised
//! from its header row, and how one row becomes a household (or reject lines).

mod columns;
mod mapper;

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::model::{Program, SourceFormat};
use columns::signature;

pub use columns::VERVAL_COLUMNS;
pub use mapper::{sex_label, MappedRow, RowMapper};

/// A household field a column can feed. In a TOML mapping each is named in snake_case
/// (`source_id`, `head_name`, `desa`, `pkh`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Field {
    /// The file's household id.
    SourceId,
    /// Name of the head (for DTKS: of the person).
    HeadName,
    /// NIK (for DTKS: of the person).
    Nik,
    /// KK number.
    Kk,
    /// Sex.
    Sex,
    /// Birth date.
    BirthDate,
    /// Member count.
    Members,
    /// Street or whole address.
    Street,
    /// RT.
    Rt,
    /// RW.
    Rw,
    /// Dusun.
    Dusun,
    /// Desa/kelurahan name.
    Desa,
    /// Kecamatan name.
    Kecamatan,
    /// Kabupaten/kota name.
    Kabupaten,
    /// Province name.
    Provinsi,
    /// Region code as given.
    RegionCode,
    /// Desil.
    Desil,
    /// Extreme-poor flag (Ya/Tidak).
    ExtremePoor,
    /// Receipt of a programme (Ya/Tidak), named by the programme (`pkh`, `bpnt`…).
    #[strum(disabled)]
    Program(Program),
    /// Latitude.
    Lat,
    /// Longitude.
    Lon,
    /// Relationship to the head (DTKS).
    Relationship,
    /// Verification status (`Sangat Miskin`, `Miskin`, …).
    Status,
    /// Verification date.
    VervalDate,
}

impl Field {
    /// The field's snake_case name, as used in mapping files.
    pub fn name(&self) -> &'static str {
        match self {
            Field::Program(p) => p.as_str(),
            f => (*f).into(),
        }
    }

    /// The field a mapping file names: a field's name or a programme's.
    pub fn named(s: &str) -> Result<Field, String> {
        s.parse::<Field>()
            .or_else(|_| s.parse::<Program>().map(Field::Program))
            .map_err(|_| format!("unknown household field `{s}`"))
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        let s = String::deserialize(d)?;
        Field::named(&s).map_err(serde::de::Error::custom)
    }
}

/// Header text reduced for matching: lower case, letters and digits only.
pub fn normalize_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A custom column mapping, read from TOML:
///
/// ```toml
/// desil_scale = 10          # 4 or 10; omit when the file has no desil
/// [columns]
/// source_id = "No Urut"
/// head_name = "Nama KRT"
/// nik = "NIK KRT"
/// desa = "Kelurahan"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMapping {
    /// Desil scale of the file (4 or 10).
    pub desil_scale: Option<u8>,
    /// Field → header as in the file.
    pub columns: HashMap<Field, String>,
}

impl CustomMapping {
    /// Reads a mapping file.
    pub fn from_file(path: &Path) -> Result<CustomMapping, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let m: CustomMapping =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        if !matches!(m.desil_scale, None | Some(4) | Some(10)) {
            return Err(format!("{}: desil_scale must be 4 or 10", path.display()));
        }
        if !m.columns.contains_key(&Field::HeadName)
            || !(m.columns.contains_key(&Field::Nik) || m.columns.contains_key(&Field::Kk))
        {
            return Err(format!(
                "{}: [columns] must map head_name and nik or kk",
                path.display()
            ));
        }
        Ok(m)
    }
}

/// Which format a header row belongs to, if any (custom mappings are checked by the caller).
pub fn detect_format(header: &[String]) -> Option<SourceFormat> {
    let norm: Vec<String> = header.iter().map(|h| normalize_header(h)).collect();
    [
        SourceFormat::P3ke,
        SourceFormat::Dtks,
        SourceFormat::Dtsen,
        SourceFormat::Verval,
    ]
    .into_iter()
    .find(|f| {
        signature(*f)
            .iter()
            .all(|alts| alts.iter().any(|a| norm.iter().any(|h| h == a)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::households::privacy::Secret;
    use crate::ingest::households::reader::Cells;
    use crate::model::{AttrName, Sex};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn secret() -> Secret {
        Secret::new("test-secret-0123456789").unwrap()
    }

    #[test]
    fn formats_are_recognised_despite_case_and_spacing() {
        let p3ke = strings(&[
            "ID Keluarga P3KE",
            "Provinsi",
            "Kode Kemdagri",
            "Kepala Keluarga",
            "NIK",
        ]);
        assert_eq!(detect_format(&p3ke), Some(SourceFormat::P3ke));
        let p3ke_messy = strings(&["id_keluarga_p3ke", " KEPALA  KELUARGA ", "nik"]);
        assert_eq!(detect_format(&p3ke_messy), Some(SourceFormat::P3ke));
        let dtks = strings(&[
            "iddtks",
            "nomor_kk",
            "nomor_nik",
            "nama",
            "hubungan_keluarga",
        ]);
        assert_eq!(detect_format(&dtks), Some(SourceFormat::Dtks));
        let dtsen = strings(&["nomor_kartu_keluarga", "desil_nasional"]);
        assert_eq!(detect_format(&dtsen), Some(SourceFormat::Dtsen));
        let verval = strings(&["ID", "NIK", "Latitude", "Longitude", "Tanggal Verval"]);
        assert_eq!(detect_format(&verval), Some(SourceFormat::Verval));
        assert_eq!(detect_format(&strings(&["DATA KELUARGA", "", ""])), None);
    }

    #[test]
    fn a_p3ke_row_becomes_a_household_and_bad_values_become_rejects() {
        let header = strings(&[
            "ID Keluarga P3KE",
            "Desa/Kelurahan",
            "Kode Kemdagri",
            "Desil Kesejahteraan",
            "Kepala Keluarga",
            "NIK",
            "Jenis Kelamin",
            "Penerima PKH",
            "Jenis Atap",
        ]);
        let m = RowMapper::new(SourceFormat::P3ke, &header, None).unwrap();
        let good = strings(&[
            "P3KE-1",
            "Simpang Pasir",
            "6472011004",
            "1",
            "Budi",
            "6472010107850001",
            "L",
            "Ya",
            "Seng",
        ]);
        let h = m
            .household(5, &Cells::from(good.clone()), &secret())
            .unwrap()
            .household;
        assert_eq!(h.desil, Some(1));
        assert_eq!(h.nik_masked.as_deref(), Some("647201********01"));
        assert_eq!(h.programs.get(Program::Pkh), Some(true));
        assert_eq!(h.programs.get(Program::Bpnt), None);
        assert_eq!(h.attrs, vec![(AttrName::new("Jenis Atap"), "Seng".into())]);
        assert_eq!(h.sex, Some(Sex::L));

        let bad = strings(&[
            "P3KE-2",
            "X",
            "6472011004",
            "7",
            "Ani",
            "64720101078500A1",
            "L",
            "Mungkin",
            "",
        ]);
        let rejects = m.household(6, &Cells::from(bad), &secret()).unwrap_err();
        let reasons: Vec<&str> = rejects.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(rejects.len(), 3, "{reasons:?}");
        assert!(rejects.iter().all(|r| r.row == 6));
        assert!(rejects
            .iter()
            .any(|r| r.column == "Desil Kesejahteraan" && r.reason.contains("1–4")));
        assert!(rejects
            .iter()
            .any(|r| r.column == "NIK" && r.value == "****************"));
        assert!(rejects.iter().any(|r| r.column == "Penerima PKH"));
    }

    #[test]
    fn missing_required_columns_are_named() {
        let header = strings(&["ID Keluarga P3KE", "Kepala Keluarga"]);
        let err = RowMapper::new(SourceFormat::P3ke, &header, None).unwrap_err();
        assert!(err.contains("nik") && err.contains("desil"), "{err}");
    }

    #[test]
    fn personal_columns_are_not_kept_as_attributes() {
        let header = strings(&[
            "nomor_kk",
            "nomor_nik",
            "nama",
            "hubungan_keluarga",
            "desa_kelurahan",
            "nama_ibu_kandung",
            "tempat_lahir",
        ]);
        let m = RowMapper::new(SourceFormat::Dtks, &header, None).unwrap();
        let row = strings(&[
            "6472011207100003",
            "6472010107850001",
            "Budi",
            "KEPALA KELUARGA",
            "Rawa Makmur",
            "Siti",
            "Samarinda",
        ]);
        let mapped = m
            .household(2, &Cells::from(row.clone()), &secret())
            .unwrap();
        assert!(mapped.is_head);
        assert!(
            mapped.household.attrs.is_empty(),
            "{:?}",
            mapped.household.attrs
        );
    }

    #[test]
    fn custom_mappings_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(&p, "desil_scale = 10\n[columns]\nhead_name = \"Nama KRT\"\nnik = \"NIK KRT\"\ndesa = \"Kel\"\ndesil = \"Desil\"\n").unwrap();
        let m = CustomMapping::from_file(&p).unwrap();
        let header = strings(&["No", "Nama KRT", "NIK KRT", "Kel", "Desil"]);
        let mapper = RowMapper::new(SourceFormat::Custom, &header, Some(&m)).unwrap();
        let h = mapper
            .household(
                2,
                &Cells::from(strings(&[
                    "1",
                    "Budi",
                    "6472010107850001",
                    "Rawa Makmur",
                    "9",
                ])),
                &secret(),
            )
            .unwrap()
            .household;
        assert_eq!(h.desil, Some(9));
        std::fs::write(&p, "[columns]\nnama = \"x\"\n").unwrap();
        assert!(CustomMapping::from_file(&p).is_err());
        std::fs::write(&p, "[columns]\nhead_name = \"Nama KRT\"\nkk = \"No KK\"\n").unwrap();
        let m = CustomMapping::from_file(&p).unwrap();
        assert!(RowMapper::new(SourceFormat::Custom, &header, Some(&m))
            .unwrap_err()
            .contains("No KK"));
    }
}
