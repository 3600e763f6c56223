//! The header and rows of each file format, as the national systems write them.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::households::{Synth, World};
use super::people::{pick, Person, FEMALE, MALE};
use crate::model::SourceFormat;

fn yes_no(b: bool) -> String {
    if b { "Ya" } else { "Tidak" }.to_string()
}

fn date_dmy(b: (u32, u32, i32)) -> String {
    format!("{:02}-{:02}-{}", b.0, b.1, b.2)
}

fn status_of(desil: u8) -> &'static str {
    match desil {
        1 => "Sangat Miskin",
        2 => "Miskin",
        3 => "Hampir Miskin",
        4 => "Rentan",
        _ => "Lainnya",
    }
}

pub(super) fn header(format: SourceFormat) -> Vec<&'static str> {
    match format {
        SourceFormat::P3ke => vec![
            "ID Keluarga P3KE",
            "Provinsi",
            "Kabupaten/Kota",
            "Kecamatan",
            "Desa/Kelurahan",
            "Kode Kemdagri",
            "Desil Kesejahteraan",
            "Alamat",
            "Kepala Keluarga",
            "NIK",
            "Padan Dukcapil",
            "Jenis Kelamin",
            "Tanggal Lahir",
            "Pekerjaan",
            "Pendidikan",
            "Kepemilikan Rumah",
            "Memiliki Simpanan",
            "Jenis Atap",
            "Jenis Dinding",
            "Jenis Lantai",
            "Sumber Penerangan",
            "Bahan Bakar Memasak",
            "Sumber Air Minum",
            "Memiliki Fasilitas Buang Air Besar",
            "Penerima BPNT",
            "Penerima BPUM",
            "Penerima BST",
            "Penerima PKH",
            "Penerima SEMBAKO",
            "Resiko Stunting",
        ],
        SourceFormat::Dtks => vec![
            "iddtks",
            "provinsi",
            "kabupaten_kota",
            "kecamatan",
            "desa_kelurahan",
            "alamat",
            "dusun",
            "rt",
            "rw",
            "nomor_kk",
            "nomor_nik",
            "nama",
            "tanggal_lahir",
            "tempat_lahir",
            "jenis_kelamin",
            "nama_ibu_kandung",
            "hubungan_keluarga",
        ],
        SourceFormat::Dtsen => vec![
            "id_keluarga",
            "nomor_kartu_keluarga",
            "nomor_induk_kependudukan",
            "nama_kepala_keluarga",
            "jenis_kelamin",
            "tanggal_lahir",
            "jumlah_anggota_keluarga",
            "alamat",
            "rt",
            "rw",
            "provinsi",
            "kabupaten_kota",
            "kecamatan",
            "desa_kelurahan",
            "kode_wilayah",
            "desil_nasional",
            "desil_provinsi",
            "desil_kabupaten_kota",
            "penerima_pkh",
            "penerima_bpnt",
            "penerima_pbi",
            "b2_r201",
            "b2_r208",
        ],
        SourceFormat::Verval | SourceFormat::Custom => {
            crate::ingest::households::formats::VERVAL_COLUMNS
                .iter()
                .map(|(c, _)| *c)
                .collect()
        }
    }
}

/// The rows of one household in `format` (several persons for DTKS).
pub(super) fn rows(
    s: &Synth,
    n: usize,
    world: &World<'_>,
    format: SourceFormat,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<String>> {
    let address = format!("{} RT. {:03} RW. {:03}", s.street, s.rt, s.rw);
    let sex = |p: &Person| if p.female { "P" } else { "L" }.to_string();
    match format {
        SourceFormat::P3ke => {
            let h = &s.head;
            vec![vec![
                format!("P3KE{:09}", n + 1),
                world.province.clone(),
                s.kab_name.clone(),
                s.kec_name.clone(),
                s.desa_name.clone(),
                s.code.clone(),
                s.desil4.to_string(),
                address,
                h.name.clone(),
                h.nik.clone(),
                pick(rng, &["Padan", "Padan", "Tidak Padan"]).into(),
                if h.female { "Perempuan" } else { "Laki-laki" }.into(),
                date_dmy(h.birth),
                pick(
                    rng,
                    &["Petani", "Nelayan", "Buruh", "Pedagang", "Tidak Bekerja"],
                )
                .into(),
                pick(rng, &["SD", "SMP", "SMA", "Tidak Sekolah"]).into(),
                pick(rng, &["Milik Sendiri", "Sewa", "Bebas Sewa"]).into(),
                yes_no(rng.random_bool(0.1)),
                pick(rng, &["Seng", "Genteng", "Asbes", "Daun"]).into(),
                pick(rng, &["Kayu", "Tembok", "Bambu"]).into(),
                pick(rng, &["Tanah", "Semen", "Keramik", "Kayu"]).into(),
                pick(rng, &["PLN", "Non-PLN"]).into(),
                pick(rng, &["LPG", "Kayu Bakar", "Minyak Tanah"]).into(),
                pick(rng, &["Sumur", "PDAM", "Sungai", "Air Hujan"]).into(),
                yes_no(rng.random_bool(0.7)),
                yes_no(s.programs[1]),
                yes_no(rng.random_bool(0.05)),
                yes_no(rng.random_bool(0.1)),
                yes_no(s.programs[0]),
                yes_no(s.programs[2]),
                yes_no(rng.random_bool(0.15)),
            ]]
        }
        SourceFormat::Dtks => std::iter::once(&s.head)
            .chain(&s.others)
            .enumerate()
            .map(|(k, p)| {
                vec![
                    format!("{}", n * 10 + k + 1),
                    world.province.to_uppercase(),
                    s.kab_name.clone(),
                    s.kec_name.clone(),
                    s.desa_name.clone(),
                    s.street.clone(),
                    format!("{}", s.dusun),
                    format!("{:03}", s.rt),
                    format!("{:03}", s.rw),
                    s.kk.clone(),
                    p.nik.clone(),
                    p.name.to_uppercase(),
                    date_dmy(p.birth),
                    s.kab_name.clone(),
                    sex(p),
                    pick(rng, &FEMALE).to_uppercase(),
                    p.relation.into(),
                ]
            })
            .collect(),
        SourceFormat::Dtsen => {
            let h = &s.head;
            vec![vec![
                format!("DTSEN{:09}", n + 1),
                s.kk.clone(),
                h.nik.clone(),
                h.name.clone(),
                sex(h),
                format!("{}-{:02}-{:02}", h.birth.2, h.birth.1, h.birth.0),
                (s.others.len() + 1).to_string(),
                s.street.clone(),
                format!("{:03}", s.rt),
                format!("{:03}", s.rw),
                world.province.clone(),
                s.kab_name.clone(),
                s.kec_name.clone(),
                s.desa_name.clone(),
                s.code.clone(),
                s.desil10.to_string(),
                s.desil10
                    .saturating_sub(rng.random_range(0..2))
                    .max(1)
                    .to_string(),
                s.desil10
                    .saturating_sub(rng.random_range(0..3))
                    .max(1)
                    .to_string(),
                yes_no(s.programs[0]),
                yes_no(s.programs[1]),
                yes_no(s.programs[4]),
                rng.random_range(1..=3).to_string(),
                rng.random_range(1..=9).to_string(),
            ]]
        }
        SourceFormat::Verval | SourceFormat::Custom => {
            let h = &s.head;
            vec![vec![
                format!("VV-{:07}", n + 1),
                h.nik.clone(),
                h.name.clone(),
                s.code.clone(),
                s.desa_name.clone(),
                s.kec_name.clone(),
                s.kab_name.clone(),
                address,
                s.gps.0.clone(),
                s.gps.1.clone(),
                status_of(s.desil4).into(),
                format!(
                    "{:02}/{:02}/2025",
                    rng.random_range(1..=28),
                    rng.random_range(1..=12)
                ),
                s.desil4.to_string(),
                (s.others.len() + 1).to_string(),
                format!("Petugas {}", pick(rng, &MALE)),
                String::new(),
            ]]
        }
    }
}
