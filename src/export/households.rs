//! Exports of households for authorised users: GeoJSON points and CSV, streamed from the store
//! a chunk at a time (memory stays constant for a million households). NIK and KK appear only
//! in their masked form; the keyed hashes never leave the store.

use crate::model::sheet::SheetCsv;
use std::io::Write;
use std::sync::Arc;

use geojson::{Feature, FeatureWriter, Geometry, JsonObject};
use serde_json::Value;
use tokio::sync::mpsc;

use super::ExportError;
use crate::model::Scope;
use crate::model::StoredHousehold;
use crate::model::{Program, Text};
use crate::region::Kode;
use crate::store::{Store, StoreError};

/// A chunk of households as the export reads it, or the store error that ended the stream.
pub type HouseholdChunk = Result<Vec<StoredHousehold>, StoreError>;

/// Which households to export.
#[derive(Debug, Clone)]
pub struct HouseholdFilter {
    /// The units the reader may see (a token's jurisdiction).
    pub scope: Scope,
    /// Only households counted inside this unit.
    pub parent: Option<Kode>,
    /// Only households whose point lies in `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox: Option<[f64; 4]>,
}

impl HouseholdFilter {
    /// Whether `h` is exported. Duplicates of a household already exported are left out (as
    /// they are in the counts); a household placed nowhere is only seen by an unrestricted
    /// scope without a parent or box.
    pub fn keeps(&self, h: &StoredHousehold) -> bool {
        let hh = &h.household;
        if hh.duplicate_of.is_some() {
            return false;
        }
        let geocode = hh.geocode.as_ref();
        let unit = geocode.and_then(|g| g.unit);
        let in_scope = match (&self.scope, unit) {
            (Scope::All, _) => true,
            (scope, Some(u)) => scope.allows(u),
            (_, None) => false,
        };
        let in_parent = match (self.parent, unit) {
            (None, _) => true,
            (Some(p), Some(u)) => u.is_within(&p),
            (Some(_), None) => false,
        };
        let in_box = match (self.bbox, geocode.and_then(|g| g.point)) {
            (None, _) => true,
            (Some(b), Some((x, y))) => x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3],
            (Some(_), None) => false,
        };
        in_scope && in_parent && in_box
    }
}

/// Reads the households of `batches` from `store` on a task of its own, a chunk at a time;
/// the receiver ends with an `Err` item if the store fails part-way.
pub fn stream_households(
    store: Arc<dyn Store>,
    batches: Vec<i64>,
) -> mpsc::Receiver<HouseholdChunk> {
    let (out, rx) = mpsc::channel::<HouseholdChunk>(2);
    tokio::spawn(async move {
        for batch in batches {
            let (tx, mut chunks) = mpsc::channel(2);
            let produce = store.stream_households(Some(batch), tx);
            let forward = async {
                while let Some(chunk) = chunks.recv().await {
                    if out.send(Ok(chunk)).await.is_err() {
                        return false;
                    }
                }
                true
            };
            let (produced, reader_alive) = tokio::join!(produce, forward);
            if let Err(e) = produced {
                let _ = out.send(Err(e)).await;
                return;
            }
            if !reader_alive {
                return;
            }
        }
    });
    rx
}

/// The columns of a household export, in order (the geometry aside).
pub const HOUSEHOLD_FIELDS: &[&str] = &[
    "id",
    "batch_id",
    "source",
    "period",
    "source_row",
    "source_id",
    "head_name",
    "nik_masked",
    "kk_masked",
    "sex",
    "members",
    "street",
    "rt",
    "rw",
    "dusun",
    "desa",
    "kecamatan",
    "kabupaten",
    "region_code",
    "desil",
    "desil_scale",
    "extreme_poor",
    "pkh",
    "bpnt",
    "sembako",
    "blt",
    "pbi",
    "bpum",
    "bst",
    "prakerja",
    "kur",
    "kode_desa",
    "kode_unit",
    "quality",
    "approximate_point",
    "flags",
];

/// A household's values in [`HOUSEHOLD_FIELDS`] order, and its point.
fn household_values(h: &StoredHousehold) -> (Vec<Value>, Option<(f64, f64)>) {
    let hh = &h.household;
    let text = |s: &Option<Text>| s.as_deref().map_or(Value::Null, Value::from);
    let a = &hh.address;
    let g = hh.geocode.as_ref();
    let mut v: Vec<Value> = vec![
        h.id.into(),
        h.batch_id.into(),
        h.source.as_str().into(),
        h.period.to_string().into(),
        hh.source_row.into(),
        text(&hh.source_id),
        text(&hh.head_name),
        text(&hh.nik_masked),
        text(&hh.kk_masked),
        hh.sex.map_or(Value::Null, |s| s.as_str().into()),
        hh.members.map_or(Value::Null, Value::from),
        text(&a.street),
        text(&a.rt),
        text(&a.rw),
        text(&a.dusun),
        text(&a.desa),
        text(&a.kecamatan),
        text(&a.kabupaten),
        text(&hh.region_code),
        hh.desil.map_or(Value::Null, Value::from),
        hh.desil_scale.map_or(Value::Null, |s| s.max().into()),
        hh.extreme_poor.map_or(Value::Null, Value::from),
    ];
    v.extend(
        Program::ALL
            .iter()
            .map(|&p| hh.programs.get(p).map_or(Value::Null, Value::from)),
    );
    v.extend([
        g.and_then(|g| g.kode_desa)
            .map_or(Value::Null, |k| k.to_string().into()),
        g.and_then(|g| g.unit)
            .map_or(Value::Null, |k| k.to_string().into()),
        g.map_or(Value::Null, |g| g.quality.as_str().into()),
        g.and_then(|g| g.point.map(|_| g.approximate()))
            .map_or(Value::Null, Value::from),
        g.map_or(Value::Null, |g| g.flags.to_string().into()),
    ]);
    debug_assert_eq!(v.len(), HOUSEHOLD_FIELDS.len());
    (v, g.and_then(|g| g.point))
}

/// Writes the households `chunks` yields that `filter` keeps as a GeoJSON FeatureCollection of
/// points (households without a point have a null geometry). Returns the number written.
pub fn write_households_geojson<W: Write>(
    chunks: impl IntoIterator<Item = HouseholdChunk>,
    filter: &HouseholdFilter,
    out: W,
) -> Result<u64, ExportError> {
    let mut w = FeatureWriter::from_writer(out);
    let mut written = 0u64;
    for chunk in chunks {
        for h in chunk?.iter().filter(|h| filter.keeps(h)) {
            let (values, point) = household_values(h);
            let properties: JsonObject = HOUSEHOLD_FIELDS
                .iter()
                .map(|f| f.to_string())
                .zip(values)
                .collect();
            let feature = Feature {
                bbox: None,
                geometry: point.map(|(x, y)| Geometry::from(&geo::Point::new(x, y))),
                id: Some(geojson::feature::Id::Number(h.id.into())),
                properties: Some(properties),
                foreign_members: None,
            };
            w.write_feature(&feature)?;
            written += 1;
        }
    }
    w.finish()?;
    Ok(written)
}

/// Writes the households `chunks` yields that `filter` keeps as CSV: [`HOUSEHOLD_FIELDS`],
/// then `lon` and `lat`. Returns the number written.
pub fn write_households_csv<W: Write>(
    chunks: impl IntoIterator<Item = HouseholdChunk>,
    filter: &HouseholdFilter,
    out: W,
) -> Result<u64, ExportError> {
    let mut w = SheetCsv::from_writer(out);
    w.write_record(HOUSEHOLD_FIELDS.iter().chain(&["lon", "lat"]))?;
    let mut written = 0u64;
    let mut row: Vec<String> = Vec::with_capacity(HOUSEHOLD_FIELDS.len() + 2);
    for chunk in chunks {
        for h in chunk?.iter().filter(|h| filter.keeps(h)) {
            let (values, point) = household_values(h);
            row.clear();
            row.extend(values.iter().map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
            row.push(point.map(|p| p.0.to_string()).unwrap_or_default());
            row.push(point.map(|p| p.1.to_string()).unwrap_or_default());
            w.write_record(&row)?;
            written += 1;
        }
    }
    w.flush()?;
    Ok(written)
}
