//! Progress bars on stderr for long work; silent when stderr is not a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar, or nothing when stderr is not a terminal (or `quiet`).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar counting to `total` of `unit` (e.g. "bars", "bytes").
    pub fn new(total: u64, unit: &str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::new(total);
        let template = if unit == "bytes" {
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})".to_string()
        } else {
            format!("{{spinner}} {{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, {{eta}})")
        };
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        Self { bar }
    }

    /// Labels the bar.
    pub fn with_message(self, message: &'static str) -> Self {
        self.bar.set_message(message);
        self
    }

    /// Sets the position.
    pub fn set(&self, position: u64) {
        self.bar.set_position(position);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
