//! `GET /api/profile/{kode}.pdf`: "Profil Kemiskinan {nama}", an A4 document a Bappeda or
//! TKPK reader takes to a meeting — the headline figures of `/api/regions/{kode}` with their
//! change since the period before, the map of the unit's children, the trend with its goal,
//! the coverage gaps, the top-20 children of `/api/targets`, the sources and the date
//! ([`crate::render::pdf`]). Aggregates only, as the caller may see them.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::auth::Caller;
use super::choropleth::{Selection, SelectionParams, Shown, DEFAULT_CLASSES};
use super::indicators::{periods, unit_of};
use super::mapimage::{draw, picture, PictureOptions};
use super::{ApiError, AppState};
use crate::aggregate::goals::{goal_for, trend};
use crate::aggregate::indicators::DEFAULT_MIN_HOUSEHOLDS;
use crate::aggregate::{Count, Indicator};
use crate::choropleth::{format_value, Method, Palette, ValueKind};
use crate::export::UnitRow;
use crate::region::{Kode, Level};
use crate::render::pdf::{profile_pdf, Profile, TrendChart};
use crate::tiles::glyphs::{BOLD, REGULAR};

/// The headline figures: field, label, kind.
const HEADLINE: [(&str, &str, ValueKind); 6] = [
    ("households", "Rumah tangga BNBA", ValueKind::Count),
    ("people", "Jiwa", ValueKind::Count),
    ("desil_1", "Desil 1 (sangat miskin)", ValueKind::Count),
    ("desil_1_4", "Desil 1–4", ValueKind::Count),
    ("extreme_poor", "Miskin ekstrem", ValueKind::Count),
    ("desil_1_rate", "Persentase desil 1", ValueKind::Share),
];

/// The coverage gaps: field, label, kind.
const GAPS: [(&str, &str, ValueKind); 4] = [
    (
        "desil_1_no_program",
        "Desil 1 tanpa bantuan apa pun",
        ValueKind::Count,
    ),
    (
        "desil_1_no_pkh",
        "Desil 1 belum menerima PKH",
        ValueKind::Count,
    ),
    ("pkh_coverage", "Cakupan PKH", ValueKind::Share),
    (
        "flagged",
        "Rumah tangga perlu ditinjau (lokasi)",
        ValueKind::Count,
    ),
];

/// The rows of the table of children.
const TOP: usize = 20;

fn count_text(v: Option<f64>, kind: ValueKind) -> String {
    v.map_or_else(|| "tidak ada data".to_string(), |v| format_value(v, kind))
}

/// `GET /api/profile/{kode}.pdf`
pub async fn profile(
    State(st): State<AppState>,
    Path(file): Path<String>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let kode = file
        .strip_suffix(".pdf")
        .ok_or_else(|| ApiError::not_found("the profile of a unit is /api/profile/{kode}.pdf"))?;
    let kode = Kode::parse(kode).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fonts = &st.fonts;
    let font_file = |wanted: &[&str]| {
        wanted
            .iter()
            .find_map(|n| fonts.path_of(n))
            .map(std::path::Path::to_path_buf)
    };
    let (Some(regular), Some(bold)) = (font_file(&REGULAR), font_file(&BOLD)) else {
        return Err(ApiError::internal(
            "no font to write the profile with: install fonts-dejavu-core or start with --fonts",
        ));
    };
    let tiles = st.live.tiles();
    let snap = tiles.snapshot().clone();
    let unit = unit_of(&snap, kode)?;
    let info = snap.unit(unit).info.clone();
    let disclosure = caller.disclosure(&st.auth.config);
    let all = snap.periods();
    let base_period = (all.len() >= 2).then(|| all[all.len() - 2].period);
    let (period, base) = periods(&snap, None, base_period, disclosure)?;
    let row = UnitRow::new(&snap, unit, period.as_ref(), base.as_ref())
        .min_households(DEFAULT_MIN_HOUSEHOLDS);
    let v = serde_json::to_value(row).map_err(ApiError::internal)?;
    let suppressed = v["suppressed"].as_bool().unwrap_or(false);
    let hidden = period
        .as_ref()
        .map_or_else(String::new, |p| p.disclosure().label());
    let number = |field: &str| v[field].as_f64();
    // A figure as the reader may see it: hidden for a unit of very few households.
    let shown = |field: &str, kind| {
        if suppressed {
            hidden.clone()
        } else {
            count_text(number(field), kind)
        }
    };
    let headline = HEADLINE
        .iter()
        .map(|&(field, label, kind)| {
            let value = shown(field, kind);
            let change = match (base.as_ref(), number(&format!("{field}_change"))) {
                (None, _) => "belum ada periode pembanding".to_string(),
                (Some(b), Some(ch)) => {
                    let sign = if ch > 0.0 { "+" } else { "" };
                    let ch = match kind {
                        ValueKind::Share => {
                            format!("{} poin", crate::choropleth::format_id(ch * 100.0, 1))
                        }
                        ValueKind::Count => format_value(ch, kind),
                    };
                    format!("{sign}{ch} sejak {}", b.period)
                }
                (Some(b), None) => match v["change_notes"][field].as_str() {
                    Some(_) => format!("tidak sebanding dengan {}", b.period),
                    None => format!("perubahan sejak {}: tidak ada data", b.period),
                },
            };
            (label.to_string(), value, change)
        })
        .collect();

    // The children: their level, and the unit they lie in (a desa shows its kecamatan's).
    let (child, map_parent) = match info.level.child() {
        Some(child) => (child, unit),
        None => (
            Level::Desa,
            info.parent.and_then(|p| snap.unit_index(p)).unwrap_or(unit),
        ),
    };
    let params = SelectionParams {
        level: Some(child),
        parent: Some(snap.unit(map_parent).info.kode),
        indicator: None,
        period: None,
        base: None,
        min_households: None,
    };
    let sel = Selection::new(&snap, params, child, disclosure)?;
    let synthetic = super::mapimage::is_synthetic(&st).await;
    let img = picture(
        &tiles,
        &sel,
        &PictureOptions {
            method: Method::Ckmeans,
            classes: DEFAULT_CLASSES,
            palette: Palette::sequential(),
            width: 1100,
            height: 690,
            scale: 2.0,
            title: Some(format!(
                "Rumah tangga desil 1 per {} — {}",
                child.as_str(),
                snap.unit(map_parent).info.full_name()
            )),
            labels: true,
            synthetic,
        },
    )?;
    let map_png = draw(&st, img).await?;

    // The trend: the indicator a goal is set for here, where the unit has a value of it in
    // some period (else desil 1).
    let goals = super::trends::stored_goals(&st).await?;
    let has_values = |i: Indicator| {
        trend(&snap, unit, i, disclosure)
            .iter()
            .any(|p| p.value.is_some())
    };
    let indicator = goals
        .iter()
        .filter(|g| g.applies_to(kode) && goal_for(&goals, g.indicator, kode).is_some())
        .map(|g| g.indicator)
        .find(|&i| has_values(i))
        .unwrap_or(Indicator::Count(Count::Desil1));
    let kind = if indicator.is_share() {
        ValueKind::Share
    } else {
        ValueKind::Count
    };
    let mut series_units = vec![unit];
    if indicator.is_share() {
        let parents = snap.parents(unit);
        for p in [parents.last(), parents.first()].into_iter().flatten() {
            if !series_units.contains(p) {
                series_units.push(*p);
            }
        }
    }
    let chart = TrendChart {
        label: indicator.label().to_string(),
        periods: all.iter().map(|p| p.period.to_string()).collect(),
        series: series_units
            .iter()
            .map(|&u| {
                (
                    snap.unit(u).info.full_name(),
                    trend(&snap, u, indicator, disclosure)
                        .into_iter()
                        .map(|p| p.value)
                        .collect(),
                )
            })
            .collect(),
        goal: goal_for(&goals, indicator, kode).map(|g| {
            (
                g.value,
                format!("Target {}: {}", g.year, format_value(g.value, kind)),
            )
        }),
        format: if indicator.is_share() {
            |v| format_value(v, ValueKind::Share)
        } else {
            |v| format_value(v.round(), ValueKind::Count)
        },
    };

    // The top children, as /api/targets ranks them.
    let table_sel = Selection::new(
        &snap,
        SelectionParams {
            level: Some(child),
            parent: Some(snap.unit(map_parent).info.kode),
            indicator: Some(Shown::Value(Indicator::Count(Count::Desil1))),
            ..params
        },
        child,
        disclosure,
    )?;
    let ranked = super::targets::rank(&table_sel, false, TOP);
    let figure = |t: &super::targets::Target, name: &str| {
        t.figures
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| *v)
    };
    let table_rows = ranked
        .iter()
        .map(|t| {
            vec![
                t.rank.to_string(),
                t.kode.clone(),
                t.nama.clone(),
                format_value(t.value, ValueKind::Count),
                count_text(figure(t, "households"), ValueKind::Count),
            ]
        })
        .collect();
    let gaps = GAPS
        .iter()
        .map(|&(field, label, kind)| (label.to_string(), shown(field, kind)))
        .collect();
    let mut sources: Vec<String> = snap
        .batches()
        .iter()
        .filter(|b| period.as_ref().is_some_and(|p| p.period == b.period))
        .map(|b| {
            format!(
                "{} periode {}: {} rumah tangga dihitung",
                b.source.as_str().to_uppercase(),
                b.period,
                format_value(b.tally.counted() as f64, ValueKind::Count)
            )
        })
        .collect();
    if sources.is_empty() {
        sources.push("Tidak ada data rumah tangga untuk wilayah ini.".into());
    }
    if synthetic {
        sources.push("Data sintetis (demo): bukan data sebenarnya.".into());
    }
    let today = crate::model::account::now()
        .chars()
        .take(10)
        .collect::<String>();
    let name = info.full_name();
    let doc = Profile {
        title: format!("Profil Kemiskinan {name}"),
        subtitle: format!(
            "Kode {} · periode {} · dibuat {today}",
            info.kode,
            period
                .as_ref()
                .map_or_else(|| "—".to_string(), |p| p.period.to_string())
        ),
        headline,
        map_png: Some(map_png),
        map_caption: format!(
            "Peta rumah tangga desil 1 per {} (kelas Ckmeans, seperti peta daring).",
            child.as_str()
        ),
        trend: Some(chart),
        table_title: format!("{TOP} {} dengan desil 1 terbanyak", child.as_str()),
        table_header: ["No", "Kode", "Nama", "Desil 1", "Rumah tangga"]
            .map(String::from)
            .to_vec(),
        table_rows,
        gaps,
        sources,
        footer: format!("Profil Kemiskinan {name} · Lentera · {today}"),
    };
    let pdf = tokio::task::spawn_blocking(move || {
        let regular = std::fs::read(&regular)?;
        let bold = std::fs::read(&bold)?;
        Ok::<_, std::io::Error>(profile_pdf(&doc, regular, bold))
    })
    .await
    .map_err(|e| ApiError::internal(format!("profile writing stopped: {e}")))?
    .map_err(|e| ApiError::internal(format!("cannot read the fonts: {e}")))?
    .map_err(ApiError::internal)?;
    let disposition = format!("inline; filename=\"profil-{}.pdf\"", info.kode);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=60"),
            ),
        ],
        pdf,
    )
        .into_response())
}
