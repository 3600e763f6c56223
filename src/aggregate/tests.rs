//! Snapshot building on the synthetic province: placement rule, roll-up, coverage,
//! reconciliation, denominators and change.

use std::collections::HashMap;

use super::indicators::*;
use super::record::key_prefix;
use super::*;
use crate::demo::synthetic_province;
use crate::model::{
    Denominators, DesilScale, Flag, HouseholdFacts, Period, Program, Programs, Quality,
    SourceFormat,
};
use crate::region::{Kode, Level};

fn period_of(text: &str) -> Period {
    text.parse().unwrap()
}

fn desa_of(regions: &[crate::region::Region]) -> Vec<&crate::region::Region> {
    regions
        .iter()
        .filter(|r| r.kode.level() == Level::Desa)
        .collect()
}

fn inside_point(r: &crate::region::Region) -> (f64, f64) {
    use geo::InteriorPoint;
    let p = r.geometry.interior_point().unwrap();
    (p.x(), p.y())
}

fn batch(id: i64, period: &str) -> BatchMeta {
    BatchMeta {
        id,
        file_name: format!("b{id}.csv"),
        source: SourceFormat::P3ke,
        period: period_of(period),
        imported_at: String::new(),
    }
}

fn placed(batch_id: i64, desa: Kode, point: (f64, f64), desil: u8) -> HouseholdFacts {
    HouseholdFacts {
        batch_id,
        desa: Some(desa),
        unit: Some(desa),
        point: Some(point),
        quality: Some(Quality::Code),
        members: Some(3),
        desil: Some(desil),
        scale: Some(DesilScale::Four),
        ..Default::default()
    }
}

#[test]
fn households_count_where_the_rule_says_and_every_batch_reconciles() {
    let regions = synthetic_province(7);
    let desa = desa_of(&regions);
    let (a, b) = (desa[0], desa[desa.len() - 1]);
    let (pa, pb) = (inside_point(a), inside_point(b));
    let kec_a = a.kode.parent().unwrap();
    let kab_b = b.kode.ancestor(Level::Kabupaten).unwrap();
    let mut builder = SnapshotBuilder::new(regions.clone(), vec![batch(1, "2025-03")]);
    let mut programs = Programs::default();
    programs.set(Program::Pkh, false);
    let mut facts = vec![
        placed(1, a.kode, pa, 1),
        placed(1, a.kode, pa, 2),
        // Code says a, point lies in b: counted in a, reported.
        HouseholdFacts {
            programs,
            ..placed(1, a.kode, pb, 1)
        },
        // Only the kecamatan is known.
        HouseholdFacts {
            desa: None,
            unit: Some(kec_a),
            point: None,
            quality: Some(Quality::KecamatanOnly),
            ..placed(1, a.kode, pa, 3)
        },
        // Only the kabupaten is known.
        HouseholdFacts {
            desa: None,
            unit: Some(kab_b),
            point: None,
            quality: Some(Quality::KabupatenOnly),
            ..placed(1, a.kode, pa, 4)
        },
        // Ambiguous, not geocoded, duplicate.
        HouseholdFacts {
            desa: None,
            unit: None,
            point: None,
            quality: Some(Quality::Ambiguous),
            ..placed(1, a.kode, pa, 1)
        },
        HouseholdFacts {
            quality: None,
            desa: None,
            unit: None,
            point: None,
            ..placed(1, a.kode, pa, 1)
        },
        HouseholdFacts {
            duplicate: true,
            ..placed(1, a.kode, pa, 1)
        },
        // Chosen desa no longer loaded: its point decides.
        placed(1, Kode::parse("99.99.99.2999").unwrap(), pb, 2),
        // Belongs to a batch the snapshot was not told about: ignored.
        placed(9, a.kode, pa, 1),
    ];
    facts[1].flags.set(Flag::GpsMismatch);
    for f in &facts {
        builder.push(f);
    }
    let snap = builder.finish(3, None, 2);
    assert_eq!(snap.generation, 3);
    let report = &snap.batches()[0];
    assert_eq!(report.tally.households, 9);
    assert_eq!(report.tally.duplicates, 1);
    assert_eq!(report.tally.counted_desa, 4);
    assert_eq!(report.tally.counted_kecamatan, 1);
    assert_eq!(report.tally.counted_kabupaten, 1);
    assert_eq!(report.tally.not_placed, 2);
    assert_eq!(report.tally.not_geocoded, 1);
    assert_eq!(report.tally.relocated, 1);
    assert_eq!(report.tally.point_elsewhere, 1);
    assert!(report.reconciles());

    let p = snap.period(None).unwrap();
    let ua = snap.unit_index(a.kode).unwrap();
    let ub = snap.unit_index(b.kode).unwrap();
    let ca = p.counts(ua).unwrap();
    assert_eq!(ca[Count::Households], 3);
    assert_eq!(ca[Count::People], 9);
    assert_eq!(ca[Count::Desil1], 2);
    assert_eq!(ca[Count::PointElsewhere], 1);
    assert_eq!(ca[Count::GpsMismatch], 1);
    assert_eq!(ca[Count::Desil1NoPkh], 1);
    assert_eq!(
        p.counts(ub).unwrap()[Count::Households],
        1,
        "relocated by its point"
    );
    let kec = snap.unit_index(kec_a).unwrap();
    assert_eq!(p.counts(kec).unwrap()[Count::DesaUnknown], 1);
    let kab = snap.unit_index(kab_b).unwrap();
    assert_eq!(p.counts(kab).unwrap()[Count::KecamatanUnknown], 1);

    // Every parent is the sum of its children plus what is known only at its level.
    for u in 0..snap.units().len() as u32 {
        let Some(c) = p.counts(u) else { continue };
        let children = snap.children(u);
        if children.is_empty() {
            continue;
        }
        let sum: u64 = children
            .iter()
            .map(|&k| p.counts(k).map_or(0, |c| c[Count::Households]))
            .sum();
        let own_unknown = c[Count::DesaUnknown]
            - children
                .iter()
                .map(|&k| p.counts(k).map_or(0, |c| c[Count::DesaUnknown]))
                .sum::<u64>();
        assert_eq!(
            c[Count::Households],
            sum + own_unknown,
            "unit {}",
            snap.unit(u).info.kode
        );
    }
    let province = snap.unit_index(Kode::parse("99").unwrap()).unwrap();
    assert_eq!(
        p.counts(province).unwrap()[Count::Households],
        report.tally.counted()
    );
}

#[test]
fn units_outside_covered_kabupaten_have_no_data_and_covered_zeros_are_zero() {
    let regions = synthetic_province(7);
    let desa = desa_of(&regions);
    let a = desa[0];
    let kab_a = a.kode.ancestor(Level::Kabupaten).unwrap();
    let other = desa
        .iter()
        .find(|d| d.kode.ancestor(Level::Kabupaten) != Some(kab_a))
        .expect("the synthetic province has several kabupaten");
    let sibling = desa
        .iter()
        .find(|d| d.kode != a.kode && d.kode.is_within(&kab_a))
        .unwrap();
    let mut builder = SnapshotBuilder::new(regions.clone(), vec![batch(1, "2025-03")]);
    builder.push(&placed(1, a.kode, inside_point(a), 1));
    let snap = builder.finish(1, None, 1);
    let p = snap.period(Some(period_of("2025-03"))).unwrap();
    assert_eq!(p.counts(snap.unit_index(other.kode).unwrap()), None);
    let zero = p.counts(snap.unit_index(sibling.kode).unwrap()).unwrap();
    assert_eq!(zero[Count::Households], 0);
    assert!(snap.period(Some(period_of("2024-01"))).is_none());
}

#[test]
fn denominators_roll_up_only_when_every_child_has_one() {
    let regions = synthetic_province(7);
    let desa = desa_of(&regions);
    let kec = desa[0].kode.parent().unwrap();
    let in_kec: Vec<Kode> = desa
        .iter()
        .filter(|d| d.kode.parent() == Some(kec))
        .map(|d| d.kode)
        .collect();
    let mut den: HashMap<Kode, Denominators> = in_kec
        .iter()
        .map(|k| {
            (
                *k,
                Denominators {
                    households: Some(100),
                    population: None,
                },
            )
        })
        .collect();
    let builder = SnapshotBuilder::new(regions.clone(), vec![]).denominators(den.clone());
    let snap = builder.finish(1, None, 1);
    let d = snap.denominators(snap.unit_index(kec).unwrap());
    assert_eq!(d.households, Some(100 * in_kec.len() as u64));
    assert_eq!(d.population, None);
    // One child without a value: the parent's stays unknown.
    den.remove(&in_kec[0]);
    let snap = SnapshotBuilder::new(regions, vec![])
        .denominators(den)
        .finish(1, None, 1);
    assert_eq!(
        snap.denominators(snap.unit_index(kec).unwrap()).households,
        None
    );
}

#[test]
fn household_points_are_found_by_bounding_box() {
    let regions = synthetic_province(7);
    let desa = desa_of(&regions);
    let mut builder = SnapshotBuilder::new(regions.clone(), vec![batch(1, "2025-03")]);
    for d in &desa {
        builder.push(&placed(1, d.kode, inside_point(d), 1));
    }
    let snap = builder.finish(1, None, 1);
    let (x, y) = inside_point(desa[3]);
    let found = snap.households_in([x - 1e-4, y - 1e-4, x + 1e-4, y + 1e-4]);
    assert_eq!(found, vec![3]);
    assert_eq!(snap.households_in([0.0, 0.0, 1.0, 1.0]), Vec::<u32>::new());
}

#[test]
fn bbox_queries_equal_a_scan_and_households_are_grouped_by_unit() {
    use rand::{RngExt, SeedableRng};
    let regions = synthetic_province(7);
    let desa = desa_of(&regions);
    let kec = desa[0].kode.parent().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut builder = SnapshotBuilder::new(regions.clone(), vec![batch(1, "2025-03")]);
    // Shuffled input: households of a desa arrive far apart.
    for i in 0..5_000 {
        let d = desa[rng.random_range(0..desa.len())];
        let (x, y) = inside_point(d);
        let jitter = (rng.random_range(-0.01..0.01), rng.random_range(-0.01..0.01));
        let mut f = placed(1, d.kode, (x + jitter.0, y + jitter.1), 1);
        if i % 50 == 0 {
            f = HouseholdFacts {
                desa: None,
                unit: Some(kec),
                point: None,
                quality: Some(Quality::KecamatanOnly),
                ..f
            };
        }
        if i % 77 == 0 {
            f.duplicate = true;
        }
        builder.push(&f);
    }
    let snap = builder.finish(1, None, 2);
    let p = snap.period(None).unwrap();
    let mut seen = 0;
    for u in 0..snap.units().len() as u32 {
        let own: Vec<_> = snap.households_of(u).collect();
        assert!(own.iter().all(|h| h.unit() == Some(u)));
        seen += own.len();
        let level = snap.unit(u).info.level;
        if level == Level::Desa {
            let n = p.counts(u).map_or(0, |c| c[Count::Households]);
            assert_eq!(own.len() as u64, n);
        }
    }
    assert_eq!(seen as u64, snap.batches()[0].tally.counted());
    assert_bbox_queries_equal_a_scan(&snap, &regions[0], 200, &mut rng);
}

/// Asks `snap` for the households in `n` random boxes inside `region`'s and compares each
/// answer with a scan of every household.
fn assert_bbox_queries_equal_a_scan(
    snap: &Snapshot,
    region: &crate::region::Region,
    n: usize,
    rng: &mut impl rand::Rng,
) {
    use rand::RngExt;
    let [x0, y0, x1, y1] = region.info().bbox.unwrap();
    for _ in 0..n {
        let (ax, bx) = (rng.random_range(x0..x1), rng.random_range(x0..x1));
        let (ay, by) = (rng.random_range(y0..y1), rng.random_range(y0..y1));
        let bbox = [ax.min(bx), ay.min(by), ax.max(bx), ay.max(by)];
        let [qx0, qy0, qx1, qy1] = bbox.map(|v| v as f32);
        let scan: Vec<u32> = snap
            .households()
            .iter()
            .enumerate()
            .filter(|(_, h)| h.unit().is_some() && h.has_point())
            .filter(|(_, h)| h.lon >= qx0 && h.lon <= qx1 && h.lat >= qy0 && h.lat <= qy1)
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(snap.households_in(bbox), scan);
        for &i in &scan {
            assert!(snap.households()[i as usize].unit().is_some());
        }
    }
}

#[test]
fn a_household_record_stays_small_and_keeps_its_keys() {
    // 36 bytes: 25 million households fit in 0.9 GB (benches/national.rs).
    assert_eq!(size_of::<HouseholdRecord>(), 36);
    assert_eq!(key_prefix(None), [0; 5]);
    assert_eq!(key_prefix(Some(0)), [1, 0, 0, 0, 0]);
    assert_eq!(key_prefix(Some(0x0102_0304_0506_0708)), [8, 7, 6, 5, 4]);
}

/// A household programme for desil `desil` with a list for `period`.
fn listed_programme(id: i64, desil: &str, period: &str) -> crate::model::ProgramInfo {
    use crate::model::{ListInfo, NewProgram, ProgramInfo, ProgramKind};
    ProgramInfo {
        id,
        program: NewProgram {
            name: format!("P{id}"),
            agency: "Dinas".into(),
            year: 2026,
            kind: ProgramKind::Household,
            desil: Some(desil.parse().unwrap()),
            budget: None,
            unit_cost: None,
        },
        created_by: String::new(),
        created_at: String::new(),
        list: Some(ListInfo {
            period: period_of(period),
            file_name: String::new(),
            rows_read: 0,
            rows_kept: 0,
            rows_refused: 0,
            uploaded_by: String::new(),
            uploaded_at: String::new(),
        }),
    }
}

#[test]
fn programme_lists_match_by_nik_or_kk_within_their_period() {
    use crate::model::Member;
    let regions = synthetic_province(7);
    let desa = desa_of(&regions);
    let (a, b) = (desa[0], desa[1]);
    let program = listed_programme;
    let member = |row: u64, nik: Option<i64>, kk: Option<i64>, kode: Option<Kode>| Member {
        row,
        nik_key: nik,
        kk_key: kk,
        kode,
        amount: None,
    };
    let household =
        |batch: i64, desa: &crate::region::Region, desil: u8, nik: i64, kk: i64| HouseholdFacts {
            nik_key: Some(nik),
            kk_key: Some(kk),
            ..placed(batch, desa.kode, inside_point(desa), desil)
        };
    let lists = vec![
        (
            program(1, "1-2", "2026-03"),
            vec![
                member(2, Some(11), None, None),  // household 1 by NIK, desil 1
                member(3, None, Some(202), None), // household 2 by KK, desil 3: leakage
                member(4, Some(999), None, Some(b.kode)), // nobody: leakage in b
                member(5, Some(888), None, None), // nobody, no code
                member(6, Some(31), None, None),  // household 3 is of 2025-09 only
            ],
        ),
        (
            program(2, "1-4", "2026-03"),
            vec![member(2, None, Some(101), None)], // household 1 again: overlap
        ),
    ];
    let mut builder = SnapshotBuilder::new(
        regions.clone(),
        vec![batch(1, "2026-03"), batch(2, "2025-09")],
    )
    .programs(lists);
    builder.push(&household(1, a, 1, 11, 101));
    builder.push(&household(1, a, 3, 12, 202));
    builder.push(&household(1, a, 2, 13, 303));
    builder.push(&household(2, a, 1, 31, 401));
    let snap = builder.finish(1, None, 2);
    let (_, p1) = snap.programs().by_id(1).unwrap();
    assert_eq!(p1.rows_matched, 2);
    assert_eq!(p1.unmatched, vec![4, 5, 6]);
    assert_eq!(p1.unmatched_placed, 1);
    let period = snap.period(Some(period_of("2026-03"))).unwrap();
    let ua = snap.unit_index(a.kode).unwrap();
    let ub = snap.unit_index(b.kode).unwrap();
    let v = |t: &ProgramTally, m: Measure, u: u32| t.value(m, u, period.counts(u));
    assert_eq!(v(p1, Measure::Eligible, ua), Some(2.0));
    assert_eq!(v(p1, Measure::Covered, ua), Some(1.0));
    assert_eq!(v(p1, Measure::Uncovered, ua), Some(1.0));
    assert_eq!(v(p1, Measure::Leakage, ua), Some(1.0));
    assert_eq!(v(p1, Measure::Overlap, ua), Some(1.0));
    assert_eq!(v(p1, Measure::Leakage, ub), Some(1.0));
    let c = period.counts(ua).unwrap();
    assert_eq!(c[Count::ProgramEligible], 3, "desil 1–4 is the union");
    assert_eq!(c[Count::ProgramCovered], 2);
    assert_eq!(c[Count::ProgramUncovered], 1);
    assert_eq!(c[Count::ProgramBeneficiaries], 2);
    assert_eq!(c[Count::ProgramOverlap], 1);
    assert_eq!(c[Count::ProgramLeakage], 1);
    assert_eq!(Count::ProgramEligible.value(Some(c)), Some(3));
    // The period without lists has no programme figures: "no data", not 0.
    let older = snap.period(Some(period_of("2025-09"))).unwrap();
    assert_eq!(Count::ProgramEligible.value(older.counts(ua)), None);
    assert_eq!(Count::Desil1.value(older.counts(ua)), Some(1));
}

/// Households of every kind the counting rule tells apart, spread over `batches` at random.
fn assorted_facts(
    regions: &[crate::region::Region],
    batches: &[i64],
    n: usize,
    seed: u64,
) -> Vec<HouseholdFacts> {
    use rand::{RngExt, SeedableRng};
    let desa = desa_of(regions);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let d = desa[rng.random_range(0..desa.len())];
            let elsewhere = desa[rng.random_range(0..desa.len())];
            let batch_id = batches[rng.random_range(0..batches.len())];
            let mut f = placed(batch_id, d.kode, inside_point(d), rng.random_range(1..=4));
            f.kk_key = Some(rng.random_range(0..2_000));
            f.nik_key = Some(rng.random_range(0..2_000));
            f.extreme_poor = rng.random_bool(0.5).then(|| rng.random_bool(0.3));
            f.programs.set(Program::Pkh, rng.random_bool(0.4));
            match i % 9 {
                0 => {
                    f.desa = None;
                    f.unit = d.kode.parent();
                    f.point = None;
                    f.quality = Some(Quality::KecamatanOnly);
                }
                1 => f.point = Some(inside_point(elsewhere)),
                2 => f.duplicate = true,
                3 => {
                    f.desa = None;
                    f.unit = None;
                    f.quality = None;
                    f.point = None;
                }
                4 => {
                    f.scale = Some(DesilScale::Ten);
                    f.desil = Some(rng.random_range(1..=10));
                }
                5 => f.members = None,
                _ => {}
            }
            f
        })
        .collect()
}

/// What a unit's households are, in an order of their own (a merged group keeps the old
/// households before the new, a full build the order of the store).
fn group_keys(snap: &Snapshot, u: u32) -> Vec<String> {
    let mut keys: Vec<String> = snap
        .households_of(u)
        .map(|h| {
            format!(
                "{:?} {:?} {} {} {} {} {} {}",
                h.kk,
                h.nik,
                h.lon.to_bits(),
                h.lat.to_bits(),
                h.batch,
                h.members,
                h.desil,
                h.flags
            )
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn batches_added_to_a_snapshot_give_what_a_full_build_gives() {
    let regions = synthetic_province(7);
    // Only the first kabupaten at first; the added batches reach the others, a period already
    // counted and a new one after it.
    let first_kab = desa_of(&regions)[0]
        .kode
        .ancestor(Level::Kabupaten)
        .unwrap();
    let in_first: Vec<crate::region::Region> = regions
        .iter()
        .filter(|r| r.kode.level() != Level::Desa || r.kode.is_within(&first_kab))
        .cloned()
        .collect();
    // Few enough that some desa of the first kabupaten have none in a period until the new
    // batches bring some (their zero figures were filled in by coverage).
    let old = assorted_facts(&in_first, &[1, 2], 300, 11);
    let new = assorted_facts(&regions, &[3, 4], 2_000, 12);
    let metas = [
        batch(1, "2025-03"),
        batch(2, "2025-06"),
        batch(3, "2025-06"),
        batch(4, "2025-09"),
    ];
    let build = |metas: &[BatchMeta], facts: &[&[HouseholdFacts]]| {
        let mut b = SnapshotBuilder::new(regions.clone(), metas.to_vec());
        for f in facts.iter().flat_map(|f| f.iter()) {
            b.push(f);
        }
        b.finish(1, None, 2)
    };
    let base = build(&metas[..2], &[&old]);
    let added = base
        .with_batches(metas[2..].to_vec(), &new, 2, 2)
        .expect("later batches add");
    let full = build(&metas, &[&old, &new]);

    assert_eq!(added.batches(), full.batches());
    assert_eq!(
        added.periods().iter().map(|p| p.period).collect::<Vec<_>>(),
        full.periods().iter().map(|p| p.period).collect::<Vec<_>>()
    );
    assert_eq!(added.households().len(), full.households().len());
    for (a, f) in added.periods().iter().zip(full.periods()) {
        for u in 0..full.units().len() as u32 {
            assert_eq!(a.counts(u), f.counts(u), "{} unit {u}", f.period);
            assert_eq!(a.suppressed(u), f.suppressed(u));
            let sources = |s: &Snapshot| {
                s.sources_of(u, f.period)
                    .map(|(b, share)| (b.id, *share))
                    .collect::<Vec<_>>()
            };
            assert_eq!(sources(&added), sources(&full));
        }
    }
    for u in 0..full.units().len() as u32 {
        assert_eq!(group_keys(&added, u), group_keys(&full, u), "unit {u}");
    }
    let bbox = regions[0].info().bbox.unwrap();
    assert_eq!(
        added.households_in(bbox).len(),
        full.households_in(bbox).len()
    );
    let (p2, p3) = (period_of("2025-06"), period_of("2025-09"));
    let flows = |s: &Snapshot| format!("{:?}", s.transitions(p3, p2, Level::Kabupaten));
    assert_eq!(flows(&added), flows(&full));
    assert_eq!(added.generation, 2);

    // What would renumber or rematch everything is refused: the store is read again.
    assert_eq!(
        base.with_batches(vec![batch(1, "2025-09")], &[], 2, 2)
            .err(),
        Some(NotAddable::Known(1))
    );
    assert_eq!(
        added
            .with_batches(vec![batch(5, "2025-01")], &[], 3, 2)
            .err(),
        Some(NotAddable::EarlierPeriod(period_of("2025-01")))
    );
}

/// A unit's households with the programmes each receives (indices into the tallies), in an
/// order of their own; `u` = the unit count gives those counted nowhere.
fn group_keys_with_programmes(snap: &Snapshot, u: u32) -> Vec<String> {
    let mut keys: Vec<String> = snap
        .households
        .of_unit(u)
        .map(|(i, h)| {
            format!(
                "{:?} {:?} {} {} {} {} {:?}",
                h.kk,
                h.nik,
                h.lon.to_bits(),
                snap.batches()[h.batch_index()].id,
                h.desil,
                h.unit,
                snap.programs().of_household(i)
            )
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn batch_after_batch_the_households_stay_in_few_runs_and_read_as_a_full_build() {
    use crate::model::Member;
    use rand::SeedableRng;
    let regions = synthetic_province(7);
    // A programme with a list for the oldest period: every household then carries the set
    // of programmes it receives, which must follow it through the runs.
    let lists = vec![(
        listed_programme(1, "1-4", "2025-03"),
        (0..600)
            .map(|k| Member {
                row: k + 2,
                nik_key: Some(k as i64),
                kk_key: None,
                kode: None,
                amount: None,
            })
            .collect::<Vec<_>>(),
    )];
    let build = |metas: &[BatchMeta], facts: &[HouseholdFacts]| {
        let mut b = SnapshotBuilder::new(regions.clone(), metas.to_vec()).programs(lists.clone());
        for f in facts {
            b.push(f);
        }
        b.finish(1, None, 2)
    };
    let mut metas = vec![
        batch(1, "2025-03"),
        batch(2, "2025-06"),
        batch(30, "2025-06"),
    ];
    let mut facts = assorted_facts(&regions, &[1, 2, 30], 1_500, 21);
    let base = build(&metas, &facts);
    let base_keys: Vec<Vec<String>> = (0..=base.units().len() as u32)
        .map(|u| group_keys_with_programmes(&base, u))
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(22);
    let mut snap: Option<Snapshot> = None;
    let mut most_runs = 0;
    // Batch 3 comes after batch 30 was counted (a draft accepted late): batch 30's index
    // moves, so every run is rewritten once; the others are added after the last.
    for (step, id) in [3, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40]
        .into_iter()
        .enumerate()
    {
        let period = if id < 35 { "2025-06" } else { "2025-09" };
        let n = [40, 400, 90, 30, 700, 10, 260, 5, 120, 60, 1][step];
        let new = assorted_facts(&regions, &[id], n, 100 + id as u64);
        let meta = batch(id, period);
        let next = snap
            .as_ref()
            .unwrap_or(&base)
            .with_batches(vec![meta.clone()], &new, step as u64 + 2, 2)
            .expect("a later batch adds");
        metas.push(meta);
        facts.extend(new);
        let full = build(&metas, &facts);
        assert_eq!(next.batches(), full.batches(), "batch {id}");
        assert_eq!(next.households().len(), full.households().len());
        most_runs = most_runs.max(next.households().runs());
        assert!(next.households().runs() <= 12, "batch {id}");
        for (a, f) in next.periods().iter().zip(full.periods()) {
            for u in 0..full.units().len() as u32 {
                assert_eq!(
                    a.counts(u),
                    f.counts(u),
                    "batch {id}: {} unit {u}",
                    f.period
                );
            }
        }
        for u in 0..=full.units().len() as u32 {
            assert_eq!(
                group_keys_with_programmes(&next, u),
                group_keys_with_programmes(&full, u),
                "batch {id}: unit {u}"
            );
        }
        assert_bbox_queries_equal_a_scan(&next, &regions[0], 20, &mut rng);
        let (p2, p3) = (period_of("2025-06"), period_of("2025-09"));
        let flows = |s: &Snapshot| format!("{:?}", s.transitions(p3, p2, Level::Desa));
        assert_eq!(flows(&next), flows(&full), "batch {id}");
        snap = Some(next);
    }
    assert!(most_runs >= 3, "runs were shared, not merged every time");
    let last = snap.unwrap();
    assert_eq!(last.households().iter().count(), last.households().len());
    // The first snapshot still reads what it read: its runs were shared, never changed.
    for (u, keys) in base_keys.iter().enumerate() {
        assert_eq!(&group_keys_with_programmes(&base, u as u32), keys);
    }
}
