//! `tape hash`: a manifest of content hashes — per file its size and BLAKE3, per table its
//! rows, columns and a hash of its data, per ledger its fingerprint and per-kind hashes — that
//! is the same for the same content on any machine, any day, from any directory.
//!
//! # Invariants
//! - Stable: keys sorted, paths relative with `/`, no time, no absolute path; the same
//!   content gives the same bytes.
//! - Complete: every regular file under the directory is listed (but the manifest being
//!   written, when it is inside), hidden ones included.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::files::{self, FileKind};
use super::table;
use super::ParityError;

/// The manifest's format tag, changed whenever its meaning changes.
pub const FORMAT: &str = "tape-hash 1";

/// The manifest of `path` (a file or a directory). `exclude` (canonical) is left out of a
/// directory's walk.
pub fn build(path: &Path, shown: &str, exclude: Option<&Path>) -> Result<Value, ParityError> {
    let meta = std::fs::metadata(path).map_err(|source| ParityError::Io {
        path: shown.to_string(),
        source,
    })?;
    let mut entries = Map::new();
    let root = if meta.is_dir() {
        for (relative, full) in files::list(path, shown, exclude)? {
            let shown_file = join(shown, &relative);
            entries.insert(relative, entry(&full, &shown_file)?);
        }
        "directory"
    } else {
        let name =
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| ParityError::NonUtf8Name {
                    path: shown.to_string(),
                })?;
        entries.insert(name.to_string(), entry(path, shown)?);
        "file"
    };
    Ok(json!({
        "format": FORMAT,
        "root": root,
        "files": entries,
    }))
}

/// `dir/relative` as messages show it.
pub fn join(dir: &str, relative: &str) -> String {
    format!("{}/{relative}", dir.trim_end_matches('/'))
}

/// One file's entry.
fn entry(path: &Path, shown: &str) -> Result<Value, ParityError> {
    let (bytes, hash) = files::hash_bytes(path, shown)?;
    let mut out = Map::new();
    out.insert("bytes".into(), json!(bytes));
    out.insert(
        "blake3".into(),
        json!(blake3::Hash::from(hash).to_hex().as_str()),
    );
    match files::kind(path, shown)? {
        FileKind::Ledger => {
            out.insert("ledger".into(), super::ledger::manifest(path, shown)?);
        }
        FileKind::Table(format) => match table::summarise(path, shown, format) {
            Ok(summary) => {
                out.insert("table".into(), summary.json());
            }
            // Without the `parquet` feature a Parquet file is listed by its bytes only.
            Err(ParityError::NeedsParquet { .. }) => {}
            Err(e) => return Err(e),
        },
        FileKind::Json | FileKind::Other => {}
    }
    Ok(Value::Object(out))
}

/// The manifest as written: pretty-printed, keys sorted, a final newline.
pub fn text(manifest: &Value) -> String {
    let mut s = serde_json::to_string_pretty(manifest).expect("a JSON value always serialises");
    s.push('\n');
    s
}
