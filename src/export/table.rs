//! Units as rows: their indicators as the API's JSON objects, as CSV and as a text table, and
//! lists of units.

use crate::model::sheet::SheetCsv;
use std::io::Write;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::aggregate::indicators::{
    few_households, serialize_change, serialize_values, Side, DEFAULT_MIN_HOUSEHOLDS,
};
use crate::aggregate::Described;
use crate::aggregate::{Count, Indicator, PeriodIndicators, Snapshot};
use crate::region::RegionInfo;

/// How a list is written for a reader: aligned columns, CSV or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TableFormat {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// CSV with every field.
    Csv,
    /// JSON with every field.
    Json,
}

/// One unit with its indicators in one period (and their change since `base`).
pub struct UnitRow<'a> {
    snap: &'a Snapshot,
    unit: u32,
    period: Option<&'a PeriodIndicators>,
    base: Option<&'a PeriodIndicators>,
    min_households: u64,
}

impl Serialize for UnitRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let unit = self.snap.unit(self.unit);
        let info = &unit.info;
        let counts = self.period.and_then(|p| p.counts(self.unit));
        let den = self.snap.denominators(self.unit);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("kode", &info.kode)?;
        map.serialize_entry("nama", &info.nama)?;
        map.serialize_entry("level", &info.level)?;
        map.serialize_entry("jenis", &info.jenis)?;
        map.serialize_entry("parent", &info.parent)?;
        map.serialize_entry("period", &self.period.map(|p| &p.period))?;
        map.serialize_entry("has_data", &counts.is_some())?;
        map.serialize_entry(
            "suppressed",
            &self.period.is_some_and(|p| p.suppressed(self.unit)),
        )?;
        map.serialize_entry("denominator_households", &den.households)?;
        map.serialize_entry("denominator_population", &den.population)?;
        serialize_values(&mut map, counts, den)?;
        let few: Vec<&str> = few_households(counts, den, self.min_households)
            .into_iter()
            .map(|r| r.name())
            .collect();
        map.serialize_entry("few_households", &few)?;
        if let Some(base) = self.base {
            map.serialize_entry("base_period", &base.period)?;
            serialize_change(
                &mut map,
                Side {
                    period: self.period.map_or(base.period, |p| p.period),
                    counts,
                },
                Side {
                    period: base.period,
                    counts: base.counts(self.unit),
                },
                den,
            )?;
        }
        map.end()
    }
}

impl<'a> UnitRow<'a> {
    /// Unit `unit` of `snap` in `period`, with the change since `base`.
    pub fn new(
        snap: &'a Snapshot,
        unit: u32,
        period: Option<&'a PeriodIndicators>,
        base: Option<&'a PeriodIndicators>,
    ) -> UnitRow<'a> {
        UnitRow {
            snap,
            unit,
            period,
            base,
            min_households: DEFAULT_MIN_HOUSEHOLDS,
        }
    }

    /// Rates over fewer households are listed in `few_households`.
    pub fn min_households(self, n: u64) -> UnitRow<'a> {
        UnitRow {
            min_households: n,
            ..self
        }
    }
}

/// The rows of `units`.
pub fn unit_rows<'a>(
    snap: &'a Snapshot,
    units: &[u32],
    period: Option<&'a PeriodIndicators>,
    base: Option<&'a PeriodIndicators>,
) -> Vec<UnitRow<'a>> {
    units
        .iter()
        .map(|&unit| UnitRow::new(snap, unit, period, base))
        .collect()
}

/// Writes rows as CSV: the unit's code, name, level, parent and period, then every
/// indicator (and its change with a base period) in API order; empty cells are no data.
pub fn write_indicator_csv<W: Write>(out: W, rows: &[UnitRow]) -> Result<(), csv::Error> {
    let names: Vec<Indicator> = Indicator::all().collect();
    let with_change = rows.first().is_some_and(|r| r.base.is_some());
    let mut w = SheetCsv::from_writer(out);
    let mut header: Vec<String> = ["kode", "nama", "level", "parent", "period"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(names.iter().map(|n| n.to_string()));
    if with_change {
        header.push("base_period".into());
        for n in &names {
            header.push(format!("{n}_change"));
            header.push(format!("{n}_change_rel"));
        }
    }
    w.write_record(&header)?;
    let num = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for row in rows {
        let info = &row.snap.unit(row.unit).info;
        let den = row.snap.denominators(row.unit);
        let counts = row.period.and_then(|p| p.counts(row.unit));
        let mut record = vec![
            info.kode.to_string(),
            info.nama.clone(),
            info.level.as_str().to_string(),
            info.parent.map(|p| p.to_string()).unwrap_or_default(),
            row.period.map(|p| p.period.to_string()).unwrap_or_default(),
        ];
        record.extend(names.iter().map(|i| num(i.value(counts, den))));
        if let Some(base) = row.base.filter(|_| with_change) {
            record.push(base.period.to_string());
            let before = Side {
                period: base.period,
                counts: base.counts(row.unit),
            };
            let now = Side {
                period: row.period.map_or(base.period, |p| p.period),
                counts,
            };
            for i in &names {
                let c = i.change(now, before, den);
                record.push(num(c.abs));
                record.push(num(c.rel));
            }
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes the key figures of `units` as aligned columns ("-" for no data) and returns the
/// households counted in them.
pub fn write_indicator_table<W: Write>(
    mut out: W,
    snap: &Snapshot,
    units: &[u32],
    period: Option<&PeriodIndicators>,
) -> std::io::Result<u64> {
    const SHOWN: [Count; 5] = [
        Count::Households,
        Count::Desil1,
        Count::Desil1To4,
        Count::People,
        Count::DesaUnknown,
    ];
    writeln!(
        out,
        "{:<14} {:<32} {:>10} {:>9} {:>9} {:>9} {:>10}",
        "kode", "nama", "households", "desil_1", "desil_1_4", "people", "desa_unk."
    )?;
    let mut counted = 0;
    for &u in units {
        let info = &snap.unit(u).info;
        let counts = period.and_then(|p| p.counts(u));
        counted += counts.map_or(0, |c| c[Count::Households]);
        let shown: Vec<String> = SHOWN
            .iter()
            .map(|&c| {
                Indicator::Count(c)
                    .value(counts, snap.denominators(u))
                    .map_or("-".to_string(), |v| format!("{v:.0}"))
            })
            .collect();
        writeln!(
            out,
            "{:<14} {:<32} {:>10} {:>9} {:>9} {:>9} {:>10}",
            info.kode.to_string(),
            info.nama.chars().take(32).collect::<String>(),
            shown[0],
            shown[1],
            shown[2],
            shown[3],
            shown[4],
        )?;
    }
    Ok(counted)
}

/// Writes a list of units (code, name, level, kind, parent) in `format`.
pub fn write_region_list<W: Write>(
    mut out: W,
    rows: &[RegionInfo],
    format: TableFormat,
) -> Result<(), csv::Error> {
    match format {
        TableFormat::Json => {
            serde_json::to_writer_pretty(&mut out, rows).map_err(std::io::Error::from)?;
        }
        TableFormat::Csv => {
            let mut w = SheetCsv::from_writer(out);
            w.write_record(["kode", "nama", "level", "jenis", "parent"])?;
            for r in rows {
                let parent = r.parent.map(|p| p.to_string()).unwrap_or_default();
                w.write_record([
                    r.kode.to_string().as_str(),
                    &r.nama,
                    r.level.as_str(),
                    r.jenis.as_str(),
                    &parent,
                ])?;
            }
            w.flush()?;
        }
        TableFormat::Table => {
            for r in rows {
                writeln!(
                    out,
                    "{:<14} {:<10} {}",
                    r.kode.to_string(),
                    r.jenis.as_str(),
                    r.nama
                )?;
            }
        }
    }
    Ok(())
}
