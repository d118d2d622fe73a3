//! The ledger reader: streams frames in constant memory and trusts nothing.
//!
//! Every frame's length, checksum, salt and seq are checked; every block's hash is
//! recomputed and chained; the trailer must match what was read. Damage is reported with its
//! byte offset and classified:
//! - **torn tail**: no valid frame follows the damage (a crash mid-append);
//! - **corruption**: a valid frame follows it (a flipped bit, a bad disk, an edit).
//!
//! Except: damage at or after the ledger's durable mark (see [`super::durable`]) is a torn
//! tail even when valid frames follow, because none of those bytes was reported durable and
//! a power cut writes unsynced pages back in any order, leaving holes before later frames.
//!
//! Memory is one read buffer of [`READ_BUFFER_BYTES`], whatever the ledger's length: a block
//! is hashed in one call from the buffer, so the buffer keeps the open block's bytes, and the
//! reader bounds a block at `block_target_bytes + MAX_FRAME_LEN`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::error::LedgerReadError;
use super::frame::{
    decode_seal, decode_trailer, frame_crc, frame_is_intact, FrameHeader, LedgerClosed,
    FRAME_HEADER_LEN, KIND_BLOCK_SEALED, KIND_LEDGER_CLOSED, MAX_FRAME_LEN,
};
use super::header::Header;
use crate::event::{Event, EventKind};

/// Size of the reader's one buffer.
pub const READ_BUFFER_BYTES: usize = 4 << 20;

/// An event frame as read: its place in the file and its bytes (checksum verified).
#[derive(Clone, Copy, Debug)]
pub struct EventFrame<'a> {
    /// Byte offset of the frame in the file.
    pub offset: u64,
    /// The frame's fixed header.
    pub header: FrameHeader,
    /// The whole frame.
    pub bytes: &'a [u8],
}

impl EventFrame<'_> {
    /// The event's kind (known: the reader rejects unknown kinds).
    pub fn kind(&self) -> EventKind {
        EventKind::from_code(self.header.kind).expect("the reader only yields known kinds")
    }

    /// Decodes the event. A decode failure of an intact frame is corruption at this offset.
    pub fn decode(&self) -> Result<Event, LedgerReadError> {
        super::frame::decode_event(self.bytes).map_err(|e| LedgerReadError::Corrupt {
            offset: self.offset,
            detail: format!("event {} does not decode: {e}", self.header.seq),
        })
    }
}

/// What a fully read ledger proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerSummary {
    /// The chain head: the run's fingerprint.
    pub fingerprint: [u8; 32],
    /// Events read.
    pub events: u64,
    /// Blocks read.
    pub blocks: u64,
    /// Bytes read (the file's length).
    pub bytes: u64,
    /// Whether the trailer was written by `tape repair`.
    pub repaired: bool,
}

/// Streams a ledger's events, verifying as it goes.
pub struct LedgerReader<R: Read + Seek> {
    src: R,
    header: Header,
    header_len: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    /// Next unread byte in `buf`.
    pos: usize,
    /// End of valid data in `buf`.
    end: usize,
    eof: bool,
    /// Start of the open block in `buf`.
    block_start: usize,
    block_frames: u32,
    chain: [u8; 32],
    next_seq: u64,
    last_ts: i64,
    blocks: u64,
    /// File offset just past the last seal (the end of the last whole block).
    sealed_through: u64,
    trailer: Option<LedgerClosed>,
    /// Bytes a returned `fdatasync` covered, from the ledger's durable mark.
    durable_bytes: Option<u64>,
    /// `h_0`: BLAKE3 of the header bytes.
    h0: [u8; 32],
}

impl LedgerReader<File> {
    /// Opens a ledger file and reads its header, and its durable mark if it has one.
    pub fn open(path: &Path) -> Result<Self, LedgerReadError> {
        let mut reader = Self::new(File::open(path)?)?;
        let mark = super::durable::read_mark(path, reader.header.salt, &reader.h0);
        reader.durable_bytes = mark.map(|m| m.durable_bytes);
        Ok(reader)
    }
}

impl<R: Read + Seek> LedgerReader<R> {
    /// Reads and checks the header from the start of `src`.
    pub fn new(mut src: R) -> Result<Self, LedgerReadError> {
        src.seek(SeekFrom::Start(0))?;
        let mut prefix = [0u8; 16];
        read_full(&mut src, &mut prefix)
            .and_then(|n| {
                if n < 16 {
                    Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
                } else {
                    Ok(())
                }
            })
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => LedgerReadError::NotALedger,
                _ => LedgerReadError::Io { source: e },
            })?;
        let header_len = Header::parse_prefix(&prefix)?;
        let mut bytes = vec![0u8; header_len];
        bytes[..16].copy_from_slice(&prefix);
        let got = read_full(&mut src, &mut bytes[16..])?;
        if got < header_len - 16 {
            return Err(LedgerReadError::HeaderCorrupt {
                detail: "the file ends inside the header".to_string(),
            });
        }
        let header = Header::decode(&bytes)?;
        let chain = *blake3::hash(&bytes).as_bytes();
        Ok(Self {
            src,
            header,
            header_len: header_len as u64,
            buf: vec![0u8; READ_BUFFER_BYTES],
            buf_offset: header_len as u64,
            pos: 0,
            end: 0,
            eof: false,
            block_start: 0,
            block_frames: 0,
            chain,
            next_seq: 0,
            last_ts: i64::MIN,
            blocks: 0,
            sealed_through: header_len as u64,
            trailer: None,
            durable_bytes: None,
            h0: chain,
        })
    }

    /// Treats damage at or after `durable_bytes` as a torn tail (see the module docs):
    /// what [`open`](LedgerReader::open) does with the ledger's durable mark.
    pub fn with_durable_bytes(mut self, durable_bytes: Option<u64>) -> Self {
        self.durable_bytes = durable_bytes;
        self
    }

    /// Bytes a returned `fdatasync` covered, if the ledger has a durable mark.
    pub fn durable_bytes(&self) -> Option<u64> {
        self.durable_bytes
    }

    /// `h_0`, the BLAKE3 of the header bytes: the start of the hash chain.
    pub fn h0(&self) -> &[u8; 32] {
        &self.h0
    }

    /// The ledger's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Length of the header in bytes (where the first frame starts).
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// File offset of the next unread frame.
    pub fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// File offset just past the last whole block read so far.
    pub fn sealed_through(&self) -> u64 {
        self.sealed_through
    }

    /// Where reading stopped, for [`super::repair`].
    pub fn tail_state(&self) -> super::repair::TailState {
        super::repair::TailState {
            chain: self.chain,
            blocks: self.blocks,
            next_seq: self.next_seq,
            last_ts: if self.next_seq == 0 { 0 } else { self.last_ts },
            sealed_through: self.sealed_through,
            open_frames: self.block_frames,
        }
    }

    /// The next event, or `None` after a verified trailer.
    pub fn next_event(&mut self) -> Result<Option<EventFrame<'_>>, LedgerReadError> {
        loop {
            if self.trailer.is_some() {
                return Ok(None);
            }
            let offset = self.offset();
            if !self.fill(FRAME_HEADER_LEN)? {
                return Err(self.end_without_trailer(offset));
            }
            let header = FrameHeader::parse(&self.buf[self.pos..self.end])
                .expect("filled a whole frame header");
            if !header.len_is_plausible() {
                return Err(self.damage(offset, format!("implausible frame length {}", header.len)));
            }
            let len = header.len as usize;
            if !self.fill(len)? {
                return Err(self.damage(
                    offset,
                    format!("the file ends inside a frame of {len} bytes"),
                ));
            }
            let crc_ok = header.crc == frame_crc(&self.buf[self.pos..self.pos + len]);
            if header.salt != self.header.salt {
                return Err(
                    self.damage(offset, "frame salt does not match this ledger".to_string())
                );
            }
            if !crc_ok {
                return Err(self.damage(offset, "frame checksum mismatch".to_string()));
            }
            if header.reserved != 0 {
                return Err(corrupt(offset, "reserved frame byte is not zero"));
            }
            if header.seq != self.next_seq {
                return Err(corrupt(
                    offset,
                    &format!(
                        "frame seq {} where {} was expected",
                        header.seq, self.next_seq
                    ),
                ));
            }
            if header.kind >= KIND_BLOCK_SEALED && header.cause_count != 0 {
                return Err(corrupt(offset, "a seal or trailer frame names causes"));
            }
            match header.kind {
                KIND_BLOCK_SEALED => self.on_seal(offset, len)?,
                KIND_LEDGER_CLOSED => self.on_trailer(offset, len)?,
                code => {
                    match EventKind::from_code(code) {
                        None => {
                            return Err(corrupt(
                                offset,
                                &format!("unknown event kind 0x{code:04x}"),
                            ))
                        }
                        Some(kind) if kind.since_version() > self.header.format_version => {
                            return Err(corrupt(
                                offset,
                                &format!(
                                    "event kind {} does not exist in format version {}",
                                    kind.name(),
                                    self.header.format_version
                                ),
                            ))
                        }
                        Some(_) => {}
                    }
                    if header.ts < self.last_ts {
                        return Err(corrupt(offset, "event time goes backwards"));
                    }
                    let block_len = self.pos + len - self.block_start;
                    if block_len > self.header.block_target_bytes as usize + MAX_FRAME_LEN {
                        return Err(corrupt(
                            offset,
                            "block is longer than the writer ever makes one (missing seal)",
                        ));
                    }
                    self.last_ts = header.ts;
                    self.next_seq += 1;
                    self.block_frames += 1;
                    let start = self.pos;
                    self.pos += len;
                    return Ok(Some(EventFrame {
                        offset,
                        header,
                        bytes: &self.buf[start..start + len],
                    }));
                }
            }
        }
    }

    /// Reads to the end, verifying everything, and returns what it proved.
    pub fn verify_to_end(mut self) -> Result<LedgerSummary, LedgerReadError> {
        while self.next_event()?.is_some() {}
        self.summary()
    }

    /// The summary, once the trailer has been read.
    pub fn summary(&self) -> Result<LedgerSummary, LedgerReadError> {
        let trailer = self.trailer.ok_or_else(|| LedgerReadError::TornTail {
            offset: self.offset(),
            detail: "the ledger has not been read to its trailer".to_string(),
        })?;
        Ok(LedgerSummary {
            fingerprint: trailer.fingerprint,
            events: trailer.events,
            blocks: trailer.blocks,
            bytes: self.offset(),
            repaired: trailer.repaired,
        })
    }

    fn on_seal(&mut self, offset: u64, len: usize) -> Result<(), LedgerReadError> {
        let frame = &self.buf[self.pos..self.pos + len];
        let seal = decode_seal(frame)
            .map_err(|e| corrupt(offset, &format!("block seal does not decode: {e}")))?;
        let block_bytes = &self.buf[self.block_start..self.pos];
        if seal.block != self.blocks
            || seal.frames != self.block_frames
            || seal.bytes as usize != block_bytes.len()
        {
            return Err(corrupt(
                offset,
                &format!(
                    "block seal says block {} of {} frames and {} bytes, but block {} has {} frames and {} bytes",
                    seal.block,
                    seal.frames,
                    seal.bytes,
                    self.blocks,
                    self.block_frames,
                    block_bytes.len()
                ),
            ));
        }
        if seal.frames == 0 {
            return Err(corrupt(offset, "empty block"));
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.chain);
        hasher.update(block_bytes);
        let chain = *hasher.finalize().as_bytes();
        if chain != seal.chain {
            return Err(corrupt(
                offset,
                &format!(
                    "block {} hash does not match its seal (hash chain broken)",
                    seal.block
                ),
            ));
        }
        self.chain = chain;
        self.blocks += 1;
        self.block_frames = 0;
        self.pos += len;
        self.block_start = self.pos;
        self.sealed_through = self.offset();
        Ok(())
    }

    fn on_trailer(&mut self, offset: u64, len: usize) -> Result<(), LedgerReadError> {
        let frame = &self.buf[self.pos..self.pos + len];
        let trailer = decode_trailer(frame)
            .map_err(|e| corrupt(offset, &format!("trailer does not decode: {e}")))?;
        if self.block_frames != 0 {
            return Err(corrupt(offset, "trailer follows an unsealed block"));
        }
        if trailer.events != self.next_seq
            || trailer.blocks != self.blocks
            || trailer.fingerprint != self.chain
        {
            return Err(corrupt(
                offset,
                "trailer counts or fingerprint do not match the ledger",
            ));
        }
        self.pos += len;
        if self.fill(1)? {
            return Err(corrupt(self.offset(), "bytes after the trailer"));
        }
        self.trailer = Some(trailer);
        Ok(())
    }

    /// The ledger ends at a frame boundary but without a trailer.
    fn end_without_trailer(&mut self, offset: u64) -> LedgerReadError {
        if self.pos < self.end {
            return LedgerReadError::TornTail {
                offset,
                detail: "the file ends inside a frame header".to_string(),
            };
        }
        LedgerReadError::TornTail {
            offset,
            detail:
                "the ledger has no trailer (the run was interrupted, or is still being written)"
                    .to_string(),
        }
    }

    /// Classifies damage at `offset` by looking for any valid frame after it.
    fn damage(&mut self, offset: u64, detail: String) -> LedgerReadError {
        if let Some(durable) = self.durable_bytes.filter(|&d| offset >= d) {
            return LedgerReadError::TornTail {
                offset,
                detail: format!(
                    "{detail}, after the last durable byte {durable} (writes a power cut dropped)"
                ),
            };
        }
        match find_valid_frame_after(&mut self.src, offset, self.header.salt) {
            Ok(Some(next)) => LedgerReadError::Corrupt {
                offset,
                detail: format!("{detail} (a valid frame follows at byte {next})"),
            },
            Ok(None) => LedgerReadError::TornTail { offset, detail },
            Err(e) => LedgerReadError::Io { source: e },
        }
    }

    /// Ensures `need` bytes are buffered at `pos`; `false` if the file ends first.
    fn fill(&mut self, need: usize) -> Result<bool, LedgerReadError> {
        if self.end - self.pos >= need {
            return Ok(true);
        }
        if self.pos + need > self.buf.len() {
            // Keep the open block (it is hashed in one piece at its seal).
            let keep = self.block_start.min(self.pos);
            self.buf.copy_within(keep..self.end, 0);
            self.buf_offset += keep as u64;
            self.pos -= keep;
            self.end -= keep;
            self.block_start -= keep;
            if self.pos + need > self.buf.len() {
                return Err(corrupt(
                    self.offset(),
                    "block is longer than the reader's buffer (missing seal)",
                ));
            }
        }
        while self.end - self.pos < need && !self.eof {
            let n = self.src.read(&mut self.buf[self.end..])?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(self.end - self.pos >= need)
    }
}

fn corrupt(offset: u64, detail: &str) -> LedgerReadError {
    LedgerReadError::Corrupt {
        offset,
        detail: detail.to_string(),
    }
}

fn read_full<R: Read>(src: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The offset of the first intact frame (right salt, plausible length, matching checksum)
/// starting at an 8-byte step after `offset`, if any. Frames are 8-byte multiples and the
/// header is too, so frames always start on such a step.
pub fn find_valid_frame_after<R: Read + Seek>(
    src: &mut R,
    offset: u64,
    salt: u32,
) -> std::io::Result<Option<u64>> {
    const CHUNK: usize = 1 << 20;
    let salt_bytes = salt.to_le_bytes();
    let mut chunk = vec![0u8; CHUNK];
    let mut frame = Vec::new();
    let mut base = offset + 8;
    loop {
        src.seek(SeekFrom::Start(base))?;
        let n = read_full(src, &mut chunk)?;
        if n < FRAME_HEADER_LEN {
            return Ok(None);
        }
        let mut at = 0;
        while at + FRAME_HEADER_LEN <= n {
            if chunk[at + 8..at + 12] == salt_bytes {
                let header = FrameHeader::parse(&chunk[at..]).expect("32 bytes available");
                if header.len_is_plausible() {
                    let len = header.len as usize;
                    let candidate = base + at as u64;
                    let intact = if at + len <= n {
                        frame_is_intact(&chunk[at..at + len], salt)
                    } else {
                        frame.resize(len, 0);
                        src.seek(SeekFrom::Start(candidate))?;
                        let got = read_full(src, &mut frame)?;
                        got == len && frame_is_intact(&frame, salt)
                    };
                    if intact && is_frame_kind(header.kind) {
                        return Ok(Some(candidate));
                    }
                }
            }
            at += 8;
        }
        if n < CHUNK {
            return Ok(None);
        }
        // Overlap by a header so a frame starting near the chunk end is examined whole.
        base += (at as u64).max(8);
    }
}

fn is_frame_kind(code: u16) -> bool {
    code == KIND_BLOCK_SEALED || code == KIND_LEDGER_CLOSED || EventKind::from_code(code).is_some()
}
