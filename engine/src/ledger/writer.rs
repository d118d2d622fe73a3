//! The ledger writer: a thread that seals blocks, chains their hashes and writes the file.
//!
//! The core encodes frames into a buffer and hands whole buffers (≥ [`HANDOFF_BYTES`]) to
//! this thread through a bounded crossbeam channel; emptied buffers come back through a
//! second channel, so the steady state allocates nothing. Hashing and `write(2)` happen
//! here, off the core's thread.
//!
//! # Invariants
//! - Block boundaries depend only on the frame bytes: a block is sealed after the first frame
//!   that brings it to `block_target_bytes` or more (and at a flush or at the end), so the
//!   same events always give the same file.
//! - Durable means `fdatasync` returned. With [`FsyncPolicy::Block`], sealed blocks are
//!   synced in groups: every block written since the last sync is covered by one
//!   `fdatasync` once the channel has nothing more queued (group commit). A failed sync stops
//!   the writer with [`LedgerWriteError::Sync`]; it is never retried, because a retried
//!   `fsync` can report success after the kernel dropped the dirty pages.
//! - [`LedgerWriter::durable_bytes`] never exceeds what a returned `fdatasync` covered, nor
//!   the durable mark (see [`super::durable`]) recorded after it, and neither does any
//!   offset passed to a [`DurableReport`]: it is called after the sync returned, with the
//!   file size that sync covered.
//! - One writer per file: [`LedgerWriter::create`] takes an exclusive lock (`flock`) on the
//!   file before truncating it, and the lock lives as long as the writer thread holds the
//!   file. A second writer is refused with [`LedgerWriteError::Locked`], and the lock goes
//!   away with the process, so a crashed writer never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::durable::{ledger_id, DurableMark, MarkFile};
use super::error::LedgerWriteError;
use super::frame::{encode_seal, encode_trailer, BlockSealed, FrameHeader, LedgerClosed};
use super::header::Header;

/// Frames are handed to the writer thread in buffers of at least this many bytes: a hand-off
/// costs ~60 ns, so small ones would dominate.
pub const HANDOFF_BYTES: usize = 1 << 20;
/// Buffers in flight between the core and the writer: bounds memory and applies backpressure.
const CHANNEL_DEPTH: usize = 4;
/// With [`FsyncPolicy::Block`], sealed blocks wait unsynced at most this long (in bytes),
/// even while the core keeps the queue full.
const MAX_UNSYNCED_BYTES: u64 = 8 << 20;

/// When the writer calls `fdatasync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Never: fastest; a crash may lose anything the OS had not written back.
    Never,
    /// After sealed blocks, in groups: a crash loses at most the blocks not yet synced.
    Block,
    /// Once, after the trailer (and at each explicit [`LedgerWriter::flush`]): the ledger is
    /// durable when the run returns.
    #[default]
    End,
}

/// What a byte sink must do for the writer. [`File`] is the real one; tests use sinks that
/// fail on purpose to prove errors stop the writer.
pub trait Storage: Send + 'static {
    /// Writes all of `bytes` at the end of the ledger.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes everything appended so far durable (`fdatasync`).
    fn sync(&mut self) -> std::io::Result<()>;
    /// Records durably, after a returned [`sync`](Self::sync), how far the ledger is durable
    /// (the side file of [`super::durable`]). Sinks without a side file keep nothing.
    fn record_durable(&mut self, mark: &DurableMark) -> std::io::Result<()> {
        let _ = mark;
        Ok(())
    }
    /// Called once the trailer is durable: the ledger is complete, so a durable mark has
    /// nothing left to tell a reader and its side file can go.
    fn closed(&mut self) {}
}

/// A ledger file with its durable mark: what [`LedgerWriter::create`] writes through.
pub struct LedgerFile {
    file: File,
    marks: MarkFile,
}

impl Storage for LedgerFile {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
    fn record_durable(&mut self, mark: &DurableMark) -> std::io::Result<()> {
        self.marks.record(mark)
    }
    fn closed(&mut self) {
        self.marks.remove();
    }
}

impl Storage for File {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

/// Called on the writer thread after every `fdatasync` that returned, with the number of
/// bytes of the file it covered (the durable prefix). `tape run --durable-log` writes these.
pub type DurableReport = Box<dyn FnMut(u64) + Send>;

/// What a finished writer reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterSummary {
    /// Chain hash of the last block: the run's fingerprint.
    pub fingerprint: [u8; 32],
    /// Events written.
    pub events: u64,
    /// Blocks sealed.
    pub blocks: u64,
    /// File size in bytes.
    pub bytes: u64,
}

enum Message {
    Frames(Vec<u8>),
    Flush,
    /// The run is complete: seal, write the trailer, sync.
    Finish,
}

/// Writes a ledger through a dedicated thread. Create, [`submit`](Self::submit) frame
/// buffers, then [`finish`](Self::finish).
pub struct LedgerWriter {
    tx: Option<Sender<Message>>,
    recycled: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<Result<WriterSummary, LedgerWriteError>>>,
    durable: Arc<AtomicU64>,
}

impl LedgerWriter {
    /// Creates the file at `path` (replacing an existing one only if `replace`), locks it,
    /// writes the header, syncs the directory (unless `fsync` is `Never`) and starts the
    /// thread.
    pub fn create(
        path: &Path,
        header: &Header,
        fsync: FsyncPolicy,
        replace: bool,
    ) -> Result<Self, LedgerWriteError> {
        Self::create_reporting(path, header, fsync, replace, None)
    }

    /// [`create`](Self::create), calling `report` after every sync with the durable size.
    pub fn create_reporting(
        path: &Path,
        header: &Header,
        fsync: FsyncPolicy,
        replace: bool,
        report: Option<DurableReport>,
    ) -> Result<Self, LedgerWriteError> {
        let file = open_locked(path, replace)?;
        if fsync == FsyncPolicy::Never {
            return Self::start_reporting(file, path.to_path_buf(), header, fsync, report);
        }
        // The side file first, emptied, so no earlier mark can describe this ledger; one
        // directory sync then covers both names.
        let marks = MarkFile::create(path).map_err(|source| LedgerWriteError::Create {
            path: super::durable::mark_path(path),
            source,
        })?;
        sync_parent_dir(path)?;
        Self::start_reporting(
            LedgerFile { file, marks },
            path.to_path_buf(),
            header,
            fsync,
            report,
        )
    }

    /// Starts a writer over any [`Storage`]; writes the header first.
    pub fn start<S: Storage>(
        storage: S,
        path: PathBuf,
        header: &Header,
        fsync: FsyncPolicy,
    ) -> Result<Self, LedgerWriteError> {
        Self::start_reporting(storage, path, header, fsync, None)
    }

    /// [`start`](Self::start), calling `report` after every sync with the durable size.
    pub fn start_reporting<S: Storage>(
        mut storage: S,
        path: PathBuf,
        header: &Header,
        fsync: FsyncPolicy,
        report: Option<DurableReport>,
    ) -> Result<Self, LedgerWriteError> {
        let header_bytes = header.encode();
        storage
            .append(&header_bytes)
            .map_err(|source| LedgerWriteError::Write {
                path: path.clone(),
                offset: 0,
                source,
            })?;
        // A first mark, of nothing durable yet: from here on a power cut can leave holes that
        // readers must not call corruption, because the writer has not reported any byte.
        let h0 = *blake3::hash(&header_bytes).as_bytes();
        let first = DurableMark {
            salt: header.salt,
            ledger_id: ledger_id(&h0),
            generation: 1,
            durable_bytes: 0,
        };
        storage
            .record_durable(&first)
            .map_err(|source| LedgerWriteError::Sync {
                path: path.clone(),
                durable: 0,
                source,
            })?;
        let (tx, rx) = bounded::<Message>(CHANNEL_DEPTH);
        let (recycle_tx, recycled) = bounded::<Vec<u8>>(CHANNEL_DEPTH + 1);
        let durable = Arc::new(AtomicU64::new(0));
        let mut state = WriterThread {
            ledger_id: first.ledger_id,
            marks: first.generation,
            storage,
            path,
            fsync,
            salt: header.salt,
            block_target: header.block_target_bytes as usize,
            chain: h0,
            hasher: blake3::Hasher::new(),
            block_frames: 0,
            block_bytes: 0,
            blocks: 0,
            events: 0,
            last_ts: 0,
            written: header_bytes.len() as u64,
            synced_through_seal: 0,
            sealed_through: 0,
            out: Vec::with_capacity(HANDOFF_BYTES + (1 << 16)),
            durable: Arc::clone(&durable),
            report,
        };
        state.hasher.update(&state.chain);
        let thread = std::thread::Builder::new()
            .name("tape-ledger-writer".to_string())
            .spawn(move || state.run(rx, recycle_tx))
            .map_err(|source| LedgerWriteError::Create {
                path: PathBuf::from("<writer thread>"),
                source,
            })?;
        Ok(Self {
            tx: Some(tx),
            recycled,
            thread: Some(thread),
            durable,
        })
    }

    /// Hands a buffer of whole frames to the writer and returns an empty buffer to fill next
    /// (a recycled one when available). Blocks when the writer is behind.
    pub fn submit(&mut self, frames: Vec<u8>) -> Result<Vec<u8>, LedgerWriteError> {
        if !frames.is_empty() {
            self.send(Message::Frames(frames))?;
        }
        Ok(self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(HANDOFF_BYTES + (1 << 16))))
    }

    /// Seals the current block now and syncs it (unless the policy is `Never`): for live
    /// runs, whose blocks would otherwise wait for enough bars to fill.
    pub fn flush(&mut self) -> Result<(), LedgerWriteError> {
        self.send(Message::Flush)
    }

    /// Bytes of the file known durable (covered by a returned `fdatasync`).
    pub fn durable_bytes(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// A handle to read [`durable_bytes`](Self::durable_bytes) from another thread.
    pub fn durable_handle(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.durable)
    }

    fn send(&mut self, message: Message) -> Result<(), LedgerWriteError> {
        let sent = self
            .tx
            .as_ref()
            .map(|tx| tx.send(message).is_ok())
            .unwrap_or(false);
        if sent {
            Ok(())
        } else {
            // The thread stopped: its own error says why.
            Err(self.join().err().unwrap_or(LedgerWriteError::WriterGone))
        }
    }

    fn join(&mut self) -> Result<WriterSummary, LedgerWriteError> {
        self.tx = None;
        match self.thread.take() {
            Some(handle) => handle.join().unwrap_or(Err(LedgerWriteError::WriterGone)),
            None => Err(LedgerWriteError::WriterGone),
        }
    }

    /// Writes the final block and the trailer, syncs per policy, and returns the summary.
    pub fn finish(mut self, frames: Vec<u8>) -> Result<WriterSummary, LedgerWriteError> {
        if !frames.is_empty() {
            self.send(Message::Frames(frames))?;
        }
        self.send(Message::Finish)?;
        self.join()
    }
}

impl Drop for LedgerWriter {
    fn drop(&mut self) {
        // Dropped without `finish` (an error elsewhere): the thread writes what it has but no
        // trailer, so the ledger never passes as a complete run; `tape repair` can close it.
        self.tx = None;
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}

/// Opens `path` for writing and takes the writer's lock before anything is truncated, so a
/// refused second writer leaves the first one's ledger untouched.
fn open_locked(path: &Path, replace: bool) -> Result<File, LedgerWriteError> {
    if path.is_dir() {
        return Err(LedgerWriteError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let create_err = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::AlreadyExists => {
            // Name the live writer rather than the file's mere existence: --force would not help.
            if is_being_written(path) {
                LedgerWriteError::Locked {
                    path: path.to_path_buf(),
                }
            } else {
                LedgerWriteError::Exists {
                    path: path.to_path_buf(),
                }
            }
        }
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::NotFound => {
            LedgerWriteError::NoDirectory {
                path: path.to_path_buf(),
            }
        }
        _ => LedgerWriteError::Create {
            path: path.to_path_buf(),
            source,
        },
    };
    let mut options = OpenOptions::new();
    options.write(true);
    if replace {
        // No truncate here: the lock must be held first.
        options.create(true);
    } else {
        options.create_new(true);
    }
    let file = options.open(path).map_err(create_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(LedgerWriteError::Locked {
                path: path.to_path_buf(),
            })
        }
        Err(std::fs::TryLockError::Error(source)) => {
            return Err(LedgerWriteError::Create {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    if replace {
        file.set_len(0).map_err(|source| LedgerWriteError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(file)
}

/// Whether a writer (this process's or another's) holds the lock on the ledger at `path`: a
/// run still writing it. Probing takes a shared lock for an instant, so a writer starting at
/// that very instant is refused as if the file were busy; readers never hold it longer.
pub fn is_being_written(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| is_locked(&f))
}

/// Whether another open file description holds the writer's lock on `file`.
fn is_locked(file: &File) -> bool {
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

fn sync_parent_dir(path: &Path) -> Result<(), LedgerWriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| LedgerWriteError::Sync {
            path: dir.to_path_buf(),
            durable: 0,
            source,
        })
}

struct WriterThread<S: Storage> {
    storage: S,
    /// Names this ledger in its durable marks.
    ledger_id: [u8; 16],
    /// Durable marks recorded.
    marks: u64,
    path: PathBuf,
    fsync: FsyncPolicy,
    salt: u32,
    block_target: usize,
    /// Chain hash through the last sealed block (initially BLAKE3 of the header).
    chain: [u8; 32],
    /// Hashing `chain ‖ frames of the open block`.
    hasher: blake3::Hasher,
    block_frames: u32,
    block_bytes: usize,
    blocks: u64,
    events: u64,
    last_ts: i64,
    written: u64,
    /// File offset just past the last seal covered by a sync.
    synced_through_seal: u64,
    /// File offset just past the last seal written.
    sealed_through: u64,
    out: Vec<u8>,
    durable: Arc<AtomicU64>,
    report: Option<DurableReport>,
}

impl<S: Storage> WriterThread<S> {
    fn run(
        mut self,
        rx: Receiver<Message>,
        recycle: Sender<Vec<u8>>,
    ) -> Result<WriterSummary, LedgerWriteError> {
        let mut finished = false;
        while let Ok(message) = rx.recv() {
            match message {
                Message::Finish => {
                    finished = true;
                    break;
                }
                Message::Frames(mut frames) => {
                    self.absorb(&frames);
                    self.write_out()?;
                    frames.clear();
                    let _ = recycle.try_send(frames);
                }
                Message::Flush => {
                    self.seal();
                    self.write_out()?;
                    if self.fsync != FsyncPolicy::Never {
                        self.sync()?;
                    }
                }
            }
            // Group commit: one sync covers every block sealed since the last, taken when the
            // queue is drained, or sooner when MAX_UNSYNCED_BYTES of sealed blocks wait.
            let unsynced = self.sealed_through - self.synced_through_seal;
            if self.fsync == FsyncPolicy::Block
                && unsynced > 0
                && (rx.is_empty() || unsynced >= MAX_UNSYNCED_BYTES)
            {
                self.sync()?;
            }
        }
        if !finished {
            // Abandoned: keep what was written, without a trailer.
            return Err(LedgerWriteError::WriterGone);
        }
        self.seal();
        let trailer = LedgerClosed {
            events: self.events,
            blocks: self.blocks,
            fingerprint: self.chain,
            repaired: false,
        };
        encode_trailer(
            &trailer,
            self.events,
            self.last_ts,
            self.salt,
            &mut self.out,
        );
        self.write_out()?;
        if self.fsync != FsyncPolicy::Never {
            self.sync()?;
            self.storage.closed();
        }
        Ok(WriterSummary {
            fingerprint: self.chain,
            events: self.events,
            blocks: self.blocks,
            bytes: self.written,
        })
    }

    /// Copies whole frames to the output buffer, sealing blocks as they fill.
    fn absorb(&mut self, frames: &[u8]) {
        let mut run_start = 0;
        let mut at = 0;
        while at < frames.len() {
            let header =
                FrameHeader::parse(&frames[at..]).expect("the core hands over whole frames");
            debug_assert!(header.len_is_plausible());
            let len = header.len as usize;
            at += len;
            self.events += 1;
            self.block_frames += 1;
            self.block_bytes += len;
            self.last_ts = header.ts;
            if self.block_bytes >= self.block_target {
                self.hasher.update(&frames[run_start..at]);
                self.out.extend_from_slice(&frames[run_start..at]);
                run_start = at;
                self.seal();
            }
        }
        self.hasher.update(&frames[run_start..]);
        self.out.extend_from_slice(&frames[run_start..]);
    }

    /// Seals the open block, if it holds any frame.
    fn seal(&mut self) {
        if self.block_frames == 0 {
            return;
        }
        self.chain = *self.hasher.finalize().as_bytes();
        let seal = BlockSealed {
            block: self.blocks,
            frames: self.block_frames,
            bytes: self.block_bytes as u32,
            chain: self.chain,
        };
        encode_seal(&seal, self.events, self.last_ts, self.salt, &mut self.out);
        self.blocks += 1;
        self.block_frames = 0;
        self.block_bytes = 0;
        self.hasher.reset();
        self.hasher.update(&self.chain);
        // `out` is written next; the seal ends at the offset below once it is.
        self.sealed_through = self.written + self.out.len() as u64;
    }

    fn write_out(&mut self) -> Result<(), LedgerWriteError> {
        if self.out.is_empty() {
            return Ok(());
        }
        self.storage
            .append(&self.out)
            .map_err(|source| LedgerWriteError::Write {
                path: self.path.clone(),
                offset: self.written,
                source,
            })?;
        self.written += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    fn sync(&mut self) -> Result<(), LedgerWriteError> {
        let failed = |source| LedgerWriteError::Sync {
            path: self.path.clone(),
            durable: self.durable.load(Ordering::Acquire),
            source,
        };
        self.storage.sync().map_err(failed)?;
        // Recorded before it is reported, so a reader after a power cut knows at least as
        // much as anyone was told.
        self.marks += 1;
        let mark = DurableMark {
            salt: self.salt,
            ledger_id: self.ledger_id,
            generation: self.marks,
            durable_bytes: self.written,
        };
        self.storage.record_durable(&mark).map_err(failed)?;
        self.synced_through_seal = self.sealed_through;
        self.durable.store(self.written, Ordering::Release);
        if let Some(report) = self.report.as_mut() {
            report(self.written);
        }
        Ok(())
    }
}
