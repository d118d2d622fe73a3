//! Parity: whether a change that must not change behaviour did not. [`compare`] sets a
//! candidate's outputs against a baseline's — two ledgers, two metrics JSON files, or two
//! directories of CSV, Parquet, JSON and ledger files — exactly, or with per-category
//! tolerances on floats; [`manifest::build`] hashes outputs so that two runs can be checked
//! without keeping both. `tape compare` and `tape hash` are thin wrappers; sweeps and meta
//! runs can call these directly. The formats are described in docs/parity.md.
//!
//! Read first: [`tolerance`] (when two floats match), [`report::Report`] (what differs),
//! [`compare`] (which file is compared how).
//!
//! # Invariants
//! - Exact fields are exact in both modes: files present, row counts, column names, the date
//!   index, symbol sets, text, booleans and integers (and ledger event counts by kind).
//! - A file whose bytes are the same is never parsed; a table whose data hash is the same is
//!   not compared row by row.
//! - Nothing is silently skipped: a file this build cannot read the tables of (Parquet
//!   without the `parquet` feature) whose bytes differ is *undecided*, and the comparison
//!   does not pass.
//!
//! # Known limitations
//! - Table rows are paired by position, not by key.
//! - Gzip-compressed CSV (`.csv.gz`) is compared by its bytes.

/// CSV tables: column types, the table hash, typed rows.
pub mod csv_table;
/// Files: kinds, directory walks, byte hashes.
pub mod files;
/// JSON files (metrics) compared value by value.
pub mod json;
/// Ledgers: hashes per kind, exact and tolerant comparison.
pub mod ledger;
/// `tape hash`: the manifest of content hashes.
pub mod manifest;
/// Parquet tables as typed cells (with the `parquet` feature).
#[cfg(feature = "parquet")]
pub mod parquet_table;
/// What a comparison found.
pub mod report;
/// Tables: cells, column types, summaries, row-by-row comparison.
pub mod table;
/// Exact and tolerant equality of numbers, and the categories of tolerance.
pub mod tolerance;

use std::path::Path;

use report::{Difference, FileStatus, Report, What};
use tolerance::{Mode, Tolerances};

use self::files::FileKind;

/// Why a comparison or a manifest could not be made. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read it: {source} (check the path and its permissions)")]
    Io {
        /// The file, as given.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file name is not UTF-8, so it cannot be listed portably.
    #[error("{path}: the file name is not valid UTF-8 (rename the file)")]
    NonUtf8Name {
        /// The path, lossily.
        path: String,
    },
    /// A CSV file is malformed.
    #[error("{path}, line {line}: not a readable CSV table: {detail} (a CSV table needs a header row and rows of the same width, in UTF-8)")]
    Csv {
        /// The file.
        path: String,
        /// The line of the record.
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// A Parquet file cannot be read.
    #[error("{path}: not a readable Parquet file: {detail} (check the file is complete)")]
    Parquet {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A Parquet column of a type this code does not read.
    #[error("{path}: column '{column}' is of type {data_type}, which tape does not compare (store it as text, a number, a boolean, a timestamp, a date or a list of those)")]
    ParquetColumn {
        /// The file.
        path: String,
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// Table-level work on a Parquet file in a build without the `parquet` feature.
    #[error("{path}: comparing Parquet tables needs a build with `--features parquet`")]
    NeedsParquet {
        /// The file.
        path: String,
    },
    /// A JSON file is malformed.
    #[error("{path}, line {line}, column {column}: not valid JSON: {detail} (give the output of `tape metrics --json`)")]
    Json {
        /// The file.
        path: String,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What is wrong.
        detail: String,
    },
    /// A ledger cannot be read to its end.
    #[error("{path}: {source} (run `tape verify` on it)")]
    Ledger {
        /// The file.
        path: String,
        /// The reader's error.
        source: tape_engine::ledger::LedgerReadError,
    },
    /// A ledger's figures cannot be computed (tolerant mode).
    #[error("{path}: no figures to compare: {source}")]
    Metrics {
        /// The file.
        path: String,
        /// Why.
        source: crate::metrics::MetricsError,
    },
    /// The two inputs are not of the same kind.
    #[error("cannot compare {baseline} ({baseline_kind}) with {candidate} ({candidate_kind}): give two ledgers, two JSON files, two CSV or Parquet files, or two directories")]
    Mismatch {
        /// The baseline, as given.
        baseline: String,
        /// What it is.
        baseline_kind: &'static str,
        /// The candidate, as given.
        candidate: String,
        /// What it is.
        candidate_kind: &'static str,
    },
}

/// How to compare.
#[derive(Clone, Debug)]
pub struct Options {
    /// Exact or tolerant.
    pub mode: Mode,
    /// Per-category tolerances (tolerant mode).
    pub tolerances: Tolerances,
    /// Differences kept whole in the report; the rest are counted.
    pub limit: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: Mode::Tolerant,
            tolerances: Tolerances::default(),
            limit: 20,
        }
    }
}

/// What an input path is.
fn input_kind(path: &Path, shown: &str) -> Result<Option<FileKind>, ParityError> {
    let meta = std::fs::metadata(path).map_err(|source| ParityError::Io {
        path: shown.to_string(),
        source,
    })?;
    if meta.is_dir() {
        Ok(None)
    } else {
        files::kind(path, shown).map(Some)
    }
}

/// Compares a candidate with a baseline: two directories (file by file, by relative path),
/// or two files of the same kind. `shown` names are used in messages and reports.
pub fn compare(
    baseline: (&Path, &str),
    candidate: (&Path, &str),
    options: &Options,
) -> Result<Report, ParityError> {
    let mut report = Report::new(options.mode, options.tolerances.clone(), options.limit);
    let ka = input_kind(baseline.0, baseline.1)?;
    let kb = input_kind(candidate.0, candidate.1)?;
    match (ka, kb) {
        (None, None) => {
            let fa = files::list(baseline.0, baseline.1, None)?;
            let fb = files::list(candidate.0, candidate.1, None)?;
            for (relative, pa) in &fa {
                let shown_a = manifest::join(baseline.1, relative);
                let Some(pb) = fb.get(relative) else {
                    report.files.insert(relative.clone(), FileStatus::Missing);
                    report.push(Difference::new(
                        relative,
                        What::MissingFile,
                        "present".to_string(),
                        "(none)".to_string(),
                    ));
                    continue;
                };
                let shown_b = manifest::join(candidate.1, relative);
                let ka = files::kind(pa, &shown_a)?;
                let kb = files::kind(pb, &shown_b)?;
                let status = if ka == kb {
                    compare_file(
                        relative,
                        ka,
                        (pa, &shown_a),
                        (pb, &shown_b),
                        options,
                        &mut report,
                    )?
                } else {
                    report.push(Difference::new(
                        relative,
                        What::FileType,
                        ka.name().to_string(),
                        kb.name().to_string(),
                    ));
                    FileStatus::Differs
                };
                report.files.insert(relative.clone(), status);
            }
            for relative in fb.keys().filter(|r| !fa.contains_key(*r)) {
                report.files.insert(relative.clone(), FileStatus::Extra);
                report.push(Difference::new(
                    relative,
                    What::ExtraFile,
                    "(none)".to_string(),
                    "present".to_string(),
                ));
            }
        }
        (Some(ka), Some(kb)) if ka == kb => {
            let name = baseline
                .0
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(baseline.1)
                .to_string();
            let status = compare_file(&name, ka, baseline, candidate, options, &mut report)?;
            report.files.insert(name, status);
        }
        (ka, kb) => {
            let name = |k: Option<FileKind>| k.map_or("a directory", FileKind::name);
            return Err(ParityError::Mismatch {
                baseline: baseline.1.to_string(),
                baseline_kind: name(ka),
                candidate: candidate.1.to_string(),
                candidate_kind: name(kb),
            });
        }
    }
    Ok(report)
}

/// Compares two files of one kind.
fn compare_file(
    file: &str,
    kind: FileKind,
    a: (&Path, &str),
    b: (&Path, &str),
    options: &Options,
    report: &mut Report,
) -> Result<FileStatus, ParityError> {
    if files::same_bytes(a, b)? {
        return Ok(FileStatus::Identical);
    }
    let (mode, tolerances) = (options.mode, &options.tolerances);
    match kind {
        FileKind::Ledger => ledger::compare(file, a, b, mode, tolerances, report),
        FileKind::Table(format) => match table::compare(file, a, b, format, options, report) {
            Err(ParityError::NeedsParquet { .. }) => {
                report.undecided.insert(
                        file.to_string(),
                        "the bytes differ, and comparing Parquet tables needs a build with `--features parquet`".to_string(),
                    );
                Ok(FileStatus::Undecided)
            }
            other => other,
        },
        FileKind::Json => {
            let (va, vb) = (json::read(a.0, a.1)?, json::read(b.0, b.1)?);
            Ok(json::compare(file, &va, &vb, mode, tolerances, report))
        }
        FileKind::Other => {
            let (sa, ha) = files::hash_bytes(a.0, a.1)?;
            let (sb, hb) = files::hash_bytes(b.0, b.1)?;
            let text = |size: u64, hash: [u8; 32]| {
                format!(
                    "{size} bytes, blake3 {}",
                    &blake3::Hash::from(hash).to_hex()[..16]
                )
            };
            report.push(Difference::new(
                file,
                What::Bytes,
                text(sa, ha),
                text(sb, hb),
            ));
            Ok(FileStatus::Differs)
        }
    }
}
