//! The review queue: households of a batch that the geocoder could not place in a desa, or
//! placed with a flag, written to a CSV a clerk can correct, and the corrected file read back.
//!
//! The file's columns are in Bahasa Indonesia, for the kabupaten offices that fill it in.
//! Only `kode_wilayah`, `desa`, `kecamatan`, `kabupaten`, `latitude` and `longitude` are read
//! back; `id` ties a row to its stored household. NIK appears masked only.

use crate::model::sheet::SheetCsv;
use std::io::{Read, Write};

use super::households::validate::parse_coord;
use crate::geocode::Gazetteer;
use crate::model::{Geocode, Household, Reject, StoredHousehold, Text};

/// Columns of the review file.
pub const REVIEW_COLUMNS: [&str; 15] = [
    "id",
    "baris",
    "id_sumber",
    "nik",
    "nama_kepala_keluarga",
    "kode_wilayah",
    "desa",
    "kecamatan",
    "kabupaten",
    "alamat",
    "latitude",
    "longitude",
    "kualitas",
    "catatan",
    "kandidat",
];

/// The stored households of a batch that need review, in file order.
pub fn needing_review(households: &[StoredHousehold]) -> Vec<&StoredHousehold> {
    households
        .iter()
        .filter(|s| {
            s.household
                .geocode
                .as_ref()
                .is_some_and(Geocode::needs_review)
        })
        .collect()
}

/// `kode Nama (Kecamatan)` for each candidate, or the unit known for `*_only` results.
fn candidate_text(g: &Geocode, gazetteer: &Gazetteer) -> String {
    let named = |k: crate::region::Kode| {
        let nama = gazetteer.nama(k).unwrap_or("?");
        match k.parent().and_then(|p| gazetteer.nama(p)) {
            Some(parent) if k.level() == crate::region::Level::Desa => {
                format!("{k} {nama} ({parent})")
            }
            _ => format!("{k} {nama}"),
        }
    };
    let list: Vec<String> = if g.candidates.is_empty() && !g.quality.has_desa() {
        g.unit.into_iter().map(named).collect()
    } else {
        g.candidates.iter().copied().map(named).collect()
    };
    list.join("; ")
}

/// Writes the review file of `households` (already filtered by [`needing_review`]).
pub fn write_review(
    households: &[&StoredHousehold],
    gazetteer: &Gazetteer,
    out: impl Write,
) -> csv::Result<()> {
    let mut w = SheetCsv::from_writer(out);
    w.write_record(REVIEW_COLUMNS)?;
    for s in households {
        let h = &s.household;
        let Some(g) = &h.geocode else { continue };
        let a = &h.address;
        let text = |v: &Option<Text>| v.as_deref().unwrap_or_default().to_string();
        let coord = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let notes = match (g.kode_desa, g.flags.is_empty()) {
            (Some(k), false) => format!("{} (ditempatkan di {k})", g.flags),
            _ => g.flags.to_string(),
        };
        w.write_record([
            s.id.to_string(),
            h.source_row.to_string(),
            text(&h.source_id),
            text(&h.nik_masked),
            text(&h.head_name),
            text(&h.region_code),
            text(&a.desa),
            text(&a.kecamatan),
            text(&a.kabupaten),
            text(&a.street),
            coord(h.lat),
            coord(h.lon),
            g.quality.as_str().to_string(),
            notes,
            candidate_text(g, gazetteer),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// One corrected row of a review file.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// Stored household id.
    pub id: i64,
    /// Row of the review file, 1-based with the header as row 1.
    pub row: u64,
    /// Region code as corrected (empty: none).
    pub region_code: Option<String>,
    /// Desa name.
    pub desa: Option<String>,
    /// Kecamatan name.
    pub kecamatan: Option<String>,
    /// Kabupaten name.
    pub kabupaten: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

impl Correction {
    /// The household with this correction applied (not yet geocoded again).
    pub fn apply_to(&self, h: &Household) -> Household {
        let mut out = h.clone();
        out.region_code = self.region_code.as_deref().map(Text::from);
        out.address.desa = self.desa.as_deref().map(Text::from);
        out.address.kecamatan = self.kecamatan.as_deref().map(Text::from);
        out.address.kabupaten = self.kabupaten.as_deref().map(Text::from);
        out.lat = self.lat;
        out.lon = self.lon;
        out.geocode = None;
        out
    }
}

/// Reads a corrected review file. Rows that cannot be used come back as rejects with the
/// reason; the others as corrections.
pub fn read_corrections(input: impl Read) -> Result<(Vec<Correction>, Vec<Reject>), String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = rdr
        .headers()
        .map_err(|e| format!("cannot read the review file: {e}"))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let need = [
        "id",
        "kode_wilayah",
        "desa",
        "kecamatan",
        "kabupaten",
        "latitude",
        "longitude",
    ];
    let missing: Vec<&str> = need.iter().copied().filter(|c| col(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "the review file lacks the column(s) {}; export it again with `lentera households review`",
            missing.join(", ")
        ));
    }
    // Every column asked for below is among those checked above.
    let idx = |name: &str| col(name).unwrap_or(usize::MAX);
    let mut corrections = Vec::new();
    let mut rejects = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i as u64 + 2;
        let reject = |column: &str, value: &str, reason: String| Reject {
            row,
            column: column.into(),
            value: value.into(),
            reason,
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                rejects.push(reject("", "", format!("unreadable row: {e}")));
                continue;
            }
        };
        // The review file was written through `SheetCsv`: a cell it guarded reads back as typed.
        let cell =
            |name: &str| crate::model::sheet::restore(rec.get(idx(name)).unwrap_or("").trim());
        let opt = |name: &str| Some(cell(name).to_string()).filter(|s| !s.is_empty());
        let Ok(id) = cell("id").parse::<i64>() else {
            rejects.push(reject(
                "id",
                cell("id"),
                "id must be the number Lentera wrote".into(),
            ));
            continue;
        };
        let mut coord = |name: &str| -> Result<Option<f64>, ()> {
            let raw = cell(name);
            if raw.is_empty() {
                return Ok(None);
            }
            parse_coord(raw).map(Some).map_err(|reason| {
                rejects.push(reject(name, raw, reason));
            })
        };
        let (Ok(lat), Ok(lon)) = (coord("latitude"), coord("longitude")) else {
            continue;
        };
        corrections.push(Correction {
            id,
            row,
            region_code: opt("kode_wilayah"),
            desa: opt("desa"),
            kecamatan: opt("kecamatan"),
            kabupaten: opt("kabupaten"),
            lat,
            lon,
        });
    }
    Ok((corrections, rejects))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_are_read_and_bad_rows_reported() {
        let csv = "id,baris,kode_wilayah,desa,kecamatan,kabupaten,latitude,longitude,kualitas\n\
                   7,2,64.72.01.1001,,,,,,ambiguous\n\
                   8,3,,Bukuan,Palaran,Samarinda,\"-0,55\",\"117,55\",unmatched\n\
                   x,4,,,,,,,\n\
                   9,5,,,,,abc,117,\n";
        let (c, r) = read_corrections(csv.as_bytes()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].region_code.as_deref(), Some("64.72.01.1001"));
        assert_eq!((c[1].lat, c[1].lon), (Some(-0.55), Some(117.55)));
        assert_eq!(c[1].desa.as_deref(), Some("Bukuan"));
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].row, r[0].column.as_str()), (4, "id"));
        assert_eq!((r[1].row, r[1].column.as_str()), (5, "latitude"));
    }

    #[test]
    fn a_file_without_the_columns_is_refused() {
        let err = read_corrections("id,foo\n1,2\n".as_bytes()).unwrap_err();
        assert!(err.contains("kode_wilayah"), "{err}");
    }
}
