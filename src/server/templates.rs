//! The verval template that the province hands to kabupaten offices: a CSV header and an XLSX
//! workbook with a data sheet and an instruction sheet in Bahasa Indonesia.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::ingest::households::formats::VERVAL_COLUMNS;

/// The CSV template: the header row only.
pub fn verval_csv() -> String {
    let mut out = VERVAL_COLUMNS
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

const INSTRUCTIONS: [&str; 7] = [
    "Petunjuk pengisian templat verifikasi dan validasi (verval) rumah tangga miskin",
    "1. Isi satu baris per rumah tangga pada lembar \"Data\". Jangan mengubah, menghapus atau menyusun ulang nama kolom.",
    "2. NIK ditulis sebagai teks 16 digit. Format sel sebagai Teks agar Excel tidak mengubahnya menjadi angka (mis. 6,47E+15).",
    "3. Koordinat diambil dari GPS ponsel di rumah tangga; koma atau titik desimal boleh dipakai. Kosongkan bila tidak ada.",
    "4. Simpan sebagai XLSX, atau CSV (UTF-8). Unggah dengan: lentera households import FILE --format verval --period TTTT-BB",
    "5. Baris yang tidak lolos pemeriksaan dicatat dalam laporan penolakan (nomor baris, kolom, nilai, alasan); baris lain tetap masuk.",
    "Data ini berisi data pribadi (UU 27/2022 tentang Pelindungan Data Pribadi): simpan dan kirim hanya kepada petugas yang berwenang.",
];

/// The XLSX template: sheet `Data` with the header row, sheet `Petunjuk` with instructions
/// and the meaning of each column.
pub fn verval_xlsx() -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let data = book.add_worksheet();
    data.set_name("Data")?;
    for (i, (name, _)) in VERVAL_COLUMNS.iter().enumerate() {
        let col = i as u16;
        data.write_string_with_format(0, col, *name, &bold)?;
        data.set_column_width(col, 18)?;
        if matches!(*name, "nik" | "kode_desa" | "id") {
            data.set_column_format(col, &text)?;
        }
    }
    data.set_freeze_panes(1, 0)?;
    let help = book.add_worksheet();
    help.set_name("Petunjuk")?;
    help.set_column_width(0, 24)?;
    help.set_column_width(1, 100)?;
    for (r, line) in INSTRUCTIONS.iter().enumerate() {
        help.write_string(r as u32, 0, *line)?;
    }
    let start = INSTRUCTIONS.len() as u32 + 1;
    help.write_string_with_format(start, 0, "Kolom", &bold)?;
    help.write_string_with_format(start, 1, "Isi", &bold)?;
    for (i, (name, meaning)) in VERVAL_COLUMNS.iter().enumerate() {
        help.write_string(start + 1 + i as u32, 0, *name)?;
        help.write_string(start + 1 + i as u32, 1, *meaning)?;
    }
    book.save_to_buffer()
}
