//! The header names of each national format, and what a template or a row of each must hold.

use super::Field;
use crate::model::{Program, SourceFormat};

pub(super) type Aliases = &'static [(Field, &'static [&'static str])];

pub(super) const P3KE: Aliases = &[
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

pub(super) const DTKS: Aliases = &[
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

pub(super) const DTSEN: Aliases = &[
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

pub(super) const VERVAL: Aliases = &[
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
pub(super) fn signature(format: SourceFormat) -> &'static [&'static [&'static str]] {
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

pub(super) fn aliases(format: SourceFormat) -> Aliases {
    match format {
        SourceFormat::P3ke => P3KE,
        SourceFormat::Dtks => DTKS,
        SourceFormat::Dtsen => DTSEN,
        SourceFormat::Verval | SourceFormat::Custom => VERVAL,
    }
}

/// Fields a row must have, per format; `RegionCode`/`Desa` are checked as "some location".
pub(super) fn required(format: SourceFormat) -> &'static [Field] {
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
pub(super) const PERSONAL_COLUMNS: [&str; 6] = [
    "nik",
    "nama",
    "ibu",
    "tempatlahir",
    "nomorkk",
    "kartukeluarga",
];
