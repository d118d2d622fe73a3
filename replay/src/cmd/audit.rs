use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::event::{Event, SymbolId};
use tape_engine::ledger::LedgerReader;
use tape_engine::time::Ts;

use super::{report_read_error, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::drive::{core_at, ReplayError};
use crate::render::{json_string, Renderer};

/// Arguments of `tape audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger.
    pub file: PathBuf,
    /// The bar: a time (2020-01-28T21:00:00Z) or a date (2020-01-28); the first slice at or
    /// after it is audited.
    #[arg(long)]
    pub at: String,
    /// Only this symbol's events and state.
    #[arg(long)]
    pub symbol: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Everything at one bar: its events grouped into causal chains (each from the input that
/// started it), the strategy's state and the portfolio as they were at that bar's close.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let usage = |message: String| {
        eprintln!("tape: {message}");
        Ok(ExitCode::from(EXIT_INPUT))
    };
    let Ok(asked) = Ts::parse(&args.at) else {
        return usage(format!(
            "--at {}: not a time or a date (2020-01-28 or 2020-01-28T21:00:00Z)",
            args.at
        ));
    };
    let mut reader = match LedgerReader::open(&args.file) {
        Ok(r) => r,
        Err(e) => return Ok(report_read_error(&args.file, &e)),
    };
    let header = reader.header().clone();
    let symbol = match &args.symbol {
        Some(name) => match header.symbols.iter().position(|s| s == name) {
            Some(i) => Some(SymbolId(i as u32)),
            None => {
                return usage(format!(
                    "--symbol {name} is not in this ledger (e.g. {})",
                    header.symbols.first().map_or("none", |s| s.as_str())
                ))
            }
        },
        None => None,
    };
    // The slice: the first time at or after the one asked for.
    let mut at = None;
    let mut events: Vec<Event> = Vec::new();
    loop {
        let frame = match reader.next_event() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Ok(report_read_error(&args.file, &e)),
        };
        let ts = Ts(frame.header.ts);
        if ts < asked || at.is_some_and(|t| ts > t) {
            if at.is_some() {
                break;
            }
            continue;
        }
        at = Some(ts);
        match frame.decode() {
            Ok(e) => events.push(e),
            Err(e) => return Ok(report_read_error(&args.file, &e)),
        }
    }
    let Some(at) = at else {
        return usage(format!(
            "{}: no event at or after {asked}",
            args.file.display()
        ));
    };
    let (core, _) = match core_at(&args.file, at) {
        Ok(c) => c,
        Err(ReplayError::Read(e)) => return Ok(report_read_error(&args.file, &e)),
        Err(e) => {
            eprintln!("tape: {}: {e}", args.file.display());
            return Ok(ExitCode::from(EXIT_FINDING));
        }
    };

    // Chains: each event under the earliest event of this slice it descends from.
    let in_slice: BTreeMap<u64, &Event> = events.iter().map(|e| (e.seq.0, e)).collect();
    let root = |mut seq: u64| loop {
        let e = in_slice[&seq];
        match e
            .causes
            .as_slice()
            .iter()
            .find(|c| in_slice.contains_key(&c.0))
        {
            Some(c) => seq = c.0,
            None => return seq,
        }
    };
    let mut chains: BTreeMap<u64, Vec<&Event>> = BTreeMap::new();
    for e in &events {
        let keep = match (symbol, e.body.symbol()) {
            (Some(want), Some(s)) => s == want,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if keep {
            chains.entry(root(e.seq.0)).or_default().push(e);
        }
    }
    let symbols: Vec<SymbolId> = match symbol {
        Some(s) => vec![s],
        None => (0..header.symbols.len() as u32).map(SymbolId).collect(),
    };
    let inspection = Inspection::of(&header, &core, &symbols);

    let renderer = Renderer::new(&header);
    if args.json {
        let chains_json: Vec<String> = chains
            .values()
            .map(|c| {
                let inner: Vec<String> = c.iter().map(|e| renderer.json(e)).collect();
                format!("[{}]", inner.join(","))
            })
            .collect();
        say!(
            "{{\"at\":\"{at}\",\"chains\":[{}],{}}}",
            chains_json.join(","),
            inspection.json_fields()
        );
        return Ok(ExitCode::from(EXIT_OK));
    }
    say!("audit         {} at {at}", args.file.display());
    say!("events");
    for chain in chains.values() {
        for (i, e) in chain.iter().enumerate() {
            let indent = if i == 0 { "  " } else { "    " };
            say!("{indent}{}", renderer.text(e));
        }
    }
    inspection.print();
    Ok(ExitCode::from(EXIT_OK))
}

/// A strategy's state and the portfolio at one close, for people.
pub(crate) struct Inspection {
    states: Vec<(String, Vec<(&'static str, String)>)>,
    account: Option<tape_engine::event::PortfolioSnapshot>,
    positions: Vec<(String, String)>,
}

impl Inspection {
    /// The state of `core` for `symbols`.
    pub(crate) fn of(
        header: &tape_engine::ledger::Header,
        core: &tape_engine::core::Core,
        symbols: &[SymbolId],
    ) -> Self {
        let name = |s: &SymbolId| header.symbols[s.0 as usize].clone();
        let portfolio = core.portfolio();
        Self {
            states: symbols
                .iter()
                .map(|s| (name(s), core.inspect_strategy(*s)))
                .collect(),
            account: portfolio.snapshot().ok(),
            positions: symbols
                .iter()
                .filter_map(|s| {
                    let q = portfolio.position(*s).quantity;
                    (!q.is_zero()).then(|| (name(s), q.to_string()))
                })
                .collect(),
        }
    }

    /// Prints it as text.
    pub(crate) fn print(&self) {
        say!("strategy (as of this bar's close)");
        for (name, pairs) in &self.states {
            if pairs.is_empty() {
                continue;
            }
            let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            say!("  {name:<10} {}", text.join(" "));
        }
        say!("portfolio");
        if let Some(p) = &self.account {
            say!(
                "  cash={} equity={} gross_exposure={} net_exposure={}",
                p.cash,
                p.equity,
                p.gross_exposure,
                p.net_exposure
            );
        }
        for (name, q) in &self.positions {
            say!("  {name:<10} position={q}");
        }
    }

    /// Its JSON object's fields: `strategy`, `portfolio`, `positions`.
    pub(crate) fn json_fields(&self) -> String {
        let states: Vec<String> = self
            .states
            .iter()
            .map(|(name, pairs)| {
                let fields: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
                    .collect();
                format!("{}:{{{}}}", json_string(name), fields.join(","))
            })
            .collect();
        let positions: Vec<String> = self
            .positions
            .iter()
            .map(|(n, q)| format!("{}:{q}", json_string(n)))
            .collect();
        let account = self.account.map_or("null".to_string(), |p| {
            format!(
                "{{\"cash\":{},\"equity\":{},\"gross_exposure\":{},\"net_exposure\":{}}}",
                p.cash, p.equity, p.gross_exposure, p.net_exposure
            )
        });
        format!(
            "\"strategy\":{{{}}},\"portfolio\":{account},\"positions\":{{{}}}",
            states.join(","),
            positions.join(",")
        )
    }
}
