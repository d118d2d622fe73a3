//! Files: what a path holds (a ledger, a table, JSON, other bytes), the files under a
//! directory, and their bytes' hash.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use tape_engine::ledger::header::MAGIC;

use super::table::TableFormat;
use super::ParityError;

/// What a file holds, as far as comparing it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A Tape ledger (starts with the ledger magic, whatever its name).
    Ledger,
    /// A table: `.csv`, or `.parquet` / `.pq` (or a file starting with `PAR1`).
    Table(TableFormat),
    /// `.json`: compared value by value (`tape metrics --json` output).
    Json,
    /// Anything else: compared by its bytes.
    Other,
}

impl FileKind {
    /// The name used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            FileKind::Ledger => "a ledger",
            FileKind::Table(TableFormat::Csv) => "a CSV table",
            FileKind::Table(TableFormat::Parquet) => "a Parquet table",
            FileKind::Json => "a JSON file",
            FileKind::Other => "a file compared by its bytes",
        }
    }
}

fn io_error(shown: &str) -> impl FnOnce(std::io::Error) -> ParityError + '_ {
    move |source| ParityError::Io {
        path: shown.to_string(),
        source,
    }
}

/// What the file at `path` holds: by its first bytes, then by its extension.
pub fn kind(path: &Path, shown: &str) -> Result<FileKind, ParityError> {
    let mut head = [0u8; 8];
    let mut file = File::open(path).map_err(io_error(shown))?;
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..]).map_err(io_error(shown))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got == MAGIC.len() && head == MAGIC {
        return Ok(FileKind::Ledger);
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match extension.as_deref() {
        Some("csv") => FileKind::Table(TableFormat::Csv),
        Some("parquet" | "pq") => FileKind::Table(TableFormat::Parquet),
        Some("json") => FileKind::Json,
        _ if got >= 4 && &head[..4] == b"PAR1" => FileKind::Table(TableFormat::Parquet),
        _ => FileKind::Other,
    })
}

/// Every file under `dir`, by its path relative to `dir` with `/` separators, sorted.
/// Symbolic links to files are followed; links to directories are not (so a cycle cannot
/// trap the walk). `exclude` (canonical) is left out: the manifest being written.
pub fn list(
    dir: &Path,
    shown: &str,
    exclude: Option<&Path>,
) -> Result<BTreeMap<String, PathBuf>, ParityError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = stack.pop() {
        let shown_here = if prefix.is_empty() {
            shown.to_string()
        } else {
            format!("{}/{prefix}", shown.trim_end_matches('/'))
        };
        let entries = std::fs::read_dir(&path).map_err(io_error(&shown_here))?;
        for entry in entries {
            let entry = entry.map_err(io_error(&shown_here))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(ParityError::NonUtf8Name {
                    path: format!("{shown_here}/{}", name.to_string_lossy()),
                });
            };
            let relative = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            let full = entry.path();
            let link = entry
                .file_type()
                .map_err(io_error(&shown_here))?
                .is_symlink();
            let shown_file = format!("{}/{relative}", shown.trim_end_matches('/'));
            let meta = std::fs::metadata(&full).map_err(io_error(&shown_file))?;
            if meta.is_dir() {
                if !link {
                    stack.push((full, relative));
                }
            } else if meta.is_file() {
                let skip = exclude.is_some_and(|ex| full.canonicalize().is_ok_and(|c| c == ex));
                if !skip {
                    out.insert(relative, full);
                }
            }
        }
    }
    Ok(out)
}

/// The size and BLAKE3 of a file's bytes.
pub fn hash_bytes(path: &Path, shown: &str) -> Result<(u64, [u8; 32]), ParityError> {
    let mut file = File::open(path).map_err(io_error(shown))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_error(shown))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, *hasher.finalize().as_bytes()))
}

/// Whether two files hold the same bytes (stops at the first difference).
pub fn same_bytes(a: (&Path, &str), b: (&Path, &str)) -> Result<bool, ParityError> {
    let la = std::fs::metadata(a.0).map_err(io_error(a.1))?.len();
    let lb = std::fs::metadata(b.0).map_err(io_error(b.1))?.len();
    if la != lb {
        return Ok(false);
    }
    let mut fa = File::open(a.0).map_err(io_error(a.1))?;
    let mut fb = File::open(b.0).map_err(io_error(b.1))?;
    let mut ba = vec![0u8; 1 << 20];
    let mut bb = vec![0u8; 1 << 20];
    loop {
        let n = read_full(&mut fa, &mut ba).map_err(io_error(a.1))?;
        let m = read_full(&mut fb, &mut bb).map_err(io_error(b.1))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = file.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// BLAKE3 fed through a buffer: many short inputs (a field, a cell, an event's payload) are
/// hashed in 64 KiB runs, several times faster than one `update` each, with the same result
/// (the hash of a stream does not depend on how it is split).
pub struct StreamHasher {
    hasher: blake3::Hasher,
    pending: Vec<u8>,
}

impl Default for StreamHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamHasher {
    const BUFFER_BYTES: usize = 64 << 10;

    /// An empty hash.
    pub fn new() -> Self {
        Self {
            hasher: blake3::Hasher::new(),
            pending: Vec::with_capacity(Self::BUFFER_BYTES),
        }
    }

    /// Appends bytes to the hashed stream.
    pub fn update(&mut self, bytes: &[u8]) {
        if self.pending.len() + bytes.len() > Self::BUFFER_BYTES {
            self.hasher.update(&self.pending);
            self.pending.clear();
            if bytes.len() > Self::BUFFER_BYTES {
                self.hasher.update(bytes);
                return;
            }
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The hash of everything appended.
    pub fn finish(mut self) -> [u8; 32] {
        self.hasher.update(&self.pending);
        *self.hasher.finalize().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffered_hash_is_the_hash_of_the_stream() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = StreamHasher::new();
        for piece in data.chunks(7).take(1000) {
            s.update(piece);
        }
        s.update(&data[7000..]);
        assert_eq!(s.finish(), *blake3::hash(&data).as_bytes());
    }
}
