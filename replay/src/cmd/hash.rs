use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_INPUT, EXIT_OK};
use crate::parity::manifest;

/// Arguments of `tape hash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A ledger, a table or any file, or a directory of outputs (walked recursively).
    pub path: PathBuf,
    /// Write the manifest to this file (replacing it) instead of stdout; inside the
    /// directory being hashed, it is left out of the manifest.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Prints (or writes) the manifest of content hashes of a file or a directory. Exits 2 when a
/// file cannot be read.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let shown = args.path.display().to_string();
    // The manifest may be written inside the directory it describes: leave it out, whether
    // or not it exists yet, so a second run gives the same manifest.
    let exclude = args.out.as_ref().and_then(|out| {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = parent.map_or_else(
            || std::path::Path::new(".").canonicalize(),
            |p| p.canonicalize(),
        );
        dir.ok().zip(out.file_name()).map(|(d, n)| d.join(n))
    });
    let value = match manifest::build(&args.path, &shown, exclude.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tape: {e}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    };
    let text = manifest::text(&value);
    match &args.out {
        Some(out) => {
            if let Err(e) = std::fs::write(out, text) {
                eprintln!(
                    "tape: cannot write {}: {e} (check the directory exists and is writable)",
                    out.display()
                );
                return Ok(ExitCode::from(EXIT_INPUT));
            }
        }
        None => say!("{}", text.trim_end_matches('\n')),
    }
    Ok(ExitCode::from(EXIT_OK))
}
