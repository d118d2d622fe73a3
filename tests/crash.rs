//! Crash recovery: `tape run --fsync block` killed with SIGKILL at seeded random moments.
//!
//! Each kill waits for a seeded number of durability reports (`--durable-log`, one line per
//! returned `fdatasync`) and then a seeded random delay, so kills land before the first sync,
//! between syncs, mid-write and after the end. After each kill:
//!
//! - the file left behind is a byte prefix of the uninterrupted run's ledger (same scenario,
//!   same seed), at least as long as the last size reported durable before the kill;
//! - `tape verify` accepts it only if it is the whole ledger, and otherwise calls it a torn
//!   tail, never corruption;
//! - `tape repair --out` keeps a byte prefix of the uninterrupted ledger that reaches at least
//!   the last durable size, and the repaired ledger verifies (and, for a sample, replays).
//!
//! CI runs [`CI_KILLS`] kills. `TAPE_CRASH_KILLS=1000` runs more (with
//! `TAPE_BIN=target/release/tape` for speed); `TAPE_CRASH_SEED` picks another seed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tape_tests::{scratch, tape, tape_bin};

/// The project's one seeded stream (ChaCha, as the engine uses), so a failing case can be
/// re-run exactly from its seed.
fn seeded(seed: u64) -> tape_engine::rng::SeededRng {
    tape_engine::rng::SeededRng::new(tape_engine::rng::seed_from_u64(seed), 0)
}

/// Kills in a normal `cargo test`: about half a second each with the debug binary.
const CI_KILLS: u64 = 50;

#[allow(clippy::disallowed_methods)] // a test harness setting, not the core reading its environment
fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

const RUN_ARGS: [&str; 5] = ["run", "default", "--seed", "7", "--json"];

/// The uninterrupted run: its ledger bytes, its durability reports and its wall time.
#[allow(clippy::disallowed_methods)] // kill delays are spread over the run's wall time
fn reference(dir: &Path) -> (Vec<u8>, Vec<u64>, Duration) {
    let started = Instant::now();
    let mut args = RUN_ARGS.to_vec();
    args.extend([
        "--fsync",
        "block",
        "--out",
        "ref.tape",
        "--durable-log",
        "ref.log",
    ]);
    tape(dir, &args).expect_code(0);
    let elapsed = started.elapsed();
    let bytes = std::fs::read(dir.join("ref.tape")).expect("the reference ledger exists");
    let log = std::fs::read_to_string(dir.join("ref.log")).expect("the durable log exists");
    let reports = log.lines().map(|l| l.parse().expect("a size")).collect();
    (bytes, reports, elapsed)
}

/// How kills are spread: over the reports the run makes, plus a delay up to the time between
/// two of them.
#[derive(Clone, Copy)]
struct KillPlan {
    reports: u64,
    max_delay_us: u64,
    run_us: u64,
}

/// What one kill left behind and what the checks found.
struct Kill {
    /// The last size reported durable before the kill (0: none).
    durable: u64,
    /// Bytes of the killed file.
    left: u64,
    /// Whether the run had already finished when the kill came.
    finished: bool,
}

/// Starts a run, kills it after `reports` durability reports and `delay`, and returns the
/// last durable size it reported.
fn run_and_kill(dir: &Path, out: &str, reports: u64, delay: Duration) -> (u64, bool) {
    let mut args = RUN_ARGS.to_vec();
    // stderr is the pipe this test reads: each line arrives as soon as its sync returned.
    args.extend([
        "--fsync",
        "block",
        "--out",
        out,
        "--durable-log",
        "/dev/stderr",
    ]);
    let mut child = Command::new(tape_bin())
        .args(&args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tape starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let mut durable = 0u64;
    let mut seen = 0;
    let mut other = Vec::new();
    while seen < reports {
        match lines.next() {
            Some(Ok(line)) => match line.parse::<u64>() {
                Ok(n) => {
                    durable = n;
                    seen += 1;
                }
                Err(_) => other.push(line),
            },
            _ => break,
        }
    }
    // The delay moves the kill off the sync points: mid-write, mid-seal, between syncs.
    std::thread::sleep(delay);
    let _ = child.kill();
    // Reports written before the kill are still in the pipe; any of them counts.
    for line in lines.map_while(Result::ok) {
        match line.parse::<u64>() {
            Ok(n) => durable = n,
            Err(_) => other.push(line),
        }
    }
    let status = child.wait().expect("the child is reaped");
    let finished = status.success();
    assert!(
        finished || status.code().is_none(),
        "the run failed on its own: {status:?}\n{}",
        other.join("\n")
    );
    (durable, finished)
}

/// Checks one killed ledger against the reference; returns what it found.
fn check_kill(
    dir: &Path,
    reference: &[u8],
    rng: &mut tape_engine::rng::SeededRng,
    plan: KillPlan,
    kill: u64,
) -> Kill {
    let out = format!("k{kill}.tape");
    // Half the kills come at a random time since the start; the others just after a random
    // durability report (the last one is the end of the run), off the sync point by a delay.
    let (reports, delay_us) = if rng.below(2) == 0 {
        (0, rng.below(plan.run_us))
    } else {
        (1 + rng.below(plan.reports), rng.below(plan.max_delay_us))
    };
    let delay = Duration::from_micros(delay_us);
    let (durable, finished) = run_and_kill(dir, &out, reports, delay);
    let path = dir.join(&out);
    let left = std::fs::read(&path).unwrap_or_default();
    let ctx = format!("kill {kill} (after {reports} reports + {delay:?})");
    assert!(
        reference.starts_with(&left),
        "{ctx}: the killed ledger ({} bytes) is not a prefix of the uninterrupted one",
        left.len()
    );
    assert!(
        left.len() as u64 >= durable,
        "{ctx}: {} bytes left but {durable} were reported durable",
        left.len()
    );
    if finished {
        assert_eq!(
            left.len(),
            reference.len(),
            "{ctx}: a finished run is whole"
        );
    }

    let verify = tape(dir, &["verify", &out, "--json"]);
    if left.len() == reference.len() {
        verify.expect_code(0);
    } else if durable > 0 {
        // Past the first sync the header is on disk: the damage is a torn tail, nothing else.
        verify.expect_code(1);
        assert!(
            verify.stderr.contains("torn tail"),
            "{ctx}: a killed run must read as a torn tail: {}",
            verify.stderr
        );
    } else {
        // Killed before the header was whole: whatever verify says, it says it cleanly.
        assert!(
            matches!(verify.code, Some(1) | Some(2)) && !verify.stderr.contains("panicked"),
            "{ctx}: {}",
            verify.stderr
        );
    }

    let fixed = format!("r{kill}.tape");
    let repair = tape(dir, &["repair", &out, "--out", &fixed]);
    if verify.code == Some(0) || verify.stderr.contains("torn tail") {
        repair.expect_code(0);
        let repaired = std::fs::read(dir.join(&fixed)).expect("repair wrote its --out");
        let kept = kept_bytes(&repair.stdout, left.len() as u64);
        assert!(
            kept >= durable,
            "{ctx}: repair kept {kept} bytes but {durable} were reported durable"
        );
        assert!(
            repaired.len() as u64 >= kept
                && reference[..kept as usize] == repaired[..kept as usize],
            "{ctx}: the repaired ledger's first {kept} bytes are not the uninterrupted run's"
        );
        tape(dir, &["verify", &fixed]).expect_code(0);
        if kill.is_multiple_of(10) {
            tape(dir, &["replay", &fixed]).expect_code(0);
        }
    } else {
        assert!(durable == 0, "{ctx}: repair refused after a reported sync");
        assert!(
            matches!(repair.code, Some(1) | Some(2)),
            "{ctx}: {}",
            repair.stderr
        );
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join(&fixed));
    Kill {
        durable,
        left: left.len() as u64,
        finished,
    }
}

/// The bytes repair kept from the damaged file: "cut the torn tail at byte N", or the whole
/// file when there was nothing to repair.
fn kept_bytes(stdout: &str, whole: u64) -> u64 {
    match stdout.split("cut the torn tail at byte ").nth(1) {
        Some(rest) => rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no offset in repair's output: {stdout}")),
        None => {
            assert!(
                stdout.starts_with("OK"),
                "unexpected repair output: {stdout}"
            );
            whole
        }
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // the harness times itself for its report; the core never sees it
fn sigkilled_runs_recover_to_a_prefix_holding_every_durable_byte() {
    let dir = scratch();
    let (reference, reports, elapsed) = reference(dir.path());
    // Group commit: a faster core keeps the queue full, so a release build syncs less often.
    assert!(
        reports.len() >= 3,
        "the scenario syncs several times ({reports:?})"
    );
    assert_eq!(*reports.last().expect("some") as usize, reference.len());
    let kills = env_u64("TAPE_CRASH_KILLS").unwrap_or(CI_KILLS);
    let seed = env_u64("TAPE_CRASH_SEED").unwrap_or(0x7a9e_c4a5);
    let mut rng = seeded(seed);
    // Delays up to the time between two syncs, so kills spread over the whole run.
    let plan = KillPlan {
        reports: reports.len() as u64,
        max_delay_us: (elapsed.as_micros() as u64 / reports.len() as u64).max(1_000),
        run_us: elapsed.as_micros() as u64,
    };
    let started = Instant::now();
    let (mut torn, mut whole, mut with_durable, mut durable_total) = (0, 0, 0, 0u64);
    for kill in 0..kills {
        let k = check_kill(dir.path(), &reference, &mut rng, plan, kill);
        if k.finished || k.left as usize == reference.len() {
            whole += 1;
        } else {
            torn += 1;
        }
        if k.durable > 0 {
            with_durable += 1;
            durable_total += k.durable;
        }
    }
    eprintln!(
        "{kills} kills (seed {seed:#x}) in {:.1} s: {torn} left a torn tail, {whole} a whole ledger, \
         {with_durable} after a durability report ({:.1} MB reported durable in all), 0 losses",
        started.elapsed().as_secs_f64(),
        durable_total as f64 / 1e6
    );
    assert!(torn * 3 >= kills, "kills land mid-run ({torn} of {kills})");
}
