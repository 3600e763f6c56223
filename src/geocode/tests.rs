//! Geocoder rules on a small hand-made geography: two kabupaten, three kecamatan, six desa
//! laid out as 0.1° squares, two of them named alike.

use geo::{polygon, MultiPolygon};

use super::*;
use crate::model::Household;
use crate::region::crosswalk::{read_crosswalk, Crosswalk};

fn k(s: &str) -> Kode {
    Kode::parse(s).unwrap()
}

fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![polygon![
        (x: x0, y: y0),
        (x: x0 + size, y: y0),
        (x: x0 + size, y: y0 + size),
        (x: x0, y: y0 + size),
    ]])
}

fn region(kode: &str, nama: &str, geometry: MultiPolygon<f64>) -> Region {
    Region {
        kode: k(kode),
        nama: nama.into(),
        geometry,
    }
}

/// Desa columns at lon 117.0, 117.1, 117.2 …, all in the band lat −0.6…−0.5.
fn geocoder() -> Geocoder {
    let regions = vec![
        region("64.02", "Kutai Kartanegara", square(117.0, -0.6, 0.3)),
        region("64.72", "Kota Samarinda", square(117.3, -0.6, 0.3)),
        region("64.02.01", "Loa Janan", square(117.0, -0.6, 0.2)),
        region("64.02.02", "Tenggarong", square(117.2, -0.6, 0.1)),
        region("64.72.01", "Palaran", square(117.3, -0.6, 0.3)),
        region("64.02.01.2001", "Loa Duri Ilir", square(117.0, -0.6, 0.1)),
        region("64.02.01.2002", "Sumber Sari", square(117.1, -0.6, 0.1)),
        region("64.02.02.2001", "Sumber Sari", square(117.2, -0.6, 0.1)),
        region("64.72.01.1001", "Simpang Pasir", square(117.3, -0.6, 0.1)),
        region("64.72.01.1002", "Sungai Kapih", square(117.4, -0.6, 0.1)),
        region("64.72.01.1003", "Bukuan", square(117.5, -0.6, 0.1)),
    ];
    // 6472011003 is also the Kemendagri code of Bukuan, as real BPS codes can be.
    let csv = "kode_bps,nama_bps,kode_kemendagri\n6472010001,SIMPANG PASIR,64.72.01.1001\n\
               6472010009,HILANG,64.72.01.1999\n6472011003,SUNGAI KAPIH,64.72.01.1002\n";
    let load = read_crosswalk(csv.as_bytes()).unwrap();
    let known = regions.iter().map(|r| r.kode).collect();
    Geocoder::new(&regions, Crosswalk::new(load.entries, known))
}

fn hh(code: &str, desa: &str, kec: &str, kab: &str) -> Household {
    let opt = |s: &str| (!s.is_empty()).then(|| s.into());
    let mut h = Household {
        source_id: Some("A1".into()),
        region_code: opt(code),
        ..Household::default()
    };
    h.address.desa = opt(desa);
    h.address.kecamatan = opt(kec);
    h.address.kabupaten = opt(kab);
    h
}

fn with_gps(mut h: Household, lat: f64, lon: f64) -> Household {
    h.lat = Some(lat);
    h.lon = Some(lon);
    h
}

fn run(h: &Household) -> Geocode {
    let g = geocoder();
    let mut s = g.session();
    s.geocode(h)
}

fn flags(r: &Geocode) -> Vec<&'static str> {
    r.flags.iter().map(|f| f.as_str()).collect()
}

#[test]
fn kemendagri_codes_in_any_form() {
    for code in ["64.72.01.1002", "6472011002", " 64.72.01.1002 "] {
        let r = run(&hh(code, "", "", ""));
        assert_eq!(r.quality, Quality::Code, "{code}");
        assert_eq!(r.kode_desa, Some(k("64.72.01.1002")));
        assert!(r.flags.is_empty());
        assert!(r.approximate());
    }
}

#[test]
fn bps_codes_through_the_crosswalk() {
    let r = run(&hh("6472010001", "", "", ""));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Code, Some(k("64.72.01.1001")))
    );
    // Mapped to a desa that is not loaded: stale, falls back to names.
    let r = run(&hh("6472010009", "Bukuan", "", ""));
    assert_eq!(flags(&r), ["code_stale"]);
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::NameExact, Some(k("64.72.01.1003")))
    );
}

#[test]
fn a_code_that_is_both_kemendagri_and_bps_follows_the_name_or_stays_open() {
    let r = run(&hh("6472011003", "Bukuan", "", ""));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Code, Some(k("64.72.01.1003")))
    );
    let r = run(&hh("6472011003", "Sei Kapih", "", ""));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Code, Some(k("64.72.01.1002")))
    );
    let r = run(&hh("6472011003", "", "", ""));
    assert_eq!(r.quality, Quality::Ambiguous);
    assert_eq!(r.candidates, [k("64.72.01.1003"), k("64.72.01.1002")]);
    assert_eq!(flags(&r), ["code_name_conflict"]);
    // GPS decides between the two readings.
    let r = run(&with_gps(hh("6472011003", "", "", ""), -0.55, 117.45));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Gps, Some(k("64.72.01.1002")))
    );
    // With dots it is Kemendagri only.
    let r = run(&hh("64.72.01.1003", "", "", ""));
    assert_eq!(r.kode_desa, Some(k("64.72.01.1003")));
}

#[test]
fn stale_truncated_and_invalid_codes_fall_back_to_names() {
    let r = run(&hh("64.72.01.1999", "Sungai Kapih", "", ""));
    assert_eq!(flags(&r), ["code_stale"]);
    assert_eq!(r.kode_desa, Some(k("64.72.01.1002")));
    // The stale code's kabupaten narrows the names.
    let r = run(&hh("64.02.09.2009", "Sumber Sari", "", ""));
    assert_eq!(r.quality, Quality::Ambiguous);
    assert_eq!(r.candidates, [k("64.02.01.2002"), k("64.02.02.2001")]);
    // Truncated to the kecamatan: it decides between the two Sumber Sari.
    let r = run(&hh("640202", "Sumber Sari", "", ""));
    assert_eq!(flags(&r), ["code_partial"]);
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::NameExact, Some(k("64.02.02.2001")))
    );
    // Truncated with no desa name: the kecamatan only.
    let r = run(&hh("64.72.01", "", "", ""));
    assert_eq!(
        (r.quality, r.unit, r.kode_desa),
        (Quality::KecamatanOnly, Some(k("64.72.01")), None)
    );
    assert_eq!(r.point, None);
    let r = run(&hh("64-72-XX", "Bukuan", "", ""));
    assert_eq!(flags(&r), ["code_invalid"]);
    assert_eq!(r.kode_desa, Some(k("64.72.01.1003")));
}

#[test]
fn code_and_names_that_disagree_are_flagged() {
    let r = run(&hh("64.72.01.1002", "Bukuan", "Palaran", ""));
    assert_eq!(r.quality, Quality::Code);
    assert_eq!(r.kode_desa, Some(k("64.72.01.1002")));
    assert_eq!(flags(&r), ["code_name_conflict"]);
    // A clerk's spelling of the same desa is no conflict.
    let r = run(&hh("64.72.01.1002", "KEL. SEI KAPIH", "", ""));
    assert!(r.flags.is_empty(), "{:?}", flags(&r));
}

#[test]
fn names_exact_fuzzy_and_hierarchy() {
    let r = run(&hh(
        "",
        "Ds. LOA DURI ILIR",
        "Kec. Loa Janan",
        "Kab. Kutai Kartanegara",
    ));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::NameExact, Some(k("64.02.01.2001")))
    );
    let r = run(&hh("", "Loa Drui Ilir", "Loa Janan", ""));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::NameFuzzy, Some(k("64.02.01.2001")))
    );
    // The kecamatan decides between the two Sumber Sari.
    let r = run(&hh("", "SUMBER SARI", "TENGGARONG", "KUKAR"));
    assert_eq!(r.kode_desa, Some(k("64.02.02.2001")));
    // Without a kecamatan it is ambiguous, with the candidates, and never picked.
    let r = run(&hh("", "Sumber Sari", "", "Kutai Kartanegara"));
    assert_eq!(r.quality, Quality::Ambiguous);
    assert_eq!(r.kode_desa, None);
    assert_eq!(r.point, None);
    assert_eq!(r.candidates.len(), 2);
    // A desa unknown in a known kecamatan: the kecamatan only; unknown everything: unmatched.
    let r = run(&hh("", "Xyzzy", "Palaran", "Samarinda"));
    assert_eq!(
        (r.quality, r.unit),
        (Quality::KecamatanOnly, Some(k("64.72.01")))
    );
    let r = run(&hh("", "Xyzzy", "Qwerty", "Samarinda"));
    assert_eq!(
        (r.quality, r.unit),
        (Quality::KabupatenOnly, Some(k("64.72")))
    );
    let r = run(&hh("", "Xyzzy", "", ""));
    assert_eq!((r.quality, r.unit), (Quality::Unmatched, None));
    let r = run(&hh("", "", "", ""));
    assert_eq!(r.quality, Quality::Unmatched);
}

#[test]
fn a_desa_named_under_the_wrong_kecamatan_is_found_in_its_kabupaten() {
    // Loa Duri Ilir is in Loa Janan, not Tenggarong (as after a kecamatan split).
    let r = run(&hh("", "Loa Duri Ilir", "Tenggarong", "Kutai Kartanegara"));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::NameFuzzy, Some(k("64.02.01.2001")))
    );
}

#[test]
fn names_from_the_street_line_when_columns_are_empty() {
    let mut h = hh("", "", "", "");
    h.address.street = Some("Jl. Poros RT 3 Kel. Simpang Pasir Kec. Palaran".into());
    let r = run(&h);
    assert_eq!(r.kode_desa, Some(k("64.72.01.1001")));
}

#[test]
fn gps_consistent_with_code_is_used_as_is() {
    let r = run(&with_gps(hh("64.72.01.1002", "", "", ""), -0.55, 117.45));
    assert_eq!(r.quality, Quality::Gps);
    assert_eq!(r.point, Some((117.45, -0.55)));
    assert!(!r.approximate());
}

#[test]
fn gps_swapped_zero_outside_and_mismatch_are_flagged() {
    let r = run(&with_gps(hh("64.72.01.1002", "", "", ""), 117.45, -0.55));
    assert_eq!(flags(&r), ["gps_swapped"]);
    assert_eq!((r.quality, r.point), (Quality::Gps, Some((117.45, -0.55))));

    let r = run(&with_gps(hh("64.72.01.1002", "", "", ""), 0.0, 0.0));
    assert_eq!(flags(&r), ["gps_zero"]);
    assert_eq!(r.quality, Quality::Code);

    let r = run(&with_gps(hh("64.72.01.1002", "", "", ""), -3.0, 110.0));
    assert_eq!(flags(&r), ["gps_outside"]);
    assert_eq!(r.quality, Quality::Code);

    // In the neighbouring desa: the code wins, the point is approximate in the coded desa.
    let r = run(&with_gps(hh("64.72.01.1002", "", "", ""), -0.55, 117.35));
    assert_eq!(flags(&r), ["gps_mismatch"]);
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Code, Some(k("64.72.01.1002")))
    );
    let (lon, _) = r.point.unwrap();
    assert!((117.4..=117.5).contains(&lon));
}

#[test]
fn gps_decides_between_candidates_but_not_against_them() {
    let amb = hh("", "Sumber Sari", "", "Kutai Kartanegara");
    let r = run(&with_gps(amb.clone(), -0.55, 117.25));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Gps, Some(k("64.02.02.2001")))
    );
    assert!(r.candidates.is_empty());
    // GPS in a desa that is not a candidate: still ambiguous, and flagged.
    let r = run(&with_gps(amb, -0.55, 117.05));
    assert_eq!(r.quality, Quality::Ambiguous);
    assert_eq!(flags(&r), ["gps_mismatch"]);
    // Only the kecamatan known: GPS inside it picks the desa.
    let r = run(&with_gps(hh("", "", "Palaran", ""), -0.55, 117.55));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Gps, Some(k("64.72.01.1003")))
    );
    // Nothing else known: GPS alone.
    let r = run(&with_gps(hh("", "", "", ""), -0.55, 117.55));
    assert_eq!(
        (r.quality, r.kode_desa),
        (Quality::Gps, Some(k("64.72.01.1003")))
    );
}

#[test]
fn approximate_points_are_stable_and_inside_the_desa() {
    let g = geocoder();
    let mut s = g.session();
    let a = s.geocode(&hh("64.72.01.1001", "", "", ""));
    let b = g.session().geocode(&hh("64.72.01.1001", "", "", ""));
    assert_eq!(a.point, b.point);
    let (lon, lat) = a.point.unwrap();
    assert_eq!(
        g.desa_index().locate(lon, lat),
        Located::Inside(vec![k("64.72.01.1001")])
    );
    let mut other = hh("64.72.01.1001", "", "", "");
    other.source_id = Some("A2".into());
    assert_ne!(s.geocode(&other).point, a.point);
}

#[test]
fn flags_round_trip_through_text() {
    let mut f = Flags::default();
    f.set(Flag::GpsMismatch);
    f.set(Flag::CodeStale);
    assert_eq!(f.to_string(), "gps_mismatch;code_stale");
    assert_eq!(Flags::parse(&f.to_string()), f);
    assert_eq!(Flags::parse(""), Flags::default());
    for &q in Quality::ALL {
        assert_eq!(q.as_str().parse::<Quality>(), Ok(q));
    }
}

#[test]
fn a_session_answers_repeated_addresses_as_a_fresh_one_does() {
    let g = geocoder();
    let households = [
        hh("6472011003", "", "", ""),
        with_gps(hh("6472011003", "", "", ""), -0.55, 117.45),
        hh("6472011003", "Bukuan", "", ""),
        hh("64.72.01.1999", "Sungai Kapih", "", ""),
        with_gps(hh("64.72.01.1999", "Sungai Kapih", "", ""), -0.55, 117.35),
        hh("", "Sumber Sari", "", ""),
        hh("", "Sumber Sari", "Tenggarong", ""),
        with_gps(hh("", "Sumber Sari", "", ""), -0.55, 117.15),
        hh("64.72.01.1001", "Bukuan", "", ""),
        with_gps(hh("64.72.01.1001", "Bukuan", "", ""), 0.0, 0.0),
        hh("", "Sumber Sari", "", ""),
    ];
    let mut session = g.session();
    // Twice over, so that the second round comes from the session's caches.
    for h in households.iter().chain(&households) {
        assert_eq!(session.geocode(h), g.session().geocode(h), "{h:?}");
    }
}

#[test]
fn geocoding_a_chunk_at_once_gives_what_one_by_one_gives() {
    let g = geocoder();
    // Desa interleaved, with GPS points that decide, codes and names, repeats of one desa
    // under other ids (other points), and households that get no desa.
    let mut households: Vec<Household> = (0..60)
        .map(|i| {
            let mut h = match i % 6 {
                0 => hh("64.72.01.1001", "", "", ""),
                1 => hh("", "Sumber Sari", "", ""),
                2 => hh("6472011003", "", "", ""),
                3 => with_gps(hh("", "", "", ""), -0.55, 117.55),
                4 => hh("", "Tidak Ada Desa Ini", "", ""),
                _ => hh("64.72.01.1002", "", "", ""),
            };
            h.source_id = Some(format!("K{i}").into());
            h.source_row = i + 2;
            h
        })
        .collect();
    let one_by_one: Vec<Geocode> = households.iter().map(|h| g.session().geocode(h)).collect();
    g.session().geocode_all(&mut households);
    let at_once: Vec<Geocode> = households
        .iter()
        .filter_map(|h| h.geocode.clone())
        .collect();
    assert_eq!(at_once, one_by_one);
    let placed = at_once.iter().filter(|r| r.point.is_some()).count();
    assert!(placed >= 30, "{placed} of 60 households placed");
    let desa: std::collections::BTreeSet<_> = at_once.iter().filter_map(|r| r.kode_desa).collect();
    assert!(desa.len() >= 3, "placed in {desa:?}");
}
