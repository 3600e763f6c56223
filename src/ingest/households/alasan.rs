//! Reject reasons in Bahasa Indonesia, for the reports kabupaten clerks read.
//!
//! The checks (`validate`, `formats::mapper`, `produce`) give their reasons in English, as
//! the command line and the logs speak; reports a clerk downloads translate them here, by
//! the fixed wording each check uses. A reason this table does not know is shown as it is.

/// A reason's words in Bahasa Indonesia (the value it names kept as it is).
pub fn alasan(reason: &str) -> String {
    let r = reason;
    // `{name} …` reasons of identity numbers: the column name stays.
    if let Some((name, rest)) = r.split_once(" must be 16 digits; ") {
        let name = id_name(name);
        return match rest.strip_prefix("it has ") {
            Some(n) => format!("{name} harus 16 digit; isinya {n} digit"),
            None => format!("{name} harus 16 digit; isinya memuat karakter lain"),
        };
    }
    if let Some(name) = r.strip_suffix(
        " was turned into a number by a spreadsheet (scientific notation): digits are lost; \
         format the column as text and export again",
    ) {
        let name = id_name(name);
        return format!(
            "{name} diubah menjadi angka oleh spreadsheet (notasi ilmiah): digitnya hilang; \
             format kolom sebagai teks lalu ekspor ulang"
        );
    }
    if let Some((name, rest)) = r.split_once(" starts with ") {
        if let Some(region) = rest.strip_suffix(", which is not a kecamatan code (PPKKCC)") {
            let name = id_name(name);
            return format!("{name} diawali {region}, yang bukan kode kecamatan (PPKKCC)");
        }
    }
    if let Some(name) =
        r.strip_suffix(" digits 7–12 must be a birth date (DDMMYY, day + 40 for women)")
    {
        return format!(
            "digit 7–12 {name} harus tanggal lahir (DDMMYY, tanggal + 40 untuk perempuan)"
        );
    }
    if let Some(v) = between(r, "desil `", "` is not a whole number") {
        return format!("desil `{v}` bukan bilangan bulat");
    }
    if let Some(rest) = r.strip_prefix("desil ") {
        if let Some((d, scale)) = rest.split_once(" is outside the 1–") {
            let max = scale.trim_end_matches(" scale of this source");
            return format!("desil {d} di luar skala 1–{max} sumber ini");
        }
    }
    if let Some(d) = r.strip_suffix(" is not a calendar date") {
        return format!("{d} bukan tanggal yang ada di kalender");
    }
    if let Some(d) = between(r, "date ", " cannot be written") {
        return format!("tanggal {d} tidak dapat ditulis");
    }
    if let Some(v) = between(
        r,
        "date `",
        "` is not in a known form (DD-MM-YYYY, YYYY-MM-DD)",
    ) {
        return format!("tanggal `{v}` tidak dalam bentuk yang dikenal (DD-MM-YYYY, YYYY-MM-DD)");
    }
    if let Some(v) = between(r, "coordinate `", "` is not a number") {
        return format!("koordinat `{v}` bukan angka");
    }
    if let Some(v) = between(r, "`", "` is not Ya or Tidak") {
        return format!("`{v}` bukan Ya atau Tidak");
    }
    if let Some(v) = between(r, "sex `", "` is not L or P") {
        return format!("jenis kelamin `{v}` bukan L atau P");
    }
    if let Some(v) = between(r, "member count `", "` is not a number from 1 to 50") {
        return format!("jumlah anggota `{v}` bukan angka 1 sampai 50");
    }
    if let Some(n) = between(r, "the cell is longer than ", " characters") {
        return format!("isi sel lebih dari {n} karakter");
    }
    let fixed = match r {
        "the cell holds control characters (e.g. NUL) from a damaged file" => {
            "sel memuat karakter kendali (mis. NUL) dari berkas yang rusak"
        }
        "only one of latitude and longitude is given" => {
            "hanya salah satu dari lintang dan bujur yang diisi"
        }
        "required value is empty" => "nilai wajib kosong",
        "no location: neither a region code nor a desa/kelurahan name" => {
            "tanpa lokasi: tidak ada kode wilayah maupun nama desa/kelurahan"
        }
        "status must be Sangat Miskin, Miskin, Hampir Miskin, Rentan or Lainnya" => {
            "status harus Sangat Miskin, Miskin, Hampir Miskin, Rentan atau Lainnya"
        }
        "the household (same nomor_kk) has no valid head row (hubungan_keluarga KEPALA KELUARGA)" => {
            "keluarga ini (nomor_kk sama) tidak punya baris kepala keluarga yang sah \
             (hubungan_keluarga KEPALA KELUARGA)"
        }
        _ => r,
    };
    fixed.to_string()
}

/// An identity number's name as the checks give it, in Bahasa Indonesia.
fn id_name(name: &str) -> &str {
    if name == "KK number" {
        "nomor KK"
    } else {
        name
    }
}

/// The text between `start` and `end` when `r` is exactly `start … end`.
fn between<'a>(r: &'a str, start: &str, end: &str) -> Option<&'a str> {
    r.strip_prefix(start)?.strip_suffix(end)
}

#[cfg(test)]
mod tests {
    use super::alasan;
    use crate::ingest::households::validate;

    #[test]
    fn the_reasons_of_the_checks_read_in_bahasa_indonesia() {
        let reasons = [
            validate::parse_desil("12", 10).unwrap_err(),
            validate::parse_desil("x", 10).unwrap_err(),
            validate::parse_coord("abc").unwrap_err(),
            validate::parse_yes_no("mungkin").unwrap_err(),
            validate::parse_members("99").unwrap_err(),
            validate::parse_date("31-02-2020").unwrap_err(),
            validate::parse_date("kemarin").unwrap_err(),
            validate::parse_sex("X").unwrap_err(),
            validate::check_identity("123", validate::IdKind::Kk).unwrap_err(),
            validate::check_identity("12345678901234x6", validate::IdKind::Nik).unwrap_err(),
            validate::check_identity("6.47E+15", validate::IdKind::Nik).unwrap_err(),
            validate::check_identity("0000000101900001", validate::IdKind::Nik).unwrap_err(),
            validate::check_identity("6472019901900001", validate::IdKind::Nik).unwrap_err(),
            "required value is empty".to_string(),
            "no location: neither a region code nor a desa/kelurahan name".to_string(),
        ];
        for r in reasons {
            let id = alasan(&r);
            assert_ne!(id, r, "no translation for: {r}");
            assert!(!id.contains("KK number") && !id.contains(" is "), "{id}");
        }
        assert_eq!(
            alasan("desil 12 is outside the 1–10 scale of this source"),
            "desil 12 di luar skala 1–10 sumber ini"
        );
        assert_eq!(alasan("something new"), "something new");
    }
}
