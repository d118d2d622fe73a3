use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::event::Event;
use tape_engine::ledger::LedgerReader;

use super::{report_read_error, EXIT_INPUT, EXIT_OK};
use crate::drive::causal_chain;
use crate::render::Renderer;

/// Arguments of `tape explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger.
    pub file: PathBuf,
    /// The event to explain, by its seq (the `#N` that `tape show` prints).
    pub seq: u64,
    /// JSON lines (each event with its `depth` in the tree) instead of the tree.
    #[arg(long)]
    pub json: bool,
}

/// Prints the causal tree of one event: the event, then what caused it, down to the inputs
/// (bars, data notes, features) that started it. An event cited twice is shown once; later
/// mentions say `(above)`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let header = match LedgerReader::open(&args.file) {
        Ok(r) => r.header().clone(),
        Err(e) => return Ok(report_read_error(&args.file, &e)),
    };
    let chain = match causal_chain(&args.file, args.seq) {
        Ok(c) => c,
        Err(e) => return Ok(report_read_error(&args.file, &e)),
    };
    let by_seq: BTreeMap<u64, Event> = chain.into_iter().map(|e| (e.seq.0, e)).collect();
    if !by_seq.contains_key(&args.seq) {
        let events = LedgerReader::open(&args.file)
            .and_then(|r| r.verify_to_end())
            .map(|s| s.events)
            .unwrap_or(0);
        eprintln!(
            "tape: {}: no event #{}: its seqs run from 0 to {} (`tape show` lists them)",
            args.file.display(),
            args.seq,
            events.saturating_sub(1)
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let renderer = Renderer::new(&header);
    let mut shown = BTreeSet::new();
    let mut lines = Vec::new();
    walk(&by_seq, args.seq, 0, "", true, &mut shown, &mut lines);
    for (depth, prefix, seq, again) in lines {
        let event = &by_seq[&seq];
        if args.json {
            let json = renderer.json(event);
            // `{"seq":…` → `{"depth":N,"seq":…`
            say!("{{\"depth\":{depth},{}", &json[1..]);
        } else if again {
            say!("{prefix}#{seq} (above)");
        } else {
            say!("{prefix}{}", renderer.text(event));
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Lines of the tree below `seq`, depth first, causes in the order the event names them:
/// (depth, prefix, seq, already shown).
fn walk(
    by_seq: &BTreeMap<u64, Event>,
    seq: u64,
    depth: usize,
    indent: &str,
    last: bool,
    shown: &mut BTreeSet<u64>,
    out: &mut Vec<(usize, String, u64, bool)>,
) {
    let branch = match (depth, last) {
        (0, _) => "",
        (_, true) => "└─ ",
        (_, false) => "├─ ",
    };
    let again = !shown.insert(seq);
    out.push((depth, format!("{indent}{branch}"), seq, again));
    if again {
        return;
    }
    let Some(event) = by_seq.get(&seq) else {
        return;
    };
    let causes = event.causes.as_slice();
    let child_indent = match (depth, last) {
        (0, _) => String::new(),
        (_, true) => format!("{indent}   "),
        (_, false) => format!("{indent}│  "),
    };
    for (i, cause) in causes.iter().enumerate() {
        walk(
            by_seq,
            cause.0,
            depth + 1,
            &child_indent,
            i + 1 == causes.len(),
            shown,
            out,
        );
    }
}
