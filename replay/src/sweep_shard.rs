//! `tape sweep --shard I/N` and `tape sweep merge`: one deterministic slice of a sweep's runs
//! per machine, and the slices joined into the table one machine writes, byte for byte.
//!
//! Invariants:
//! - Shard `I` of `N` owns the runs whose id `≡ I − 1 (mod N)`: every run belongs to exactly
//!   one shard, whatever machine runs it, and the slices interleave so that each gets a mix
//!   of the grid.
//! - A shard's directory holds its rows (`results.csv`, the same columns as the whole table)
//!   and `shard.json`, naming the sweep by a digest of its spec and base scenario. Merge
//!   refuses shards of different sweeps or shard counts, a missing or repeated shard, and
//!   any run id that is missing, repeated or out of its shard: a merged table is complete or
//!   not written.
//! - Merge writes the rows through the same writer as a local sweep, sorted by run id, so
//!   its bytes equal the local table's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::sweep::{csv_line, parse_line, SweepError};
use crate::walk_forward::WalkForwardSpec;

/// Which slice of the runs one invocation runs: `index` of `count`, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `1..=count`.
    pub index: usize,
    /// How many shards the sweep is cut into.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("\"{s}\" is not I/N with 1 ≤ I ≤ N (e.g. 2/4)");
        let (i, n) = s.split_once('/').ok_or_else(usage)?;
        let index: usize = i.trim().parse().map_err(|_| usage())?;
        let count: usize = n.trim().parse().map_err(|_| usage())?;
        if index == 0 || index > count {
            return Err(usage());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Whether run `id` is this shard's.
    pub fn owns(&self, id: usize) -> bool {
        id % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `DIR/shard.json`: which sweep and which slice a shard's table holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardManifest {
    /// BLAKE3 of the spec's text and its base scenario's text (hex).
    pub sweep: String,
    /// This shard, from 1.
    pub shard: usize,
    /// The number of shards.
    pub of: usize,
    /// Runs in the whole sweep.
    pub runs: usize,
    /// The sweep's walk-forward, if it is a study: the merge writes the study from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk_forward: Option<WalkForwardSpec>,
}

/// The manifest's file name in a shard's directory.
pub const MANIFEST: &str = "shard.json";

/// Writes `dir/shard.json`.
pub fn write_manifest(dir: &Path, manifest: &ShardManifest) -> Result<(), SweepError> {
    let path = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(manifest).map_err(|e| SweepError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, text + "\n").map_err(|source| SweepError::Write { path, source })
}

/// The shards' rows joined: the header and every row, sorted by run id.
pub struct Merged {
    /// The table's header.
    pub header: Vec<String>,
    /// Every run's row, in run-id order.
    pub rows: Vec<Vec<String>>,
    /// The shards' common manifest fields: sweep digest, shard count, runs.
    pub sweep: String,
    /// Shards merged.
    pub shards: usize,
    /// The sweep's walk-forward, if it is a study.
    pub walk_forward: Option<WalkForwardSpec>,
}

/// Reads every shard directory and joins their rows; refuses anything that would not make
/// the complete table of one sweep.
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, SweepError> {
    let refuse = |origin: &Path, message: String| SweepError::Spec {
        origin: origin.display().to_string(),
        message,
    };
    let mut first: Option<(ShardManifest, Vec<String>, PathBuf)> = None;
    let mut seen: BTreeMap<usize, PathBuf> = BTreeMap::new();
    let mut rows: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for dir in dirs {
        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|source| {
            refuse(
                &manifest_path,
                format!(
                    "cannot be read ({source}): is {} the --out of `tape sweep --shard I/N`?",
                    dir.display()
                ),
            )
        })?;
        let manifest: ShardManifest = serde_json::from_str(&text)
            .map_err(|e| refuse(&manifest_path, format!("is not a shard manifest ({e})")))?;
        let table_path = dir.join("results.csv");
        let table = std::fs::read_to_string(&table_path).map_err(|source| {
            refuse(
                &table_path,
                format!("cannot be read ({source}): finish that shard (rerun it with --resume)"),
            )
        })?;
        let mut lines = table.lines();
        let header = lines
            .next()
            .and_then(parse_line)
            .ok_or_else(|| refuse(&table_path, "has no header line".into()))?;
        match &first {
            None => first = Some((manifest.clone(), header.clone(), dir.clone())),
            Some((m, h, from)) => {
                if m.sweep != manifest.sweep
                    || m.runs != manifest.runs
                    || m.walk_forward != manifest.walk_forward
                {
                    return Err(refuse(
                        &manifest_path,
                        format!("is a shard of another sweep than {} (the spec or its base scenario differ): merge shards of one spec", from.display()),
                    ));
                }
                if m.of != manifest.of {
                    return Err(refuse(
                        &manifest_path,
                        format!(
                            "is shard {}/{} but {} is one of {}: merge shards of one split",
                            manifest.shard,
                            manifest.of,
                            from.display(),
                            m.of
                        ),
                    ));
                }
                if *h != header {
                    return Err(refuse(
                        &table_path,
                        format!("has other columns than {}'s table", from.display()),
                    ));
                }
            }
        }
        if let Some(other) = seen.insert(manifest.shard, dir.clone()) {
            return Err(refuse(
                &manifest_path,
                format!(
                    "is shard {}/{} again ({} is too): give each shard once",
                    manifest.shard,
                    manifest.of,
                    other.display()
                ),
            ));
        }
        let shard = Shard {
            index: manifest.shard,
            count: manifest.of,
        };
        for (n, line) in lines.enumerate() {
            let row_at = || format!("row {}", n + 2);
            let cells = parse_line(line)
                .filter(|c| c.len() == header.len())
                .ok_or_else(|| {
                    refuse(
                        &table_path,
                        format!("{} is not a row of {} cells", row_at(), header.len()),
                    )
                })?;
            let id: usize = cells[0]
                .parse()
                .map_err(|_| refuse(&table_path, format!("{} has no run id", row_at())))?;
            if id >= manifest.runs || !shard.owns(id) {
                return Err(refuse(
                    &table_path,
                    format!(
                        "{}: run {id} is not shard {shard}'s: the file was edited or mixed up",
                        row_at()
                    ),
                ));
            }
            if rows.insert(id, cells).is_some() {
                return Err(refuse(
                    &table_path,
                    format!("{}: run {id} appears twice", row_at()),
                ));
            }
        }
    }
    let Some((manifest, header, from)) = first else {
        return Err(SweepError::Spec {
            origin: "tape sweep merge".into(),
            message: "no shard directories given".into(),
        });
    };
    let missing: Vec<String> = (1..=manifest.of)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{}", manifest.of))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(
            &from,
            format!(
                "shard {} missing: give every shard's directory",
                missing.join(", ")
            ),
        ));
    }
    if let Some(id) = (0..manifest.runs).find(|id| !rows.contains_key(id)) {
        return Err(refuse(
            &from,
            format!("run {id} is in no shard's table: finish its shard (rerun it with --resume)"),
        ));
    }
    // Every header cell must also write back as it was read, or the bytes could differ.
    csv_line(&header)?;
    Ok(Merged {
        header,
        rows: rows.into_values().collect(),
        sweep: manifest.sweep,
        shards: manifest.of,
        walk_forward: manifest.walk_forward,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_the_runs() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
        for id in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(id)).count(), 1, "run {id}");
        }
    }
}
