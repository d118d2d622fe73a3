//! Reads and verifies a ledger on its own thread, handing verified event frames over in
//! batches: checksums and the hash chain are checked while the caller (replay) re-executes.
//!
//! The caller sees exactly what [`LedgerReader::next_event`] would give, in the same order,
//! with any error at the same place: frames before the damage first, then the error.

use std::fs::File;
use std::path::Path;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::error::LedgerReadError;
use super::frame::FrameHeader;
use super::header::Header;
use super::reader::{LedgerReader, LedgerSummary};

/// Bytes of frames per batch.
const BATCH_BYTES: usize = 1 << 20;
const DEPTH: usize = 4;

/// Frames verified by the reader thread, with the file offset of each.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    offsets: Vec<u64>,
    /// Bytes of the file read when the batch was sent (for progress).
    read_through: u64,
}

enum Message {
    Frames(Batch),
    End(Result<LedgerSummary, LedgerReadError>),
}

/// One verified event frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Byte offset in the file.
    pub offset: u64,
    /// The frame's fixed header.
    pub header: FrameHeader,
    /// The whole frame.
    pub bytes: &'a [u8],
}

/// Event frames of a ledger, read and verified ahead on another thread.
pub struct PrefetchedFrames {
    header: Header,
    rx: Receiver<Message>,
    recycle: Sender<Batch>,
    current: Batch,
    next: usize,
    at: usize,
    end: Option<Result<LedgerSummary, LedgerReadError>>,
    thread: Option<JoinHandle<()>>,
}

impl PrefetchedFrames {
    /// Opens a ledger (its header is read and checked here) and starts the reader thread.
    pub fn open(path: &Path) -> Result<Self, LedgerReadError> {
        let reader = LedgerReader::open(path)?;
        let header = reader.header().clone();
        let (tx, rx) = bounded(DEPTH);
        let (recycle, recycled) = bounded::<Batch>(DEPTH + 2);
        let thread = std::thread::Builder::new()
            .name("tape-ledger-reader".to_string())
            .spawn(move || read_ahead(reader, tx, recycled))?;
        Ok(Self {
            header,
            rx,
            recycle,
            current: Batch::default(),
            next: 0,
            at: 0,
            end: None,
            thread: Some(thread),
        })
    }

    /// The ledger's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes of the file verified so far.
    pub fn read_through(&self) -> u64 {
        self.current.read_through
    }

    /// The next verified event frame, or `None` after a verified trailer.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, LedgerReadError> {
        while self.next == self.current.offsets.len() {
            if let Some(end) = self.end.take() {
                // Keep reporting the end (an error cannot be cloned, so re-read it as torn).
                return match end {
                    Ok(summary) => {
                        self.end = Some(Ok(summary));
                        Ok(None)
                    }
                    Err(e) => Err(e),
                };
            }
            match self.rx.recv() {
                Ok(Message::Frames(batch)) => {
                    let spent = std::mem::replace(&mut self.current, batch);
                    let _ = self.recycle.try_send(spent);
                    self.next = 0;
                    self.at = 0;
                }
                Ok(Message::End(result)) => self.end = Some(result),
                Err(_) => {
                    return Err(LedgerReadError::Io {
                        source: std::io::Error::other("the ledger reader thread stopped"),
                    })
                }
            }
        }
        let offset = self.current.offsets[self.next];
        let header = FrameHeader::parse(&self.current.bytes[self.at..])
            .expect("the reader thread sends whole frames");
        let start = self.at;
        self.at += header.len as usize;
        self.next += 1;
        Ok(Some(Frame {
            offset,
            header,
            bytes: &self.current.bytes[start..self.at],
        }))
    }

    /// What the whole ledger proved, once [`next_frame`](Self::next_frame) returned `None`.
    pub fn summary(&self) -> Option<LedgerSummary> {
        match &self.end {
            Some(Ok(summary)) => Some(*summary),
            _ => None,
        }
    }
}

impl Drop for PrefetchedFrames {
    fn drop(&mut self) {
        // Unblock the reader (its sends fail once the receiver is gone), then wait for it.
        let (_, dead) = bounded(0);
        self.rx = dead;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_ahead(mut reader: LedgerReader<File>, tx: Sender<Message>, recycled: Receiver<Batch>) {
    let fresh = || Batch {
        bytes: Vec::with_capacity(BATCH_BYTES + (1 << 16)),
        offsets: Vec::with_capacity(BATCH_BYTES / 64),
        read_through: 0,
    };
    let mut batch = fresh();
    loop {
        match reader.next_event() {
            Ok(Some(frame)) => {
                batch.bytes.extend_from_slice(frame.bytes);
                batch.offsets.push(frame.offset);
                if batch.bytes.len() >= BATCH_BYTES {
                    batch.read_through = reader.offset();
                    let next = recycled.try_recv().map(|mut b| {
                        b.bytes.clear();
                        b.offsets.clear();
                        b
                    });
                    let full = std::mem::replace(&mut batch, next.unwrap_or_else(|_| fresh()));
                    if tx.send(Message::Frames(full)).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => {
                batch.read_through = reader.offset();
                let summary = reader.summary();
                let _ = tx.send(Message::Frames(batch));
                let _ = tx.send(Message::End(summary));
                return;
            }
            Err(e) => {
                batch.read_through = reader.offset();
                let _ = tx.send(Message::Frames(batch));
                let _ = tx.send(Message::End(Err(e)));
                return;
            }
        }
    }
}
