//! Made-up people: Indonesian names as clerks type them, birth dates and NIK numbers that
//! start with the household's kecamatan code.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

pub(super) const MALE: [&str; 40] = [
    "Ahmad",
    "Muhammad",
    "Budi",
    "Agus",
    "Hendra",
    "Rudi",
    "Joko",
    "Slamet",
    "Bambang",
    "Andi",
    "Dedi",
    "Eko",
    "Fajar",
    "Hasan",
    "Imam",
    "Irwan",
    "Junaidi",
    "Kurniawan",
    "Lukman",
    "Mulyadi",
    "Rahmat",
    "Syahrul",
    "Taufik",
    "Wahyu",
    "Yusuf",
    "Zainal",
    "Arif",
    "Darmawan",
    "Gusti",
    "Herman",
    "Iwan",
    "Jamal",
    "Karim",
    "Saleh",
    "Suparman",
    "Sutrisno",
    "Abdul",
    "Daeng",
    "Baharuddin",
    "Sahrani",
];
pub(super) const FEMALE: [&str; 26] = [
    "Siti",
    "Sri",
    "Nur",
    "Dewi",
    "Rina",
    "Wati",
    "Yuliana",
    "Fitri",
    "Hartini",
    "Indah",
    "Kartini",
    "Lestari",
    "Maryam",
    "Nurhayati",
    "Puspita",
    "Ratna",
    "Suryani",
    "Titin",
    "Wulan",
    "Aminah",
    "Halimah",
    "Rahmawati",
    "Salmah",
    "Yanti",
    "Stéfani",
    "Norhayati",
];
pub(super) const FAMILY: [&str; 26] = [
    "Saputra",
    "Hidayat",
    "Wijaya",
    "Kusuma",
    "Santoso",
    "Rahman",
    "Hakim",
    "Pratama",
    "Susanto",
    "Gunawan",
    "Setiawan",
    "Nugroho",
    "Hasibuan",
    "Lubis",
    "Siregar",
    "Ramadhan",
    "Firmansyah",
    "Syahputra",
    "Anwar",
    "Effendi",
    "Sulaiman",
    "Bakri",
    "Latif",
    "Aji",
    "Noor",
    "Arsyad",
];
pub(super) const STREETS: [&str; 20] = [
    "Merdeka",
    "Pahlawan",
    "Sudirman",
    "Ahmad Yani",
    "Diponegoro",
    "Gajah Mada",
    "Pramuka",
    "Cendana",
    "Kenanga",
    "Melati",
    "Ampera",
    "Pesantren",
    "Slamet Riyadi",
    "Juanda",
    "Antasari",
    "Usaha Tani",
    "Poros",
    "Trans",
    "Gotong Royong",
    "Flamboyan",
];

/// One synthetic person.
pub(super) struct Person {
    pub(super) name: String,
    pub(super) nik: String,
    pub(super) birth: (u32, u32, i32),
    pub(super) female: bool,
    pub(super) relation: &'static str,
}

pub(super) fn pick<'s>(rng: &mut ChaCha8Rng, items: &[&'s str]) -> &'s str {
    items[rng.random_range(0..items.len())]
}

pub(super) fn person(
    rng: &mut ChaCha8Rng,
    kec_digits: &str,
    female: bool,
    age: std::ops::Range<i32>,
    relation: &'static str,
    serial: &mut u32,
) -> Person {
    let first = if female {
        pick(rng, &FEMALE)
    } else {
        pick(rng, &MALE)
    };
    let name = if rng.random_bool(0.7) {
        format!("{first} {}", pick(rng, &FAMILY))
    } else {
        first.to_string()
    };
    let year = 2025 - rng.random_range(age);
    let (d, m) = (rng.random_range(1..=28), rng.random_range(1..=12));
    *serial += 1;
    let dd = if female { d + 40 } else { d };
    let nik = format!(
        "{kec_digits}{dd:02}{m:02}{:02}{:04}",
        year % 100,
        *serial % 10_000
    );
    Person {
        name,
        nik,
        birth: (d, m, year),
        female,
        relation,
    }
}

/// Clerk-style variants of a place name: case, prefixes, spelling variants, typos.
pub(super) fn clerk_name(rng: &mut ChaCha8Rng, name: &str, prefixes: &[&str]) -> String {
    let mut s = name.to_string();
    for (a, b) in [("Sungai ", "Sei "), ("Ulu", "Hulu"), ("Paser", "Pasir")] {
        if s.contains(a) && rng.random_bool(0.3) {
            s = s.replace(a, b);
        }
    }
    if s.contains('-') && rng.random_bool(0.3) {
        s = s.replace('-', " ");
    }
    if rng.random_bool(0.05) {
        let mut c: Vec<char> = s.chars().collect();
        let letters: Vec<usize> = (1..c.len().saturating_sub(1))
            .filter(|&i| c[i].is_alphabetic() && c[i + 1].is_alphabetic() && c[i] != c[i + 1])
            .collect();
        if !letters.is_empty() {
            let i = letters[rng.random_range(0..letters.len())];
            c.swap(i, i + 1);
            s = c.into_iter().collect();
        }
    }
    if !prefixes.is_empty() && rng.random_bool(0.2) {
        s = format!("{} {s}", pick(rng, prefixes));
    }
    if rng.random_bool(0.5) {
        s = s.to_uppercase();
    }
    s
}
