//! Properties of the ledger on disk.
//!
//! - The codec round-trips every event kind, byte for byte, and the decoder accepts no byte
//!   string the encoder would not write.
//! - A ledger written by the real writer (fed by the real core) verifies with the writer's
//!   fingerprint, and hands back every event frame unchanged, whatever the hand-off sizes.
//! - Every single-bit flip is caught: in a frame followed by a valid frame it is corruption
//!   at that frame's offset (never a torn tail), and `repair` refuses to cut there.
//! - Truncation anywhere after the header is a torn tail at the first incomplete frame, and
//!   `repair` keeps exactly the whole frames before the cut.
//! - A frame of another ledger never verifies; a frame of a sibling run breaks the chain.
//! - Readers refuse what is not a ledger (or is newer) with the right error, never a panic.
//! - The writer stops on the first failed write or sync and never reports more as durable
//!   than a returned sync covered.
//! - The reader streams a ledger larger than its buffer in constant memory.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use common::events::{one_event_of_each_kind, payload_len};
use common::{
    fixture, frame_starts, read_event_frames, split_frames, verify_bytes, write_ledger, Fixture,
    Span,
};
use tape_engine::event::{
    Causes, Direction, Event, EventBody, EventKind, Reason, RuleId, RunFinished, RunStarted, Seq,
    Signal, SymbolId,
};
use tape_engine::fixed::Money;
use tape_engine::ledger::frame::{
    decode_event, encode_event, frame_crc, frame_is_intact, FRAME_HEADER_LEN, KIND_BLOCK_SEALED,
    KIND_LEDGER_CLOSED,
};
use tape_engine::ledger::header::MAGIC;
use tape_engine::ledger::reader::READ_BUFFER_BYTES;
use tape_engine::ledger::{
    repair, FsyncPolicy, Header, LedgerReadError, LedgerReader, LedgerSummary, LedgerWriteError,
    LedgerWriter, RepairError, RepairOutcome, Storage, WriterSummary, FORMAT_VERSION,
    HANDOFF_BYTES, MIN_FORMAT_VERSION,
};
use tape_engine::time::Ts;

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// Overwrites a frame's CRC so it matches its (possibly edited) bytes.
fn reseal_crc(frame: &mut [u8]) {
    let crc = frame_crc(frame);
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn codec_round_trips_every_event_kind(events in one_event_of_each_kind(), salt in any::<u32>()) {
        let kinds: Vec<EventKind> = events.iter().map(|e| e.body.kind()).collect();
        prop_assert_eq!(kinds.as_slice(), EventKind::ALL);
        for event in &events {
            // Encoding appends: bytes already in the buffer stay as they are.
            let mut buf = vec![0xA5u8; 3];
            encode_event(event, salt, &mut buf);
            prop_assert_eq!(&buf[..3], &[0xA5u8; 3][..]);
            let frame = &buf[3..];

            let causes = event.causes.as_slice();
            let unpadded = FRAME_HEADER_LEN + 8 * causes.len() + payload_len(&event.body);
            prop_assert_eq!(frame.len() % 8, 0);
            prop_assert_eq!(frame.len(), unpadded.next_multiple_of(8));
            prop_assert!(frame[unpadded..].iter().all(|&b| b == 0), "padding is zero");
            // The fixed header, field by field.
            prop_assert_eq!(common::le_u32(frame, 0) as usize, frame.len());
            prop_assert_eq!(common::le_u32(frame, 8), salt);
            prop_assert_eq!(u16::from_le_bytes([frame[12], frame[13]]), event.body.kind().code());
            prop_assert_eq!(frame[14] as usize, causes.len());
            prop_assert_eq!(frame[15], 0);
            prop_assert_eq!(le_u64(frame, 16), event.seq.0);
            prop_assert_eq!(le_u64(frame, 24) as i64, event.ts.0);
            for (i, cause) in causes.iter().enumerate() {
                prop_assert_eq!(le_u64(frame, FRAME_HEADER_LEN + 8 * i), cause.0);
            }

            prop_assert!(frame_is_intact(frame, salt));
            prop_assert!(!frame_is_intact(frame, salt ^ 1), "another ledger's salt does not pass");
            let decoded = decode_event(frame).expect("the encoder's frames decode");
            prop_assert_eq!(&decoded, event);
            let mut again = Vec::new();
            encode_event(&decoded, salt, &mut again);
            prop_assert_eq!(again.as_slice(), frame);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The decoder accepts exactly one byte string per event: flip any bit the decoder judges
    /// (everything but length, checksum, salt and the reserved byte, which the reader checks
    /// first), make the checksum match again, and the frame either fails to decode or decodes
    /// to an event whose encoding is exactly the edited bytes. Every such bit, every kind.
    #[test]
    fn the_decoder_accepts_only_bytes_the_encoder_writes(events in one_event_of_each_kind(), salt in any::<u32>()) {
        for event in &events {
            let mut original = Vec::new();
            encode_event(event, salt, &mut original);
            for pos in (12..original.len()).filter(|&i| i != 15) {
                for bit in 0..8 {
                    let mut frame = original.clone();
                    frame[pos] ^= 1 << bit;
                    reseal_crc(&mut frame);
                    if let Ok(other) = decode_event(&frame) {
                        let mut again = Vec::new();
                        encode_event(&other, salt, &mut again);
                        prop_assert_eq!(&again, &frame, "byte {} bit {} decoded to {:?}, which encodes differently", pos, bit, other);
                    }
                }
            }
        }
    }
}

#[test]
fn float_fields_round_trip_bit_for_bit() {
    let nan_with_payload = f64::NAN.to_bits() | 0x0000_0000_dead_beef;
    let patterns = [
        nan_with_payload,
        nan_with_payload | (1 << 63),
        (-0.0f64).to_bits(),
        f64::INFINITY.to_bits(),
        1,
    ];
    let reason = Reason::from_raw(RuleId(300), &[7]).expect("one value");
    for bits in patterns {
        let x = f64::from_bits(bits);
        let bodies = [
            EventBody::Signal(Signal {
                symbol: SymbolId(1),
                direction: Direction::Long,
                strength: x,
                reason,
            }),
            EventBody::RunFinished(RunFinished {
                bars: 1,
                orders: 2,
                fills: 3,
                rejections: 4,
                final_equity: Money::from_raw(5),
                peak_equity: Money::from_raw(6),
                max_drawdown: x,
            }),
        ];
        for body in bodies {
            let event = Event {
                seq: Seq(9),
                ts: Ts(10),
                causes: Causes::one(Seq(3)),
                body,
            };
            let mut frame = Vec::new();
            encode_event(&event, 77, &mut frame);
            let decoded = decode_event(&frame).expect("the encoder's frames decode");
            let got = match decoded.body {
                EventBody::Signal(s) => s.strength,
                EventBody::RunFinished(r) => r.max_drawdown,
                other => panic!("decoded the wrong kind: {other:?}"),
            };
            assert_eq!(
                got.to_bits(),
                bits,
                "float bits {bits:#018x} changed in a round trip"
            );
            let mut again = Vec::new();
            encode_event(&decoded, 77, &mut again);
            assert_eq!(again, frame);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The writer's file verifies, and hands the frames back unchanged.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_ledger_written_through_the_writer_verifies_with_the_writers_fingerprint() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("run.tape");
    // Hand over in pieces of about HANDOFF_BYTES / 16, as a run with smaller buffers would.
    let cuts: Vec<usize> = frame_starts(&f.frames)
        .into_iter()
        .step_by(HANDOFF_BYTES / 16 / 80)
        .collect();
    let written = write_ledger(&path, &f.header, &f.frames, &cuts);
    let file = std::fs::read(&path).expect("just written");
    assert_eq!(file, f.file, "the same run writes the same bytes");

    let kinds: Vec<EventKind> = EventKind::ALL.to_vec();
    for kind in &kinds {
        assert!(
            f.events.iter().any(|e| e.body.kind() == *kind),
            "the fixture run has no {} event",
            kind.name()
        );
    }
    assert!(
        written.blocks >= 3,
        "the fixture should span several blocks, has {}",
        written.blocks
    );
    assert_eq!(written.events as usize, f.events.len());
    assert_eq!(written.bytes as usize, file.len());

    let mut reader = LedgerReader::open(&path).expect("a fresh ledger opens");
    assert_eq!(
        reader.header(),
        &f.header,
        "the header reads back as written"
    );
    assert_eq!(reader.header_len() as usize, common::header_len(&file));
    let event_spans: Vec<Span> = f.spans.iter().copied().filter(Span::is_event).collect();
    let core_frames = split_frames(&f.frames);
    let mut n = 0;
    while let Some(frame) = reader.next_event().expect("an intact ledger reads") {
        assert_eq!(
            frame.offset as usize, event_spans[n].offset,
            "event {n} offset"
        );
        assert_eq!(
            frame.bytes, core_frames[n],
            "event {n} bytes differ from what the core encoded"
        );
        assert_eq!(frame.header.seq, n as u64, "seqs are dense from 0");
        assert_eq!(frame.kind(), f.events[n].body.kind());
        assert_eq!(frame.decode().expect("intact frames decode"), f.events[n]);
        n += 1;
    }
    assert_eq!(n, f.events.len());
    assert!(matches!(f.events[0].body, EventBody::RunStarted(_)));
    assert!(matches!(f.events[n - 1].body, EventBody::RunFinished(_)));
    let summary = reader.summary().expect("read to the trailer");
    let expected = LedgerSummary {
        fingerprint: written.fingerprint,
        events: written.events,
        blocks: written.blocks,
        bytes: written.bytes,
        repaired: false,
    };
    assert_eq!(summary, expected);
    let verified = LedgerReader::open(&path)
        .expect("opens")
        .verify_to_end()
        .expect("verifies");
    assert_eq!(verified, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Block boundaries depend only on the frame bytes, so the fingerprint and the file are
    /// the same however the core's output is split into hand-offs.
    #[test]
    fn block_boundaries_do_not_depend_on_how_frames_are_handed_over(picks in vec(any::<Index>(), 0..40)) {
        let f = fixture();
        let starts = frame_starts(&f.frames);
        let mut cuts: Vec<usize> = picks.iter().map(|i| *i.get(&starts)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("chunked.tape");
        let summary = write_ledger(&path, &f.header, &f.frames, &cuts);
        prop_assert_eq!(summary, f.summary);
        prop_assert!(std::fs::read(&path).expect("just written") == f.file, "same frames, same file");
    }
}

// ---------------------------------------------------------------------------------------------
// Bit flips.
// ---------------------------------------------------------------------------------------------

fn flipped(file: &[u8], pos: usize, bit: u8) -> Vec<u8> {
    let mut out = file.to_vec();
    out[pos] ^= 1 << bit;
    out
}

/// The frame holding byte `pos`, or `None` inside the header.
fn span_at(f: &Fixture, pos: usize) -> Option<Span> {
    f.spans
        .iter()
        .copied()
        .find(|s| s.offset <= pos && pos < s.end())
}

/// Checks how the reader classifies a single flipped bit at `pos` of the fixture.
fn assert_flip_detected(f: &Fixture, pos: usize, bit: u8) {
    let result = verify_bytes(flipped(&f.file, pos, bit));
    let place = format!("bit {bit} of byte {pos}");
    match span_at(f, pos) {
        None => match (pos, result) {
            (0..8, Err(LedgerReadError::NotALedger)) => {}
            (8..10, Err(LedgerReadError::NewerFormat { found, supported }))
                if found > FORMAT_VERSION && supported == FORMAT_VERSION => {}
            (8..10, Err(LedgerReadError::OlderFormat { found, supported }))
                if found < MIN_FORMAT_VERSION && supported == MIN_FORMAT_VERSION => {}
            // A flip to another version this build reads leaves the header checksum wrong.
            (8.., Err(LedgerReadError::HeaderCorrupt { .. })) => {}
            (_, other) => panic!("{place} (header): wrong verdict {other:?}"),
        },
        Some(span) if span.kind == KIND_LEDGER_CLOSED => match result {
            Err(e) if e.is_damage() && e.offset() == Some(span.offset as u64) => {}
            other => panic!("{place} (trailer at {}): expected damage there, got {other:?}", span.offset),
        },
        Some(span) => match result {
            Err(LedgerReadError::Corrupt { offset, .. }) if offset == span.offset as u64 => {}
            other => panic!(
                "{place} (frame kind {:#06x} at {}, valid frames follow): expected corruption there, got {other:?}",
                span.kind, span.offset
            ),
        },
    }
}

/// Writes `bytes` to `path`, runs `repair(path, None)`, and checks the outcome for a file
/// whose damage is at `pos`: corruption (and a damaged header) is refused with the file left
/// exactly as it was.
fn assert_repair_refuses(f: &Fixture, dir: &Path, bytes: &[u8], pos: usize) {
    let path = dir.join(format!("damaged-{pos}.tape"));
    std::fs::write(&path, bytes).expect("temp dir is writable");
    let outcome = repair(&path, None);
    match outcome {
        Err(RepairError::Read(e))
            if !matches!(
                e,
                LedgerReadError::Io { .. } | LedgerReadError::TornTail { .. }
            ) => {}
        other => panic!(
            "damage at byte {pos} (frame {:?}): repair should refuse, got {other:?}",
            span_at(f, pos)
        ),
    }
    let out = dir.join(format!("damaged-{pos}.repaired.tape"));
    assert!(
        repair(&path, Some(&out)).is_err(),
        "repair to a copy refuses too (damage at byte {pos})"
    );
    assert!(
        !out.exists(),
        "a refused repair writes no copy (damage at byte {pos})"
    );
    let after = std::fs::read(&path).expect("still there");
    assert!(
        after == bytes,
        "repair changed a file it refused to repair (damage at byte {pos})"
    );
}

#[test]
fn every_single_bit_flip_in_a_frame_is_detected_as_corruption_when_frames_follow() {
    let f = fixture();
    // Targets: the first frames, the first frame of every event kind, every block seal and
    // the trailer. (The property test below samples the rest of the file.)
    let mut targets: Vec<Span> = f.spans[..4].to_vec();
    for kind in EventKind::ALL {
        targets.push(f.first_of(kind.code()).expect("the fixture has every kind"));
    }
    targets.extend(
        f.spans
            .iter()
            .copied()
            .filter(|s| s.kind == KIND_BLOCK_SEALED),
    );
    targets.push(f.trailer());
    targets.sort_by_key(|s| s.offset);
    targets.dedup();
    let mut covered: Vec<u16> = targets.iter().map(|s| s.kind).collect();
    covered.sort_unstable();
    covered.dedup();
    let mut all: Vec<u16> = EventKind::ALL
        .iter()
        .map(|k| k.code())
        .chain([KIND_BLOCK_SEALED, KIND_LEDGER_CLOSED])
        .collect();
    all.sort_unstable();
    assert_eq!(covered, all, "every frame kind is flipped");
    assert!(
        targets
            .iter()
            .filter(|s| s.kind == KIND_BLOCK_SEALED)
            .count()
            >= 3
    );

    // Every bit of frames in the first block (and its seal). Past it, where each read costs
    // the whole prefix, every bit of the length field (the one that changes how the reader
    // walks) and one bit of every other byte: a CRC32C catches any single-bit error alike.
    let first_seal_end = f.first_of(KIND_BLOCK_SEALED).expect("sealed blocks").end();
    let dir = tempfile::tempdir().expect("a temp dir");
    for span in &targets {
        for pos in span.offset..span.end() {
            if span.end() <= first_seal_end || pos < span.offset + 4 {
                for bit in 0..8 {
                    assert_flip_detected(f, pos, bit);
                }
            } else {
                assert_flip_detected(f, pos, (pos % 8) as u8);
            }
        }
        // On disk, once per field region: repair refuses to cut over corruption.
        if span.kind != KIND_LEDGER_CLOSED {
            for pos in [
                span.offset,
                span.offset + 4,
                span.offset + 12,
                span.offset + 20,
                span.end() - 1,
            ] {
                assert_repair_refuses(f, dir.path(), &flipped(&f.file, pos, 3), pos);
            }
        }
    }
}

#[test]
fn every_single_bit_flip_in_the_header_is_refused_for_what_it_is() {
    let f = fixture();
    let header_len = common::header_len(&f.file);
    for pos in 0..header_len {
        for bit in 0..8 {
            assert_flip_detected(f, pos, bit);
        }
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    for pos in [0, 8, 12, 16, 20, 40, header_len - 1] {
        assert_repair_refuses(f, dir.path(), &flipped(&f.file, pos, 0), pos);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A flip anywhere never verifies; repair refuses unless the damage is in the trailer
    /// (nothing follows it: a torn tail), in which case it re-closes the ledger keeping every
    /// event, and the fingerprint, since every block was sealed.
    #[test]
    fn a_random_bit_flip_never_verifies_and_repair_never_cuts_over_corruption(at in any::<Index>(), bit in 0u8..8) {
        let f = fixture();
        let pos = at.index(f.file.len());
        assert_flip_detected(f, pos, bit);
        let dir = tempfile::tempdir().expect("a temp dir");
        let bytes = flipped(&f.file, pos, bit);
        match span_at(f, pos) {
            Some(span) if span.kind == KIND_LEDGER_CLOSED => {
                let path = dir.path().join("trailer.tape");
                std::fs::write(&path, &bytes).expect("temp dir is writable");
                let outcome = repair(&path, None).expect("a damaged trailer is a torn tail");
                let expected = RepairOutcome::Repaired {
                    cut_at: span.offset as u64,
                    dropped_bytes: span.len as u64,
                    kept_events: f.events.len() as u64,
                    fingerprint: f.summary.fingerprint,
                };
                prop_assert_eq!(outcome, expected);
                let summary = LedgerReader::open(&path).expect("opens").verify_to_end().expect("repaired ledger verifies");
                prop_assert!(summary.repaired);
                prop_assert_eq!(summary.fingerprint, f.summary.fingerprint);
            }
            _ => assert_repair_refuses(f, dir.path(), &bytes, pos),
        }
    }

    /// Arbitrary damage (a run of random bytes anywhere) never verifies and never panics. It
    /// is reported at the first frame it changed: as corruption when an untouched frame
    /// follows it (and repair refuses, leaving the file as it was), as a torn tail when it
    /// reaches into the trailer (and repair re-closes the ledger after the last whole frame).
    #[test]
    fn overwriting_any_range_is_reported_at_the_first_damaged_frame(at in any::<Index>(), junk in vec(any::<u8>(), 1..64)) {
        let f = fixture();
        let pos = at.index(f.file.len());
        let mut bytes = f.file.clone();
        let end = (pos + junk.len()).min(bytes.len());
        bytes[pos..end].copy_from_slice(&junk[..end - pos]);
        let changed: Vec<usize> = (pos..end).filter(|&i| bytes[i] != f.file[i]).collect();
        let (Some(&first), Some(&last)) = (changed.first(), changed.last()) else {
            return Err(TestCaseError::reject("the junk equals the original bytes"));
        };
        let result = verify_bytes(bytes.clone());
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("junk.tape");
        std::fs::write(&path, &bytes).expect("temp dir is writable");
        let Some(damaged) = span_at(f, first) else {
            prop_assert!(matches!(result, Err(ref e) if !matches!(e, LedgerReadError::Io { .. } | LedgerReadError::TornTail { .. } | LedgerReadError::Corrupt { .. })), "header damage at {}: {:?}", first, result);
            assert_repair_refuses(f, dir.path(), &bytes, first);
            return Ok(());
        };
        let intact_frame_follows = f.spans.iter().any(|s| s.offset > last);
        match result {
            Err(LedgerReadError::Corrupt { offset, .. }) if intact_frame_follows && offset == damaged.offset as u64 => {
                assert_repair_refuses(f, dir.path(), &bytes, first);
            }
            Err(LedgerReadError::TornTail { offset, .. }) if !intact_frame_follows && offset == damaged.offset as u64 => {
                let outcome = repair(&path, None).expect("a torn tail repairs");
                prop_assert!(matches!(outcome, RepairOutcome::Repaired { cut_at, .. } if cut_at == offset), "{:?}", outcome);
                let summary = LedgerReader::open(&path).expect("opens").verify_to_end().expect("repaired ledger verifies");
                prop_assert!(summary.repaired);
            }
            other => prop_assert!(
                false,
                "bytes {}..={} changed (first in frame at {}, intact frame after: {}): got {:?}",
                first, last, damaged.offset, intact_frame_follows, other
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation.
// ---------------------------------------------------------------------------------------------

/// Truncates the fixture at `cut`, checks the reader calls it a torn tail at the first frame
/// not wholly before the cut, and checks both kinds of repair keep exactly the whole frames.
fn assert_truncation_repairs(f: &Fixture, dir: &Path, cut: usize) {
    let truncated = f.file[..cut].to_vec();
    let input = dir.join(format!("cut-{cut}.tape"));
    let output = dir.join(format!("cut-{cut}.repaired.tape"));
    std::fs::write(&input, &truncated).expect("temp dir is writable");
    if cut == f.file.len() {
        verify_bytes(truncated).expect("an uncut ledger verifies");
        let outcome = repair(&input, Some(&output)).expect("an intact ledger needs no repair");
        assert_eq!(
            outcome,
            RepairOutcome::Intact {
                events: f.events.len() as u64
            }
        );
        return;
    }
    let torn_at = f
        .spans
        .iter()
        .map(|s| s.offset)
        .filter(|&o| o <= cut)
        .max()
        .expect("the cut is past the header");
    let kept: Vec<Span> = f
        .spans
        .iter()
        .copied()
        .filter(|s| s.is_event() && s.end() <= cut)
        .collect();
    match verify_bytes(truncated.clone()) {
        Err(LedgerReadError::TornTail { offset, .. }) if offset == torn_at as u64 => {}
        other => panic!("cut at {cut}: expected a torn tail at {torn_at}, got {other:?}"),
    }

    let outcome = repair(&input, Some(&output))
        .unwrap_or_else(|e| panic!("cut at {cut}: repair failed: {e}"));
    let RepairOutcome::Repaired {
        cut_at,
        dropped_bytes,
        kept_events,
        fingerprint,
    } = outcome
    else {
        panic!("cut at {cut}: repair said {outcome:?}");
    };
    assert_eq!(cut_at, torn_at as u64, "cut at {cut}");
    assert_eq!(dropped_bytes, (cut - torn_at) as u64, "cut at {cut}");
    assert_eq!(kept_events, kept.len() as u64, "cut at {cut}");
    assert!(
        std::fs::read(&input).expect("still there") == truncated,
        "repair to another file left the input alone"
    );

    let repaired = std::fs::read(&output).expect("repair wrote it");
    assert!(
        repaired[..torn_at] == f.file[..torn_at],
        "cut at {cut}: the kept prefix is byte-identical"
    );
    let (frames, summary) = read_event_frames(repaired.clone())
        .unwrap_or_else(|e| panic!("cut at {cut}: repaired ledger does not verify: {e}"));
    assert!(summary.repaired, "cut at {cut}: the trailer says repaired");
    assert_eq!(summary.events, kept.len() as u64);
    assert_eq!(summary.fingerprint, fingerprint);
    assert_eq!(summary.bytes as usize, repaired.len());
    assert_eq!(frames.len(), kept.len());
    for ((offset, bytes), span) in frames.iter().zip(&kept) {
        assert_eq!(*offset as usize, span.offset);
        assert!(
            bytes[..] == f.file[span.offset..span.end()],
            "cut at {cut}: event at {offset} changed"
        );
    }
    let decoded: Vec<Event> = frames
        .iter()
        .map(|(_, b)| decode_event(b).expect("kept frames decode"))
        .collect();
    assert!(
        decoded[..] == f.events[..kept.len()],
        "cut at {cut}: kept events differ"
    );

    // In place gives the same file, and a repaired ledger needs no further repair.
    let in_place = repair(&input, None)
        .unwrap_or_else(|e| panic!("cut at {cut}: in-place repair failed: {e}"));
    assert_eq!(in_place, outcome);
    assert!(
        std::fs::read(&input).expect("still there") == repaired,
        "cut at {cut}: in place and to a copy differ"
    );
    assert_eq!(
        repair(&input, None).expect("repaired ledgers verify"),
        RepairOutcome::Intact {
            events: kept.len() as u64
        }
    );
}

#[test]
fn truncation_at_any_offset_is_a_torn_tail_and_repair_keeps_whole_frames() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let header_len = common::header_len(&f.file);
    let mut cuts = vec![
        header_len,
        header_len + 1,
        header_len + 31,
        header_len + 32,
        f.file.len() - 1,
        f.file.len(),
    ];
    // The first frames: at each boundary, inside the fixed header, inside the payload.
    for s in &f.spans[..6] {
        cuts.extend([
            s.offset,
            s.offset + 8,
            s.offset + FRAME_HEADER_LEN,
            s.end() - 1,
        ]);
    }
    // Around every seal and the trailer: just before, at, mid-header, mid-body, last byte, after.
    for s in f.spans.iter().filter(|s| !s.is_event()) {
        cuts.extend([
            s.offset - 1,
            s.offset,
            s.offset + 16,
            s.offset + FRAME_HEADER_LEN + 8,
            s.end() - 1,
            s.end(),
        ]);
    }
    // The last event frame.
    let last_event = f.spans.iter().rev().find(|s| s.is_event()).expect("events");
    cuts.extend([last_event.offset, last_event.offset + 40, last_event.end()]);
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        assert_truncation_repairs(f, dir.path(), cut);
    }
}

#[test]
fn truncation_at_a_frame_boundary_or_inside_a_frame_is_a_torn_tail_there() {
    // Reader only, in memory: at the boundary and in the middle of every frame of the first
    // block, and of every frame within two of a seal or the trailer. (Random cuts anywhere
    // are the property test below.)
    let f = fixture();
    let first_seal_end = f.first_of(KIND_BLOCK_SEALED).expect("sealed blocks").end();
    let near_seal = |i: usize| {
        f.spans[i.saturating_sub(2)..(i + 3).min(f.spans.len())]
            .iter()
            .any(|s| !s.is_event())
    };
    for (i, s) in f.spans.iter().enumerate() {
        if s.end() > first_seal_end && !near_seal(i) {
            continue;
        }
        for cut in [s.offset, s.offset + s.len / 2] {
            match verify_bytes(f.file[..cut].to_vec()) {
                Err(LedgerReadError::TornTail { offset, .. }) if offset == s.offset as u64 => {}
                other => panic!(
                    "cut at {cut} (frame at {}): expected a torn tail there, got {other:?}",
                    s.offset
                ),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn truncation_at_a_random_offset_is_a_torn_tail_and_repair_keeps_whole_frames(at in any::<Index>()) {
        let f = fixture();
        let header_len = common::header_len(&f.file);
        let cut = header_len + at.index(f.file.len() - header_len + 1);
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_truncation_repairs(f, dir.path(), cut);
    }
}

// ---------------------------------------------------------------------------------------------
// Frames from elsewhere.
// ---------------------------------------------------------------------------------------------

/// The fixture's run under another configuration: other salt, same frame layout.
fn foreign() -> &'static Fixture {
    static FOREIGN: OnceLock<Fixture> = OnceLock::new();
    FOREIGN.get_or_init(|| {
        common::build_fixture(
            "[run]\nname = \"another\"\n",
            common::FIXTURE_SLICES,
            1,
            true,
        )
    })
}

/// The fixture's header (so its salt) without the breaker, whose trips depend on prices.
fn plain() -> &'static Fixture {
    static PLAIN: OnceLock<Fixture> = OnceLock::new();
    PLAIN.get_or_init(|| {
        common::build_fixture(
            "[run]\nname = \"fixture\"\n",
            common::FIXTURE_SLICES,
            1,
            false,
        )
    })
}

/// [`plain`] with other prices: same layout, other contents.
fn sibling() -> &'static Fixture {
    static SIBLING: OnceLock<Fixture> = OnceLock::new();
    SIBLING.get_or_init(|| {
        common::build_fixture(
            "[run]\nname = \"fixture\"\n",
            common::FIXTURE_SLICES,
            2,
            false,
        )
    })
}

fn spliced(into: &Fixture, from: &Fixture, i: usize) -> Vec<u8> {
    let (a, b) = (into.spans[i], from.spans[i]);
    assert_eq!(
        (a.offset, a.len, a.kind),
        (b.offset, b.len, b.kind),
        "the two runs have the same layout"
    );
    let mut out = into.file.clone();
    out[a.offset..a.end()].copy_from_slice(&from.file[b.offset..b.end()]);
    out
}

fn a_foreign_frame_is_rejected_at_its_offset(i: usize) {
    let (f, other) = (fixture(), foreign());
    assert_ne!(
        f.header.salt, other.header.salt,
        "different configurations, different salts"
    );
    let span = f.spans[i];
    match verify_bytes(spliced(f, other, i)) {
        Err(LedgerReadError::Corrupt { offset, .. }) if offset == span.offset as u64 => {}
        Err(e)
            if span.kind == KIND_LEDGER_CLOSED
                && e.is_damage()
                && e.offset() == Some(span.offset as u64) => {}
        other => panic!(
            "frame {i} (kind {:#06x}) of another ledger: expected damage at {}, got {other:?}",
            span.kind, span.offset
        ),
    }
}

#[test]
fn a_frame_from_another_ledger_never_verifies() {
    let f = fixture();
    // Every seal, the trailer, the first frames; the property test samples the rest.
    for (i, span) in f.spans.iter().enumerate() {
        if i < 4 || !span.is_event() {
            a_foreign_frame_is_rejected_at_its_offset(i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_random_frame_from_another_ledger_never_verifies(at in any::<Index>()) {
        a_foreign_frame_is_rejected_at_its_offset(at.index(fixture().spans.len()));
    }

    /// A frame from a run with the same header (so the same salt) and the same seq passes its
    /// checksum, but not the hash chain: the seal closing its block reports the corruption.
    #[test]
    fn a_frame_from_a_sibling_run_breaks_the_hash_chain(at in any::<Index>()) {
        let (f, other) = (plain(), sibling());
        prop_assert_eq!(f.header.salt, other.header.salt);
        let i = at.index(f.spans.len());
        let span = f.spans[i];
        let bytes = spliced(f, other, i);
        prop_assume!(bytes != f.file);
        let caught_at = f.spans[i..].iter().find(|s| !s.is_event()).expect("a seal or trailer follows").offset;
        match verify_bytes(bytes) {
            Err(LedgerReadError::Corrupt { offset, .. }) if offset == caught_at as u64 => {}
            other => prop_assert!(false, "sibling frame {} (kind {:#06x}): expected corruption at {}, got {:?}", i, span.kind, caught_at, other),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What is not a ledger.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("absent.tape");
    assert!(matches!(
        LedgerReader::open(&path),
        Err(LedgerReadError::Io { .. })
    ));
    assert!(matches!(
        repair(&path, None),
        Err(RepairError::Read(LedgerReadError::Io { .. }))
    ));
    assert!(!path.exists(), "repair does not create a missing ledger");
}

#[test]
fn an_empty_file_is_not_a_ledger() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("empty.tape");
    std::fs::write(&path, b"").expect("temp dir is writable");
    assert!(matches!(
        LedgerReader::open(&path),
        Err(LedgerReadError::NotALedger)
    ));
    assert!(matches!(
        repair(&path, None),
        Err(RepairError::Read(LedgerReadError::NotALedger))
    ));
    assert!(std::fs::read(&path).expect("still there").is_empty());
    // The magic alone, or the magic and a partial prefix, is not a ledger either.
    for len in [8, 12, 15] {
        let prefix = &fixture().file[..len];
        assert!(
            matches!(
                LedgerReader::new(Cursor::new(prefix.to_vec())),
                Err(LedgerReadError::NotALedger)
            ),
            "{len} bytes"
        );
    }
}

#[test]
fn a_newer_format_version_is_reported_as_newer() {
    let f = fixture();
    for version in [FORMAT_VERSION + 1, u16::MAX] {
        let mut bytes = f.file.clone();
        bytes[8..10].copy_from_slice(&version.to_le_bytes());
        match verify_bytes(bytes.clone()) {
            Err(LedgerReadError::NewerFormat { found, supported }) => {
                assert_eq!((found, supported), (version, FORMAT_VERSION));
            }
            other => panic!("version {version}: expected NewerFormat, got {other:?}"),
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("newer.tape");
        std::fs::write(&path, &bytes).expect("temp dir is writable");
        assert!(matches!(
            repair(&path, None),
            Err(RepairError::Read(LedgerReadError::NewerFormat { .. }))
        ));
        assert!(
            std::fs::read(&path).expect("still there") == bytes,
            "repair leaves a newer ledger alone"
        );
    }
    let mut older = f.file.clone();
    older[8..10].copy_from_slice(&(MIN_FORMAT_VERSION - 1).to_le_bytes());
    assert!(
        matches!(verify_bytes(older), Err(LedgerReadError::OlderFormat { found, .. }) if found == MIN_FORMAT_VERSION - 1)
    );
}

#[test]
fn bytes_after_the_trailer_are_corruption() {
    let f = fixture();
    for extra in [&[0u8][..], &[0u8; 8][..], &f.file[f.trailer().offset..]] {
        let mut bytes = f.file.clone();
        bytes.extend_from_slice(extra);
        match verify_bytes(bytes) {
            Err(LedgerReadError::Corrupt { offset, .. }) if offset as usize == f.file.len() => {}
            other => panic!(
                "{} bytes after the trailer: expected corruption at the end, got {other:?}",
                extra.len()
            ),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_not_a_ledger(bytes in vec(any::<u8>(), 0..2048)) {
        prop_assume!(bytes.len() < 8 || bytes[..8] != MAGIC);
        let result = LedgerReader::new(Cursor::new(bytes)).map(|_| ());
        prop_assert!(matches!(result, Err(LedgerReadError::NotALedger)), "got {:?}", result);
    }

    #[test]
    fn random_bytes_after_the_magic_are_a_corrupt_header(tail in vec(any::<u8>(), 0..2048)) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let result = LedgerReader::new(Cursor::new(bytes.clone())).map(|_| ());
        if bytes.len() < 16 {
            prop_assert!(matches!(result, Err(LedgerReadError::NotALedger)), "got {:?}", result);
        } else {
            prop_assert!(matches!(result, Err(LedgerReadError::HeaderCorrupt { .. })), "got {:?}", result);
        }
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_verify(body in vec(any::<u8>(), 0..4096)) {
        let f = fixture();
        let mut bytes = f.file[..common::header_len(&f.file)].to_vec();
        bytes.extend_from_slice(&body);
        let result = verify_bytes(bytes);
        prop_assert!(matches!(result, Err(ref e) if e.is_damage()), "got {:?}", result);
    }
}

// ---------------------------------------------------------------------------------------------
// The writer stops on failure.
// ---------------------------------------------------------------------------------------------

/// What a [`FakeStorage`] holds, shared with the test.
#[derive(Default)]
struct FakeDisk {
    bytes: Vec<u8>,
    /// Bytes appended when the last successful sync returned.
    synced_len: usize,
    syncs: u32,
    failed: bool,
    /// Appends and syncs attempted after a failure (the writer must make none).
    calls_after_failure: u32,
}

/// A [`Storage`] in memory that fails on purpose.
struct FakeStorage {
    disk: Arc<Mutex<FakeDisk>>,
    /// An append that would take the disk past this many bytes fails: it writes nothing, or
    /// with `short_appends` it first writes what fits (a short write, as a full disk does).
    fail_append_past: Option<usize>,
    short_appends: bool,
    /// The sync with this 0-based number fails.
    fail_sync_number: Option<u32>,
}

impl FakeStorage {
    fn new(
        fail_append_past: Option<usize>,
        fail_sync_number: Option<u32>,
    ) -> (Self, Arc<Mutex<FakeDisk>>) {
        let disk = Arc::new(Mutex::new(FakeDisk::default()));
        (
            Self {
                disk: Arc::clone(&disk),
                fail_append_past,
                short_appends: false,
                fail_sync_number,
            },
            disk,
        )
    }
}

impl Storage for FakeStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut disk = self
            .disk
            .lock()
            .expect("no test thread panicked holding the lock");
        if disk.failed {
            disk.calls_after_failure += 1;
        }
        if let Some(limit) = self
            .fail_append_past
            .filter(|&limit| disk.bytes.len() + bytes.len() > limit)
        {
            disk.failed = true;
            if self.short_appends {
                let fits = limit.saturating_sub(disk.bytes.len());
                disk.bytes.extend_from_slice(&bytes[..fits]);
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full (test)",
            ));
        }
        disk.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        let mut disk = self
            .disk
            .lock()
            .expect("no test thread panicked holding the lock");
        if disk.failed {
            disk.calls_after_failure += 1;
        }
        let number = disk.syncs;
        disk.syncs += 1;
        if self.fail_sync_number == Some(number) {
            disk.failed = true;
            return Err(std::io::Error::other("EIO on fdatasync (test)"));
        }
        disk.synced_len = disk.bytes.len();
        Ok(())
    }
}

fn lock(disk: &Arc<Mutex<FakeDisk>>) -> std::sync::MutexGuard<'_, FakeDisk> {
    disk.lock()
        .expect("no test thread panicked holding the lock")
}

/// Feeds `frames` to `writer` in pieces of about `piece` bytes (whole frames), calling
/// `between` after each hand-off; returns the first error, from a hand-off or from `finish`.
fn feed(
    mut writer: LedgerWriter,
    frames: &[u8],
    piece: usize,
    mut between: impl FnMut(&mut LedgerWriter, usize) -> Result<(), LedgerWriteError>,
) -> Result<WriterSummary, LedgerWriteError> {
    let mut from = 0;
    let mut n = 0;
    for start in frame_starts(frames) {
        if start - from >= piece {
            let buf = frames[from..start].to_vec();
            writer.submit(buf)?;
            between(&mut writer, n)?;
            n += 1;
            from = start;
        }
    }
    writer.finish(frames[from..].to_vec())
}

#[test]
fn writer_stops_on_failed_sync() {
    let f = fixture();
    // End: the one sync, after the trailer, fails.
    let (storage, disk) = FakeStorage::new(None, Some(0));
    let writer = LedgerWriter::start(storage, "fake.tape".into(), &f.header, FsyncPolicy::End)
        .expect("header appended");
    match feed(writer, &f.frames, 16 << 10, |_, _| Ok(())) {
        Err(LedgerWriteError::Sync { durable, .. }) => {
            assert_eq!(durable, 0, "nothing was ever synced")
        }
        other => panic!("expected a sync error, got {other:?}"),
    }
    let d = lock(&disk);
    assert_eq!(
        (d.syncs, d.calls_after_failure),
        (1, 0),
        "one sync, never retried, nothing after it"
    );
    assert!(
        d.bytes == f.file,
        "everything was written before the final sync"
    );

    // Block: the second sync fails (a flush forces a first good one); the error says how far
    // the last good sync reached, and nothing is attempted after the failure.
    let (storage, disk) = FakeStorage::new(None, Some(1));
    let writer = LedgerWriter::start(storage, "fake.tape".into(), &f.header, FsyncPolicy::Block)
        .expect("header appended");
    let durable = writer.durable_handle();
    let result = feed(writer, &f.frames, 16 << 10, |w, n| {
        if n % 2 == 0 {
            w.flush()
        } else {
            Ok(())
        }
    });
    let d = lock(&disk);
    match result {
        Err(LedgerWriteError::Sync {
            durable: reported, ..
        }) => {
            assert_eq!(
                reported as usize, d.synced_len,
                "the error names the last good sync"
            );
        }
        other => panic!("expected a sync error, got {other:?}"),
    }
    assert!(
        d.synced_len > common::header_len(&f.file),
        "the first sync covered a block"
    );
    assert_eq!(d.syncs, 2, "stopped at the failed sync, never retried");
    assert_eq!(d.calls_after_failure, 0);
    assert_eq!(
        durable.load(std::sync::atomic::Ordering::Acquire) as usize,
        d.synced_len
    );
}

#[test]
fn writer_stops_on_failed_append() {
    let f = fixture();
    // The header itself cannot be written.
    let (storage, _) = FakeStorage::new(Some(10), None);
    match LedgerWriter::start(storage, "fake.tape".into(), &f.header, FsyncPolicy::End) {
        Err(LedgerWriteError::Write { offset: 0, .. }) => {}
        Err(other) => panic!("expected a write error at 0, got {other:?}"),
        Ok(_) => panic!("a writer started on a disk that cannot take the header"),
    }
    // The disk fills up mid-run.
    let limit = f.file.len() / 2;
    let (storage, disk) = FakeStorage::new(Some(limit), None);
    let writer = LedgerWriter::start(storage, "fake.tape".into(), &f.header, FsyncPolicy::End)
        .expect("header appended");
    let result = feed(writer, &f.frames, 8 << 10, |_, _| Ok(()));
    let d = lock(&disk);
    match result {
        Err(LedgerWriteError::Write { offset, .. }) => {
            assert_eq!(
                offset as usize,
                d.bytes.len(),
                "the error names where the file stops"
            );
        }
        other => panic!("expected a write error, got {other:?}"),
    }
    assert!(d.bytes.len() <= limit);
    assert!(
        d.bytes[..] == f.file[..d.bytes.len()],
        "what was written is a prefix of the ledger"
    );
    assert_eq!(
        (d.syncs, d.calls_after_failure),
        (0, 0),
        "nothing after the failed append"
    );
}

/// What any failed writer must leave: nothing attempted after the failure, bytes that are a
/// prefix of the ledger the writer was given, and nothing a reader accepts as a whole ledger
/// unless it is that ledger.
fn assert_failed_cleanly(d: &FakeDisk, whole: &[u8], case: &str) {
    assert_eq!(d.calls_after_failure, 0, "{case}: a call after the failure");
    assert!(whole.starts_with(&d.bytes), "{case}: not a prefix");
    if verify_bytes(d.bytes.clone()).is_ok() {
        assert!(d.bytes == whole, "{case}: a wrong ledger verifies");
    }
}

/// Fault injection over the file layer at many points of a run: failed appends (nothing
/// written), short appends (what fits is written, then "no space left"), failed syncs, under
/// both syncing policies. Every fault surfaces as the error of its kind, naming how far the
/// file is written or durable, and leaves a prefix that never verifies as a wrong ledger.
#[test]
fn a_fault_at_any_point_stops_the_writer_and_never_leaves_a_wrong_ledger() {
    let f = fixture();
    let header_len = common::header_len(&f.file);
    let feed_flushing = |writer| {
        feed(writer, &f.frames, 8 << 10, |w: &mut LedgerWriter, n| {
            if n % 3 == 0 {
                w.flush()
            } else {
                Ok(())
            }
        })
    };
    let mut cases = 0;
    for policy in [FsyncPolicy::Block, FsyncPolicy::End] {
        // The run without a fault: the bytes every failed run must be a prefix of (flushes
        // seal blocks early, so they differ from the fixture's file), and its sync count.
        let (storage, disk) = FakeStorage::new(None, None);
        let writer = LedgerWriter::start(storage, "fake.tape".into(), &f.header, policy)
            .expect("header appended");
        feed_flushing(writer).expect("no fault injected");
        let (whole, syncs) = {
            let d = lock(&disk);
            (d.bytes.clone(), d.syncs)
        };
        verify_bytes(whole.clone()).expect("the run without a fault verifies");
        assert!(syncs >= 2, "{policy:?}: {syncs} syncs");
        // Appends: the disk fills at 60 points spread over the file, the header included.
        for i in 0..60 {
            let limit = whole.len() * i / 60 + (i * 37) % 29;
            for short in [false, true] {
                let case = format!("{policy:?} disk full at {limit} (short writes {short})");
                let (mut storage, disk) = FakeStorage::new(Some(limit), None);
                storage.short_appends = short;
                let result = LedgerWriter::start(storage, "fake.tape".into(), &f.header, policy)
                    .and_then(feed_flushing);
                let d = lock(&disk);
                match result {
                    Err(LedgerWriteError::Write { offset, source, .. }) => {
                        assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{case}");
                        assert!(offset as usize <= d.bytes.len(), "{case}");
                        assert!(d.bytes.len() <= limit, "{case}");
                        if short {
                            assert_eq!(d.bytes.len(), limit, "{case}: what fits is written");
                        }
                    }
                    other => panic!("{case}: expected a write error, got {other:?}"),
                }
                assert!(limit >= header_len || d.bytes.len() < header_len, "{case}");
                assert_failed_cleanly(&d, &whole, &case);
                cases += 1;
            }
        }
        // Syncs: each sync of the run, in turn, fails.
        for k in 0..syncs {
            let case = format!("{policy:?} sync {k} of {syncs} fails");
            let (storage, disk) = FakeStorage::new(None, Some(k));
            let result = LedgerWriter::start(storage, "fake.tape".into(), &f.header, policy)
                .and_then(feed_flushing);
            let d = lock(&disk);
            match result {
                Err(LedgerWriteError::Sync { durable, .. }) => {
                    assert_eq!(
                        durable as usize, d.synced_len,
                        "{case}: names the durable end"
                    )
                }
                other => panic!("{case}: expected a sync error, got {other:?}"),
            }
            assert_eq!(d.syncs, k + 1, "{case}: never retried");
            assert_failed_cleanly(&d, &whole, &case);
            cases += 1;
        }
    }
    println!("{cases} faults injected, each stopped cleanly with no wrong ledger left");
    assert!(cases > 240, "{cases} cases");
}

#[test]
fn durable_bytes_never_exceed_what_a_returned_sync_covered() {
    let header = common::header("[run]\nname = \"durable\"\n");
    let frames = bar_frames(&header, 30_000); // ~2.4 MB: dozens of blocks.
    let (storage, disk) = FakeStorage::new(None, None);
    let writer = LedgerWriter::start(storage, "fake.tape".into(), &header, FsyncPolicy::Block)
        .expect("header appended");
    let durable = writer.durable_handle();
    let mut last = 0;
    let summary = feed(writer, &frames, 32 << 10, |w, _| {
        // Read the writer's claim first: the fake records a sync before the writer can claim it.
        let claimed = w.durable_bytes();
        let synced = lock(&disk).synced_len as u64;
        assert!(
            claimed <= synced,
            "durable_bytes {claimed} exceeds the {synced} bytes a returned sync covered"
        );
        assert!(claimed >= last, "durable_bytes went backwards");
        last = claimed;
        Ok(())
    })
    .expect("no failures injected");
    let d = lock(&disk);
    assert!(summary.blocks >= 30, "{} blocks", summary.blocks);
    assert!(d.syncs >= 1);
    assert_eq!(d.synced_len, d.bytes.len(), "the end is synced");
    assert_eq!(summary.bytes as usize, d.bytes.len());
    assert_eq!(
        durable.load(std::sync::atomic::Ordering::Acquire),
        summary.bytes
    );
    let verified = verify_bytes(d.bytes.clone()).expect("the fake disk holds a valid ledger");
    assert_eq!(verified.fingerprint, summary.fingerprint);
}

#[test]
fn creating_over_an_existing_ledger_is_refused() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("exists.tape");
    std::fs::write(&path, &f.file).expect("temp dir is writable");
    match LedgerWriter::create(&path, &f.header, FsyncPolicy::Never, false) {
        Err(LedgerWriteError::Exists { path: p }) => assert_eq!(p, path),
        Err(other) => panic!("expected Exists, got {other:?}"),
        Ok(_) => panic!("created over an existing ledger"),
    }
    assert!(
        std::fs::read(&path).expect("still there") == f.file,
        "the existing ledger is untouched"
    );
}

#[test]
fn a_second_writer_to_a_locked_ledger_is_refused_and_changes_nothing() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("held.tape");
    let first = LedgerWriter::create(&path, &f.header, FsyncPolicy::Never, false)
        .expect("the first writer starts");
    let before = std::fs::read(&path).expect("the header is written");
    for replace in [false, true] {
        match LedgerWriter::create(&path, &f.header, FsyncPolicy::Never, replace) {
            Err(LedgerWriteError::Locked { path: p }) => assert_eq!(p, path),
            Err(other) => panic!("expected Locked (replace {replace}), got {other:?}"),
            Ok(_) => panic!("a second writer started (replace {replace})"),
        }
        assert!(
            std::fs::read(&path).expect("still there") == before,
            "the refused writer truncated nothing"
        );
    }
    first
        .finish(f.frames.clone())
        .expect("the first writer finishes");
    // Finished, the lock is gone: replacing works again.
    drop(LedgerWriter::create(&path, &f.header, FsyncPolicy::Never, true).expect("replaces"));
}

#[test]
fn a_directory_or_a_path_under_a_file_is_refused_by_name() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    for replace in [false, true] {
        match LedgerWriter::create(dir.path(), &f.header, FsyncPolicy::Never, replace) {
            Err(e @ LedgerWriteError::IsDirectory { .. }) => {
                assert!(e.to_string().contains("is a directory"), "{e}")
            }
            Err(other) => panic!("expected IsDirectory, got {other:?}"),
            Ok(_) => panic!("wrote a ledger over a directory"),
        }
    }
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "x").expect("temp dir is writable");
    for path in [file.join("x.tape"), dir.path().join("missing/x.tape")] {
        match LedgerWriter::create(&path, &f.header, FsyncPolicy::Never, true) {
            Err(e @ LedgerWriteError::NoDirectory { .. }) => {
                assert!(e.to_string().contains(&path.display().to_string()), "{e}")
            }
            Err(other) => panic!("expected NoDirectory for {}, got {other:?}", path.display()),
            Ok(_) => panic!("wrote {}", path.display()),
        }
    }
}

#[test]
fn a_run_with_no_events_writes_a_ledger_that_verifies() {
    let header = common::header("[run]\nname = \"empty\"\n");
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("empty-run.tape");
    let written = write_ledger(&path, &header, &[], &[]);
    assert_eq!((written.events, written.blocks), (0, 0));
    let summary = LedgerReader::open(&path)
        .expect("opens")
        .verify_to_end()
        .expect("verifies");
    assert_eq!(summary.fingerprint, written.fingerprint);
    assert_eq!(
        (summary.events, summary.blocks, summary.bytes),
        (0, 0, written.bytes)
    );
    assert_eq!(
        repair(&path, None).expect("intact"),
        RepairOutcome::Intact { events: 0 }
    );
}

// ---------------------------------------------------------------------------------------------
// A ledger larger than the reader's buffer, in constant memory.
// ---------------------------------------------------------------------------------------------

/// Counts this thread's live heap bytes and their peak, so a test can bound what the reader
/// allocates (other test threads allocate concurrently and are not counted).
struct CountingAlloc;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every method forwards to it).
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the peak of this thread's extra heap bytes during it.
fn peak_heap_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - start).max(0) as usize)
}

/// `run_started`, `bars` bars and `run_finished`, encoded by hand.
fn bar_frames(header: &Header, bars: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bars * 80 + 256);
    let cash = Money::from_units(1_000_000).expect("fits");
    let market = common::market(bars / 2 + 1, 9);
    let mut seq = 0;
    let mut push = |out: &mut Vec<u8>, ts: Ts, body: EventBody| {
        encode_event(
            &Event {
                seq: Seq(seq),
                ts,
                causes: Causes::NONE,
                body,
            },
            header.salt,
            out,
        );
        seq += 1;
    };
    let started = RunStarted {
        config_digest: header.config_digest(),
        initial_cash: cash,
        symbols: 3,
    };
    push(&mut out, common::START, EventBody::RunStarted(started));
    for &(ts, bar) in market.iter().take(bars) {
        push(&mut out, ts, EventBody::Bar(bar));
    }
    let finished = RunFinished {
        bars: bars as u64,
        orders: 0,
        fills: 0,
        rejections: 0,
        final_equity: cash,
        peak_equity: cash,
        max_drawdown: 0.0,
    };
    push(
        &mut out,
        market[bars - 1].0,
        EventBody::RunFinished(finished),
    );
    out
}

#[test]
fn the_reader_streams_a_ledger_larger_than_its_buffer() {
    let header = common::header("[run]\nname = \"big\"\n");
    let bars = (10 << 20) / 80;
    let frames = bar_frames(&header, bars);
    let starts = frame_starts(&frames);
    let cuts: Vec<usize> = starts.iter().copied().step_by(HANDOFF_BYTES / 80).collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("big.tape");
    let written = write_ledger(&path, &header, &frames, &cuts);
    assert!(
        written.bytes > 2 * READ_BUFFER_BYTES as u64,
        "the ledger is larger than the read buffer"
    );

    let (summary, peak) = peak_heap_during(|| {
        let mut reader = LedgerReader::open(&path).expect("opens");
        let mut n = 0usize;
        let mut last_offset = 0;
        while let Some(frame) = reader.next_event().expect("an intact ledger reads") {
            assert_eq!(frame.header.seq, n as u64);
            assert!(frame.offset > last_offset || n == 0);
            last_offset = frame.offset;
            assert!(
                frame.bytes == &frames[starts[n]..starts[n] + frame.bytes.len()],
                "event {n} differs"
            );
            n += 1;
        }
        assert_eq!(n, starts.len());
        reader.summary().expect("read to the trailer")
    });
    assert_eq!(summary.fingerprint, written.fingerprint);
    assert_eq!(
        (summary.events, summary.blocks, summary.bytes),
        (written.events, written.blocks, written.bytes)
    );
    assert!(
        peak < READ_BUFFER_BYTES + (256 << 10),
        "the reader held {peak} bytes for a {}-byte ledger: more than its one buffer",
        written.bytes
    );

    // Damage far past the first buffer-full is still placed exactly.
    let file = std::fs::read(&path).expect("just written");
    let spans = common::spans(&file);
    let late = spans
        .iter()
        .find(|s| s.offset > 9 << 20 && s.is_event())
        .expect("a frame past 9 MiB");
    match verify_bytes(flipped(&file, late.offset + 40, 2)) {
        Err(LedgerReadError::Corrupt { offset, .. }) if offset as usize == late.offset => {}
        other => panic!(
            "flip at {}: expected corruption at {}, got {other:?}",
            late.offset + 40,
            late.offset
        ),
    }
    let torn = spans
        .iter()
        .find(|s| s.offset > 7 << 20)
        .expect("a frame past 7 MiB");
    match verify_bytes(file[..torn.offset + 20].to_vec()) {
        Err(LedgerReadError::TornTail { offset, .. }) if offset as usize == torn.offset => {}
        other => panic!(
            "cut inside the frame at {}: expected a torn tail there, got {other:?}",
            torn.offset
        ),
    }
}
