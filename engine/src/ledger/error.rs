//! Ledger errors: one enum for reading, one for writing.

use std::path::PathBuf;

/// Why a ledger could not be read, or where it is damaged.
#[derive(Debug, thiserror::Error)]
pub enum LedgerReadError {
    /// The operating system refused a read.
    #[error("cannot read the ledger: {source}")]
    Io {
        #[from]
        source: std::io::Error,
    },
    /// The file does not start with the ledger magic.
    #[error("not a Tape ledger (the first 8 bytes are not \"TAPELDGR\")")]
    NotALedger,
    /// Written by a newer Tape.
    #[error("ledger format version {found} is newer than this build supports ({supported}); upgrade Tape to read it")]
    NewerFormat { found: u16, supported: u16 },
    /// Written by an older Tape whose format this build no longer reads.
    #[error("ledger format version {found} is older than this build reads (oldest: {supported}); read it with the Tape that wrote it")]
    OlderFormat { found: u16, supported: u16 },
    /// The header fails its checksum or does not parse.
    #[error("the ledger header is corrupt ({detail}); the file cannot be trusted or repaired")]
    HeaderCorrupt { detail: String },
    /// Damage with no valid frame after it: a crash mid-append.
    #[error("torn tail at byte {offset}: {detail} (run `tape repair` to cut it off)")]
    TornTail { offset: u64, detail: String },
    /// Damage followed by valid frames: a flipped bit, a bad disk, an edited file.
    #[error("corruption at byte {offset}: {detail}; valid frames follow, so `tape repair` will not cut here")]
    Corrupt { offset: u64, detail: String },
}

impl LedgerReadError {
    /// The byte offset of the damage, for damage errors.
    pub fn offset(&self) -> Option<u64> {
        match self {
            LedgerReadError::TornTail { offset, .. } | LedgerReadError::Corrupt { offset, .. } => {
                Some(*offset)
            }
            LedgerReadError::HeaderCorrupt { .. } => Some(0),
            _ => None,
        }
    }

    /// Whether this is damage in the file (as opposed to "cannot read" or "not a ledger").
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            LedgerReadError::TornTail { .. }
                | LedgerReadError::Corrupt { .. }
                | LedgerReadError::HeaderCorrupt { .. }
        )
    }
}

/// Why a ledger could not be written. Any of these stops the writer: nothing after the
/// failure is reported durable.
#[derive(Debug, thiserror::Error)]
pub enum LedgerWriteError {
    /// Creating the file failed.
    #[error("cannot create ledger {path}: {source} (check the directory exists and is writable)")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file exists and replacing it was not asked for.
    #[error("ledger {path} exists (pass --force to replace it, or choose another --out)")]
    Exists { path: PathBuf },
    /// Another writer (a running `tape run`) holds the file's lock.
    #[error("ledger {path} is being written by another process (wait for it to finish, or choose another --out)")]
    Locked { path: PathBuf },
    /// The path names a directory.
    #[error(
        "cannot create ledger {path}: it is a directory (give a file name, e.g. {path}/run.tape)"
    )]
    IsDirectory { path: PathBuf },
    /// A component of the path's directory is missing or is not a directory.
    #[error("cannot create ledger {path}: its directory does not exist or a part of it is a file (create the directory, or choose another --out)")]
    NoDirectory { path: PathBuf },
    /// A write failed (disk full, I/O error).
    #[error("writing ledger {path} failed after byte {offset}: {source}; bytes after it may end in a partial frame (free space if the disk is full, then run `tape repair {path}`)")]
    Write {
        path: PathBuf,
        offset: u64,
        source: std::io::Error,
    },
    /// `fdatasync` (or the directory sync) failed; nothing after the last good sync is durable.
    #[error("syncing ledger {path} failed: {source}; data after byte {durable} may be lost (run `tape repair`)")]
    Sync {
        path: PathBuf,
        durable: u64,
        source: std::io::Error,
    },
    /// The writer thread stopped before the run did (after one of the errors above).
    #[error("the ledger writer stopped early")]
    WriterGone,
}
