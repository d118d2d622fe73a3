//! The look-ahead fuzzer: the prefix property over many cuts, and fill timing.
//!
//! For each cut `c` (a bar time drawn from a seeded stream), the market keeps its past and
//! gets a differently seeded future after `c`; every event with `ts ≤ c` must then be
//! byte-identical to the original run's. A strategy that reads a future bar fails this. The
//! original run is also checked for fills on the very bar their order was decided on (the
//! `same_bar_close` execution option): information-wise no leak, but a price nobody could
//! trade at, so it is flagged too.
//!
//! # Known limitations
//! - The original run's frames are held in memory (about 90 bytes per event).
//! - File data gets its other future by perturbation (a seeded random walk on prices after
//!   the cut), not by a model of the data; so do feature values (seeded noise), whatever the
//!   market.

use std::collections::BTreeMap;

use tape_engine::core::Core;
use tape_engine::event::Bar;
use tape_engine::event::{Event, EventKind};
use tape_engine::fixed::Price;
use tape_engine::ledger::frame::{decode_event, FrameHeader};
use tape_engine::rng::{seed_from_u64, SeededRng};
use tape_engine::sequencer::{Sequencer, SequencerError, SourcedInput, TimedInput};
use tape_engine::time::Ts;
use tape_scenarios::loader::LoadError;

use crate::drive::{BarSource, RunError};
use crate::plan::RunPlan;

/// Builds the core and the bar source of one run: the original (`future = None`) or one
/// whose market takes another future after a cut.
pub type RunFactory<'a> = dyn Fn(&RunPlan, Option<(Ts, [u8; 32])>) -> (Core, BarSource) + 'a;

/// The factory for shipped strategies: the plan's own core and its market with another
/// future — re-seeded for a synthetic market, a perturbed copy for file data.
pub fn plan_factory(plan: &RunPlan, future: Option<(Ts, [u8; 32])>) -> (Core, BarSource) {
    let (mut sources, perturb_bars): (Vec<BarSource>, bool) = match plan.synthetic_market() {
        Some(market) => {
            let market = match future {
                Some((cut, seed)) => market.with_future_after(cut, seed),
                None => market,
            };
            let market: BarSource =
                Box::new(market.map(|r| r.map(Into::into).map_err(|never| match never {})));
            (vec![market], false)
        }
        None => (
            plan.data
                .as_ref()
                .expect("fuzz checks the plan has its market")
                .sources(),
            true,
        ),
    };
    sources.extend(plan.feature_sources());
    if sources.len() == 1 && !perturb_bars {
        // A synthetic market alone needs no merging (and no perturbation: it was re-seeded).
        let market = sources.pop().expect("one source");
        return (plan.core(), market);
    }
    let merged = Sequencer::new(sources).map(|r| {
        r.map_err(|e| match e {
            SequencerError::Source(e) => e,
            other => LoadError::Open {
                file: "market".to_string(),
                detail: other.to_string(),
            },
        })
    });
    let source: BarSource = match future {
        Some((cut, seed)) => Box::new(Perturbed::new(
            merged,
            cut,
            seed,
            plan.header.symbols.len(),
            perturb_bars,
        )),
        None => Box::new(merged),
    };
    (plan.core(), source)
}

/// Inputs with a different future: after the cut, file bars have every price scaled by a
/// per-symbol random walk (2% a bar, seeded), the same factor for a bar's open, high, low and
/// close so each bar stays consistent; feature values get seeded noise. Inputs up to the cut
/// pass unchanged. (A synthetic market is re-seeded instead: its bars pass through.)
struct Perturbed<I> {
    inner: I,
    cut: Ts,
    bars: bool,
    rngs: Vec<SeededRng>,
    factors: Vec<f64>,
    feature_rng: SeededRng,
}

impl<I> Perturbed<I> {
    fn new(inner: I, cut: Ts, seed: [u8; 32], symbols: usize, bars: bool) -> Self {
        Self {
            inner,
            cut,
            bars,
            rngs: (0..symbols as u64)
                .map(|i| SeededRng::new(seed, i + 1))
                .collect(),
            factors: vec![1.0; symbols],
            feature_rng: SeededRng::new(seed, u64::MAX),
        }
    }
}

impl<I: Iterator<Item = Result<TimedInput, LoadError>>> Iterator for Perturbed<I> {
    type Item = Result<TimedInput, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut timed = match self.inner.next()? {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        if timed.ts <= self.cut {
            return Some(Ok(timed));
        }
        match timed.input {
            SourcedInput::Bar(b) if self.bars => {
                let s = b.symbol.0 as usize;
                let (z, _) = self.rngs[s].normal_pair();
                self.factors[s] *= libm::exp(0.02 * z);
                let f = self.factors[s];
                let scale = |p: Price| Price::from_f64(p.to_f64() * f).unwrap_or(p);
                if let Ok(bar) = Bar::new(
                    b.symbol,
                    scale(b.open),
                    scale(b.high),
                    scale(b.low),
                    scale(b.close),
                    b.volume,
                ) {
                    timed.input = SourcedInput::Bar(bar);
                }
            }
            SourcedInput::Feature(mut f) => {
                let (z, _) = self.feature_rng.normal_pair();
                f.value += z * f.value.abs().max(1.0);
                timed.input = SourcedInput::Feature(f);
            }
            _ => {}
        }
        Some(Ok(timed))
    }
}

/// A cut whose prefix changed with the future.
#[derive(Clone, Debug)]
pub struct Leak {
    /// The cut.
    pub cut: Ts,
    /// The seed of the other future.
    pub future_seed: u64,
    /// Seq of the first event that differs.
    pub seq: u64,
    /// The original run's event there (`None`: the original has none).
    pub original: Option<Event>,
    /// The other future's event there (`None`: it has none).
    pub other: Option<Event>,
    /// The causal chain of `other` in the run with the other future, back to its inputs.
    pub chain: Vec<Event>,
}

/// A fill on the very bar its order was decided on.
#[derive(Clone, Debug)]
pub struct SameBarFill {
    /// The `order_submitted` event.
    pub order: Event,
    /// The fill.
    pub fill: Event,
}

/// What a fuzz found.
#[derive(Clone, Debug, Default)]
pub struct FuzzReport {
    /// Cuts tried.
    pub cuts: u32,
    /// Cuts whose prefix changed.
    pub leaking_cuts: u32,
    /// The leak with the earliest first difference (the smallest counterexample).
    pub first_leak: Option<Leak>,
    /// The first fill on its own decision bar, if any.
    pub same_bar_fill: Option<SameBarFill>,
    /// Fills checked for timing.
    pub fills_checked: u64,
}

impl FuzzReport {
    /// Whether nothing was found.
    pub fn passed(&self) -> bool {
        self.first_leak.is_none() && self.same_bar_fill.is_none()
    }
}

/// Runs the prefix property over `cuts` cuts drawn from `seed`, and the fill-timing check.
/// `on_cut` is called after each cut with the number done.
pub fn fuzz(
    plan: &RunPlan,
    factory: &RunFactory<'_>,
    cuts: u32,
    seed: u64,
    on_cut: &mut dyn FnMut(u32),
) -> Result<FuzzReport, RunError> {
    if plan.scenario.gbm().is_none() && plan.data.is_none() {
        return Err(RunError::Source(
            "this plan has no market to fork (it was rebuilt from a ledger)".to_string(),
        ));
    }
    let (core, source) = factory(plan, None);
    let mut original = Frames::default();
    run_frames(core, source, plan.start, None, &mut |frame| {
        original.push(frame);
        true
    })?;
    let mut report = FuzzReport {
        cuts,
        ..FuzzReport::default()
    };
    check_fill_timing(&original, &mut report);

    // Candidate cuts: every bar time but the last (a cut there leaves no future to change).
    let mut times: Vec<Ts> = (0..original.len())
        .filter_map(|i| original.get(i).and_then(FrameHeader::parse))
        .filter(|h| h.kind == EventKind::Bar.code())
        .map(|h| Ts(h.ts))
        .collect();
    times.dedup();
    times.pop();
    if times.is_empty() {
        return Ok(report);
    }
    let mut rng = SeededRng::new(seed_from_u64(seed), 0);
    for done in 0..cuts {
        let cut = times[rng.below(times.len() as u64) as usize];
        let future_seed = rng.next_u64();
        if let Some(leak) = check_cut(plan, factory, &original, cut, future_seed)? {
            report.leaking_cuts += 1;
            if report.first_leak.as_ref().is_none_or(|l| leak.seq < l.seq) {
                report.first_leak = Some(leak);
            }
        }
        on_cut(done + 1);
    }
    Ok(report)
}

/// Frames of one run, in one buffer.
#[derive(Default)]
struct Frames {
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl Frames {
    fn push(&mut self, frame: &[u8]) {
        self.starts.push(self.bytes.len());
        self.bytes.extend_from_slice(frame);
    }
    fn len(&self) -> usize {
        self.starts.len()
    }
    fn get(&self, i: usize) -> Option<&[u8]> {
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.bytes.len());
        Some(&self.bytes[start..end])
    }
    fn ts(&self, i: usize) -> Option<i64> {
        self.get(i).and_then(FrameHeader::parse).map(|h| h.ts)
    }
}

/// Runs with another future after `cut` and compares every frame known by the cut. Compares
/// without keeping frames; only a leaking cut is run a second time to build its chain.
fn check_cut(
    plan: &RunPlan,
    factory: &RunFactory<'_>,
    original: &Frames,
    cut: Ts,
    future_seed: u64,
) -> Result<Option<Leak>, RunError> {
    let future = Some((cut, seed_from_u64(future_seed)));
    let (core, source) = factory(plan, future);
    let mut index = 0usize;
    let mut differs_at = None;
    run_frames(core, source, plan.start, Some(cut), &mut |frame| {
        let ts = FrameHeader::parse(frame).expect("whole frame").ts;
        if ts > cut.0 {
            // Past the cut: the original must have no more events known by the cut.
            if original.ts(index).is_some_and(|t| t <= cut.0) {
                differs_at = Some(index);
            }
            return false;
        }
        if original.get(index) != Some(frame) {
            differs_at = Some(index);
            return false;
        }
        index += 1;
        true
    })?;
    if differs_at.is_none() && original.ts(index).is_some_and(|t| t <= cut.0) {
        // The other run ended while the original still had events known by the cut.
        differs_at = Some(index);
    }
    let Some(index) = differs_at else {
        return Ok(None);
    };

    // Run it again, keeping frames up to the difference, for the counterexample's chain.
    let (core, source) = factory(plan, future);
    let mut other = Frames::default();
    run_frames(core, source, plan.start, Some(cut), &mut |frame| {
        other.push(frame);
        other.len() <= index
    })?;
    let decode = |f: &[u8]| decode_event(f).expect("the core encodes decodable events");
    let other_event = other.get(index).map(decode);
    let chain = match &other_event {
        Some(e) => chain_within(&other, e.seq.0),
        None => Vec::new(),
    };
    Ok(Some(Leak {
        cut,
        future_seed,
        seq: index as u64,
        original: original.get(index).map(decode),
        other: other_event,
        chain,
    }))
}

/// The causal chain of `seq` among a run's frames (indexed by seq), in seq order.
fn chain_within(frames: &Frames, seq: u64) -> Vec<Event> {
    let mut found = BTreeMap::new();
    let mut wanted = vec![seq];
    while let Some(s) = wanted.pop() {
        if found.contains_key(&s) {
            continue;
        }
        let Some(frame) = frames.get(s as usize) else {
            continue;
        };
        let event = decode_event(frame).expect("the core encodes decodable events");
        wanted.extend(event.causes.as_slice().iter().map(|c| c.0));
        found.insert(s, event);
    }
    found.into_values().collect()
}

/// Flags the first fill whose bar is its order's own decision bar.
fn check_fill_timing(frames: &Frames, report: &mut FuzzReport) {
    let decode = |f: &[u8]| decode_event(f).expect("the core encodes decodable events");
    for i in 0..frames.len() {
        let frame = frames.get(i).expect("in range");
        let header = FrameHeader::parse(frame).expect("whole frame");
        if header.kind != EventKind::OrderFilled.code() {
            continue;
        }
        report.fills_checked += 1;
        let fill = decode(frame);
        let order_seq = fill.causes.as_slice()[0].0 as usize;
        if frames.ts(order_seq).is_some_and(|t| header.ts <= t) && report.same_bar_fill.is_none() {
            let order = decode(frames.get(order_seq).expect("a cause is an earlier seq"));
            report.same_bar_fill = Some(SameBarFill { order, fill });
        }
    }
}

/// Runs a core over a source, handing each produced frame to `on_frame` until it returns
/// false or, with `stop_after`, once inputs are past that time and their frames are seen.
fn run_frames(
    mut core: Core,
    source: BarSource,
    start: Ts,
    stop_after: Option<Ts>,
    on_frame: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<(), RunError> {
    let mut drain = |core: &mut Core| -> bool {
        let out = std::mem::take(core.output());
        let mut at = 0;
        let mut go_on = true;
        while at < out.len() && go_on {
            let len = FrameHeader::parse(&out[at..]).expect("whole frames").len as usize;
            go_on = on_frame(&out[at..at + len]);
            at += len;
        }
        let mut out = out;
        out.clear();
        *core.output() = out;
        go_on
    };
    core.start(start)?;
    for item in Sequencer::new(vec![source]) {
        let timed = item.map_err(|e| RunError::Source(e.to_string()))?;
        core.step(crate::drive::input_of(timed))?;
        if !drain(&mut core) {
            return Ok(());
        }
        if stop_after.is_some_and(|c| timed.ts > c) {
            // The slice after the cut is open; closing it could only add events after the cut.
            return Ok(());
        }
    }
    core.finish()?;
    drain(&mut core);
    Ok(())
}
