//! Golden ledgers pin the bytes of each format version this build reads:
//! `golden/small-v1.tape` (version 1: every kind it has), `golden/notes-v2.tape` (version
//! 2, which added the data guard's `data_quarantined` and `data_warning`) and
//! `golden/features-v3.tape` (version 3, which added the header's feature table and the
//! `feature` kind).
//!
//! Two separate promises are checked:
//! - **Format**: every frame of the checked-in ledger decodes and re-encodes to the same
//!   bytes, and the file verifies with its recorded fingerprint. A codec, layout or crate
//!   change that alters bytes fails here. Such a change must bump `FORMAT_VERSION` and add a
//!   `small-v2.tape` beside this one (old versions stay readable or are refused clearly).
//! - **Behaviour**: re-running the run its header records writes the very same file, and
//!   `golden/small.toml` still produces the same events. A change to
//!   the market generator, the strategy or the core that alters any event fails here; if the
//!   change is intended, regenerate the file in the same commit and say why in its message.

use tape_engine::ledger::frame::{decode_event, encode_event};
use tape_engine::ledger::{
    fingerprint_hex, FsyncPolicy, LedgerReader, FORMAT_VERSION, MIN_FORMAT_VERSION,
};
use tape_replay::drive::run_to_ledger;
use tape_replay::plan::RunPlan;
use tape_tests::{scratch, workspace_root};

const GOLDEN_FINGERPRINT: &str = "871e85a59a741e64435c8219a46de8b5f921aac230024bfb80a350c697a8abbe";

fn golden_path() -> std::path::PathBuf {
    workspace_root().join("tests/golden/small-v1.tape")
}

/// Decodes and re-encodes every frame of a ledger, asserting the same bytes; returns the
/// kinds it holds.
fn re_encode_every_frame(
    path: &std::path::Path,
) -> std::collections::BTreeSet<tape_engine::event::EventKind> {
    let mut reader = LedgerReader::open(path).expect("golden opens");
    let salt = reader.header().salt;
    let mut kinds = std::collections::BTreeSet::new();
    while let Some(frame) = reader.next_event().expect("golden reads") {
        let event = decode_event(frame.bytes).expect("golden frames decode");
        let mut again = Vec::new();
        encode_event(&event, salt, &mut again);
        assert_eq!(
            again, frame.bytes,
            "event {} re-encodes differently",
            frame.header.seq
        );
        kinds.insert(event.body.kind());
    }
    kinds
}

const NOTES_FINGERPRINT: &str = "3cc8ac0dbe3f8ec918fee060e971d2c8d61d191a93b2cdd8637955ff0a522d37";

fn notes_path() -> std::path::PathBuf {
    workspace_root().join("tests/golden/notes-v2.tape")
}

const FEATURES_FINGERPRINT: &str =
    "405e992c0ed6a81a067fc63c0bec7fde2aef46e8757f15ae78b5666ff0437df8";

fn features_path() -> std::path::PathBuf {
    workspace_root().join("tests/golden/features-v3.tape")
}

#[test]
fn every_format_version_this_build_reads_has_a_golden_ledger() {
    assert_eq!(
        (MIN_FORMAT_VERSION, FORMAT_VERSION),
        (1, 3),
        "a new format version needs its own golden ledger beside these"
    );
    let v1 = LedgerReader::open(&golden_path()).expect("v1 golden opens");
    assert_eq!(v1.header().format_version, 1);
    for (path, version, fingerprint) in [
        (notes_path(), 2, NOTES_FINGERPRINT),
        (features_path(), 3, FEATURES_FINGERPRINT),
    ] {
        let reader = LedgerReader::open(&path).expect("golden opens");
        assert_eq!(reader.header().format_version, version);
        let summary = reader.verify_to_end().expect("golden verifies");
        assert_eq!(fingerprint_hex(&summary.fingerprint), fingerprint);
    }
}

/// Re-encodes every frame of a golden ledger, replays it (its inputs come from the ledger, so
/// no data file is read), then runs the scenario beside it — under the golden's recorded
/// format and engine version — and asserts the very same bytes. Returns the kinds it holds.
fn re_encode_replay_and_rerun(
    golden: &std::path::Path,
    scenario: &str,
) -> std::collections::BTreeSet<tape_engine::event::EventKind> {
    let recorded = LedgerReader::open(golden).expect("opens").header().clone();
    let kinds = re_encode_every_frame(golden);
    let verdict = tape_replay::drive::replay_ledger(golden, &mut |_| {}).expect("replays");
    assert!(
        matches!(verdict, tape_replay::drive::ReplayVerdict::Identical(_)),
        "{verdict:?}"
    );
    let mut plan = RunPlan::load(
        workspace_root()
            .join("tests/golden")
            .join(scenario)
            .to_str()
            .expect("utf-8"),
        None,
    )
    .expect("the golden scenario loads");
    plan.header.format_version = recorded.format_version;
    // Engine rules added since the golden was written (and never fired by its run) are left
    // out, as `tape replay` does.
    assert!(recorded.rules.is_subset_of(&plan.header.rules));
    plan.header.rules = recorded.rules.clone();
    plan.header = plan.header.with_engine_version(&recorded.engine_version);
    let dir = scratch();
    let path = dir.path().join("again.tape");
    run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("runs");
    assert!(
        std::fs::read(&path).expect("written") == std::fs::read(golden).expect("golden"),
        "the rerun of {scenario} differs from {}",
        golden.display()
    );
    kinds
}

#[test]
fn the_v2_golden_re_encodes_replays_and_reruns_to_the_same_bytes() {
    let kinds = re_encode_replay_and_rerun(&notes_path(), "notes.toml");
    assert!(kinds.contains(&tape_engine::event::EventKind::DataQuarantined));
    assert!(kinds.contains(&tape_engine::event::EventKind::DataWarning));
}

#[test]
fn the_v3_golden_re_encodes_replays_and_reruns_to_the_same_bytes() {
    let kinds = re_encode_replay_and_rerun(&features_path(), "features.toml");
    assert!(kinds.contains(&tape_engine::event::EventKind::Feature));
    let header = LedgerReader::open(&features_path())
        .expect("opens")
        .header()
        .clone();
    assert_eq!(header.features, ["sentiment", "surprise"]);
}

#[test]
fn golden_ledger_is_format_version_1_and_verifies_with_its_fingerprint() {
    let summary = LedgerReader::open(&golden_path())
        .expect("golden opens")
        .verify_to_end()
        .expect("golden verifies");
    assert_eq!(fingerprint_hex(&summary.fingerprint), GOLDEN_FINGERPRINT);
}

#[test]
fn every_golden_frame_re_encodes_to_the_same_bytes() {
    let kinds = re_encode_every_frame(&golden_path());
    let v1_kinds = tape_engine::event::EventKind::ALL
        .iter()
        .filter(|k| k.since_version() == 1)
        .count();
    assert_eq!(
        kinds.len(),
        v1_kinds,
        "the v1 golden ledger holds every kind of version 1: {kinds:?}"
    );
}

#[test]
fn rerunning_the_golden_ledger_from_its_header_writes_the_same_bytes() {
    let golden = std::fs::read(golden_path()).expect("golden is checked in");
    let recorded = LedgerReader::open(&golden_path())
        .expect("golden opens")
        .header()
        .clone();
    // The header alone re-creates the run: configuration, seed, symbols, rules, version.
    let plan = RunPlan::from_header(&recorded).expect("the recorded configuration is runnable");
    let dir = scratch();
    let path = dir.path().join("again.tape");
    run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("the run succeeds");
    let again = std::fs::read(&path).expect("written");
    assert_eq!(again.len(), golden.len(), "ledger length changed");
    let first_difference = golden.iter().zip(&again).position(|(a, b)| a != b);
    assert_eq!(
        first_difference, None,
        "the rerun differs from the golden ledger at this byte"
    );
}

#[test]
fn the_golden_scenario_file_still_describes_the_golden_run() {
    // Its canonical form may gain new options with their defaults; the events may not change.
    let plan = RunPlan::load(
        workspace_root()
            .join("tests/golden/small.toml")
            .to_str()
            .expect("utf-8 path"),
        None,
    )
    .expect("the golden scenario loads");
    let dir = scratch();
    let path = dir.path().join("from-toml.tape");
    run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("the run succeeds");
    let events = |p: &std::path::Path| {
        let mut reader = LedgerReader::open(p).expect("opens");
        let mut out = Vec::new();
        while let Some(frame) = reader.next_event().expect("reads") {
            out.push(decode_event(frame.bytes).expect("decodes"));
        }
        out
    };
    let (golden, fresh) = (events(&golden_path()), events(&path));
    assert_eq!(golden.len(), fresh.len());
    for (g, f) in golden.iter().zip(&fresh) {
        // run_started carries the digest of the configuration text, which may have grown.
        if !matches!(g.body, tape_engine::event::EventBody::RunStarted(_)) {
            assert_eq!(g, f, "event {} changed", g.seq.0);
        }
    }
}
