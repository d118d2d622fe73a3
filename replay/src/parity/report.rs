//! What a comparison found: every difference beyond tolerance (the first few kept whole, the
//! rest counted), a summary per column, and the outcome of each file.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::tolerance::{Category, Mode, Tolerance, Tolerances};

/// What kind of thing differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum What {
    /// A file of the baseline is not in the candidate.
    MissingFile,
    /// A file of the candidate is not in the baseline.
    ExtraFile,
    /// The two files are not of the same type (a ledger and a CSV file).
    FileType,
    /// Files compared by their bytes only (no table or ledger inside) differ.
    Bytes,
    /// The number of rows (or of array elements) differs.
    Rows,
    /// A column (or a JSON field) is in one and not the other, or the columns' order differs.
    Columns,
    /// A column's type differs.
    ColumnType,
    /// The date index (a `date`/`ts`/`timestamp`/`time`/`datetime` column, or
    /// `daily.date`) differs.
    DateIndex,
    /// The set of symbols (a `symbol`/`ticker` column) differs.
    Symbols,
    /// A value differs beyond its tolerance (or at all, for exact fields).
    Value,
    /// Ledgers: the fingerprints differ and this event is the first that does.
    Event,
    /// Ledgers: the number of events of a kind differs.
    EventCount,
}

impl What {
    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            What::MissingFile => "missing_file",
            What::ExtraFile => "extra_file",
            What::FileType => "file_type",
            What::Bytes => "bytes",
            What::Rows => "rows",
            What::Columns => "columns",
            What::ColumnType => "column_type",
            What::DateIndex => "date_index",
            What::Symbols => "symbols",
            What::Value => "value",
            What::Event => "event",
            What::EventCount => "event_count",
        }
    }
}

/// One difference beyond tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The file, relative to the compared directory (or the file's name).
    pub file: String,
    /// What differs.
    pub what: What,
    /// The column, JSON path (`daily.return`) or event kind, if it applies.
    pub column: Option<String>,
    /// Where in it: a table's data row (from 1), a JSON array's index (from 0), an event's seq.
    pub at: Option<Place>,
    /// The row's date and symbol, when the table or array has them.
    pub key: Option<String>,
    /// The baseline's value, as text.
    pub baseline: String,
    /// The candidate's value, as text.
    pub candidate: String,
    /// `|candidate − baseline|` for numbers.
    pub difference: Option<f64>,
    /// The tolerance that was exceeded, for tolerant floats.
    pub tolerance: Option<(Category, Tolerance)>,
}

/// A place inside a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A table's data row, from 1 (the row after the header is 1).
    Row(u64),
    /// A JSON array's index, from 0.
    Index(u64),
    /// A ledger event's seq.
    Seq(u64),
}

impl Difference {
    /// A difference with no place and no numbers.
    pub fn new(file: &str, what: What, baseline: String, candidate: String) -> Self {
        Self {
            file: file.to_string(),
            what,
            column: None,
            at: None,
            key: None,
            baseline,
            candidate,
            difference: None,
            tolerance: None,
        }
    }

    /// The same, about `column`.
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// One line of text.
    pub fn text(&self) -> String {
        let mut out = self.file.clone();
        if let Some(column) = &self.column {
            out.push_str(": ");
            out.push_str(column);
            if let Some(Place::Index(i)) = self.at {
                out.push_str(&format!("[{i}]"));
            }
        }
        match self.at {
            Some(Place::Row(r)) => out.push_str(&format!(", row {r}")),
            Some(Place::Seq(s)) => out.push_str(&format!(", seq {s}")),
            Some(Place::Index(_)) | None => {}
        }
        if let Some(key) = &self.key {
            out.push_str(&format!(" ({key})"));
        }
        match self.what {
            What::MissingFile => out.push_str(": missing in the candidate"),
            What::ExtraFile => out.push_str(": not in the baseline"),
            _ => {
                let label = match self.what {
                    What::Value | What::Event => String::new(),
                    other => format!(" {}", other.name().replace('_', " ")),
                };
                out.push_str(&format!(
                    ":{label} baseline {}, candidate {}",
                    self.baseline, self.candidate
                ));
            }
        }
        if let Some(d) = self.difference {
            out.push_str(&format!(", difference {d:.3e}"));
        }
        if let Some((category, t)) = self.tolerance {
            out.push_str(&format!(", tolerance {:e} ({category})", t.abs()));
        }
        out
    }

    /// As a JSON object.
    pub fn json(&self) -> Value {
        let (row, index, seq) = match self.at {
            Some(Place::Row(r)) => (Some(r), None, None),
            Some(Place::Index(i)) => (None, Some(i), None),
            Some(Place::Seq(s)) => (None, None, Some(s)),
            None => (None, None, None),
        };
        json!({
            "file": self.file,
            "what": self.what.name(),
            "column": self.column,
            "row": row,
            "index": index,
            "seq": seq,
            "key": self.key,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "difference": self.difference.filter(|d| d.is_finite()),
            "category": self.tolerance.map(|(c, _)| c.name()),
            "tolerance": self.tolerance.map(|(_, t)| t.abs()),
            "decimals": self.tolerance.map(|(_, t)| t.decimals),
        })
    }
}

/// How one file compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// The same bytes (or, for ledgers, the same fingerprint).
    Identical,
    /// Different bytes, the same data (within tolerance in tolerant mode).
    Equal,
    /// Something differs beyond tolerance.
    Differs,
    /// Only in the baseline.
    Missing,
    /// Only in the candidate.
    Extra,
    /// The bytes differ and this build cannot read the tables inside (Parquet without the
    /// `parquet` feature).
    Undecided,
}

impl FileStatus {
    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            FileStatus::Identical => "identical",
            FileStatus::Equal => "equal",
            FileStatus::Differs => "differs",
            FileStatus::Missing => "missing",
            FileStatus::Extra => "extra",
            FileStatus::Undecided => "undecided",
        }
    }
}

/// Differences of one column (or JSON path, or event kind): how many, the largest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnSummary {
    /// Differences beyond tolerance.
    pub count: u64,
    /// The largest `|candidate − baseline|` among them (numbers only).
    pub max_difference: Option<f64>,
    /// Where the largest was.
    pub max_at: Option<Place>,
    /// Where the first was.
    pub first_at: Option<Place>,
}

/// The outcome of comparing a baseline with a candidate.
#[derive(Clone, Debug)]
pub struct Report {
    /// The mode used.
    pub mode: Mode,
    /// The tolerances used (tolerant mode).
    pub tolerances: Tolerances,
    /// The most differences kept whole; the rest are counted.
    pub limit: usize,
    /// Each file's outcome, by relative path.
    pub files: BTreeMap<String, FileStatus>,
    /// Why files are undecided, by relative path.
    pub undecided: BTreeMap<String, String>,
    /// The first `limit` differences, in the order found.
    pub differences: Vec<Difference>,
    /// Every difference found.
    pub total: u64,
    /// Per (file, column), JSON array indices dropped from the column.
    pub columns: BTreeMap<(String, String), ColumnSummary>,
    /// Things worth knowing that are not differences.
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new(mode: Mode, tolerances: Tolerances, limit: usize) -> Self {
        Self {
            mode,
            tolerances,
            limit,
            files: BTreeMap::new(),
            undecided: BTreeMap::new(),
            differences: Vec::new(),
            total: 0,
            columns: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// Records a difference.
    pub fn push(&mut self, difference: Difference) {
        self.total += 1;
        if let Some(column) = &difference.column {
            let summary = self
                .columns
                .entry((difference.file.clone(), group(column)))
                .or_default();
            summary.count += 1;
            if summary.first_at.is_none() {
                summary.first_at = difference.at;
            }
            if let Some(d) = difference.difference {
                if summary.max_difference.is_none_or(|m| d > m) {
                    summary.max_difference = Some(d);
                    summary.max_at = difference.at;
                }
            }
        }
        if self.differences.len() < self.limit {
            self.differences.push(difference);
        }
    }

    /// Whether the candidate passes: nothing differs and nothing is undecided.
    pub fn passed(&self) -> bool {
        self.total == 0 && self.undecided.is_empty()
    }

    /// The report as text lines.
    pub fn text(&self, baseline: &str, candidate: &str) -> Vec<String> {
        let mut out = vec![
            format!("baseline      {baseline}"),
            format!("candidate     {candidate}"),
        ];
        match self.mode {
            Mode::Exact => out.push("mode          exact".to_string()),
            Mode::Tolerant => out.push(format!(
                "mode          tolerant: {}",
                self.tolerances.text()
            )),
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for status in self.files.values() {
            *counts.entry(status.name()).or_default() += 1;
        }
        let parts: Vec<String> = [
            FileStatus::Identical,
            FileStatus::Equal,
            FileStatus::Differs,
            FileStatus::Missing,
            FileStatus::Extra,
            FileStatus::Undecided,
        ]
        .iter()
        .filter_map(|s| counts.get(s.name()).map(|n| format!("{n} {}", s.name())))
        .collect();
        out.push(format!("files         {}", parts.join(", ")));
        for note in &self.notes {
            out.push(format!("note          {note}"));
        }
        for (file, why) in &self.undecided {
            out.push(format!("undecided     {file}: {why}"));
        }
        if !self.differences.is_empty() {
            out.push(String::new());
            out.push("differences".to_string());
            for d in &self.differences {
                out.push(format!("  {}", d.text()));
            }
            let rest = self.total - self.differences.len() as u64;
            if rest > 0 {
                out.push(format!(
                    "  … and {} more (raise --limit, or use --json)",
                    crate::cmd::human_count(rest)
                ));
            }
        }
        let mut busy: Vec<(&(String, String), &ColumnSummary)> =
            self.columns.iter().filter(|(_, s)| s.count > 1).collect();
        if !busy.is_empty() {
            // The columns with the most differences first.
            busy.sort_by(|x, y| y.1.count.cmp(&x.1.count).then_with(|| x.0.cmp(y.0)));
            out.push(String::new());
            out.push("by column".to_string());
            for ((file, column), s) in busy.iter().take(self.limit) {
                let mut line = format!(
                    "  {file}: {column}: {} differences",
                    crate::cmd::human_count(s.count)
                );
                if let Some(first) = s.first_at {
                    line.push_str(&format!(", first at {}", place_text(first)));
                }
                if let (Some(m), Some(at)) = (s.max_difference, s.max_at) {
                    line.push_str(&format!(", largest {m:.3e} at {}", place_text(at)));
                }
                out.push(line);
            }
            if busy.len() > self.limit {
                out.push(format!("  … and {} more columns", busy.len() - self.limit));
            }
        }
        out.push(String::new());
        let files = self.files.len();
        if self.passed() {
            out.push(format!(
                "OK: {files} file{} match ({} mode)",
                if files == 1 { "" } else { "s" },
                self.mode.name()
            ));
        } else if self.total > 0 {
            let differing = self
                .files
                .values()
                .filter(|s| {
                    matches!(
                        s,
                        FileStatus::Differs | FileStatus::Missing | FileStatus::Extra
                    )
                })
                .count();
            out.push(format!(
                "DIFFERS: {} difference{}{} in {differing} of {files} file{} ({} mode)",
                crate::cmd::human_count(self.total),
                if self.total == 1 { "" } else { "s" },
                match self.mode {
                    Mode::Tolerant => " beyond tolerance",
                    Mode::Exact => "",
                },
                if files == 1 { "" } else { "s" },
                self.mode.name()
            ));
        } else {
            out.push(format!(
                "UNDECIDED: {} file{} could not be compared by this build",
                self.undecided.len(),
                if self.undecided.len() == 1 { "" } else { "s" }
            ));
        }
        out
    }

    /// The report as one JSON object.
    pub fn json(&self, baseline: &str, candidate: &str) -> Value {
        let tolerances: serde_json::Map<String, Value> = self
            .tolerances
            .iter()
            .map(|(c, t)| {
                (
                    c.name().to_string(),
                    json!({"abs": t.abs(), "decimals": t.decimals}),
                )
            })
            .collect();
        let place = |p: Option<Place>| match p {
            Some(Place::Row(r)) => json!({"row": r}),
            Some(Place::Index(i)) => json!({"index": i}),
            Some(Place::Seq(s)) => json!({"seq": s}),
            None => Value::Null,
        };
        let columns: Vec<Value> = self
            .columns
            .iter()
            .map(|((file, column), s)| {
                json!({
                    "file": file,
                    "column": column,
                    "count": s.count,
                    "first_at": place(s.first_at),
                    "max_difference": s.max_difference.filter(|d| d.is_finite()),
                    "max_at": place(s.max_at),
                })
            })
            .collect();
        let files: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(f, s)| (f.clone(), json!(s.name())))
            .collect();
        json!({
            "passed": self.passed(),
            "mode": self.mode.name(),
            "tolerances": if self.mode == Mode::Tolerant { Value::Object(tolerances) } else { Value::Null },
            "baseline": baseline,
            "candidate": candidate,
            "files": files,
            "undecided": self.undecided,
            "differences_total": self.total,
            "differences": self.differences.iter().map(Difference::json).collect::<Vec<_>>(),
            "columns": columns,
            "notes": self.notes,
        })
    }
}

/// A column's group in the summary: JSON array indices dropped (`round_trips[].pnl`).
fn group(column: &str) -> String {
    let mut out = String::with_capacity(column.len());
    let mut in_index = false;
    for c in column.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push(c);
            }
            ']' => {
                in_index = false;
                out.push(c);
            }
            _ if in_index && c.is_ascii_digit() => {}
            _ => out.push(c),
        }
    }
    out
}

fn place_text(place: Place) -> String {
    match place {
        Place::Row(r) => format!("row {r}"),
        Place::Index(i) => format!("[{i}]"),
        Place::Seq(s) => format!("seq {s}"),
    }
}
