//! Line and area charts as inline SVG text: a time axis, a value axis with "nice" ticks, a
//! title and a legend. No fonts, scripts or files are referenced: the page's stylesheet
//! styles the text, and the page's small script reads the `data-*` attributes to show values
//! under the pointer.
//!
//! # Invariants
//!
//! - The output is a pure function of the chart: coordinates are printed with one decimal,
//!   values with fixed decimals, so the same chart always gives the same bytes.
//! - Every piece of text is escaped.

use std::fmt::Write as _;

use tape_engine::time::{
    civil_from_days, days_from_civil, Ts, NANOS_PER_DAY, NANOS_PER_MINUTE, NANOS_PER_SECOND,
};

use super::page::escape;

/// The drawing's size in SVG units (the page scales it to its column).
pub const WIDTH: f64 = 960.0;
/// The drawing's height.
pub const HEIGHT: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 30.0;

/// How a chart's values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// An amount of the account currency.
    Money,
    /// A fraction shown as a percentage (`0.25` → `25 %`).
    Fraction,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Money => "money",
            Unit::Fraction => "fraction",
        }
    }
}

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Line {
    /// Its name in the legend.
    pub name: String,
    /// Its stroke colour (a CSS colour).
    pub colour: &'static str,
    /// One value per time of the chart.
    pub values: Vec<f64>,
    /// Drawn dashed.
    pub dashed: bool,
    /// The area between the line and zero is filled.
    pub fill: bool,
}

/// A chart of lines over time.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Its title, drawn at the top.
    pub title: String,
    /// How its values read.
    pub unit: Unit,
    /// The times of the points, in order.
    pub times: Vec<Ts>,
    /// The lines, drawn in order (the last on top).
    pub lines: Vec<Line>,
    /// Whether the value axis always shows zero.
    pub include_zero: bool,
}

/// The SVG text of a chart.
pub fn render(chart: &Chart) -> String {
    let mut s = String::with_capacity(16_384 + chart.times.len() * chart.lines.len() * 24);
    let title = escape(&chart.title);
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{title}\" data-unit=\"{}\"",
        chart.unit.name()
    );
    let plot = Plot::new(chart);
    if let Some(p) = &plot {
        let _ = write!(
            s,
            " data-x0=\"{:.1}\" data-x1=\"{:.1}\" data-t0=\"{}\" data-t1=\"{}\" data-t=\"{}\"",
            p.x(p.t0),
            p.x(p.t1),
            seconds(p.t0),
            seconds(p.t1),
            join(chart.times.iter().map(|t| seconds(t.0).to_string()))
        );
    }
    s.push_str(">\n");
    let _ = writeln!(s, "<title>{title}</title>");
    let _ = writeln!(
        s,
        "<text class=\"title\" x=\"{LEFT}\" y=\"22\">{title}</text>"
    );
    legend(&mut s, &chart.lines);
    match &plot {
        Some(p) => {
            p.axes(&mut s, chart.unit);
            // The first line of the legend is drawn last, on top; filled areas go under
            // every line.
            for line in chart.lines.iter().rev().filter(|l| l.fill) {
                p.area(&mut s, line);
            }
            for line in chart.lines.iter().rev() {
                p.line(&mut s, line, chart.unit);
            }
            let _ = writeln!(
                s,
                "<line class=\"guide\" x1=\"0\" x2=\"0\" y1=\"{TOP}\" y2=\"{:.1}\" visibility=\"hidden\"/>",
                HEIGHT - BOTTOM
            );
        }
        None => {
            let _ = writeln!(
                s,
                "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no portfolio snapshots in this ledger</text>",
                WIDTH / 2.0,
                HEIGHT / 2.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Whole seconds since the epoch: the time unit of the hover script.
fn seconds(ns: i64) -> i64 {
    ns.div_euclid(NANOS_PER_SECOND)
}

fn join(items: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&item);
    }
    out
}

fn legend(s: &mut String, lines: &[Line]) {
    let mut x = LEFT;
    let y = 40.0;
    for line in lines {
        let dash = if line.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"2.5\"{dash}/><text class=\"legend\" x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            x + 20.0,
            y - 4.0,
            y - 4.0,
            line.colour,
            x + 26.0,
            escape(&line.name)
        );
        // About 6.6 units per character at the legend's 12-unit font.
        x += 26.0 + 6.6 * line.name.chars().count() as f64 + 22.0;
    }
}

/// The mapping from (time, value) to the drawing.
struct Plot {
    t0: i64,
    t1: i64,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    step: f64,
    times: Vec<i64>,
}

impl Plot {
    fn new(chart: &Chart) -> Option<Self> {
        let (first, last) = (chart.times.first()?.0, chart.times.last()?.0);
        let (t0, t1) = if last > first {
            (first, last)
        } else {
            (first - NANOS_PER_DAY / 2, first + NANOS_PER_DAY / 2)
        };
        let values = chart.lines.iter().flat_map(|l| l.values.iter().copied());
        let (mut min, mut max) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if !min.is_finite() {
            (min, max) = (0.0, 0.0);
        }
        if chart.include_zero {
            min = min.min(0.0);
            max = max.max(0.0);
        }
        let zero_pad = match chart.unit {
            Unit::Money => 1.0,
            Unit::Fraction => 0.01,
        };
        let (lo, hi, step, ticks) = value_ticks(min, max, 5, zero_pad);
        Some(Self {
            t0,
            t1,
            lo,
            hi,
            ticks,
            step,
            times: chart.times.iter().map(|t| t.0).collect(),
        })
    }

    fn x(&self, t: i64) -> f64 {
        let w = WIDTH - LEFT - RIGHT;
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * w
    }

    fn y(&self, v: f64) -> f64 {
        let h = HEIGHT - TOP - BOTTOM;
        let v = if v.is_finite() { v } else { 0.0 };
        TOP + (self.hi - v) / (self.hi - self.lo) * h
    }

    fn axes(&self, s: &mut String, unit: Unit) {
        let bottom = HEIGHT - BOTTOM;
        let labels = value_labels(&self.ticks, self.step, unit);
        s.push_str("<g class=\"grid\">\n");
        for v in &self.ticks {
            let y = self.y(*v);
            let class = if *v == 0.0 && self.lo < 0.0 {
                " class=\"zero\""
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "<line{class} x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
                WIDTH - RIGHT
            );
        }
        let time_ticks = time_ticks(self.t0, self.t1, 8);
        for (t, _) in &time_ticks {
            let x = self.x(*t);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{bottom:.1}\"/>"
            );
        }
        s.push_str("</g>\n<g class=\"axis\">\n");
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{bottom:.1}\" y2=\"{bottom:.1}\"/>",
            WIDTH - RIGHT
        );
        for (v, label) in self.ticks.iter().zip(labels) {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LEFT - 8.0,
                self.y(*v) + 4.0,
                escape(&label)
            );
        }
        for (t, label) in &time_ticks {
            let x = self.x(*t);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{bottom:.1}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                bottom + 5.0,
                bottom + 19.0,
                escape(label)
            );
        }
        s.push_str("</g>\n");
    }

    fn points(&self, line: &Line) -> String {
        let mut points = String::with_capacity(line.values.len() * 12);
        for (i, (t, v)) in self.times.iter().zip(&line.values).enumerate() {
            if i > 0 {
                points.push(' ');
            }
            let _ = write!(points, "{:.1},{:.1}", self.x(*t), self.y(*v));
        }
        points
    }

    /// The area between a line and zero (or the axis end nearest zero).
    fn area(&self, s: &mut String, line: &Line) {
        let base = self.y(0.0_f64.clamp(self.lo, self.hi));
        let (first, last) = (
            self.times.first().map_or(LEFT, |t| self.x(*t)),
            self.times.last().map_or(LEFT, |t| self.x(*t)),
        );
        let _ = writeln!(
            s,
            "<polygon class=\"area\" fill=\"{}\" points=\"{first:.1},{base:.1} {} {last:.1},{base:.1}\"/>",
            line.colour,
            self.points(line)
        );
    }

    fn line(&self, s: &mut String, line: &Line, unit: Unit) {
        let points = self.points(line);
        let dash = if line.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let values = join(line.values.iter().map(|v| match unit {
            Unit::Money => format!("{:.2}", finite(*v)),
            Unit::Fraction => format!("{:.6}", finite(*v)),
        }));
        let _ = writeln!(
            s,
            "<polyline class=\"series\" stroke=\"{}\"{dash} data-name=\"{}\" data-v=\"{values}\" points=\"{points}\"/>",
            line.colour,
            escape(&line.name)
        );
        // A line of one point draws nothing: mark the point.
        if let ([t], [v]) = (self.times.as_slice(), line.values.as_slice()) {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\"/>",
                self.x(*t),
                self.y(*v),
                line.colour
            );
        }
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// A "nice" step (1, 2, 2.5 or 5 × 10^k) near `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let base = libm::pow(10.0, libm::floor(libm::log10(raw)));
    // The slack keeps 0.2 (whose quotient is 2.0000000000000004) a step of 2, not 2.5.
    let f = raw / base * (1.0 - 1e-9);
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * base
}

/// An axis from `min` to `max` with about `target` intervals: `(lo, hi, step, ticks)`, the
/// ends on ticks. A flat series (flat to 1e-9 of its size) gets 1 % of its value either side,
/// or `zero_pad` when it is zero.
pub fn value_ticks(min: f64, max: f64, target: usize, zero_pad: f64) -> (f64, f64, f64, Vec<f64>) {
    let size = min.abs().max(max.abs());
    let (min, max) = if max - min > 1e-9 * size {
        (min, max)
    } else if size == 0.0 {
        (-zero_pad, zero_pad)
    } else {
        (min - size * 0.01, max + size * 0.01)
    };
    let step = nice_step((max - min) / target.max(1) as f64);
    // The same slack: an end that is a whole number of steps stays on its tick.
    let lo = (min / step + 1e-9).floor() * step;
    let hi = (max / step - 1e-9).ceil() * step;
    let n = ((hi - lo) / step).round() as usize;
    let ticks = (0..=n)
        .map(|i| {
            let v = lo + i as f64 * step;
            // No "-0 %": a tick within rounding of zero is zero.
            if v.abs() < step * 1e-9 {
                0.0
            } else {
                v
            }
        })
        .collect();
    (lo, hi, step, ticks)
}

/// The fewest decimals that show `x` (a nice step) exactly, at most 6.
fn decimals(x: f64) -> usize {
    let mut scaled = x.abs();
    for d in 0..6 {
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0) {
            return d;
        }
        scaled *= 10.0;
    }
    6
}

/// The labels of value ticks: percentages, or amounts with k/M/B suffixes.
pub fn value_labels(ticks: &[f64], step: f64, unit: Unit) -> Vec<String> {
    match unit {
        Unit::Fraction => {
            let d = decimals(step * 100.0);
            ticks
                .iter()
                .map(|v| format!("{:.d$} %", v * 100.0))
                .collect()
        }
        Unit::Money => {
            let largest = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let (scale, suffix) = if largest >= 1e9 {
                (1e9, "B")
            } else if largest >= 1e6 {
                (1e6, "M")
            } else if largest >= 1e4 {
                (1e3, "k")
            } else {
                (1.0, "")
            };
            let d = decimals(step / scale);
            ticks
                .iter()
                .map(|v| {
                    if *v == 0.0 {
                        "0".to_string()
                    } else {
                        format!("{}{suffix}", group(&format!("{:.d$}", v / scale)))
                    }
                })
                .collect()
        }
    }
}

/// Thousands separators in a decimal number's integer part: `1234567.5` → `1,234,567.5`.
pub fn group(number: &str) -> String {
    let (sign, rest) = match number.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", number),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(number.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

/// A spacing of time ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeStep {
    /// A fixed number of nanoseconds (minutes, hours, days).
    Fixed(i64),
    /// Weeks, starting on Mondays.
    Weeks,
    /// Whole months, on the first day.
    Months(i64),
    /// Whole years, on 1 January.
    Years(i64),
}

impl TimeStep {
    fn approx_ns(self) -> i64 {
        match self {
            TimeStep::Fixed(ns) => ns,
            TimeStep::Weeks => 7 * NANOS_PER_DAY,
            TimeStep::Months(k) => k * 30 * NANOS_PER_DAY + k * NANOS_PER_DAY / 2,
            TimeStep::Years(k) => k * 365 * NANOS_PER_DAY,
        }
    }
}

const HOUR: i64 = 60 * NANOS_PER_MINUTE;
const TIME_STEPS: [TimeStep; 22] = [
    TimeStep::Fixed(NANOS_PER_MINUTE),
    TimeStep::Fixed(5 * NANOS_PER_MINUTE),
    TimeStep::Fixed(15 * NANOS_PER_MINUTE),
    TimeStep::Fixed(30 * NANOS_PER_MINUTE),
    TimeStep::Fixed(HOUR),
    TimeStep::Fixed(3 * HOUR),
    TimeStep::Fixed(6 * HOUR),
    TimeStep::Fixed(12 * HOUR),
    TimeStep::Fixed(NANOS_PER_DAY),
    TimeStep::Fixed(2 * NANOS_PER_DAY),
    TimeStep::Weeks,
    TimeStep::Months(1),
    TimeStep::Months(2),
    TimeStep::Months(3),
    TimeStep::Months(6),
    TimeStep::Years(1),
    TimeStep::Years(2),
    TimeStep::Years(5),
    TimeStep::Years(10),
    TimeStep::Years(20),
    TimeStep::Years(50),
    TimeStep::Years(100),
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Ticks between `t0` and `t1` (inclusive) on calendar boundaries, at most `max` of them
/// (fewer for spans beyond a century), each with its label.
pub fn time_ticks(t0: i64, t1: i64, max: usize) -> Vec<(i64, String)> {
    let span = (t1 - t0).max(1);
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s.approx_ns() < max as i64)
        .unwrap_or(TimeStep::Years(100));
    let mut out = Vec::new();
    match step {
        TimeStep::Fixed(ns) => {
            let multi_day = t0.div_euclid(NANOS_PER_DAY) != t1.div_euclid(NANOS_PER_DAY);
            let mut t = t0.div_euclid(ns) * ns;
            if t < t0 {
                t += ns;
            }
            while t <= t1 && out.len() <= max {
                let (y, m, d) = civil_from_days(t.div_euclid(NANOS_PER_DAY));
                let minutes = t.rem_euclid(NANOS_PER_DAY) / NANOS_PER_MINUTE;
                let label = if ns >= NANOS_PER_DAY {
                    format!("{y:04}-{m:02}-{d:02}")
                } else if multi_day {
                    format!("{m:02}-{d:02} {:02}:{:02}", minutes / 60, minutes % 60)
                } else {
                    format!("{:02}:{:02}", minutes / 60, minutes % 60)
                };
                out.push((t, label));
                t += ns;
            }
        }
        TimeStep::Weeks => {
            // Day 4 (1970-01-05) was a Monday.
            let day = t0.div_euclid(NANOS_PER_DAY);
            let mut d = day - (day - 4).rem_euclid(7);
            while d * NANOS_PER_DAY <= t1 && out.len() <= max {
                if d * NANOS_PER_DAY >= t0 {
                    let (y, m, dd) = civil_from_days(d);
                    out.push((d * NANOS_PER_DAY, format!("{y:04}-{m:02}-{dd:02}")));
                }
                d += 7;
            }
        }
        TimeStep::Months(k) => {
            let (y, m, _) = civil_from_days(t0.div_euclid(NANOS_PER_DAY));
            let mut index = y * 12 + i64::from(m) - 1;
            loop {
                let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
                let t = days_from_civil(year, month, 1) * NANOS_PER_DAY;
                if t > t1 || out.len() > max {
                    break;
                }
                if t >= t0 && index.rem_euclid(k) == 0 {
                    out.push((t, format!("{} {year}", MONTHS[month as usize - 1])));
                }
                index += 1;
            }
        }
        TimeStep::Years(k) => {
            let (y, _, _) = civil_from_days(t0.div_euclid(NANOS_PER_DAY));
            let mut year = y;
            loop {
                let t = days_from_civil(year, 1, 1) * NANOS_PER_DAY;
                if t > t1 || out.len() > max {
                    break;
                }
                if t >= t0 && year.rem_euclid(k) == 0 {
                    out.push((t, year.to_string()));
                }
                year += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_one_two_two_and_a_half_or_five() {
        assert_eq!(nice_step(0.013), 0.02);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(70_000.0), 100_000.0);
        assert_eq!(nice_step(2.2), 2.5);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(0.2), 0.2);
        assert_eq!(nice_step(1.0), 1.0);
    }

    #[test]
    fn value_ticks_cover_the_range_on_whole_steps() {
        let (lo, hi, step, ticks) = value_ticks(-0.0899, 0.0, 5, 0.01);
        assert_eq!(step, 0.02);
        assert!(lo <= -0.0899 && hi == 0.0, "{lo} {hi}");
        assert_eq!(ticks.last(), Some(&0.0));
        let labels = value_labels(&ticks, step, Unit::Fraction);
        assert_eq!(labels.first().map(String::as_str), Some("-10 %"));
        assert_eq!(labels.last().map(String::as_str), Some("0 %"));
        let (lo, hi, step, _) = value_ticks(0.0, 1.0, 5, 0.01);
        assert_eq!((lo, hi, step), (0.0, 1.0, 0.2));
        // A flat series still gets an axis.
        let (lo, hi, _, ticks) = value_ticks(5.0, 5.0, 5, 1.0);
        assert!(lo < 5.0 && hi > 5.0 && ticks.len() > 1);
        // Flat but for rounding: still an axis of distinct labels around the value.
        let (_, _, step, ticks) = value_ticks(999_999.999_999_9, 1e6, 5, 1.0);
        let labels = value_labels(&ticks, step, Unit::Money);
        assert!(labels.windows(2).all(|w| w[0] != w[1]), "{labels:?}");
        let (lo, hi, _, _) = value_ticks(0.0, 0.0, 5, 0.01);
        assert_eq!((lo, hi), (-0.01, 0.01));
    }

    #[test]
    fn money_labels_use_suffixes_and_separators() {
        let (_, _, step, ticks) = value_ticks(950_000.0, 1_350_000.0, 5, 1.0);
        let labels = value_labels(&ticks, step, Unit::Money);
        assert_eq!(labels.first().map(String::as_str), Some("0.9M"));
        assert_eq!(labels.last().map(String::as_str), Some("1.4M"));
        assert_eq!(
            value_labels(&[1500.0], 500.0, Unit::Money),
            vec!["1,500".to_string()]
        );
        assert_eq!(group("-1234567.25"), "-1,234,567.25");
        assert_eq!(group("123"), "123");
    }

    #[test]
    fn time_ticks_fall_on_calendar_boundaries() {
        let day = |y, m, d| days_from_civil(y, m, d) * NANOS_PER_DAY;
        let years = time_ticks(day(2000, 3, 1), day(2013, 3, 1), 8);
        let labels: Vec<&str> = years.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["2002", "2004", "2006", "2008", "2010", "2012"]);
        let months = time_ticks(day(2020, 1, 15), day(2020, 6, 20), 8);
        assert_eq!(months[0], (day(2020, 2, 1), "Feb 2020".to_string()));
        let hours = time_ticks(day(2020, 1, 1), day(2020, 1, 1) + 5 * HOUR, 8);
        assert_eq!(hours[1].1, "01:00");
        let weeks = time_ticks(day(2024, 1, 3), day(2024, 2, 10), 8);
        assert_eq!(weeks[0].1, "2024-01-08", "a Monday");
        assert!(weeks.len() <= 8);
    }

    #[test]
    fn a_chart_escapes_its_text_and_draws_every_point() {
        let chart = Chart {
            title: "A <b> & \"c\"".into(),
            unit: Unit::Money,
            times: (0..10).map(|i| Ts(i * NANOS_PER_DAY)).collect(),
            lines: vec![Line {
                name: "x<y".into(),
                colour: "#123456",
                values: (0..10).map(f64::from).collect(),
                dashed: false,
                fill: true,
            }],
            include_zero: true,
        };
        let svg = render(&chart);
        assert!(svg.contains("A &lt;b&gt; &amp; &quot;c&quot;"), "{svg}");
        assert!(svg.contains("x&lt;y"));
        assert!(!svg.contains("<b>"));
        let points = svg
            .split("points=\"")
            .nth(2)
            .and_then(|p| p.split('"').next())
            .unwrap_or("");
        assert_eq!(points.split(' ').count(), 10, "{svg}");
        assert_eq!(svg, render(&chart));
    }

    #[test]
    fn an_empty_chart_says_so() {
        let chart = Chart {
            title: "t".into(),
            unit: Unit::Fraction,
            times: vec![],
            lines: vec![],
            include_zero: true,
        };
        assert!(render(&chart).contains("no portfolio snapshots"));
    }
}
