//! Choropleth classes: class breaks over the full distribution of an indicator (Ckmeans,
//! quantile, equal interval, pretty or manual), ColorBrewer colours, counts per class and
//! legend labels in Indonesian number format. Units without data get their own class.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Fewest classes.
pub const MIN_CLASSES: usize = 3;
/// Most classes.
pub const MAX_CLASSES: usize = 9;
/// Colour of the "tidak ada data" class.
pub const NO_DATA_COLOR: &str = "#d9d9d9";

/// How class breaks are chosen. Parsed from its name in any case or a common other name
/// (`jenks`, `kuantil`…); `manual` parses without breaks, which come apart.
#[derive(Debug, Clone, PartialEq, strum::EnumString, strum::IntoStaticStr)]
#[strum(
    ascii_case_insensitive,
    parse_err_ty = ClassifyError,
    parse_err_fn = ClassifyError::unknown_method
)]
pub enum Method {
    /// Optimal 1-D k-means (Wang & Song 2011): least within-class sum of squares.
    #[strum(to_string = "ckmeans", serialize = "jenks", serialize = "natural")]
    Ckmeans,
    /// The same number of units in each class (as far as ties allow).
    #[strum(to_string = "quantile", serialize = "kuantil")]
    Quantile,
    /// Classes of equal width between the minimum and the maximum.
    #[strum(to_string = "equal", serialize = "equal_interval")]
    EqualInterval,
    /// Round numbers 1, 2 or 5 × 10ⁿ apart covering the data (R's `pretty`).
    #[strum(to_string = "pretty")]
    Pretty,
    /// Inner breaks given by the user.
    #[strum(to_string = "manual")]
    Manual(Vec<f64>),
}

impl Method {
    /// The method's name in the API.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A classification that cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClassifyError {
    /// Unknown method name.
    #[error("unknown method `{0}`: ckmeans, quantile, equal, pretty or manual")]
    UnknownMethod(String),
    /// Class count out of range.
    #[error("classes must be {MIN_CLASSES}–{MAX_CLASSES}, not {0}")]
    ClassCount(usize),
    /// Manual breaks that are not increasing finite numbers.
    #[error("manual breaks must be increasing numbers, e.g. breaks=10,50,100")]
    ManualBreaks,
    /// Unknown palette.
    #[error("unknown palette `{0}`; e.g. YlOrRd, Reds, Blues, Greens, Purples, RdBu, PuOr, RdYlBu, RdYlGn")]
    UnknownPalette(String),
}

impl ClassifyError {
    fn unknown_method(name: &str) -> ClassifyError {
        ClassifyError::UnknownMethod(name.to_string())
    }
}

/// Class bounds: `bounds[i]..bounds[i + 1]` is class `i` (upper bound excluded, except in the
/// last class). The first bound is at most the smallest value, the last at least the largest.
/// Bounds increase strictly, except that the last two are equal when the top class holds
/// only the largest value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classes {
    /// Ascending bounds, one more than there are classes.
    pub bounds: Vec<f64>,
}

impl Classes {
    /// Number of classes.
    pub fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// Whether there is no class (no values).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class of `v` (values outside the bounds go to the nearest class).
    pub fn class_of(&self, v: f64) -> usize {
        let inner = &self.bounds[1..self.bounds.len().saturating_sub(1).max(1)];
        inner
            .partition_point(|b| *b <= v)
            .min(self.len().saturating_sub(1))
    }

    /// Units per class.
    pub fn counts(&self, values: &[f64]) -> Vec<usize> {
        let mut counts = vec![0; self.len()];
        for v in values {
            counts[self.class_of(*v)] += 1;
        }
        counts
    }
}

/// Classes for `values` (every unit with data, never a sample) into `k` classes by `method`.
/// Fewer classes come out when the values have fewer distinct numbers than `k`.
pub fn classify(values: &[f64], method: &Method, k: usize) -> Result<Classes, ClassifyError> {
    let manual = matches!(method, Method::Manual(_));
    if !manual && !(MIN_CLASSES..=MAX_CLASSES).contains(&k) {
        return Err(ClassifyError::ClassCount(k));
    }
    let sorted = sorted_finite(values);
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Ok(Classes { bounds: Vec::new() });
    };
    if let Method::Manual(breaks) = method {
        if breaks.is_empty()
            || breaks.len() > MAX_CLASSES - 1
            || breaks.iter().any(|b| !b.is_finite())
            || breaks.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(ClassifyError::ManualBreaks);
        }
        let mut b = breaks.clone();
        let (lo, hi) = (min.min(b[0]), max.max(b[b.len() - 1]));
        b.insert(0, lo);
        b.push(hi);
        return Ok(Classes { bounds: b });
    }
    if *method == Method::Pretty {
        return Ok(pretty(min, max, k));
    }
    let mut bounds = vec![min];
    bounds.extend(inner_breaks(&sorted, method, k));
    bounds.push(max);
    Ok(Classes { bounds })
}

fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The inner breaks of `k` classes (any `k` ≥ 1) over `sorted` (non-empty), strictly between
/// its minimum and at most its maximum.
fn inner_breaks(sorted: &[f64], method: &Method, k: usize) -> Vec<f64> {
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let mut inner: Vec<f64> = match method {
        Method::Ckmeans => ckmeans_breaks(sorted, k),
        Method::Quantile => (1..k).map(|i| sorted[i * sorted.len() / k]).collect(),
        Method::EqualInterval => (1..k)
            .map(|i| min + (max - min) * i as f64 / k as f64)
            .collect(),
        Method::Pretty => {
            let b = pretty(min, max, k).bounds;
            b[1..b.len().saturating_sub(1)].to_vec()
        }
        Method::Manual(_) => Vec::new(),
    };
    inner.retain(|b| *b > min && *b <= max);
    inner.dedup();
    inner
}

/// Which side of zero a class of a change lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Decreases.
    Decrease,
    /// Exactly no change.
    Zero,
    /// Increases.
    Increase,
}

/// Classes of a change: decreases and increases classified apart by `method` (each into at
/// most half of `k` classes), and between them a class holding exactly zero when some value
/// is zero, so that a decrease never shares a class — or a colour, see
/// [`Palette::diverging_colors`] — with an increase. Manual breaks are kept as given.
pub fn classify_change(
    values: &[f64],
    method: &Method,
    k: usize,
) -> Result<(Classes, Vec<Side>), ClassifyError> {
    if let Method::Manual(_) = method {
        let classes = classify(values, method, k)?;
        let sides = classes
            .bounds
            .windows(2)
            .map(|w| match (w[0], w[1]) {
                (_, hi) if hi <= 0.0 && w[0] < 0.0 => Side::Decrease,
                (lo, _) if lo > 0.0 => Side::Increase,
                _ => Side::Zero,
            })
            .collect();
        return Ok((classes, sides));
    }
    if !(MIN_CLASSES..=MAX_CLASSES).contains(&k) {
        return Err(ClassifyError::ClassCount(k));
    }
    let sorted = sorted_finite(values);
    let split = sorted.partition_point(|v| *v < 0.0);
    let zeros = sorted[split..].partition_point(|v| *v <= 0.0);
    let (neg, pos) = (&sorted[..split], &sorted[split + zeros..]);
    let half = k / 2;
    // (lower bound, side) of each class, in order; the upper bound is the next lower bound.
    let mut lows: Vec<(f64, Side)> = Vec::new();
    if let Some(&lo) = neg.first() {
        lows.push((lo, Side::Decrease));
        lows.extend(
            inner_breaks(neg, method, half)
                .into_iter()
                .map(|b| (b, Side::Decrease)),
        );
    }
    if zeros > 0 {
        lows.push((0.0, Side::Zero));
    }
    if let Some(&lo) = pos.first() {
        lows.push((lo, Side::Increase));
        lows.extend(
            inner_breaks(pos, method, half)
                .into_iter()
                .map(|b| (b, Side::Increase)),
        );
    }
    let Some(&max) = sorted.last() else {
        return Ok((Classes { bounds: Vec::new() }, Vec::new()));
    };
    let mut bounds: Vec<f64> = lows.iter().map(|(b, _)| *b).collect();
    bounds.push(max);
    Ok((
        Classes { bounds },
        lows.into_iter().map(|(_, s)| s).collect(),
    ))
}

fn ckmeans_breaks(sorted: &[f64], k: usize) -> Vec<f64> {
    let k = k.min(sorted.len()).min(usize::from(u8::MAX)) as u8;
    match ckmeans::ckmeans(sorted, k) {
        Ok(clusters) => clusters
            .iter()
            .skip(1)
            .filter_map(|c| c.first().copied())
            .collect(),
        // One distinct value (or none): a single class.
        Err(_) => Vec::new(),
    }
}

/// Round bounds 1, 2 or 5 × 10ⁿ apart from below the minimum to above the maximum, about `k`
/// classes.
fn pretty(min: f64, max: f64, k: usize) -> Classes {
    if max <= min {
        return Classes {
            bounds: vec![min, max],
        };
    }
    let raw = (max - min) / k as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| ((max - min) / s).ceil() as usize <= k + 1 && *s >= raw * 0.75)
        .unwrap_or(10.0 * mag);
    let start = (min / step).floor() * step;
    let mut bounds = vec![start];
    let mut last = start;
    while last < max {
        let next = start + step * bounds.len() as f64;
        // Keep round numbers round despite floating-point steps.
        last = (next / step).round() * step;
        bounds.push(last);
    }
    Classes { bounds }
}

/// A ColorBrewer palette by name (`YlOrRd`, `RdBu`…), reversed with a leading `-`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    name: &'static str,
    reversed: bool,
}

/// The palettes offered: sequential ones first, then diverging. All but `RdYlGn` and
/// `Spectral` are colour-blind safe according to ColorBrewer.
pub const PALETTES: [&str; 14] = [
    "YlOrRd", "OrRd", "Reds", "Oranges", "PuRd", "Purples", "Blues", "Greens", "YlGnBu", "RdBu",
    "PuOr", "BrBG", "RdYlBu", "RdYlGn",
];

impl Palette {
    /// The default for levels (colour-blind safe): YlOrRd.
    pub fn sequential() -> Palette {
        Palette {
            name: "YlOrRd",
            reversed: false,
        }
    }

    /// The default for change (colour-blind safe): RdBu reversed, blue for a fall and red for
    /// a rise.
    pub fn diverging() -> Palette {
        Palette {
            name: "RdBu",
            reversed: true,
        }
    }

    /// The palette's name, with `-` when reversed.
    pub fn name(&self) -> String {
        format!("{}{}", if self.reversed { "-" } else { "" }, self.name)
    }

    /// `k` colours (`#rrggbb`), `k` in 3–9.
    pub fn colors(&self, k: usize) -> Vec<String> {
        let k = k.clamp(MIN_CLASSES, MAX_CLASSES);
        let scheme: Option<colorbrewer::Palette> = self.name.parse().ok();
        let mut colors: Vec<String> = scheme
            .and_then(|s| colorbrewer::get_color_ramp(s, k as u32))
            .unwrap_or_default()
            .into_iter()
            .map(|c| format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b))
            .collect();
        if self.reversed {
            colors.reverse();
        }
        colors
    }

    /// Colours for `k` classes, also for one or two classes (taken from the three-colour ramp).
    pub fn colors_for(&self, k: usize) -> Vec<String> {
        let three = self.colors(MIN_CLASSES);
        match k {
            0 => Vec::new(),
            1 => vec![three[2].clone()],
            2 => vec![three[0].clone(), three[2].clone()],
            _ => self.colors(k),
        }
    }
}

impl Palette {
    /// Colours for the classes of a change ([`classify_change`]): the palette spread
    /// symmetrically around its middle colour, decreases on one side, increases on the
    /// other, the zero class in the middle; the classes nearest zero get the lightest colours.
    pub fn diverging_colors(&self, sides: &[Side]) -> Vec<String> {
        let neg = sides.iter().filter(|s| **s == Side::Decrease).count();
        let pos = sides.iter().filter(|s| **s == Side::Increase).count();
        let m = neg.max(pos).max(1);
        let ramp = self.colors(2 * m + 1);
        let at = |i: usize| {
            ramp.get(i)
                .cloned()
                .unwrap_or_else(|| NO_DATA_COLOR.to_string())
        };
        let (mut d, mut i) = (0, 0);
        sides
            .iter()
            .map(|s| match s {
                Side::Decrease => {
                    d += 1;
                    at(m - neg + d - 1)
                }
                Side::Zero => at(m),
                Side::Increase => {
                    i += 1;
                    at(m + i)
                }
            })
            .collect()
    }
}

impl FromStr for Palette {
    type Err = ClassifyError;
    fn from_str(s: &str) -> Result<Palette, ClassifyError> {
        let (reversed, name) = match s.trim().strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, s.trim()),
        };
        PALETTES
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .map(|n| Palette { name: n, reversed })
            .ok_or_else(|| ClassifyError::UnknownPalette(s.to_string()))
    }
}

impl fmt::Display for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A number in Indonesian format: `.` between thousands, `,` before decimals
/// (`1.234`, `5,8`), with `decimals` digits after the comma (trailing zeros dropped).
pub fn format_id(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), f.trim_end_matches('0').to_string()),
        None => (text.clone(), String::new()),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 && (grouped != "0" || !frac.is_empty()) {
        "−"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

/// How an indicator's values read: counts, shares (shown as percent) or changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number.
    Count,
    /// A share between 0 and 1, shown as percent.
    Share,
}

/// A value as a legend shows it: `1.234` or `5,8 %`.
pub fn format_value(v: f64, kind: ValueKind) -> String {
    match kind {
        ValueKind::Count => format_id(v, if v.fract() == 0.0 { 0 } else { 1 }),
        ValueKind::Share => format!("{} %", format_id(v * 100.0, 1)),
    }
}

/// Legend labels of the classes in Indonesian format: `lo – hi`, whole-number ranges that
/// never overlap for counts ("0 – 3", "4 – 7"), one value for a class of one value ("75"),
/// and "0" for the zero class of a change (`sides` from [`classify_change`]).
pub fn labels(classes: &Classes, kind: ValueKind, sides: Option<&[Side]>) -> Vec<String> {
    let n = classes.len();
    classes
        .bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            if sides.and_then(|s| s.get(i)) == Some(&Side::Zero) {
                return format_value(0.0, kind);
            }
            let last = i + 1 == n;
            let (lo, hi) = match kind {
                // Whole numbers: class i holds the integers from ⌈lo⌉ to ⌈hi⌉ − 1 (to ⌊hi⌋
                // in the closed last class), so neighbouring ranges never share a number.
                ValueKind::Count => {
                    let lo = w[0].ceil();
                    let hi = if last {
                        w[1].floor()
                    } else {
                        w[1].ceil() - 1.0
                    };
                    (lo, hi.max(lo))
                }
                ValueKind::Share => (w[0], w[1]),
            };
            if lo == hi {
                format_value(lo, kind)
            } else {
                format!("{} – {}", format_value(lo, kind), format_value(hi, kind))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn ckmeans_finds_the_textbook_groups() {
        // The example of Wang & Song's Ckmeans.1d.dp and of the ckmeans crate.
        let data = [
            1.0, 12.0, 13.0, 14.0, 15.0, 16.0, 2.0, 2.0, 3.0, 5.0, 7.0, 1.0, 2.0, 5.0, 7.0, 1.0,
            5.0, 82.0, 1.0, 1.3, 1.1, 78.0,
        ];
        let c = classify(&data, &Method::Ckmeans, 3).unwrap();
        assert_eq!(c.bounds, vec![1.0, 12.0, 78.0, 82.0]);
        assert_eq!(c.counts(&data), vec![15, 5, 2]);
        // Two clear groups asked for three classes.
        let two = [1.0, 1.0, 1.0, 9.0, 9.0];
        assert_eq!(classify(&two, &Method::Ckmeans, 3).unwrap().len(), 2);
    }

    #[test]
    fn quantile_equal_and_pretty_breaks() {
        let data: Vec<f64> = (1..=100).map(f64::from).collect();
        let q = classify(&data, &Method::Quantile, 4).unwrap();
        assert_eq!(q.bounds, vec![1.0, 26.0, 51.0, 76.0, 100.0]);
        assert_eq!(q.counts(&data), vec![25, 25, 25, 25]);
        let e = classify(&[0.0, 10.0, 3.0], &Method::EqualInterval, 5).unwrap();
        assert_eq!(e.bounds, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let p = classify(&[3.0, 97.0], &Method::Pretty, 5).unwrap();
        assert_eq!(p.bounds, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let m = classify(&data, &Method::Manual(vec![10.0, 50.0]), 0).unwrap();
        assert_eq!(m.bounds, vec![1.0, 10.0, 50.0, 100.0]);
        assert_eq!(m.counts(&data), vec![9, 40, 51]);
        assert!(classify(&data, &Method::Manual(vec![50.0, 10.0]), 0).is_err());
        assert!(classify(&data, &Method::Quantile, 2).is_err());
        assert!(classify(&[], &Method::Quantile, 5).unwrap().is_empty());
        assert_eq!(
            classify(&[4.0, 4.0], &Method::Ckmeans, 5).unwrap().bounds,
            vec![4.0, 4.0]
        );
    }

    #[test]
    fn breaks_are_sorted_and_every_value_falls_in_exactly_one_class() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..300 {
            let n = rng.random_range(1..200);
            let skewed = round % 2 == 0;
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    let v: f64 = rng.random_range(0.0..1000.0);
                    if skewed {
                        (v / 100.0).powi(3).floor()
                    } else {
                        v
                    }
                })
                .collect();
            for method in [
                Method::Ckmeans,
                Method::Quantile,
                Method::EqualInterval,
                Method::Pretty,
            ] {
                let k = rng.random_range(MIN_CLASSES..=MAX_CLASSES);
                let c = classify(&values, &method, k).unwrap();
                let n = c.bounds.len();
                assert!(
                    c.bounds[..n - 1].windows(2).all(|w| w[0] < w[1])
                        && c.bounds[n - 2] <= c.bounds[n - 1],
                    "{method:?} {:?}",
                    c.bounds
                );
                assert!(c.len() <= k + 1);
                for v in &values {
                    let i = c.class_of(*v);
                    let inside = |j: usize| {
                        let (lo, hi) = (c.bounds[j], c.bounds[j + 1]);
                        *v >= lo && (*v < hi || (j == c.len() - 1 && *v <= hi))
                    };
                    assert!(inside(i), "{v} not in class {i} of {:?}", c.bounds);
                    assert_eq!((0..c.len()).filter(|&j| inside(j)).count(), 1);
                }
                assert_eq!(c.counts(&values).iter().sum::<usize>(), values.len());
            }
        }
    }

    #[test]
    fn palettes_and_indonesian_numbers() {
        let p = Palette::sequential();
        assert_eq!(
            p.colors(5),
            ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
        );
        let d = Palette::diverging();
        assert_eq!(d.name(), "-RdBu");
        assert_eq!(d.colors(3), ["#67a9cf", "#f7f7f7", "#ef8a62"]);
        assert!("Rainbow".parse::<Palette>().is_err());
        assert_eq!(format_id(1234.0, 0), "1.234");
        assert_eq!(format_id(1234567.25, 2), "1.234.567,25");
        assert_eq!(format_value(0.058, ValueKind::Share), "5,8 %");
        assert_eq!(format_value(-12.0, ValueKind::Count), "−12");
        let c = Classes {
            bounds: vec![0.0, 1500.0, 30000.0],
        };
        assert_eq!(
            labels(&c, ValueKind::Count, None),
            ["0 – 1.499", "1.500 – 30.000"]
        );
        assert_eq!(
            labels(&c, ValueKind::Share, None),
            ["0 % – 150.000 %", "150.000 % – 3.000.000 %"]
        );
        // Whole numbers: ranges that never share a number; a one-value class reads as one.
        let c = Classes {
            bounds: vec![0.0, 4.0, 8.0, 75.0, 75.0],
        };
        assert_eq!(
            labels(&c, ValueKind::Count, None),
            ["0 – 3", "4 – 7", "8 – 74", "75"]
        );
    }

    #[test]
    fn a_change_diverges_around_zero() {
        let values = [-40.0, -12.0, -3.0, 0.0, 0.0, 2.0, 5.0, 30.0, 31.0];
        let (c, sides) = classify_change(&values, &Method::Ckmeans, 5).unwrap();
        assert_eq!(sides.iter().filter(|s| **s == Side::Zero).count(), 1);
        // No class holds both a decrease and an increase, and zero is alone in its class.
        for v in values {
            let k = c.class_of(v);
            let side = if v < 0.0 {
                Side::Decrease
            } else if v == 0.0 {
                Side::Zero
            } else {
                Side::Increase
            };
            assert_eq!(sides[k], side, "{v} in class {k} of {:?}", c.bounds);
        }
        let colors = Palette::diverging().diverging_colors(&sides);
        let zero = sides.iter().position(|s| *s == Side::Zero).unwrap();
        assert_eq!(
            colors[zero], "#f7f7f7",
            "the zero class is the neutral colour"
        );
        let (neg, pos): (Vec<_>, Vec<_>) = (0..sides.len())
            .filter(|&i| i != zero)
            .partition(|&i| sides[i] == Side::Decrease);
        for i in &neg {
            assert!(!pos.iter().any(|j| colors[*j] == colors[*i]));
        }
        let l = labels(&c, ValueKind::Count, Some(&sides));
        assert_eq!(l[zero], "0");
        // Only increases: no class of decreases, no neutral class.
        let (c, sides) = classify_change(&[1.0, 2.0, 9.0], &Method::Quantile, 5).unwrap();
        assert!(sides.iter().all(|s| *s == Side::Increase));
        assert_eq!(c.class_of(1.0), 0);
    }
}
