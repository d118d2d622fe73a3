//! Fixtures shared by the ledger tests.
//!
//! - [`Churn`]: a tiny deterministic strategy whose decisions make the real [`Core`] emit every
//!   event kind (signals, targets, orders, fills, both kinds of rejection, cancels at the end).
//! - [`run_core`] / [`write_ledger`]: a run of the real core, written through the real writer.
//! - [`spans`]: a frame walker that reads the file's length prefixes itself, so the damage
//!   tests never check the reader against the reader.
//! - [`fixture`]: one small multi-block ledger, built once per test binary.
//! - [`events`]: proptest generators of arbitrary valid events of every kind.

// Shared by several test binaries, each of which uses a part.
#![allow(dead_code)]

pub mod events;

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use tape_engine::core::{Core, CoreConfig, Input};
use tape_engine::event::{
    Bar, DataNote, Direction, Event, Feature, FeatureId, Reason, ReasonValue, RuleId, RuleSpec,
    RuleTable, SymbolId, Unit,
};
use tape_engine::execution::CostModel;
use tape_engine::fixed::{Money, Price, Quantity, PRICE_SCALE};
use tape_engine::ledger::frame::{decode_event, KIND_BLOCK_SEALED, KIND_LEDGER_CLOSED};
use tape_engine::ledger::{
    FsyncPolicy, Header, InputSource, LedgerReadError, LedgerReader, LedgerSummary, LedgerWriter,
    WriterSummary,
};
use tape_engine::market::MarketView;
use tape_engine::risk::RiskLimits;
use tape_engine::rng::seed_from_u64;
use tape_engine::rules::ENGINE_RULES;
use tape_engine::strategy::{Decisions, Strategy};
use tape_engine::time::{Ts, NANOS_PER_MINUTE};

/// The run's symbol table. `DARK` never gets a bar, so a target on it is refused.
pub const SYMBOLS: [&str; 3] = ["AAA", "BBB", "DARK"];
/// When the fixture runs start: 20:56 UTC, so their minute bars cross midnight at slice 183,
/// while `Churn` is short symbol 1 (its target of slice 180), and a day's borrow fee is
/// charged.
pub const START: Ts = Ts(Ts::from_date(2024, 1, 2).0 + (20 * 60 + 56) * NANOS_PER_MINUTE);
/// Time slices in the fixture ledger: enough for a few 64 KiB blocks.
pub const FIXTURE_SLICES: usize = 300;

const CHURN_SIZE: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "test_size",
    summary: "Test strategy: a fixed target position, changed every slice.",
    fields: &[("slice", Unit::Int)],
};

const CHURN_FLIP: RuleSpec = RuleSpec {
    id: RuleId::strategy(1),
    name: "test_flip",
    summary: "Test strategy: flips long/short every fourth slice.",
    fields: &[("slice", Unit::Int), ("close", Unit::Price)],
};

/// The test strategy's rules.
pub const CHURN_RULES: &[RuleSpec] = &[CHURN_SIZE, CHURN_FLIP];

/// A strategy that trades on a fixed schedule, whatever the prices, so runs with different
/// prices have the same event layout. Per slice `n`:
/// - symbol 0: a new target every slice (so an order is always working when the run ends and
///   gets cancelled);
/// - symbol 1: a signal and a target behind it every fourth slice;
/// - symbol 1: an unaffordable target when `n % 17 == 8` (refused: insufficient cash);
/// - symbol 2: a target when `n % 29 == 3` (refused: no market price).
pub struct Churn {
    slice: i64,
    /// Also a trailing stop at slice 1 (its moves depend on prices).
    trailing: bool,
}

impl Churn {
    /// A fresh strategy; with `trailing`, it also places a far trailing stop at slice 1,
    /// which then moves with the highs (`order_amended`).
    pub fn new(trailing: bool) -> Self {
        Self { slice: 0, trailing }
    }
}

impl Strategy for Churn {
    fn rules(&self) -> &'static [RuleSpec] {
        CHURN_RULES
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        let n = self.slice;
        self.slice += 1;
        let units = |u: i64| Quantity::from_units(u).expect("small unit counts fit");
        let size = Reason::new(CHURN_SIZE.id, &[ReasonValue::Int(n)]);
        let sign = if n % 2 == 0 { 1 } else { -1 };
        out.target(SymbolId(0), units(sign * (n % 3 + 1)), size, None);
        if n % 4 == 0 {
            if let Some(bar) = view.latest(SymbolId(1)) {
                let long = n % 8 == 0;
                let direction = if long {
                    Direction::Long
                } else {
                    Direction::Short
                };
                let reason = Reason::new(
                    CHURN_FLIP.id,
                    &[ReasonValue::Int(n), ReasonValue::Price(bar.close)],
                );
                let strength = (n % 7) as f64 / 6.0;
                let signal = out.signal(SymbolId(1), direction, strength, reason);
                out.target(
                    SymbolId(1),
                    units(if long { 10 } else { -10 }),
                    reason,
                    Some(signal),
                );
            }
        }
        if n % 17 == 8 {
            out.target(SymbolId(1), units(1_000_000_000), size, None);
        }
        if n % 29 == 3 {
            out.target(SymbolId(2), units(5), size, None);
        }
        if self.trailing && n == 1 {
            let request = tape_engine::strategy::OrderRequest {
                symbol: SymbolId(0),
                side: tape_engine::event::Side::Sell,
                quantity: units(1),
                kind: tape_engine::execution::OrderKind::TrailingStop {
                    trail: tape_engine::event::Trail::Price(
                        Price::from_raw(50 * PRICE_SCALE).expect("positive"),
                    ),
                    stop: Price::from_raw(PRICE_SCALE).expect("positive"),
                },
                time_in_force: tape_engine::event::TimeInForce::Gtc,
            };
            out.order(request, size, None);
        }
    }
}

/// A small xorshift generator: test inputs need variety, not quality.
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next word.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Bars for symbols 0 and 1, one pair per minute: a random walk around 100, in whole raw
/// units (no float), always a consistent bar.
pub fn market(slices: usize, price_seed: u64) -> Vec<(Ts, Bar)> {
    let mut rng = XorShift::new(price_seed);
    let mut last = [100 * PRICE_SCALE; 2];
    let mut out = Vec::with_capacity(slices * 2);
    for i in 0..slices {
        let ts = Ts(START.0 + (i as i64 + 1) * NANOS_PER_MINUTE);
        for (s, prev) in last.iter_mut().enumerate() {
            let open = *prev;
            let step = rng.below(2 * PRICE_SCALE as u64 + 1) as i64 - PRICE_SCALE;
            let close = (open + step).clamp(50 * PRICE_SCALE, 200 * PRICE_SCALE);
            let high = open.max(close) + rng.below(PRICE_SCALE as u64 / 2) as i64;
            let low = open.min(close) - rng.below(PRICE_SCALE as u64 / 2) as i64;
            let price = |raw| Price::from_raw(raw).expect("the walk stays above 49");
            let volume = Quantity::from_units(rng.below(10_000) as i64).expect("fits");
            let bar = Bar::new(
                SymbolId(s as u32),
                price(open),
                price(high),
                price(low),
                price(close),
                volume,
            )
            .expect("high/low bracket open and close by construction");
            out.push((ts, bar));
            *prev = close;
        }
    }
    out
}

/// A header for a run of [`Churn`] on [`SYMBOLS`]. The configuration text decides the salt.
pub fn header(config: &str) -> Header {
    let rules = RuleTable::from_specs(ENGINE_RULES.iter().chain(CHURN_RULES))
        .expect("engine and test rule ids are distinct");
    let inputs = vec![InputSource {
        name: "xorshift-walk".to_string(),
        blake3: *blake3::hash(b"xorshift-walk").as_bytes(),
    }];
    Header::new(
        seed_from_u64(7),
        "ledger-properties".to_string(),
        SYMBOLS.iter().map(|s| s.to_string()).collect(),
        inputs,
        rules,
        config.to_string(),
    )
    .with_features(vec!["sentiment".to_string(), "surprise".to_string()])
}

/// Runs the real core over [`market`] and returns every frame it encoded, in order.
/// With `breaker`, a circuit breaker that trips on two losing exits in a row and resets three
/// slices later, and a trailing stop that moves, so the run holds those event kinds too (its
/// layout then depends on the prices; without them it does not).
pub fn run_core(header: &Header, slices: usize, price_seed: u64, breaker: bool) -> Vec<u8> {
    let config = CoreConfig {
        initial_cash: Money::from_units(1_000_000).expect("fits"),
        costs: CostModel {
            slippage_bps: 5,
            fee_bps: 2,
            ..CostModel::default()
        },
        snapshot_every: 2,
        fill_timing: tape_engine::execution::FillTiming::NextBarOpen,
        participation_ppm: 0,
        tick_size: None,
        lot_size: None,
        risk: if breaker {
            RiskLimits {
                breaker_losses: Some(2),
                breaker_reset: tape_engine::risk::BreakerReset::AfterSlices(3),
                ..RiskLimits::default()
            }
        } else {
            RiskLimits::default()
        },
        latency_bars: 0,
        latency_ns: 0,
    };
    let mut core = Core::new(
        header.salt,
        header.config_digest(),
        config,
        header.symbols.len(),
        Box::new(Churn::new(breaker)),
    )
    .with_features(header.features.clone());
    if breaker {
        // A 3% annual borrow fee on the shorts Churn keeps taking.
        core = core.with_borrow_fee(30_000);
    }
    core.start(START).expect("a new core starts");
    for (i, (ts, bar)) in market(slices, price_seed).into_iter().enumerate() {
        // Now and then the data guard's notes, as a file market would send them.
        if i % 97 == 5 {
            let note = DataNote {
                symbol: bar.symbol,
                input: 0,
                row: i as u64 + 2,
                reason: Reason::new(
                    RuleId(68),
                    &[
                        ReasonValue::Real(1.0),
                        ReasonValue::Real(2.5),
                        ReasonValue::Real(2.5),
                    ],
                ),
            };
            core.step(Input::Data {
                ts,
                quarantined: i % 2 == 0,
                note,
            })
            .expect("a note in time order");
            core.step(Input::Data {
                ts,
                quarantined: i % 2 == 1,
                note,
            })
            .expect("a note in time order");
        }
        // And now and then a point-in-time feature value.
        if i % 53 == 7 {
            let feature = Feature {
                symbol: bar.symbol,
                feature: FeatureId((i % 2) as u32),
                input: 1,
                row: i as u64 + 2,
                value: (i as f64 - 100.0) / 8.0,
            };
            core.step(Input::Feature { ts, feature })
                .expect("a feature in time order");
        }
        core.step(Input::Bar { ts, bar })
            .expect("the market is valid and in time order");
    }
    core.finish().expect("a running core finishes");
    std::mem::take(core.output())
}

/// Start offsets of the frames in a buffer of whole frames (as the core hands them over).
pub fn frame_starts(frames: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < frames.len() {
        starts.push(at);
        at += le_u32(frames, at) as usize;
    }
    assert_eq!(at, frames.len(), "the buffer holds whole frames");
    starts
}

/// A buffer of whole frames, split into its frames.
pub fn split_frames(frames: &[u8]) -> Vec<&[u8]> {
    let mut ends = frame_starts(frames);
    ends.push(frames.len());
    ends.windows(2).map(|w| &frames[w[0]..w[1]]).collect()
}

/// Writes `frames` through the real writer into a new ledger at `path`, handing them over in
/// pieces that end at the given frame-start offsets (plus the end).
pub fn write_ledger(path: &Path, header: &Header, frames: &[u8], cuts: &[usize]) -> WriterSummary {
    let mut writer = LedgerWriter::create(path, header, FsyncPolicy::Never, true)
        .expect("the temp dir is writable");
    let mut buf = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().filter(|&&c| c > 0 && c < frames.len()) {
        buf.extend_from_slice(&frames[from..cut]);
        buf = writer.submit(buf).expect("writing to a temp file works");
        from = cut;
    }
    buf.extend_from_slice(&frames[from..]);
    writer.finish(buf).expect("writing to a temp file works")
}

/// One frame of a ledger file, as found by walking length prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Byte offset in the file.
    pub offset: usize,
    /// Frame length.
    pub len: usize,
    /// Frame kind code (event kind, seal or trailer).
    pub kind: u16,
}

impl Span {
    /// One past the frame's last byte.
    pub fn end(&self) -> usize {
        self.offset + self.len
    }

    /// Whether the frame holds an event (not a seal or the trailer).
    pub fn is_event(&self) -> bool {
        self.kind != KIND_BLOCK_SEALED && self.kind != KIND_LEDGER_CLOSED
    }
}

/// A little-endian `u32` at `at`.
pub fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// The header length stored in a ledger file (bytes 12..16).
pub fn header_len(file: &[u8]) -> usize {
    le_u32(file, 12) as usize
}

/// Every frame of an undamaged ledger file, found from the length prefixes alone.
pub fn spans(file: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut at = header_len(file);
    while at < file.len() {
        let len = le_u32(file, at) as usize;
        let kind = u16::from_le_bytes([file[at + 12], file[at + 13]]);
        out.push(Span {
            offset: at,
            len,
            kind,
        });
        at += len;
    }
    assert_eq!(
        at,
        file.len(),
        "an undamaged ledger ends at a frame boundary"
    );
    out
}

/// Verifies an in-memory ledger from start to trailer.
pub fn verify_bytes(file: Vec<u8>) -> Result<LedgerSummary, LedgerReadError> {
    LedgerReader::new(Cursor::new(file))?.verify_to_end()
}

/// Event frames as read: each one's file offset and bytes.
pub type EventFrames = Vec<(u64, Vec<u8>)>;

/// Reads an in-memory ledger to its trailer, returning each event frame's offset and bytes.
pub fn read_event_frames(file: Vec<u8>) -> Result<(EventFrames, LedgerSummary), LedgerReadError> {
    let mut reader = LedgerReader::new(Cursor::new(file))?;
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_event()? {
        frames.push((frame.offset, frame.bytes.to_vec()));
    }
    let summary = reader.summary()?;
    Ok((frames, summary))
}

/// A small complete ledger (a few blocks), with what went into it.
pub struct Fixture {
    /// Its header.
    pub header: Header,
    /// The core's frames, as handed to the writer.
    pub frames: Vec<u8>,
    /// The events those frames decode to.
    pub events: Vec<Event>,
    /// The whole ledger file.
    pub file: Vec<u8>,
    /// What the writer reported.
    pub summary: WriterSummary,
    /// The file's frames.
    pub spans: Vec<Span>,
}

impl Fixture {
    /// The first span of a kind, if any.
    pub fn first_of(&self, kind: u16) -> Option<Span> {
        self.spans.iter().copied().find(|s| s.kind == kind)
    }

    /// The trailer's span (always the last).
    pub fn trailer(&self) -> Span {
        *self.spans.last().expect("a complete ledger has a trailer")
    }
}

/// Builds a fixture: a run of [`Churn`] over `slices` slices, written to a temp file.
pub fn build_fixture(config: &str, slices: usize, price_seed: u64, breaker: bool) -> Fixture {
    let header = header(config);
    let frames = run_core(&header, slices, price_seed, breaker);
    let events = split_frames(&frames)
        .into_iter()
        .map(|f| decode_event(f).expect("the core encodes decodable frames"))
        .collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("fixture.tape");
    let summary = write_ledger(&path, &header, &frames, &[]);
    let file = std::fs::read(&path).expect("the ledger was just written");
    let spans = spans(&file);
    Fixture {
        header,
        frames,
        events,
        file,
        summary,
        spans,
    }
}

/// The shared fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| build_fixture("[run]\nname = \"fixture\"\n", FIXTURE_SLICES, 1, true))
}
