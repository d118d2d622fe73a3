//! Power loss: the writer over a storage that models a page cache and a power cut.
//!
//! # The model
//! Appends go to a page cache; a returned `sync` makes everything appended so far durable,
//! and a returned `record_durable` makes the durable mark durable (the side file's slot is
//! written and synced). At a seeded storage call the power is cut; that call and every later
//! one fail. What survives on the disk:
//! - every byte before the last returned sync;
//! - the file's length is either the synced length or everything appended (the size
//!   update may or may not have reached the journal);
//! - within that length, each unsynced 4 KiB page is independently kept whole, lost (it
//!   reads as zeros: the file grew into it), or torn (each of its 512-byte sectors kept or
//!   lost independently). So a cut can leave a prefix, holes followed by later pages, or
//!   torn sectors, in any combination;
//! - a cut during an append may first put a prefix of that append in the cache; a cut
//!   during a mark update may leave that mark's slot as garbage (the other slot is intact).
//!
//! # The property
//! After `repair`, every surviving ledger verifies, holds every byte the writer reported
//! durable, and is a byte prefix of the uninterrupted ledger up to where repair cut: every
//! event reported durable is there, and no event is wrong. Nothing is asked of a ledger
//! whose writer never reported a byte durable except that repair never makes a wrong one.
//!
//! `TAPE_POWER_CUTS=N` runs N cuts (default 300).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{fixture, frame_starts, Fixture};
use tape_engine::ledger::durable::{ledger_id, mark_path, DurableMark, SLOT_LEN};
use tape_engine::ledger::{
    repair, FsyncPolicy, LedgerReadError, LedgerReader, LedgerWriter, RepairError, RepairOutcome,
    Storage,
};

/// The project's one seeded stream (ChaCha, as the engine uses), so a failing case can be
/// re-run exactly from its seed.
fn seeded(seed: u64) -> tape_engine::rng::SeededRng {
    tape_engine::rng::SeededRng::new(tape_engine::rng::seed_from_u64(seed), 0)
}

const PAGE: usize = 4096;
const SECTOR: usize = 512;

/// The machine's state, shared between the storage (on the writer thread) and the test.
#[derive(Default)]
struct Machine {
    /// Everything appended: what the page cache holds.
    cache: Vec<u8>,
    /// Bytes covered by the last returned sync.
    synced: usize,
    /// The side file's two slots as they are on disk.
    slots: [Option<[u8; SLOT_LEN]>; 2],
    /// Storage calls made so far.
    calls: u64,
    /// The call at which the power is cut (`None`: never).
    cut_at_call: Option<u64>,
    /// Whether the power is off.
    off: bool,
    seed: u64,
}

struct PowerStorage(Arc<Mutex<Machine>>);

impl PowerStorage {
    /// Counts a call; `true` if the power is (now) off.
    fn power_is_off(m: &mut Machine) -> bool {
        let call = m.calls;
        m.calls += 1;
        if m.cut_at_call == Some(call) {
            m.off = true;
            return true;
        }
        m.off
    }
}

fn off() -> std::io::Error {
    std::io::Error::other("the power is off (test)")
}

impl Storage for PowerStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut m = self
            .0
            .lock()
            .expect("no test thread panicked holding the lock");
        if PowerStorage::power_is_off(&mut m) {
            if m.cut_at_call == Some(m.calls - 1) {
                // Cut mid-append: part of it may have reached the cache.
                let mut rng = seeded(m.seed ^ 0xA5A5);
                let part = rng.below(bytes.len() as u64 + 1) as usize;
                m.cache.extend_from_slice(&bytes[..part]);
            }
            return Err(off());
        }
        m.cache.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        let mut m = self
            .0
            .lock()
            .expect("no test thread panicked holding the lock");
        if PowerStorage::power_is_off(&mut m) {
            return Err(off());
        }
        m.synced = m.cache.len();
        Ok(())
    }

    fn record_durable(&mut self, mark: &DurableMark) -> std::io::Result<()> {
        let mut m = self
            .0
            .lock()
            .expect("no test thread panicked holding the lock");
        let slot = (mark.generation % 2) as usize;
        if PowerStorage::power_is_off(&mut m) {
            if m.cut_at_call == Some(m.calls - 1) {
                // Cut mid-update: the slot may be half written.
                let mut rng = seeded(m.seed ^ 0x5A5A);
                if rng.below(2) == 0 {
                    let mut garbage = mark.encode();
                    let from = rng.below(SLOT_LEN as u64) as usize;
                    for b in &mut garbage[from..] {
                        *b = rng.next_u64() as u8;
                    }
                    m.slots[slot] = Some(garbage);
                }
            }
            return Err(off());
        }
        m.slots[slot] = Some(mark.encode());
        Ok(())
    }
}

/// How a case feeds the writer.
#[derive(Clone, Copy, Debug)]
struct Feed {
    policy: FsyncPolicy,
    piece: usize,
    /// Flush after every this many hand-offs.
    flush_every: usize,
}

/// Runs the writer over `frames` on a machine cut at `cut_at_call`; returns the machine and
/// the bytes the writer reported durable.
fn run(f: &Fixture, feed: Feed, cut_at_call: Option<u64>, seed: u64) -> (Machine, u64) {
    let machine = Arc::new(Mutex::new(Machine {
        cut_at_call,
        seed,
        ..Machine::default()
    }));
    let storage = PowerStorage(Arc::clone(&machine));
    let mut durable = 0;
    if let Ok(mut writer) =
        LedgerWriter::start(storage, "power.tape".into(), &f.header, feed.policy)
    {
        let handle = writer.durable_handle();
        let result = (|| {
            let mut from = 0;
            let mut n = 0;
            for start in frame_starts(&f.frames) {
                if start - from >= feed.piece {
                    writer.submit(f.frames[from..start].to_vec())?;
                    n += 1;
                    if n % feed.flush_every == 0 {
                        writer.flush()?;
                    }
                    from = start;
                }
            }
            writer.finish(f.frames[from..].to_vec())
        })();
        durable = handle.load(std::sync::atomic::Ordering::Acquire);
        if cut_at_call.is_none() {
            result.expect("no cut, no failure");
        }
    }
    let m = Arc::try_unwrap(machine)
        .map_err(|_| "the writer thread has ended")
        .expect("the writer thread has ended")
        .into_inner()
        .expect("no test thread panicked holding the lock");
    (m, durable)
}

/// What the disk holds after the cut, per the model in the module docs.
fn surviving_image(m: &Machine, rng: &mut tape_engine::rng::SeededRng) -> Vec<u8> {
    let len = if rng.below(2) == 0 {
        m.synced
    } else {
        m.cache.len()
    };
    let mut image = m.cache[..m.synced].to_vec();
    image.resize(len, 0);
    let first_page = m.synced / PAGE;
    for page in first_page..len.div_ceil(PAGE) {
        let (lo, hi) = ((page * PAGE).max(m.synced), ((page + 1) * PAGE).min(len));
        match rng.below(3) {
            0 => image[lo..hi].copy_from_slice(&m.cache[lo..hi]),
            1 => {} // lost
            _ => {
                for sector in (page * PAGE..(page + 1) * PAGE).step_by(SECTOR) {
                    let (a, b) = (sector.max(lo), (sector + SECTOR).min(hi));
                    if a < b && rng.below(2) == 0 {
                        image[a..b].copy_from_slice(&m.cache[a..b]);
                    }
                }
            }
        }
    }
    image
}

fn mark_bytes(m: &Machine) -> Option<Vec<u8>> {
    if m.slots.iter().all(Option::is_none) {
        return None;
    }
    let mut out = vec![0u8; 2 * SLOT_LEN];
    for (i, slot) in m.slots.iter().enumerate() {
        if let Some(s) = slot {
            out[i * SLOT_LEN..(i + 1) * SLOT_LEN].copy_from_slice(s);
        }
    }
    Some(out)
}

/// What one cut came to.
#[derive(Default)]
struct Tally {
    cuts: u64,
    /// Cuts after something was reported durable.
    with_durable: u64,
    /// Surviving files that were the whole ledger.
    intact: u64,
    /// Surviving files whose tail repair cut.
    repaired: u64,
    /// Surviving files repair refused (only ever when nothing was reported durable).
    refused: u64,
}

/// One seeded cut; panics with the seed on any broken promise, and counts the outcome.
fn one_cut(f: &Fixture, dir: &Path, seed: u64, tally: &mut Tally) {
    let mut rng = seeded(seed);
    let feed = Feed {
        policy: if rng.below(2) == 0 {
            FsyncPolicy::End
        } else {
            FsyncPolicy::Block
        },
        piece: [2 << 10, 8 << 10, 32 << 10][rng.below(3) as usize],
        flush_every: 1 + rng.below(4) as usize,
    };
    let (whole, _) = run(f, feed, None, seed);
    let reference = whole.cache;
    let cut = rng.below(whole.calls + 1);
    let (m, reported) = run(f, feed, Some(cut), seed);
    let ctx = format!(
        "seed {seed}, {feed:?}, cut at storage call {cut} of {}",
        whole.calls
    );
    assert!(
        reported as usize <= m.synced,
        "{ctx}: reported more than was synced"
    );

    let image = surviving_image(&m, &mut rng);
    let path = dir.join(format!("cut-{seed}.tape"));
    std::fs::write(&path, &image).expect("temp dir is writable");
    let marks = mark_path(&path);
    match mark_bytes(&m) {
        Some(bytes) => std::fs::write(&marks, bytes).expect("temp dir is writable"),
        None => {
            let _ = std::fs::remove_file(&marks);
        }
    }

    let outcome = repair(&path, None);
    let repaired = std::fs::read(&path).expect("the file is still there");
    match outcome {
        Ok(RepairOutcome::Intact { .. }) => {
            assert_eq!(
                repaired, reference,
                "{ctx}: verified, but is not the ledger written"
            );
            tally.intact += 1;
        }
        Ok(RepairOutcome::Repaired { cut_at, .. }) => {
            assert!(
                cut_at >= reported,
                "{ctx}: repair cut at {cut_at}, before the durable byte {reported}"
            );
            assert!(
                repaired[..cut_at as usize] == reference[..cut_at as usize],
                "{ctx}: the kept bytes are not a prefix of the ledger written"
            );
            LedgerReader::open(&path)
                .and_then(LedgerReader::verify_to_end)
                .unwrap_or_else(|e| panic!("{ctx}: the repaired ledger does not verify: {e}"));
            assert!(!marks.exists(), "{ctx}: repair left the mark behind");
            tally.repaired += 1;
        }
        Err(e) => {
            assert_eq!(
                reported, 0,
                "{ctx}: {reported} bytes were reported durable, yet repair failed: {e}"
            );
            assert_eq!(repaired, image, "{ctx}: a refused repair changed the file");
            tally.refused += 1;
        }
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&marks);
    tally.cuts += 1;
    tally.with_durable += u64::from(reported > 0);
}

#[test]
fn after_a_power_cut_repair_keeps_every_durable_event_and_no_wrong_one() {
    let f = fixture();
    assert!(
        f.summary.blocks >= 3,
        "the fixture has {} blocks",
        f.summary.blocks
    );
    // A test's own knob, not the core's: the longer run is this test with more cuts.
    #[allow(clippy::disallowed_methods)]
    let cuts: u64 = std::env::var("TAPE_POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut tally = Tally::default();
    for seed in 0..cuts {
        one_cut(f, dir.path(), seed, &mut tally);
    }
    println!(
        "{} power cuts of a {}-byte ledger ({} blocks), {} after something was reported durable: {} whole ledgers, {} repaired, {} refused (nothing durable), 0 losses",
        tally.cuts,
        f.file.len(),
        f.summary.blocks,
        tally.with_durable,
        tally.intact,
        tally.repaired,
        tally.refused
    );
    assert_eq!(tally.cuts, cuts);
    assert!(
        tally.with_durable * 2 >= cuts,
        "most cuts come after a sync"
    );
}

/// A ledger (the fixture) with a mark saying the first `durable` bytes are durable.
fn marked(dir: &Path, name: &str, file: &[u8], durable: u64) -> std::path::PathBuf {
    let f = fixture();
    let path = dir.join(name);
    std::fs::write(&path, file).expect("temp dir is writable");
    let h0 = *blake3::hash(&file[..common::header_len(file)]).as_bytes();
    let mark = DurableMark {
        salt: f.header.salt,
        ledger_id: ledger_id(&h0),
        generation: 3,
        durable_bytes: durable,
    };
    let mut slots = vec![0u8; 2 * SLOT_LEN];
    slots[SLOT_LEN..].copy_from_slice(&mark.encode());
    std::fs::write(mark_path(&path), slots).expect("temp dir is writable");
    path
}

#[test]
fn a_hole_after_the_durable_point_is_a_torn_tail_that_repair_cuts() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    // Durable through the first seal; a page-sized hole two frames later, valid frames after.
    let seal = f
        .spans
        .iter()
        .find(|s| s.kind == tape_engine::ledger::frame::KIND_BLOCK_SEALED)
        .expect("the fixture has seals");
    let durable = (seal.offset + seal.len) as u64;
    let hole_at = f
        .spans
        .iter()
        .find(|s| s.offset as u64 > durable)
        .expect("frames follow")
        .offset;
    let mut holed = f.file.clone();
    let hole_end = (hole_at + PAGE).min(holed.len() - 256);
    holed[hole_at..hole_end].fill(0);

    // Without the mark it is corruption, as before.
    let bare = dir.path().join("bare.tape");
    std::fs::write(&bare, &holed).expect("temp dir is writable");
    match repair(&bare, None) {
        Err(RepairError::Read(LedgerReadError::Corrupt { offset, .. })) => {
            assert_eq!(offset as usize, hole_at)
        }
        other => panic!("expected corruption at {hole_at}, got {other:?}"),
    }

    let path = marked(dir.path(), "holed.tape", &holed, durable);
    match LedgerReader::open(&path).and_then(LedgerReader::verify_to_end) {
        Err(LedgerReadError::TornTail { offset, detail }) => {
            assert_eq!(offset as usize, hole_at);
            assert!(detail.contains("durable"), "{detail}");
        }
        other => panic!("expected a torn tail at {hole_at}, got {other:?}"),
    }
    match repair(&path, None) {
        Ok(RepairOutcome::Repaired { cut_at, .. }) => assert_eq!(cut_at as usize, hole_at),
        other => panic!("expected a cut at {hole_at}, got {other:?}"),
    }
    let repaired = std::fs::read(&path).expect("repaired in place");
    assert!(repaired[..hole_at] == f.file[..hole_at]);
    LedgerReader::open(&path)
        .and_then(LedgerReader::verify_to_end)
        .expect("the repaired ledger verifies");
    assert!(
        !mark_path(&path).exists(),
        "the mark is removed once the file is whole"
    );
}

#[test]
fn a_bit_flip_before_the_durable_point_is_still_corruption_that_repair_refuses() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let victim = f.spans[f.spans.len() / 2];
    let mut flipped = f.file.clone();
    flipped[victim.offset + 20] ^= 0x10;
    // Durable to the end (a finished run), or just past the flipped frame.
    for durable in [f.file.len() as u64, (victim.offset + victim.len) as u64] {
        let path = marked(dir.path(), "flipped.tape", &flipped, durable);
        match repair(&path, None) {
            Err(RepairError::Read(LedgerReadError::Corrupt { offset, .. })) => {
                assert_eq!(offset as usize, victim.offset)
            }
            other => panic!("expected corruption at {}, got {other:?}", victim.offset),
        }
        assert_eq!(
            std::fs::read(&path).expect("still there"),
            flipped,
            "unchanged"
        );
    }
}

#[test]
fn a_mark_of_another_ledger_is_ignored() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut holed = f.file.clone();
    let at = f.spans[3].offset;
    holed[at..at + 64].fill(0);
    let path = marked(dir.path(), "other.tape", &holed, 0);
    // Rewrite the mark with another salt: it no longer describes this ledger.
    let mut slots = std::fs::read(mark_path(&path)).expect("written above");
    let mut mark = DurableMark::decode(&slots[SLOT_LEN..]).expect("valid");
    mark.salt ^= 1;
    slots[SLOT_LEN..].copy_from_slice(&mark.encode());
    std::fs::write(mark_path(&path), slots).expect("temp dir is writable");
    match repair(&path, None) {
        Err(RepairError::Read(LedgerReadError::Corrupt { offset, .. })) => {
            assert_eq!(offset as usize, at)
        }
        other => panic!("expected corruption at {at}, got {other:?}"),
    }
}
