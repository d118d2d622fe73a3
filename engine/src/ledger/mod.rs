//! The ledger on disk: header, checksummed frames, hash-chained blocks, trailer.
//!
//! Read docs/ledger-format.md for the bytes. The writer ([`LedgerWriter`]) runs on its own
//! thread; the reader ([`LedgerReader`]) streams in constant memory and tells a torn tail
//! from corruption; [`repair`] cuts a torn tail and nothing else.

/// The durable mark: how far a returned `fdatasync` reached, kept beside the ledger.
pub mod durable;
/// Error types for reading and writing.
pub mod error;
/// Frame layout, checksums, and the event codec.
pub mod frame;
/// The file header.
pub mod header;
/// Verification on a reader thread, ahead of the caller.
pub mod prefetch;
/// The streaming, verifying reader.
pub mod reader;
/// Cutting a torn tail.
pub mod repair;
/// The writer thread.
pub mod writer;

pub use durable::DurableMark;
pub use error::{LedgerReadError, LedgerWriteError};
pub use header::{Header, InputSource, FORMAT_VERSION, MIN_FORMAT_VERSION};
pub use prefetch::PrefetchedFrames;
pub use reader::{EventFrame, LedgerReader, LedgerSummary};
pub use repair::{repair, RepairError, RepairOutcome};
pub use writer::{
    is_being_written, DurableReport, FsyncPolicy, LedgerFile, LedgerWriter, Storage, WriterSummary,
    HANDOFF_BYTES,
};

/// A fingerprint (32-byte chain head) as lowercase hex.
pub fn fingerprint_hex(fingerprint: &[u8; 32]) -> String {
    fingerprint.iter().map(|b| format!("{b:02x}")).collect()
}
