//! Source formats: which header names mean which household field, how a format is recognised
//! from its header row, and how one row becomes a household (or reject lines).

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;

use super::privacy::{mask, Secret};
use super::reader::{trim_cell, Cells};
use super::validate::{
    check_identity, parse_coord, parse_date, parse_desil, parse_members, parse_sex, parse_yes_no,
    IdKind,
};
use crate::model::{AttrName, DesilScale, Household, Program, Reject, Sex, SourceFormat, Text};

/// A household field a column can feed. In a TOML mapping each is named in snake_case
/// (`source_id`, `head_name`, `desa`, `pkh`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Receipt of a programme (Ya/Tidak).
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
    const NAMED: [(&'static str, Field); 23] = [
        ("source_id", Field::SourceId),
        ("head_name", Field::HeadName),
        ("nik", Field::Nik),
        ("kk", Field::Kk),
        ("sex", Field::Sex),
        ("birth_date", Field::BirthDate),
        ("members", Field::Members),
        ("street", Field::Street),
        ("rt", Field::Rt),
        ("rw", Field::Rw),
        ("dusun", Field::Dusun),
        ("desa", Field::Desa),
        ("kecamatan", Field::Kecamatan),
        ("kabupaten", Field::Kabupaten),
        ("provinsi", Field::Provinsi),
        ("region_code", Field::RegionCode),
        ("desil", Field::Desil),
        ("extreme_poor", Field::ExtremePoor),
        ("lat", Field::Lat),
        ("lon", Field::Lon),
        ("relationship", Field::Relationship),
        ("status", Field::Status),
        ("verval_date", Field::VervalDate),
    ];

    /// The field's snake_case name, as used in mapping files.
    pub fn name(&self) -> &'static str {
        match self {
            Field::Program(p) => p.as_str(),
            f => Field::NAMED
                .iter()
                .find(|(_, g)| g == f)
                .map(|(n, _)| *n)
                .unwrap_or("field"),
        }
    }
}

impl FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Field, String> {
        Field::NAMED
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, f)| *f)
            .or_else(|| s.parse().ok().map(Field::Program))
            .ok_or_else(|| format!("unknown household field `{s}`"))
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
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

type Aliases = &'static [(Field, &'static [&'static str])];

const P3KE: Aliases = &[
    (Field::SourceId, &["idkeluargap3ke", "idkeluarga"]),
    (Field::Provinsi, &["provinsi"]),
    (Field::Kabupaten, &["kabupatenkota", "kabupaten"]),
    (Field::Kecamatan, &["kecamatan"]),
    (Field::Desa, &["desakelurahan", "desa", "kelurahan"]),
    (
        Field::RegionCode,
        &["kodekemdagri", "kodekemendagri", "kodewilayah"],
    ),
    (Field::Desil, &["desilkesejahteraan", "desil"]),
    (Field::Street, &["alamat"]),
    (Field::HeadName, &["kepalakeluarga", "namakepalakeluarga"]),
    (Field::Nik, &["nik", "nikkepalakeluarga"]),
    (Field::Sex, &["jeniskelamin"]),
    (Field::BirthDate, &["tanggallahir"]),
    (Field::Program(Program::Bpnt), &["penerimabpnt"]),
    (Field::Program(Program::Bpum), &["penerimabpum"]),
    (Field::Program(Program::Bst), &["penerimabst"]),
    (Field::Program(Program::Pkh), &["penerimapkh"]),
    (Field::Program(Program::Sembako), &["penerimasembako"]),
    (Field::Program(Program::Prakerja), &["penerimaprakerja"]),
    (Field::Program(Program::Kur), &["penerimakur"]),
];

const DTKS: Aliases = &[
    (Field::Provinsi, &["provinsi"]),
    (Field::Kabupaten, &["kabupatenkota", "kabupaten"]),
    (Field::Kecamatan, &["kecamatan"]),
    (Field::Desa, &["desakelurahan", "desa", "kelurahan"]),
    (Field::Street, &["alamat"]),
    (Field::Dusun, &["dusun"]),
    (Field::Rt, &["rt"]),
    (Field::Rw, &["rw"]),
    (Field::Kk, &["nomorkk", "nokk"]),
    (Field::Nik, &["nomornik", "nik"]),
    (Field::HeadName, &["nama"]),
    (Field::BirthDate, &["tanggallahir"]),
    (Field::Sex, &["jeniskelamin"]),
    (
        Field::Relationship,
        &["hubungankeluarga", "hubungandengankepalakeluarga"],
    ),
];

const DTSEN: Aliases = &[
    (Field::SourceId, &["idkeluarga", "idkeluargadtsen", "id"]),
    (Field::Kk, &["nomorkartukeluarga", "nomorkk", "nokk"]),
    (
        Field::Nik,
        &["nomorindukkependudukan", "nik", "nikkepalakeluarga"],
    ),
    (
        Field::HeadName,
        &["namakepalakeluarga", "nama", "kepalakeluarga"],
    ),
    (Field::Desil, &["desilnasional", "desil"]),
    (Field::Street, &["alamat"]),
    (Field::Rt, &["rt"]),
    (Field::Rw, &["rw"]),
    (Field::Dusun, &["dusun"]),
    (Field::Desa, &["desakelurahan", "desa", "kelurahan"]),
    (Field::Kecamatan, &["kecamatan"]),
    (Field::Kabupaten, &["kabupatenkota", "kabupaten"]),
    (Field::Provinsi, &["provinsi"]),
    (
        Field::RegionCode,
        &["kodewilayah", "kodedesa", "kodekemendagri", "kodekemdagri"],
    ),
    (
        Field::Members,
        &["jumlahanggotakeluarga", "jumlahart", "jumlahanggota"],
    ),
    (Field::Sex, &["jeniskelamin"]),
    (Field::BirthDate, &["tanggallahir"]),
    (Field::Program(Program::Pkh), &["penerimapkh", "pkh"]),
    (Field::Program(Program::Bpnt), &["penerimabpnt", "bpnt"]),
    (
        Field::Program(Program::Sembako),
        &["penerimasembako", "sembako"],
    ),
    (Field::Program(Program::Blt), &["penerimablt", "blt"]),
    (
        Field::Program(Program::Pbi),
        &["penerimapbi", "pbi", "pbijkn"],
    ),
];

const VERVAL: Aliases = &[
    (Field::SourceId, &["id"]),
    (Field::Nik, &["nik"]),
    (Field::HeadName, &["namakepalakeluarga", "nama"]),
    (Field::RegionCode, &["kodedesa", "kodewilayah"]),
    (Field::Desa, &["desa", "desakelurahan"]),
    (Field::Kecamatan, &["kecamatan"]),
    (Field::Kabupaten, &["kabupaten", "kabupatenkota"]),
    (Field::Street, &["alamat"]),
    (Field::Lat, &["latitude", "lat"]),
    (Field::Lon, &["longitude", "lon", "lng"]),
    (Field::Status, &["status"]),
    (Field::VervalDate, &["tanggalverval"]),
    (Field::Desil, &["desil"]),
    (Field::Members, &["jumlahanggota"]),
];

/// The columns of Lentera's verval template with their meaning in Bahasa Indonesia, in order.
pub const VERVAL_COLUMNS: [(&str, &str); 16] = [
    (
        "id",
        "Nomor urut rumah tangga dalam putaran verval ini (wajib, unik).",
    ),
    (
        "nik",
        "NIK kepala keluarga, 16 digit, ditulis sebagai teks (wajib).",
    ),
    ("nama_kepala_keluarga", "Nama kepala keluarga (wajib)."),
    (
        "kode_desa",
        "Kode wilayah Kemendagri desa/kelurahan, dengan atau tanpa titik, mis. 64.72.01.1004.",
    ),
    ("desa", "Nama desa/kelurahan."),
    ("kecamatan", "Nama kecamatan."),
    ("kabupaten", "Nama kabupaten/kota."),
    ("alamat", "Jalan, gang, nomor, RT/RW, dusun."),
    (
        "latitude",
        "Lintang dari GPS ponsel (negatif di selatan khatulistiwa), mis. -0,5123 atau -0.5123.",
    ),
    (
        "longitude",
        "Bujur dari GPS ponsel, mis. 117,1534 atau 117.1534.",
    ),
    (
        "status",
        "Hasil verifikasi: Sangat Miskin, Miskin, Hampir Miskin, Rentan atau Lainnya (wajib).",
    ),
    (
        "tanggal_verval",
        "Tanggal verifikasi, HH-BB-TTTT atau HH/BB/TTTT (wajib).",
    ),
    ("desil", "Desil kesejahteraan 1–10, bila diketahui."),
    ("jumlah_anggota", "Jumlah anggota rumah tangga, 1–50."),
    ("petugas", "Nama petugas verifikasi."),
    ("keterangan", "Catatan lapangan."),
];

/// Header names that identify each format (all must be present).
fn signature(format: SourceFormat) -> &'static [&'static [&'static str]] {
    match format {
        SourceFormat::P3ke => &[&["idkeluargap3ke"], &["kepalakeluarga"]],
        SourceFormat::Dtks => &[&["nomorkk", "nokk"], &["hubungankeluarga"]],
        SourceFormat::Dtsen => &[&["nomorkartukeluarga", "desilnasional"]],
        SourceFormat::Verval => &[
            &["id"],
            &["latitude", "lat"],
            &["longitude", "lon", "lng"],
            &["tanggalverval"],
        ],
        SourceFormat::Custom => &[],
    }
}

fn aliases(format: SourceFormat) -> Aliases {
    match format {
        SourceFormat::P3ke => P3KE,
        SourceFormat::Dtks => DTKS,
        SourceFormat::Dtsen => DTSEN,
        SourceFormat::Verval | SourceFormat::Custom => VERVAL,
    }
}

/// Fields a row must have, per format; `RegionCode`/`Desa` are checked as "some location".
fn required(format: SourceFormat) -> &'static [Field] {
    match format {
        SourceFormat::P3ke => &[Field::SourceId, Field::HeadName, Field::Nik, Field::Desil],
        SourceFormat::Dtks => &[Field::Kk, Field::Nik, Field::HeadName, Field::Relationship],
        SourceFormat::Dtsen => &[Field::Kk, Field::HeadName, Field::Desil],
        SourceFormat::Verval => &[
            Field::SourceId,
            Field::Nik,
            Field::HeadName,
            Field::Status,
            Field::VervalDate,
        ],
        SourceFormat::Custom => &[Field::HeadName],
    }
}

/// Header words of columns that hold personal data of other people than the head, or
/// identity numbers: such columns are never kept as attributes.
const PERSONAL_COLUMNS: [&str; 6] = [
    "nik",
    "nama",
    "ibu",
    "tempatlahir",
    "nomorkk",
    "kartukeluarga",
];

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
                })
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
        for (name, idx) in &self.attrs {
            if let Some(v) = cells.get(*idx).map(trim_cell).filter(|s| !s.is_empty()) {
                h.attrs.push((*name, Text::from(v)));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
