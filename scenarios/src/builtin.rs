//! Built-in scenarios, embedded in the binary so `tape run NAME` works anywhere.

/// A built-in scenario: its name and TOML text.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// The name `tape run` accepts.
    pub name: &'static str,
    /// The scenario file.
    pub toml: &'static str,
}

/// Every built-in scenario; the first is the default.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "default",
        toml: include_str!("../builtin/default.toml"),
    },
    Builtin {
        name: "bench",
        toml: include_str!("../builtin/bench.toml"),
    },
    Builtin {
        name: "stocks",
        toml: include_str!("../builtin/stocks.toml"),
    },
    Builtin {
        name: "crash",
        toml: include_str!("../builtin/crash.toml"),
    },
    Builtin {
        name: "dow30-trend",
        toml: include_str!("../builtin/dow30-trend.toml"),
    },
];

/// The built-in scenario with this name.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    #[test]
    fn every_builtin_parses_and_is_named_as_listed() {
        for b in BUILTINS {
            let s = Scenario::from_toml(b.toml, b.name).expect("built-ins are valid");
            assert_eq!(s.name, b.name);
        }
    }
}
