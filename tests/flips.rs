//! Bit flips: every flipped ledger is refused, and the damage is named for what it is.
//!
//! What is guaranteed, by where the flipped bit lies:
//!
//! - **header**: the reader refuses the file before any event: the header is corrupt, or, when
//!   the flip hits the magic or the format version, the file is not a ledger or has a version
//!   this build does not read.
//! - **a frame before the trailer** (an event, or a block seal): corruption, at or before the
//!   flipped byte, never a torn tail: the trailer after it is a valid frame.
//! - **the trailer** (the last frame): a torn tail at the trailer's first byte, since no valid
//!   frame follows; `tape repair` then cuts only the trailer and keeps every event.
//!
//! In every case nothing panics, the in-process reader and `tape verify` agree, and a replay
//! never reports the flipped ledger identical.
//!
//! CI flips every bit of a ledger holding every event kind, and [`CI_RANDOM_FLIPS`] seeded
//! random bits of a small run's ledger. `TAPE_FLIPS=10000 TAPE_FLIP_SCENARIO=default cargo test
//! --release -p tape-tests --test flips` runs a longer one over the default run (6.9 MB).

use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use tape_engine::ledger::frame::FrameHeader;
use tape_engine::ledger::{repair, LedgerReadError, LedgerReader, LedgerSummary, RepairOutcome};
use tape_replay::drive::{replay_ledger, ReplayVerdict};
use tape_tests::every_kind::every_kind_ledger;
use tape_tests::{scratch, tape};

/// The project's one seeded stream (ChaCha, as the engine uses), so a failing case can be
/// re-run exactly from its seed.
fn seeded(seed: u64) -> tape_engine::rng::SeededRng {
    tape_engine::rng::SeededRng::new(tape_engine::rng::seed_from_u64(seed), 0)
}

/// Random flips in a normal `cargo test` (debug build: about 1 ms each on the small ledger).
const CI_RANDOM_FLIPS: u64 = 10_000;
/// One flip in this many is also replayed (a replay costs far more than a verify).
const REPLAY_EVERY: u64 = 50;
/// One flip in this many is also checked through the `tape verify` binary.
const BINARY_EVERY: u64 = 100;

#[allow(clippy::disallowed_methods)] // a test harness setting, not the core reading its environment
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn verify(bytes: &[u8]) -> Result<LedgerSummary, LedgerReadError> {
    LedgerReader::new(Cursor::new(bytes))?.verify_to_end()
}

/// Where the header ends and the trailer starts.
struct Layout {
    header_end: usize,
    trailer_at: usize,
}

fn layout(bytes: &[u8]) -> Layout {
    let reader = LedgerReader::new(Cursor::new(bytes)).expect("an intact ledger");
    let header_end = reader.header_len() as usize;
    let mut at = header_end;
    let mut last = at;
    while at < bytes.len() {
        last = at;
        let frame = FrameHeader::parse(&bytes[at..]).expect("an intact frame header");
        at += frame.len as usize;
    }
    assert_eq!(at, bytes.len(), "frames tile the file");
    Layout {
        header_end,
        trailer_at: last,
    }
}

/// What the reader said about one flipped ledger.
#[derive(Debug, PartialEq, Eq)]
enum Finding {
    Header,
    Corrupt,
    TornTail,
}

/// Flips `bit` of `original`, checks the finding against the rules above, and returns it.
fn check_flip(original: &[u8], layout: &Layout, bit: usize) -> (Vec<u8>, Finding) {
    let mut bytes = original.to_vec();
    let byte = bit / 8;
    bytes[byte] ^= 1 << (bit % 8);
    let at = format!("bit {bit} (byte {byte})");
    let error = match verify(&bytes) {
        Ok(summary) => panic!("{at}: a flipped ledger verified: {summary:?}"),
        Err(e) => e,
    };
    let finding = match error {
        LedgerReadError::HeaderCorrupt { .. }
        | LedgerReadError::NotALedger
        | LedgerReadError::NewerFormat { .. }
        | LedgerReadError::OlderFormat { .. } => Finding::Header,
        LedgerReadError::Corrupt { offset, .. } => {
            assert!(
                offset as usize <= byte,
                "{at}: corruption named at {offset}"
            );
            Finding::Corrupt
        }
        LedgerReadError::TornTail { offset, .. } => {
            assert_eq!(
                offset as usize, layout.trailer_at,
                "{at}: a torn tail is only the trailer"
            );
            Finding::TornTail
        }
        LedgerReadError::Io { source } => panic!("{at}: reading memory failed: {source}"),
    };
    let expected = if byte < layout.header_end {
        Finding::Header
    } else if byte < layout.trailer_at {
        Finding::Corrupt
    } else {
        Finding::TornTail
    };
    assert_eq!(finding, expected, "{at}: {error}");
    (bytes, finding)
}

/// `tape verify` on a flipped ledger: it refuses it, in one sentence, with the same finding.
fn check_binary(dir: &Path, bytes: &[u8], finding: &Finding, bit: usize) {
    std::fs::write(dir.join("flip.tape"), bytes).expect("scratch is writable");
    let run = tape(dir, &["verify", "flip.tape"]);
    let ctx = format!("bit {bit}: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{ctx}");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{ctx}");
    assert!(run.stderr.starts_with("tape: flip.tape: "), "{ctx}");
    match finding {
        Finding::Corrupt => {
            assert_eq!(run.code, Some(1), "{ctx}");
            assert!(run.stderr.contains("corruption at byte"), "{ctx}");
        }
        Finding::TornTail => {
            assert_eq!(run.code, Some(1), "{ctx}");
            assert!(run.stderr.contains("torn tail at byte"), "{ctx}");
        }
        Finding::Header => assert!(matches!(run.code, Some(1) | Some(2)), "{ctx}"),
    }
}

/// `replay_ledger` on a flipped ledger never says it is identical.
fn check_replay(dir: &Path, bytes: &[u8], bit: usize) {
    let path = dir.join("replay.tape");
    std::fs::write(&path, bytes).expect("scratch is writable");
    if let Ok(ReplayVerdict::Identical(summary)) = replay_ledger(&path, &mut |_| {}) {
        panic!("bit {bit}: a flipped ledger replayed as identical: {summary:?}");
    }
}

#[derive(Default, Debug)]
struct Tally {
    header: u64,
    corrupt: u64,
    torn: u64,
}

impl Tally {
    fn add(&mut self, finding: &Finding) {
        match finding {
            Finding::Header => self.header += 1,
            Finding::Corrupt => self.corrupt += 1,
            Finding::TornTail => self.torn += 1,
        }
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // the harness times itself for its report; the core never sees it
fn every_single_bit_flip_of_an_every_kind_ledger_is_detected_and_classified() {
    let dir = scratch();
    let path = dir.path().join("all.tape");
    every_kind_ledger(&path);
    let original = std::fs::read(&path).expect("written");
    let layout = layout(&original);
    let started = Instant::now();
    let mut tally = Tally::default();
    for bit in 0..original.len() * 8 {
        let (bytes, finding) = check_flip(&original, &layout, bit);
        if bit % 997 == 0 {
            check_binary(dir.path(), &bytes, &finding, bit);
        }
        tally.add(&finding);
    }
    eprintln!(
        "{} flips of a {}-byte every-kind ledger in {:.1} s, all detected: {tally:?}",
        original.len() * 8,
        original.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(tally.header > 0 && tally.corrupt > 0 && tally.torn > 0);

    // A flipped trailer: repair cuts the trailer alone and keeps every event.
    let events = verify(&original).expect("intact").events;
    for byte in [
        layout.trailer_at,
        layout.trailer_at + 40,
        original.len() - 1,
    ] {
        let (bytes, _) = check_flip(&original, &layout, byte * 8 + 3);
        std::fs::write(&path, &bytes).expect("scratch is writable");
        match repair(&path, None) {
            Ok(RepairOutcome::Repaired {
                cut_at,
                kept_events,
                ..
            }) => assert_eq!(
                (cut_at as usize, kept_events),
                (layout.trailer_at, events),
                "byte {byte}"
            ),
            other => panic!("byte {byte}: expected a repair, got {other:?}"),
        }
        verify(&std::fs::read(&path).expect("repaired")).expect("a repaired ledger verifies");
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // the harness times itself for its report; the core never sees it
fn seeded_random_bit_flips_of_a_run_are_detected_and_never_replay_as_identical() {
    let dir = scratch();
    let scenario = env("TAPE_FLIP_SCENARIO");
    let scenario = match &scenario {
        Some(name) => name.clone(),
        None => {
            let path = dir.path().join("small.toml");
            std::fs::write(&path, tape_tests::SMALL_SCENARIO).expect("scratch is writable");
            path.display().to_string()
        }
    };
    tape(dir.path(), &["run", &scenario, "--out", "run.tape"]).expect_code(0);
    let original = std::fs::read(dir.path().join("run.tape")).expect("written");
    let layout = layout(&original);
    let flips = env("TAPE_FLIPS")
        .and_then(|n| n.parse().ok())
        .unwrap_or(CI_RANDOM_FLIPS);
    let seed = env("TAPE_FLIP_SEED")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0xf11b_5eed_u64);
    let mut rng = seeded(seed);
    let started = Instant::now();
    let mut tally = Tally::default();
    for i in 0..flips {
        let bit = (rng.next_u64() % (original.len() as u64 * 8)) as usize;
        let (bytes, finding) = check_flip(&original, &layout, bit);
        if i % BINARY_EVERY == 0 {
            check_binary(dir.path(), &bytes, &finding, bit);
        }
        if i % REPLAY_EVERY == 0 {
            check_replay(dir.path(), &bytes, bit);
        }
        tally.add(&finding);
    }
    eprintln!(
        "{flips} random flips (seed {seed:#x}) of a {}-byte ledger ({scenario}) in {:.1} s, \
         all detected: {tally:?}",
        original.len(),
        started.elapsed().as_secs_f64()
    );
}
