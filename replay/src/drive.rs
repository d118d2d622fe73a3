//! Driving the core: a run that writes a ledger, and a replay that re-derives one.

use std::path::Path;

use hdrhistogram::Histogram;

use tape_engine::core::{Core, Input, RunStats, StepError};
use tape_engine::event::{Event, EventBody, EventClass, EventKind};
use tape_engine::ledger::frame::{decode_event, FrameHeader};
use tape_engine::ledger::prefetch::Frame;
use tape_engine::ledger::{
    DurableReport, FsyncPolicy, Header, LedgerReadError, LedgerReader, LedgerSummary,
    LedgerWriteError, LedgerWriter, PrefetchedFrames, WriterSummary, HANDOFF_BYTES,
};
use tape_engine::sequencer::{Sequencer, SequencerError, SourcedInput, TimedInput};
use tape_engine::time::Ts;

use crate::plan::{PlanError, RunPlan};

/// How often (in bars or events) progress is reported.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The ledger could not be written.
    #[error(transparent)]
    Write(#[from] LedgerWriteError),
    /// The core refused an input.
    #[error("the run stopped: {0}")]
    Step(#[from] StepError),
    /// An input source failed.
    #[error("the run stopped: {0}")]
    Source(String),
    /// A data file failed (its row, or the data guard).
    #[error("the run stopped: {0}")]
    Data(#[from] tape_scenarios::loader::LoadError),
    /// The plan cannot supply what the run needs.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// What a finished run produced.
#[derive(Clone, Copy, Debug)]
pub struct RunOutcome {
    /// Counts and figures from the core.
    pub stats: RunStats,
    /// What the writer wrote.
    pub ledger: WriterSummary,
}

pub use tape_scenarios::loader::BarSource;

/// Feeds the core from `sources` (merged by the sequencer) and hands its frames to `writer`. `on_progress` is called
/// every [`PROGRESS_EVERY`] bars with the bars done. With `latency`, the wall time of every
/// step (the input event, everything it derives and any hand-off to the writer) is recorded
/// in nanoseconds.
pub fn run_with_writer(
    plan: &RunPlan,
    mut core: Core,
    mut writer: LedgerWriter,
    sources: Vec<BarSource>,
    on_progress: &mut dyn FnMut(u64),
    mut latency: Option<&mut Histogram<u64>>,
) -> Result<RunOutcome, RunError> {
    core.start(plan.start)?;
    let mut bars = 0u64;
    for item in Sequencer::new(sources) {
        let timed = item.map_err(|e| match e {
            SequencerError::Source(e) => RunError::Data(e),
            other => RunError::Source(other.to_string()),
        })?;
        let started = latency.is_some().then(crate::cmd::now);
        core.step(input_of(timed))?;
        if core.output().len() >= HANDOFF_BYTES {
            let full = std::mem::take(core.output());
            *core.output() = writer.submit(full)?;
        }
        if let (Some(histogram), Some(started)) = (latency.as_deref_mut(), started) {
            histogram.saturating_record(started.elapsed().as_nanos() as u64);
        }
        bars += 1;
        if bars.is_multiple_of(PROGRESS_EVERY) {
            on_progress(bars);
        }
    }
    let stats = core.finish()?;
    let ledger = writer.finish(std::mem::take(core.output()))?;
    on_progress(bars);
    Ok(RunOutcome { stats, ledger })
}

/// Runs a plan into a new ledger at `path`.
pub fn run_to_ledger(
    plan: &RunPlan,
    path: &Path,
    fsync: FsyncPolicy,
    replace: bool,
    on_progress: &mut dyn FnMut(u64),
) -> Result<RunOutcome, RunError> {
    run_to_ledger_reporting(plan, path, fsync, replace, None, on_progress)
}

/// [`run_to_ledger`], with `report` called after every sync with the ledger's durable size.
pub fn run_to_ledger_reporting(
    plan: &RunPlan,
    path: &Path,
    fsync: FsyncPolicy,
    replace: bool,
    report: Option<DurableReport>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<RunOutcome, RunError> {
    let writer = LedgerWriter::create_reporting(path, &plan.header, fsync, replace, report)?;
    run_with_writer(
        plan,
        plan.core(),
        writer,
        plan.sources()?,
        on_progress,
        None,
    )
}

/// The first place where re-execution disagrees with the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// The seq where they differ.
    pub seq: u64,
    /// What the ledger recorded there (`None`: the ledger ends).
    pub expected: Option<Event>,
    /// What the core produced there (`None`: the core produced nothing more).
    pub actual: Option<Event>,
    /// Why the core produced nothing, when it refused the recorded input.
    pub note: Option<String>,
}

/// How a replay ended.
#[derive(Clone, Debug)]
pub enum ReplayVerdict {
    /// Every derived event re-derived byte for byte.
    Identical(LedgerSummary),
    /// They differ; here is the first place.
    Diverged(Box<Divergence>),
}

/// Why a replay could not complete.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The ledger is unreadable or damaged.
    #[error(transparent)]
    Read(#[from] LedgerReadError),
    /// The recorded configuration cannot be re-executed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The re-derived ledger could not be written.
    #[error(transparent)]
    Write(#[from] LedgerWriteError),
}

/// Where a replay writes the ledger it re-derives: the recorded inputs and the derived
/// events as the core produced them again (identical bytes when the replay is OK).
pub struct ReplayCopy {
    writer: LedgerWriter,
    buffer: Vec<u8>,
}

impl ReplayCopy {
    /// A copy with `header` (the recorded ledger's) into `path`.
    pub fn create(path: &Path, header: &Header, replace: bool) -> Result<Self, LedgerWriteError> {
        Ok(Self {
            writer: LedgerWriter::create(path, header, FsyncPolicy::End, replace)?,
            buffer: Vec::new(),
        })
    }

    fn push(&mut self, frame: &[u8]) -> Result<(), LedgerWriteError> {
        self.buffer.extend_from_slice(frame);
        if self.buffer.len() >= HANDOFF_BYTES {
            let full = std::mem::take(&mut self.buffer);
            self.buffer = self.writer.submit(full)?;
        }
        Ok(())
    }

    /// Seals the copy.
    pub fn finish(self) -> Result<WriterSummary, LedgerWriteError> {
        self.writer.finish(self.buffer)
    }
}

/// The core's output not yet matched against the ledger.
struct Produced {
    bytes: Vec<u8>,
    at: usize,
}

impl Produced {
    fn next_frame(&mut self, core: &mut Core) -> Option<&[u8]> {
        if self.at == self.bytes.len() {
            self.bytes.clear();
            self.at = 0;
            std::mem::swap(&mut self.bytes, core.output());
        }
        if self.at == self.bytes.len() {
            return None;
        }
        let len = FrameHeader::parse(&self.bytes[self.at..])
            .expect("the core writes whole frames")
            .len as usize;
        let frame = &self.bytes[self.at..self.at + len];
        self.at += len;
        Some(frame)
    }

    fn is_empty(&self, core: &mut Core) -> bool {
        self.at == self.bytes.len() && core.output().is_empty()
    }
}

fn decode_produced(frame: &[u8]) -> Event {
    decode_event(frame).expect("the core encodes only decodable events")
}

/// Re-executes the core on a ledger's recorded inputs and compares every event byte for
/// byte. Makes no call to the outside world: everything comes from the ledger.
pub fn replay_ledger(
    path: &Path,
    on_progress: &mut dyn FnMut(u64),
) -> Result<ReplayVerdict, ReplayError> {
    replay_ledger_into(path, on_progress, None)
}

/// [`replay_ledger`], handing every input and every re-derived event to `copy` as it goes.
/// The copy is complete only when the verdict is [`ReplayVerdict::Identical`]; the caller
/// seals it then ([`ReplayCopy::finish`]) and discards it otherwise.
pub fn replay_ledger_into(
    path: &Path,
    on_progress: &mut dyn FnMut(u64),
    mut copy: Option<&mut ReplayCopy>,
) -> Result<ReplayVerdict, ReplayError> {
    // Checksums and the hash chain are verified on a reader thread, ahead of re-execution.
    let mut reader = PrefetchedFrames::open(path)?;
    let plan = RunPlan::from_header(reader.header())?;
    let mut core = plan.core();
    let mut produced = Produced {
        bytes: Vec::new(),
        at: 0,
    };
    let mut finished = false;
    let mut events = 0u64;
    while let Some(frame) = reader.next_frame()? {
        let seq = frame.header.seq;
        let kind =
            EventKind::from_code(frame.header.kind).expect("the reader yields known kinds only");
        if produced.is_empty(&mut core) {
            // The core has nothing pending: this recorded event tells it what happens next.
            let step = match kind.class() {
                EventClass::Input => feed_input(&mut core, &decode_recorded(&frame)?),
                EventClass::Derived if !finished => match core.close_slice() {
                    Ok(()) if core.output().is_empty() => {
                        finished = true;
                        core.finish().map(|_| ())
                    }
                    other => other,
                },
                EventClass::Derived => Ok(()),
            };
            if let Err(e) = step {
                let expected = Some(decode_recorded(&frame)?);
                let note = Some(e.to_string());
                return Ok(ReplayVerdict::Diverged(Box::new(Divergence {
                    seq,
                    expected,
                    actual: None,
                    note,
                })));
            }
        }
        match produced.next_frame(&mut core) {
            Some(mine) if mine == frame.bytes => {
                if let Some(copy) = copy.as_deref_mut() {
                    // Inputs as recorded; derived events as the core made them again.
                    copy.push(mine)?;
                }
            }
            mine => {
                let actual = mine.map(decode_produced);
                let expected = Some(decode_recorded(&frame)?);
                return Ok(ReplayVerdict::Diverged(Box::new(Divergence {
                    seq,
                    expected,
                    actual,
                    note: None,
                })));
            }
        }
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            on_progress(reader.read_through());
        }
    }
    let summary = reader
        .summary()
        .expect("the reader ended at a verified trailer");
    if !summary.repaired && !finished {
        // A complete ledger ends where the core ends: nothing more may be produced.
        let _ = core.close_slice();
        if core.output().is_empty() {
            let _ = core.finish();
        }
    }
    if let Some(extra) = produced.next_frame(&mut core) {
        let actual = decode_produced(extra);
        return Ok(ReplayVerdict::Diverged(Box::new(Divergence {
            seq: actual.seq.0,
            expected: None,
            actual: Some(actual),
            note: None,
        })));
    }
    on_progress(summary.bytes);
    Ok(ReplayVerdict::Identical(summary))
}

/// Decodes a recorded frame; an intact frame that does not decode is corruption at its offset.
fn decode_recorded(frame: &Frame<'_>) -> Result<Event, LedgerReadError> {
    decode_event(frame.bytes).map_err(|e| LedgerReadError::Corrupt {
        offset: frame.offset,
        detail: format!("event {} does not decode: {e}", frame.header.seq),
    })
}

/// The core's input for a sequenced source item.
pub fn input_of(timed: TimedInput) -> Input {
    match timed.input {
        SourcedInput::Bar(bar) => Input::Bar { ts: timed.ts, bar },
        SourcedInput::Data { quarantined, note } => Input::Data {
            ts: timed.ts,
            quarantined,
            note,
        },
        SourcedInput::Feature(feature) => Input::Feature {
            ts: timed.ts,
            feature,
        },
    }
}

/// The core of a ledger's run re-executed up to and including the slice at `until`: every
/// recorded input with `ts ≤ until` folded in and that slice decided, so its strategy and
/// portfolio are as they were at that bar's close. (The debugger: nothing is compared.)
pub fn core_at(path: &Path, until: Ts) -> Result<(Core, RunPlan), ReplayError> {
    let mut reader = LedgerReader::open(path)?;
    let plan = RunPlan::from_header(reader.header())?;
    let mut core = plan.core();
    while let Some(frame) = reader.next_event()? {
        if frame.header.ts > until.0 {
            break;
        }
        let kind = frame.kind();
        if kind.class() == EventClass::Input {
            let event = frame.decode()?;
            feed_input(&mut core, &event).map_err(|e| {
                ReplayError::Read(LedgerReadError::Corrupt {
                    offset: frame.offset,
                    detail: format!("the recorded input {} was refused: {e}", event.seq.0),
                })
            })?;
        }
        core.output().clear();
    }
    core.close_slice().map_err(|e| {
        ReplayError::Read(LedgerReadError::Corrupt {
            offset: 0,
            detail: format!("the slice at {until} could not be decided again: {e}"),
        })
    })?;
    core.output().clear();
    Ok((core, plan))
}

/// Feeds a recorded input event to the core.
fn feed_input(core: &mut Core, event: &Event) -> Result<(), StepError> {
    match &event.body {
        EventBody::RunStarted(_) => core.start(event.ts),
        EventBody::Bar(bar) => core.step(Input::Bar {
            ts: event.ts,
            bar: *bar,
        }),
        EventBody::DataQuarantined(note) => core.step(Input::Data {
            ts: event.ts,
            quarantined: true,
            note: *note,
        }),
        EventBody::DataWarning(note) => core.step(Input::Data {
            ts: event.ts,
            quarantined: false,
            note: *note,
        }),
        EventBody::Feature(feature) => core.step(Input::Feature {
            ts: event.ts,
            feature: *feature,
        }),
        other => unreachable!("{:?} is not an input kind", other.kind()),
    }
}

/// The causal chain of `seq`: the event and, transitively, every event it names as a cause,
/// in seq order. Reads the ledger once per level of the chain, so memory stays small.
pub fn causal_chain(path: &Path, seq: u64) -> Result<Vec<Event>, LedgerReadError> {
    let mut wanted = std::collections::BTreeSet::from([seq]);
    let mut found = std::collections::BTreeMap::new();
    while !wanted.is_empty() {
        let mut reader = LedgerReader::open(path)?;
        let last = *wanted.iter().next_back().expect("not empty");
        let mut next = std::collections::BTreeSet::new();
        while let Some(frame) = reader.next_event()? {
            let s = frame.header.seq;
            if s > last {
                break;
            }
            if wanted.contains(&s) {
                let event = frame.decode()?;
                next.extend(
                    event
                        .causes
                        .as_slice()
                        .iter()
                        .map(|c| c.0)
                        .filter(|c| !found.contains_key(c)),
                );
                found.insert(s, event);
            }
        }
        wanted = next;
    }
    Ok(found.into_values().collect())
}
