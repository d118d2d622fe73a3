//! Frames: the unit of the ledger body. One frame holds one event, or a block seal, or the
//! trailer. Byte layout in docs/ledger-format.md; this file is its implementation.
//!
//! ```text
//! offset size field
//!      0    4 frame_len   u32, total bytes of the frame, a multiple of 8, 32 ..= MAX_FRAME_LEN
//!      4    4 crc32c      over bytes [0, 4) and [8, frame_len)
//!      8    4 salt        the ledger's salt (header), so a frame of another ledger never passes
//!     12    2 kind        u16 event kind code, or 0xFF00 block_sealed / 0xFF01 ledger_closed
//!     14    1 cause_count
//!     15    1 reserved    0
//!     16    8 seq         u64
//!     24    8 ts          i64 nanoseconds UTC
//!     32  8×n causes      u64 seqs
//!      …      payload     kind-specific, little-endian
//!      …      padding     zero bytes up to a multiple of 8
//! ```
//!
//! # Invariants
//! - The encoder writes only what the decoder accepts, and the decoder accepts exactly one
//!   byte string per event (payload fully consumed, padding zero, enum codes known), so
//!   "same event" and "same bytes" are the same thing. The codec round-trip property test
//!   holds this.

use crate::event::{
    Bar, BorrowCharged, BreakerChange, Causes, DataNote, Direction, Event, EventBody, EventKind,
    Feature, FeatureId, OrderAmended, OrderCancelled, OrderFilled, OrderId, OrderRejected,
    OrderSubmitted, OrderType, PortfolioSnapshot, Reason, RuleId, RunFinished, RunStarted, Seq,
    Side, Signal, SymbolId, Target, TimeInForce, Trail, MAX_CAUSES, MAX_REASON_VALUES,
};
use crate::fixed::{Money, Price, Quantity};
use crate::time::Ts;

/// Bytes of the fixed frame header.
pub const FRAME_HEADER_LEN: usize = 32;
/// The largest frame a reader accepts. Events are far smaller; the bound keeps a corrupted
/// length from making a reader allocate or skip without limit.
pub const MAX_FRAME_LEN: usize = 1 << 20;
/// Frame kind code of a block seal (not an event).
pub const KIND_BLOCK_SEALED: u16 = 0xFF00;
/// Frame kind code of the trailer (not an event).
pub const KIND_LEDGER_CLOSED: u16 = 0xFF01;

/// A frame whose bytes cannot be an event of this format version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload ended before a field.
    #[error("payload ends before field '{field}'")]
    Truncated { field: &'static str },
    /// Bytes left over after the last field.
    #[error("{extra} unexpected bytes after the payload")]
    TrailingBytes { extra: usize },
    /// A padding byte is not zero.
    #[error("non-zero padding")]
    NonZeroPadding,
    /// The kind code is not one this version knows.
    #[error("unknown event kind 0x{code:04x}")]
    UnknownKind { code: u16 },
    /// A closed-set field holds a code this version does not know.
    #[error("field '{field}' has unknown code {code}")]
    UnknownCode { field: &'static str, code: u8 },
    /// More causes or reason values than this version carries.
    #[error("field '{field}' has {count} entries, more than {max}")]
    TooMany {
        field: &'static str,
        count: usize,
        max: usize,
    },
    /// A cause names this seq or a later one.
    #[error("cause {cause} is not earlier than the event itself")]
    CauseNotEarlier { cause: u64 },
    /// A price field is not positive.
    #[error("field '{field}' is not a valid price")]
    BadPrice { field: &'static str },
    /// A field that must be a finite number is not.
    #[error("field '{field}' is not a finite number")]
    NotFinite { field: &'static str },
    /// A bar breaks its invariant.
    #[error("{0}")]
    BadBar(#[from] crate::event::BarError),
}

/// The fixed header fields of a frame, read without trusting the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Total frame length in bytes.
    pub len: u32,
    /// Stored CRC32C.
    pub crc: u32,
    /// Ledger salt.
    pub salt: u32,
    /// Kind code.
    pub kind: u16,
    /// Number of causes.
    pub cause_count: u8,
    /// Must be 0.
    pub reserved: u8,
    /// Sequence number (for seals and the trailer: the next event's seq).
    pub seq: u64,
    /// Timestamp.
    pub ts: i64,
}

impl FrameHeader {
    /// Reads the fixed header from the first 32 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let b = bytes.get(..FRAME_HEADER_LEN)?;
        Some(Self {
            len: u32::from_le_bytes(b[0..4].try_into().ok()?),
            crc: u32::from_le_bytes(b[4..8].try_into().ok()?),
            salt: u32::from_le_bytes(b[8..12].try_into().ok()?),
            kind: u16::from_le_bytes(b[12..14].try_into().ok()?),
            cause_count: b[14],
            reserved: b[15],
            seq: u64::from_le_bytes(b[16..24].try_into().ok()?),
            ts: i64::from_le_bytes(b[24..32].try_into().ok()?),
        })
    }

    /// Whether the length field is one a writer could have produced.
    pub fn len_is_plausible(&self) -> bool {
        let len = self.len as usize;
        (FRAME_HEADER_LEN..=MAX_FRAME_LEN).contains(&len) && len.is_multiple_of(8)
    }
}

/// The CRC32C of a complete frame: bytes `[0, 4)` and `[8, len)`.
///
/// Frames are small (a bar's is 80 bytes), where the `crc32c` crate's general routine spends
/// more time choosing a strategy than hashing; with SSE 4.2 the frame is folded 8 bytes at a
/// time by the CPU's CRC32C instruction instead. Both give the same value (tested against the
/// crate), so this is speed only.
pub fn frame_crc(frame: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if frame.len() <= 4096
            && frame.len().is_multiple_of(8)
            && std::arch::is_x86_feature_detected!("sse4.2")
        {
            // SAFETY: SSE 4.2 is available, checked just above.
            return unsafe { frame_crc_sse42(frame) };
        }
    }
    crc32c::crc32c_append(crc32c::crc32c(&frame[0..4]), &frame[8..])
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn frame_crc_sse42(frame: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};
    let len_field = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
    let mut crc = u64::from(_mm_crc32_u32(!0, len_field));
    for word in frame[8..].chunks_exact(8) {
        let word = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        crc = _mm_crc32_u64(crc, word);
    }
    !(crc as u32)
}

#[cfg(test)]
mod crc_tests {
    use super::frame_crc;
    use proptest::prelude::*;

    proptest! {
        /// The fast path computes exactly the crate's CRC32C over bytes [0, 4) and [8, len).
        #[test]
        fn fast_frame_crc_equals_the_crate(words in 4usize..300, seed in any::<u64>()) {
            let mut x = seed | 1;
            let frame: Vec<u8> = (0..words * 8).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect();
            let expected = crc32c::crc32c_append(crc32c::crc32c(&frame[0..4]), &frame[8..]);
            prop_assert_eq!(frame_crc(&frame), expected);
        }
    }

    #[test]
    fn known_vector() {
        // CRC32C("123456789") = 0xE3069283; as a "frame": bytes 4..8 are skipped.
        let mut frame = b"1234____56789\0\0\0".to_vec();
        frame.truncate(16);
        let expected = crc32c::crc32c(b"123456789\0\0\0");
        assert_eq!(frame_crc(&frame), expected);
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }
}

/// Whether `frame` (exactly `len` bytes) carries a matching checksum and `salt`.
pub fn frame_is_intact(frame: &[u8], salt: u32) -> bool {
    match FrameHeader::parse(frame) {
        Some(h) => {
            h.len as usize == frame.len()
                && h.len_is_plausible()
                && h.salt == salt
                && h.reserved == 0
                && h.crc == frame_crc(frame)
        }
        None => false,
    }
}

/// The largest event frame this version encodes (an `order_submitted` with four causes and
/// a full reason is 176 bytes); frames are built on the stack in a buffer this big.
const MAX_EVENT_FRAME: usize = 256;

/// Writes little-endian fields into a frame under construction.
struct Put<'a> {
    buf: &'a mut [u8; MAX_EVENT_FRAME],
    at: usize,
}

impl Put<'_> {
    #[inline]
    fn bytes(&mut self, v: &[u8]) {
        self.buf[self.at..self.at + v.len()].copy_from_slice(v);
        self.at += v.len();
    }
    #[inline]
    fn u8(&mut self, v: u8) {
        self.buf[self.at] = v;
        self.at += 1;
    }
    #[inline]
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    fn f64(&mut self, v: f64) {
        self.bytes(&v.to_bits().to_le_bytes());
    }
    fn reason(&mut self, r: &Reason) {
        let values = r.raw_values();
        self.u16(r.rule.0);
        self.u8(values.len() as u8);
        for &v in values {
            self.i64(v);
        }
    }
}

/// Starts a frame in a zeroed stack buffer: the fixed header (length and CRC left zero) and
/// the causes.
fn begin_frame<'b>(
    buf: &'b mut [u8; MAX_EVENT_FRAME],
    salt: u32,
    kind: u16,
    seq: u64,
    ts: i64,
    causes: &[Seq],
) -> Put<'b> {
    let mut p = Put { buf, at: 8 };
    p.u32(salt);
    p.u16(kind);
    p.u8(causes.len() as u8);
    p.u8(0);
    p.u64(seq);
    p.i64(ts);
    for c in causes {
        p.u64(c.0);
    }
    p
}

/// Pads the frame to a multiple of 8 (the buffer started zeroed), fills in its length and
/// CRC, and appends it to `out`.
fn finish_frame(p: Put<'_>, out: &mut Vec<u8>) {
    let len = p.at.next_multiple_of(8);
    p.buf[0..4].copy_from_slice(&(len as u32).to_le_bytes());
    let crc = frame_crc(&p.buf[..len]);
    p.buf[4..8].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&p.buf[..len]);
}

/// Appends the frame of `event` to `out`.
pub fn encode_event(event: &Event, salt: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; MAX_EVENT_FRAME];
    let mut p = begin_frame(
        &mut buf,
        salt,
        event.body.kind().code(),
        event.seq.0,
        event.ts.0,
        event.causes.as_slice(),
    );
    match &event.body {
        EventBody::RunStarted(e) => {
            p.bytes(&e.config_digest);
            p.i64(e.initial_cash.raw());
            p.u32(e.symbols);
        }
        EventBody::Bar(b) => {
            p.u32(b.symbol.0);
            p.i64(b.open.raw());
            p.i64(b.high.raw());
            p.i64(b.low.raw());
            p.i64(b.close.raw());
            p.i64(b.volume.raw());
        }
        EventBody::DataQuarantined(d) | EventBody::DataWarning(d) => {
            p.u32(d.symbol.0);
            p.u32(d.input);
            p.u64(d.row);
            p.reason(&d.reason);
        }
        EventBody::Feature(f) => {
            p.u32(f.symbol.0);
            p.u32(f.feature.0);
            p.u32(f.input);
            p.u64(f.row);
            p.f64(f.value);
        }
        EventBody::CircuitBreakerTripped(b) | EventBody::CircuitBreakerReset(b) => {
            p.reason(&b.reason);
        }
        EventBody::Signal(s) => {
            p.u32(s.symbol.0);
            p.u8(s.direction.code());
            p.f64(s.strength);
            p.reason(&s.reason);
        }
        EventBody::Target(t) => {
            p.u32(t.symbol.0);
            p.i64(t.position.raw());
            p.reason(&t.reason);
        }
        EventBody::OrderSubmitted(o) => {
            p.u64(o.order.0);
            p.u32(o.symbol.0);
            p.u8(o.side.code());
            p.u8(o.order_type.code());
            p.u8(o.time_in_force.code());
            let bars = match o.time_in_force {
                TimeInForce::GoodForBars(n) => Some(n),
                _ => None,
            };
            p.u8(u8::from(o.limit_price.is_some())
                | (u8::from(o.stop_price.is_some()) << 1)
                | (u8::from(o.trail.is_some()) << 2)
                | (u8::from(bars.is_some()) << 3)
                | (u8::from(o.cycle.is_some()) << 4));
            p.i64(o.quantity.raw());
            if let Some(l) = o.limit_price {
                p.i64(l.raw());
            }
            if let Some(s) = o.stop_price {
                p.i64(s.raw());
            }
            if let Some(trail) = o.trail {
                p.u8(trail.code());
                p.i64(match trail {
                    Trail::Price(d) => d.raw(),
                    Trail::Ppm(ppm) => ppm.into(),
                });
            }
            if let Some(n) = bars {
                p.u32(n);
            }
            if let Some(c) = o.cycle {
                p.u32(c);
            }
            p.reason(&o.reason);
        }
        EventBody::BorrowCharged(b) => {
            p.u32(b.symbol.0);
            p.i64(b.amount.raw());
            p.reason(&b.reason);
        }
        EventBody::OrderAmended(a) => {
            p.u64(a.order.0);
            p.u32(a.symbol.0);
            p.u8(u8::from(a.limit_price.is_some()) | (u8::from(a.stop_price.is_some()) << 1));
            p.i64(a.remaining.raw());
            if let Some(l) = a.limit_price {
                p.i64(l.raw());
            }
            if let Some(s) = a.stop_price {
                p.i64(s.raw());
            }
            p.reason(&a.reason);
        }
        EventBody::OrderRejected(r) => {
            p.u64(r.order.0);
            p.u32(r.symbol.0);
            p.u8(r.side.code());
            p.i64(r.quantity.raw());
            p.reason(&r.reason);
        }
        EventBody::OrderFilled(f) => {
            p.u64(f.order.0);
            p.u32(f.symbol.0);
            p.u8(f.side.code());
            p.i64(f.quantity.raw());
            p.i64(f.price.raw());
            p.i64(f.expected_price.raw());
            p.i64(f.fee.raw());
            p.i64(f.slippage.raw());
            p.i64(f.remaining.raw());
        }
        EventBody::OrderCancelled(c) => {
            p.u64(c.order.0);
            p.u32(c.symbol.0);
            p.i64(c.remaining.raw());
            p.reason(&c.reason);
        }
        EventBody::PortfolioSnapshot(s) => {
            for m in [
                s.cash,
                s.equity,
                s.gross_exposure,
                s.net_exposure,
                s.realised_pnl,
                s.unrealised_pnl,
                s.fees,
            ] {
                p.i64(m.raw());
            }
            p.u32(s.open_positions);
        }
        EventBody::RunFinished(r) => {
            p.u64(r.bars);
            p.u64(r.orders);
            p.u64(r.fills);
            p.u64(r.rejections);
            p.i64(r.final_equity.raw());
            p.i64(r.peak_equity.raw());
            p.f64(r.max_drawdown);
        }
    }
    finish_frame(p, out);
}

/// A block seal: closes a block and carries the chain hash through it.
///
/// Its frame `seq` is the seq of the next event; `ts` is the last event's `ts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSealed {
    /// 0-based index of the block.
    pub block: u64,
    /// Event frames in the block.
    pub frames: u32,
    /// Bytes of those frames (the seal itself excluded).
    pub bytes: u32,
    /// `BLAKE3(previous chain hash ‖ block bytes)`.
    pub chain: [u8; 32],
}

/// The trailer: the last frame of a complete ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerClosed {
    /// Events in the ledger.
    pub events: u64,
    /// Blocks in the ledger.
    pub blocks: u64,
    /// The chain hash of the last block: the run's fingerprint.
    pub fingerprint: [u8; 32],
    /// Whether `tape repair` wrote this trailer after cutting a torn tail.
    pub repaired: bool,
}

/// Appends a block seal frame.
pub fn encode_seal(seal: &BlockSealed, next_seq: u64, ts: i64, salt: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; MAX_EVENT_FRAME];
    let mut p = begin_frame(&mut buf, salt, KIND_BLOCK_SEALED, next_seq, ts, &[]);
    p.u64(seal.block);
    p.u32(seal.frames);
    p.u32(seal.bytes);
    p.bytes(&seal.chain);
    finish_frame(p, out);
}

/// Appends the trailer frame.
pub fn encode_trailer(
    trailer: &LedgerClosed,
    next_seq: u64,
    ts: i64,
    salt: u32,
    out: &mut Vec<u8>,
) {
    let mut buf = [0u8; MAX_EVENT_FRAME];
    let mut p = begin_frame(&mut buf, salt, KIND_LEDGER_CLOSED, next_seq, ts, &[]);
    p.u64(trailer.events);
    p.u64(trailer.blocks);
    p.bytes(&trailer.fingerprint);
    p.u8(u8::from(trailer.repaired));
    finish_frame(p, out);
}

/// Reads little-endian fields from a frame payload.
struct Take<'a> {
    rest: &'a [u8],
}

impl<'a> Take<'a> {
    fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let b = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }
    fn f64(&mut self, field: &'static str) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.u64(field)?))
    }
    /// The limit and stop prices that `price_flags` bits 0 and 1 say follow.
    fn optional_prices(
        &mut self,
        flags: u8,
    ) -> Result<(Option<Price>, Option<Price>), DecodeError> {
        let limit = if flags & 1 != 0 {
            Some(self.price("limit_price")?)
        } else {
            None
        };
        let stop = if flags & 2 != 0 {
            Some(self.price("stop_price")?)
        } else {
            None
        };
        Ok((limit, stop))
    }
    fn price(&mut self, field: &'static str) -> Result<Price, DecodeError> {
        Price::from_raw(self.i64(field)?).map_err(|_| DecodeError::BadPrice { field })
    }
    fn qty(&mut self, field: &'static str) -> Result<Quantity, DecodeError> {
        Ok(Quantity::from_raw(self.i64(field)?))
    }
    fn money(&mut self, field: &'static str) -> Result<Money, DecodeError> {
        Ok(Money::from_raw(self.i64(field)?))
    }
    fn symbol(&mut self) -> Result<SymbolId, DecodeError> {
        Ok(SymbolId(self.u32("symbol")?))
    }
    fn side(&mut self) -> Result<Side, DecodeError> {
        let code = self.u8("side")?;
        Side::from_code(code).ok_or(DecodeError::UnknownCode {
            field: "side",
            code,
        })
    }
    fn reason(&mut self) -> Result<Reason, DecodeError> {
        let rule = RuleId(self.u16("reason.rule")?);
        let count = self.u8("reason.count")? as usize;
        if count > MAX_REASON_VALUES {
            return Err(DecodeError::TooMany {
                field: "reason.values",
                count,
                max: MAX_REASON_VALUES,
            });
        }
        let mut values = [0i64; MAX_REASON_VALUES];
        for v in values.iter_mut().take(count) {
            *v = self.i64("reason.values")?;
        }
        Reason::from_raw(rule, &values[..count]).ok_or(DecodeError::TooMany {
            field: "reason.values",
            count,
            max: MAX_REASON_VALUES,
        })
    }
}

/// Decodes an intact event frame (checksum already verified by the reader).
pub fn decode_event(frame: &[u8]) -> Result<Event, DecodeError> {
    let h = FrameHeader::parse(frame).ok_or(DecodeError::Truncated {
        field: "frame header",
    })?;
    let kind = EventKind::from_code(h.kind).ok_or(DecodeError::UnknownKind { code: h.kind })?;
    let count = h.cause_count as usize;
    if count > MAX_CAUSES {
        return Err(DecodeError::TooMany {
            field: "causes",
            count,
            max: MAX_CAUSES,
        });
    }
    let mut t = Take {
        rest: frame
            .get(FRAME_HEADER_LEN..)
            .ok_or(DecodeError::Truncated { field: "causes" })?,
    };
    let mut causes = Causes::NONE;
    for _ in 0..count {
        let cause = t.u64("causes")?;
        if cause >= h.seq {
            return Err(DecodeError::CauseNotEarlier { cause });
        }
        causes.push(Seq(cause)).map_err(|_| DecodeError::TooMany {
            field: "causes",
            count,
            max: MAX_CAUSES,
        })?;
    }
    let body = match kind {
        EventKind::RunStarted => EventBody::RunStarted(RunStarted {
            config_digest: t.array("config_digest")?,
            initial_cash: t.money("initial_cash")?,
            symbols: t.u32("symbols")?,
        }),
        EventKind::Bar => {
            let symbol = t.symbol()?;
            let open = t.price("open")?;
            let high = t.price("high")?;
            let low = t.price("low")?;
            let close = t.price("close")?;
            let volume = t.qty("volume")?;
            EventBody::Bar(Bar::new(symbol, open, high, low, close, volume)?)
        }
        EventKind::DataQuarantined | EventKind::DataWarning => {
            let note = DataNote {
                symbol: t.symbol()?,
                input: t.u32("input")?,
                row: t.u64("row")?,
                reason: t.reason()?,
            };
            if kind == EventKind::DataQuarantined {
                EventBody::DataQuarantined(note)
            } else {
                EventBody::DataWarning(note)
            }
        }
        EventKind::Feature => {
            let feature = Feature {
                symbol: t.symbol()?,
                feature: FeatureId(t.u32("feature")?),
                input: t.u32("input")?,
                row: t.u64("row")?,
                value: t.f64("value")?,
            };
            if !feature.value.is_finite() {
                return Err(DecodeError::NotFinite { field: "value" });
            }
            EventBody::Feature(feature)
        }
        EventKind::BorrowCharged => EventBody::BorrowCharged(BorrowCharged {
            symbol: t.symbol()?,
            amount: t.money("amount")?,
            reason: t.reason()?,
        }),
        EventKind::OrderAmended => {
            let order = OrderId(t.u64("order")?);
            let symbol = t.symbol()?;
            let flags = t.u8("price_flags")?;
            if flags > 0b11 {
                return Err(DecodeError::UnknownCode {
                    field: "price_flags",
                    code: flags,
                });
            }
            let remaining = t.qty("remaining")?;
            let (limit_price, stop_price) = t.optional_prices(flags)?;
            EventBody::OrderAmended(OrderAmended {
                order,
                symbol,
                remaining,
                limit_price,
                stop_price,
                reason: t.reason()?,
            })
        }
        EventKind::CircuitBreakerTripped => EventBody::CircuitBreakerTripped(BreakerChange {
            reason: t.reason()?,
        }),
        EventKind::CircuitBreakerReset => EventBody::CircuitBreakerReset(BreakerChange {
            reason: t.reason()?,
        }),
        EventKind::Signal => {
            let symbol = t.symbol()?;
            let code = t.u8("direction")?;
            let direction = Direction::from_code(code).ok_or(DecodeError::UnknownCode {
                field: "direction",
                code,
            })?;
            EventBody::Signal(Signal {
                symbol,
                direction,
                strength: t.f64("strength")?,
                reason: t.reason()?,
            })
        }
        EventKind::Target => EventBody::Target(Target {
            symbol: t.symbol()?,
            position: t.qty("position")?,
            reason: t.reason()?,
        }),
        EventKind::OrderSubmitted => {
            let order = OrderId(t.u64("order")?);
            let symbol = t.symbol()?;
            let side = t.side()?;
            let code = t.u8("order_type")?;
            let order_type = OrderType::from_code(code).ok_or(DecodeError::UnknownCode {
                field: "order_type",
                code,
            })?;
            let tif_code = t.u8("time_in_force")?;
            let flags = t.u8("price_flags")?;
            if flags > 0b1_1111 {
                return Err(DecodeError::UnknownCode {
                    field: "price_flags",
                    code: flags,
                });
            }
            let quantity = t.qty("quantity")?;
            let (limit_price, stop_price) = t.optional_prices(flags)?;
            let trail = if flags & 4 != 0 {
                let code = t.u8("trail_kind")?;
                let value = t.i64("trail")?;
                Some(match code {
                    0 => Trail::Price(
                        Price::from_raw(value)
                            .map_err(|_| DecodeError::BadPrice { field: "trail" })?,
                    ),
                    1 => {
                        Trail::Ppm(u32::try_from(value).map_err(|_| DecodeError::UnknownCode {
                            field: "trail",
                            code: 1,
                        })?)
                    }
                    other => {
                        return Err(DecodeError::UnknownCode {
                            field: "trail_kind",
                            code: other,
                        })
                    }
                })
            } else {
                None
            };
            let bars = if flags & 8 != 0 {
                Some(t.u32("good_for_bars")?)
            } else {
                None
            };
            let cycle = if flags & 16 != 0 {
                Some(t.u32("cycle")?)
            } else {
                None
            };
            let time_in_force =
                TimeInForce::from_code(tif_code, bars).ok_or(DecodeError::UnknownCode {
                    field: "time_in_force",
                    code: tif_code,
                })?;
            EventBody::OrderSubmitted(OrderSubmitted {
                order,
                symbol,
                side,
                order_type,
                time_in_force,
                quantity,
                limit_price,
                stop_price,
                trail,
                cycle,
                reason: t.reason()?,
            })
        }
        EventKind::OrderRejected => EventBody::OrderRejected(OrderRejected {
            order: OrderId(t.u64("order")?),
            symbol: t.symbol()?,
            side: t.side()?,
            quantity: t.qty("quantity")?,
            reason: t.reason()?,
        }),
        EventKind::OrderFilled => EventBody::OrderFilled(OrderFilled {
            order: OrderId(t.u64("order")?),
            symbol: t.symbol()?,
            side: t.side()?,
            quantity: t.qty("quantity")?,
            price: t.price("price")?,
            expected_price: t.price("expected_price")?,
            fee: t.money("fee")?,
            slippage: t.money("slippage")?,
            remaining: t.qty("remaining")?,
        }),
        EventKind::OrderCancelled => EventBody::OrderCancelled(OrderCancelled {
            order: OrderId(t.u64("order")?),
            symbol: t.symbol()?,
            remaining: t.qty("remaining")?,
            reason: t.reason()?,
        }),
        EventKind::PortfolioSnapshot => EventBody::PortfolioSnapshot(PortfolioSnapshot {
            cash: t.money("cash")?,
            equity: t.money("equity")?,
            gross_exposure: t.money("gross_exposure")?,
            net_exposure: t.money("net_exposure")?,
            realised_pnl: t.money("realised_pnl")?,
            unrealised_pnl: t.money("unrealised_pnl")?,
            fees: t.money("fees")?,
            open_positions: t.u32("open_positions")?,
        }),
        EventKind::RunFinished => EventBody::RunFinished(RunFinished {
            bars: t.u64("bars")?,
            orders: t.u64("orders")?,
            fills: t.u64("fills")?,
            rejections: t.u64("rejections")?,
            final_equity: t.money("final_equity")?,
            peak_equity: t.money("peak_equity")?,
            max_drawdown: t.f64("max_drawdown")?,
        }),
    };
    check_padding(t.rest)?;
    Ok(Event {
        seq: Seq(h.seq),
        ts: Ts(h.ts),
        causes,
        body,
    })
}

/// The payload ends here: what is left must be zero padding shorter than 8 bytes.
fn check_padding(rest: &[u8]) -> Result<(), DecodeError> {
    if rest.len() >= 8 {
        return Err(DecodeError::TrailingBytes { extra: rest.len() });
    }
    if rest.iter().any(|&b| b != 0) {
        return Err(DecodeError::NonZeroPadding);
    }
    Ok(())
}

/// Decodes an intact block seal frame.
pub fn decode_seal(frame: &[u8]) -> Result<BlockSealed, DecodeError> {
    let mut t = Take {
        rest: frame
            .get(FRAME_HEADER_LEN..)
            .ok_or(DecodeError::Truncated { field: "seal" })?,
    };
    let seal = BlockSealed {
        block: t.u64("block")?,
        frames: t.u32("frames")?,
        bytes: t.u32("bytes")?,
        chain: t.array("chain")?,
    };
    check_padding(t.rest)?;
    Ok(seal)
}

/// Decodes an intact trailer frame.
pub fn decode_trailer(frame: &[u8]) -> Result<LedgerClosed, DecodeError> {
    let mut t = Take {
        rest: frame
            .get(FRAME_HEADER_LEN..)
            .ok_or(DecodeError::Truncated { field: "trailer" })?,
    };
    let events = t.u64("events")?;
    let blocks = t.u64("blocks")?;
    let fingerprint = t.array("fingerprint")?;
    let code = t.u8("repaired")?;
    if code > 1 {
        return Err(DecodeError::UnknownCode {
            field: "repaired",
            code,
        });
    }
    check_padding(t.rest)?;
    Ok(LedgerClosed {
        events,
        blocks,
        fingerprint,
        repaired: code == 1,
    })
}
