//! JSON files — `tape metrics --json` output above all — compared value by value.
//!
//! Objects are compared key by key (a key in one and not the other is a difference), arrays
//! element by element (a different length is a difference in rows), strings, booleans, nulls
//! and integers (numbers written without a fraction or exponent) exactly, and other numbers
//! as floats: bit for bit in exact mode, within the tolerance of the category of their key
//! (or the keys of the objects holding it) in tolerant mode.
//!
//! An array under a date-index key (`date`, `ts`, `timestamp`, `time`, `datetime`) is the
//! date index of its object: compared exactly, and its elements label the elements of the
//! object's other arrays in reports (`daily.return[17] (2014-01-24)`).
//!
//! In tolerant mode a top-level `fingerprint` is not compared: it names the ledger the
//! figures came from, which is what tolerant mode allows to differ. A note says whether it
//! does.

use std::path::Path;

use serde_json::Value;

use super::report::{Difference, FileStatus, Place, Report, What};
use super::table::DATE_NAMES;
use super::tolerance::{same_bits, Category, Mode, Tolerances};
use super::ParityError;

/// Reads a JSON file.
pub fn read(path: &Path, shown: &str) -> Result<Value, ParityError> {
    let bytes = std::fs::read(path).map_err(|source| ParityError::Io {
        path: shown.to_string(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ParityError::Json {
        path: shown.to_string(),
        line: e.line(),
        column: e.column(),
        detail: e.to_string(),
    })
}

/// Compares two JSON values; pushes differences into `report`; returns the file's status.
pub fn compare(
    file: &str,
    a: &Value,
    b: &Value,
    mode: Mode,
    tolerances: &Tolerances,
    report: &mut Report,
) -> FileStatus {
    let before = report.total;
    let mut walk = Walk {
        file,
        mode,
        tolerances,
        report,
        path: Vec::new(),
    };
    walk.value(a, b, None, true);
    if report.total > before {
        FileStatus::Differs
    } else {
        FileStatus::Equal
    }
}

struct Walk<'r> {
    file: &'r str,
    mode: Mode,
    tolerances: &'r Tolerances,
    report: &'r mut Report,
    /// Keys from the root (array levels are not in it).
    path: Vec<String>,
}

/// Where an element sits in an array, with its date label.
#[derive(Clone, Copy)]
struct Element<'a> {
    index: usize,
    label: Option<&'a str>,
}

impl Walk<'_> {
    fn column(&self) -> String {
        let mut out = String::new();
        for key in &self.path {
            if !out.is_empty() && !key.starts_with('[') {
                out.push('.');
            }
            out.push_str(key);
        }
        if out.is_empty() {
            out.push_str("(root)");
        }
        out
    }

    fn difference(&self, what: What, a: String, b: String, at: Option<Element<'_>>) -> Difference {
        let mut d = Difference::new(self.file, what, a, b).column(self.column());
        if let Some(e) = at {
            d.at = Some(Place::Index(e.index as u64));
            d.key = e.label.map(str::to_string);
        }
        d
    }

    fn push(&mut self, what: What, a: String, b: String, at: Option<Element<'_>>) {
        let d = self.difference(what, a, b, at);
        self.report.push(d);
    }

    fn in_date_index(&self) -> bool {
        self.path
            .last()
            .is_some_and(|k| DATE_NAMES.contains(&k.to_ascii_lowercase().as_str()))
    }

    fn value(&mut self, a: &Value, b: &Value, at: Option<Element<'_>>, root: bool) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                // The date index of this object, to label its arrays' elements.
                let labels: Option<Vec<String>> = x.iter().find_map(|(k, v)| {
                    let is_date = DATE_NAMES.contains(&k.to_ascii_lowercase().as_str());
                    match v {
                        Value::Array(items) if is_date => Some(
                            items
                                .iter()
                                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                                .collect(),
                        ),
                        _ => None,
                    }
                });
                for (key, va) in x {
                    self.path.push(key.clone());
                    match y.get(key) {
                        Some(vb) => {
                            if root && key == "fingerprint" && self.mode == Mode::Tolerant {
                                if va != vb {
                                    self.report.notes.push(format!(
                                        "{}: the fingerprints differ (not compared in tolerant mode)",
                                        self.file
                                    ));
                                }
                            } else if let (Value::Array(ia), Value::Array(ib), Some(l)) =
                                (va, vb, labels.as_ref())
                            {
                                self.array(ia, ib, Some(l));
                            } else {
                                self.value(va, vb, at, false);
                            }
                        }
                        None => {
                            self.push(What::Columns, short(va), "(none)".to_string(), at);
                        }
                    }
                    self.path.pop();
                }
                for (key, vb) in y {
                    if !x.contains_key(key) {
                        self.path.push(key.clone());
                        self.push(What::Columns, "(none)".to_string(), short(vb), at);
                        self.path.pop();
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) => self.array(x, y, None),
            (Value::Number(x), Value::Number(y)) => self.number(x, y, at),
            _ => {
                if a != b {
                    let what = if self.in_date_index() {
                        What::DateIndex
                    } else {
                        What::Value
                    };
                    self.push(what, short(a), short(b), at);
                }
            }
        }
    }

    fn array(&mut self, x: &[Value], y: &[Value], labels: Option<&Vec<String>>) {
        if x.len() != y.len() {
            let what = if self.in_date_index() {
                What::DateIndex
            } else {
                What::Rows
            };
            self.push(
                what,
                format!("{} elements", x.len()),
                format!("{} elements", y.len()),
                None,
            );
        }
        for (index, (p, q)) in x.iter().zip(y).enumerate() {
            let label = labels.and_then(|l| l.get(index)).map(String::as_str);
            let nested = p.is_object() || p.is_array() || q.is_object() || q.is_array();
            if nested {
                // `round_trips[3].pnl`: the index is part of the path.
                self.path.push(format!("[{index}]"));
                self.value(p, q, None, false);
                self.path.pop();
            } else {
                self.value(p, q, Some(Element { index, label }), false);
            }
        }
    }

    fn number(&mut self, x: &serde_json::Number, y: &serde_json::Number, at: Option<Element<'_>>) {
        let integer = |n: &serde_json::Number| n.is_i64() || n.is_u64();
        if integer(x) && integer(y) {
            if (x.as_i64(), x.as_u64()) != (y.as_i64(), y.as_u64()) {
                self.push(What::Value, x.to_string(), y.to_string(), at);
            }
            return;
        }
        let (Some(p), Some(q)) = (x.as_f64(), y.as_f64()) else {
            if x != y {
                self.push(What::Value, x.to_string(), y.to_string(), at);
            }
            return;
        };
        let date = self.in_date_index();
        let category = Category::of(self.path.iter().rev().map(String::as_str));
        let tolerance = self.tolerances.get(category);
        let same = match self.mode {
            Mode::Tolerant if !date => tolerance.matches(p, q),
            _ => same_bits(p, q),
        };
        if !same {
            let what = if date { What::DateIndex } else { What::Value };
            let tolerant = self.mode == Mode::Tolerant && !date;
            let mut d = self.difference(what, x.to_string(), y.to_string(), at);
            d.difference = Some((q - p).abs());
            if tolerant {
                d.tolerance = Some((category, tolerance));
            }
            self.report.push(d);
        }
    }
}

/// A value as short text for reports.
fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Object(o) => format!("an object of {} keys", o.len()),
        other => other.to_string(),
    }
}
