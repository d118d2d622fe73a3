//! The binary starts and lists its verbs. (Being an integration test of this package, this
//! also makes `cargo test --workspace` build `tape` for the end-to-end tests in tests/.)

use std::process::Command;

#[test]
fn help_lists_every_verb() {
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .arg("--help")
        .output()
        .expect("tape starts");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for verb in [
        "run",
        "verify",
        "replay",
        "repair",
        "show",
        "bench",
        "scenarios",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(verb)),
            "--help lists {verb}:\n{text}"
        );
    }
}

#[test]
fn a_usage_error_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .args(["run", "--seed", "seven"])
        .output()
        .expect("tape starts");
    assert_eq!(output.status.code(), Some(2));
}
