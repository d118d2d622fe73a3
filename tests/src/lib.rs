//! Helpers for Tape's end-to-end tests: find and run the `tape` binary, make scratch
//! directories, edit ledgers the way an attacker or a bad disk would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `tape` binary built by this same `cargo test` (it sits beside the test executables'
/// `deps/` directory). `TAPE_BIN` overrides it, e.g. to test a release build.
#[allow(clippy::disallowed_methods)] // a test harness setting, not the core reading its environment
pub fn tape_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("TAPE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let bin = profile_dir.join(format!("tape{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p tape-replay` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

/// The result of one `tape` invocation.
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing the output when it is not.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "tape panicked:\n{}",
            self.stderr
        );
        self
    }

    /// Parses stdout as one JSON object.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `tape` with `args` in `dir`.
pub fn tape(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(tape_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tape starts");
    Run::from_output(output)
}

/// A scratch directory removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory can be created")
}

/// The workspace root (for reading checked-in fixtures).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A small scenario (3 symbols × 160 daily bars, SMA 5/20, a tight cash limit so that some
/// buys are rejected) that exercises every event kind the engine emits; also the source of
/// the golden ledger.
pub const SMALL_SCENARIO: &str = include_str!("../golden/small.toml");

/// A ledger holding one event of every kind.
pub mod every_kind;

/// A deliberately leaky strategy for the look-ahead fuzzer's own tests.
pub mod leaky;
