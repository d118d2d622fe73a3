//! `tape repair`: cut a torn tail, keep every whole frame, re-seal and close the ledger.
//!
//! Repair never cuts over corruption: if a valid frame follows the damage, cutting would
//! throw away good frames, so it refuses and says so. Damage at or after the ledger's
//! durable mark is a torn tail whatever follows (nothing there was reported durable; see
//! [`super::durable`]), so repair cuts it, and in place it then removes the mark. Nor does
//! it repair in place a ledger whose writer still holds its lock: the "torn tail" is then
//! a run still going.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::durable::mark_path;
use super::error::LedgerReadError;
use super::frame::{encode_seal, encode_trailer, BlockSealed, LedgerClosed};
use super::reader::LedgerReader;

/// What repair did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairOutcome {
    /// The ledger verified; nothing was changed.
    Intact {
        /// Events in the ledger.
        events: u64,
    },
    /// A torn tail was cut.
    Repaired {
        /// Where the kept bytes end: the first byte of the torn tail.
        cut_at: u64,
        /// Bytes dropped from the original file.
        dropped_bytes: u64,
        /// Events kept.
        kept_events: u64,
        /// The repaired ledger's fingerprint.
        fingerprint: [u8; 32],
    },
}

/// Why repair did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The ledger could not be read, or is corrupt (repair refuses to cut over corruption).
    #[error(transparent)]
    Read(#[from] LedgerReadError),
    /// A running writer holds the ledger's lock; repairing in place would cut its live tail.
    #[error("ledger {path} is being written by another process; repair it once that run has stopped (or pass --out to repair a copy)")]
    Locked { path: PathBuf },
    /// Writing the repaired ledger failed.
    #[error("cannot write the repaired ledger {path}: {source} (free space on its disk and run repair again, or repair a copy elsewhere with --out)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Repairs `path` in place, or writes the repaired ledger to `out` leaving `path` untouched.
pub fn repair(path: &Path, out: Option<&Path>) -> Result<RepairOutcome, RepairError> {
    // In place, take the writer's lock first and keep it until the file is closed again.
    let in_place = match out {
        Some(_) => None,
        None => lock_for_repair(path)?,
    };
    let mut reader = LedgerReader::open(path)?;
    let failure = loop {
        match reader.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let cut_at = match failure {
        None => {
            let summary = reader.summary()?;
            if let Some(out) = out {
                let write_err = |source| RepairError::Write {
                    path: out.to_path_buf(),
                    source,
                };
                std::fs::copy(path, out).map_err(write_err)?;
                File::open(out)
                    .and_then(|f| f.sync_all())
                    .map_err(write_err)?;
                sync_dir_of(out).map_err(write_err)?;
            }
            return Ok(RepairOutcome::Intact {
                events: summary.events,
            });
        }
        Some(LedgerReadError::TornTail { offset, .. }) => offset,
        Some(other) => return Err(other.into()),
    };
    let tail = reader.tail_state();
    let salt = reader.header().salt;
    let original_len = std::fs::metadata(path)
        .map_err(LedgerReadError::from)?
        .len();
    drop(reader);

    // Hash the open block (whole frames after the last seal) and close the ledger.
    let mut src = File::open(path).map_err(LedgerReadError::from)?;
    let mut open_block = vec![0u8; (cut_at - tail.sealed_through) as usize];
    src.seek(SeekFrom::Start(tail.sealed_through))
        .map_err(LedgerReadError::from)?;
    src.read_exact(&mut open_block)
        .map_err(LedgerReadError::from)?;
    let mut chain = tail.chain;
    let mut blocks = tail.blocks;
    let mut closing = Vec::new();
    if tail.open_frames > 0 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&chain);
        hasher.update(&open_block);
        chain = *hasher.finalize().as_bytes();
        let seal = BlockSealed {
            block: blocks,
            frames: tail.open_frames,
            bytes: open_block.len() as u32,
            chain,
        };
        encode_seal(&seal, tail.next_seq, tail.last_ts, salt, &mut closing);
        blocks += 1;
    }
    let trailer = LedgerClosed {
        events: tail.next_seq,
        blocks,
        fingerprint: chain,
        repaired: true,
    };
    encode_trailer(&trailer, tail.next_seq, tail.last_ts, salt, &mut closing);

    let target = out.unwrap_or(path);
    let write_err = |source| RepairError::Write {
        path: target.to_path_buf(),
        source,
    };
    let mut file = match out {
        Some(out) => {
            let mut dst = File::create(out).map_err(write_err)?;
            src.seek(SeekFrom::Start(0)).map_err(write_err)?;
            std::io::copy(&mut (&mut src).take(cut_at), &mut dst).map_err(write_err)?;
            dst
        }
        None => {
            let f = match in_place {
                Some(f) => f,
                None => OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(write_err)?,
            };
            f.set_len(cut_at).map_err(write_err)?;
            f
        }
    };
    file.seek(SeekFrom::Start(cut_at)).map_err(write_err)?;
    file.write_all(&closing).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    if out.is_some() {
        sync_dir_of(target).map_err(write_err)?;
    } else {
        // The repaired file is synced whole, so the mark has nothing left to excuse: without
        // it, any later damage is corruption again.
        match std::fs::remove_file(mark_path(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(write_err(e)),
            _ => {}
        }
    }
    Ok(RepairOutcome::Repaired {
        cut_at,
        dropped_bytes: original_len - cut_at,
        kept_events: tail.next_seq,
        fingerprint: chain,
    })
}

/// Opens `path` for writing and takes the writer's lock, refusing while a writer holds it.
/// A file that cannot be opened for writing is left to the reader and the cut to report:
/// an intact read-only ledger still needs no repair.
fn lock_for_repair(path: &Path) -> Result<Option<File>, RepairError> {
    let Ok(file) = OpenOptions::new().write(true).open(path) else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(RepairError::Locked {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(LedgerReadError::from(source).into()),
    }
}

/// Syncs the directory holding `path`, so a newly created file's name is durable too.
fn sync_dir_of(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Where a reader stopped: enough to seal the open block and write a trailer.
#[derive(Clone, Copy, Debug)]
pub struct TailState {
    /// Chain hash through the last sealed block.
    pub chain: [u8; 32],
    /// Sealed blocks.
    pub blocks: u64,
    /// Events read (the next seq).
    pub next_seq: u64,
    /// Time of the last event read.
    pub last_ts: i64,
    /// File offset just past the last seal.
    pub sealed_through: u64,
    /// Whole event frames read after the last seal.
    pub open_frames: u32,
}
