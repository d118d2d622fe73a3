//! Parity: whether a change that must not change behaviour did not. Comparison sets a
//! candidate's outputs against a baseline's — two ledgers, two metrics JSON files, or two
//! directories of CSV, Parquet, JSON and ledger files — exactly, or with per-category
//! tolerances on floats; a manifest hashes outputs so that two runs can be checked
//! without keeping both. `tape compare` and `tape hash` are thin wrappers; sweeps and meta
//! runs can call these directly. The formats are described in docs/parity.md.
//!
//! Read first: [`tolerance`] (when two floats match), [`report::Report`] (what differs).

/// What a comparison found.
pub mod report;
/// Exact and tolerant equality of numbers, and the categories of tolerance.
pub mod tolerance;
