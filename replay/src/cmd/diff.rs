use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tape_engine::event::{Event, EventBody, EventKind};
use tape_engine::fixed::Money;
use tape_engine::ledger::{fingerprint_hex, Header, LedgerReadError, LedgerReader};
use tape_engine::time::Ts;

use super::{report_read_error, EXIT_FINDING, EXIT_OK};
use crate::render::{json_string, Renderer};

/// Arguments of `tape diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first ledger (the baseline).
    pub a: PathBuf,
    /// The second ledger (the candidate).
    pub b: PathBuf,
    /// Equity points to print (evenly spaced over the run's snapshots; the last is always
    /// printed).
    #[arg(long, default_value_t = 12)]
    pub points: usize,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one ledger holds, for comparing.
struct Side {
    header: Header,
    fingerprint: [u8; 32],
    counts: BTreeMap<EventKind, u64>,
    /// Equity at each snapshot: (time, equity).
    equity: Vec<(Ts, Money)>,
}

/// One ledger read forward, event by event.
struct Reading {
    reader: LedgerReader<std::fs::File>,
    counts: BTreeMap<EventKind, u64>,
    equity: Vec<(Ts, Money)>,
}

impl Reading {
    fn open(path: &Path) -> Result<Self, LedgerReadError> {
        Ok(Self {
            reader: LedgerReader::open(path)?,
            counts: BTreeMap::new(),
            equity: Vec::new(),
        })
    }

    fn next(&mut self) -> Result<Option<Event>, LedgerReadError> {
        let Some(frame) = self.reader.next_event()? else {
            return Ok(None);
        };
        let event = frame.decode()?;
        *self.counts.entry(event.body.kind()).or_insert(0) += 1;
        if let EventBody::PortfolioSnapshot(p) = &event.body {
            self.equity.push((event.ts, p.equity));
        }
        Ok(Some(event))
    }

    fn finish(self) -> Result<Side, LedgerReadError> {
        let summary = self.reader.summary()?;
        Ok(Side {
            header: self.reader.header().clone(),
            fingerprint: summary.fingerprint,
            counts: self.counts,
            equity: self.equity,
        })
    }
}

/// Compares two ledgers: the first event that differs, the counts of events by kind, and
/// the equity of each over time with the difference. Reads both side by side in constant
/// memory (but for the equity path). Exits 0 when every event is the same, 1 when they
/// differ.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut ra = match Reading::open(&args.a) {
        Ok(r) => r,
        Err(e) => return Ok(report_read_error(&args.a, &e)),
    };
    let mut rb = match Reading::open(&args.b) {
        Ok(r) => r,
        Err(e) => return Ok(report_read_error(&args.b, &e)),
    };
    let mut first: Option<(u64, Option<Event>, Option<Event>)> = None;
    let mut seq = 0u64;
    loop {
        let x = match ra.next() {
            Ok(x) => x,
            Err(e) => return Ok(report_read_error(&args.a, &e)),
        };
        let y = match rb.next() {
            Ok(y) => y,
            Err(e) => return Ok(report_read_error(&args.b, &e)),
        };
        if x.is_none() && y.is_none() {
            break;
        }
        // run_started carries the digest of the configuration, whose change is reported on its
        // own (as the lines that changed): the first difference is sought after it.
        let both_start = matches!(
            (&x, &y),
            (Some(p), Some(q)) if matches!(p.body, EventBody::RunStarted(_))
                && matches!(q.body, EventBody::RunStarted(_))
                && p.ts == q.ts
        );
        if first.is_none() && x != y && !both_start {
            first = Some((seq, x, y));
        }
        seq += 1;
    }
    let a = match ra.finish() {
        Ok(side) => side,
        Err(e) => return Ok(report_read_error(&args.a, &e)),
    };
    let b = match rb.finish() {
        Ok(side) => side,
        Err(e) => return Ok(report_read_error(&args.b, &e)),
    };
    let config_changes = config_changes(&a.header.config, &b.header.config);
    let kinds: Vec<EventKind> = EventKind::ALL
        .iter()
        .copied()
        .filter(|k| a.counts.contains_key(k) || b.counts.contains_key(k))
        .collect();
    let count = |side: &Side, k: &EventKind| side.counts.get(k).copied().unwrap_or(0);
    let points = equity_points(&a.equity, &b.equity, args.points);
    let same = first.is_none() && config_changes.is_empty();

    if args.json {
        let render = |side: &Side, e: &Option<Event>| {
            e.as_ref()
                .map_or("null".to_string(), |e| Renderer::new(&side.header).json(e))
        };
        let first_json = match &first {
            None => "null".to_string(),
            Some((seq, x, y)) => format!(
                "{{\"seq\":{seq},\"a\":{},\"b\":{}}}",
                render(&a, x),
                render(&b, y)
            ),
        };
        let counts: Vec<String> = kinds
            .iter()
            .map(|k| {
                format!(
                    "{}:{{\"a\":{},\"b\":{}}}",
                    json_string(k.name()),
                    count(&a, k),
                    count(&b, k)
                )
            })
            .collect();
        let equity: Vec<String> = points
            .iter()
            .map(|(ts, x, y)| {
                let diff = match (x, y) {
                    (Some(x), Some(y)) => y
                        .checked_sub(*x)
                        .map_or("null".to_string(), |d| d.to_string()),
                    _ => "null".to_string(),
                };
                let opt = |m: &Option<Money>| m.map_or("null".to_string(), |m| m.to_string());
                format!(
                    "{{\"ts\":\"{ts}\",\"a\":{},\"b\":{},\"b_minus_a\":{diff}}}",
                    opt(x),
                    opt(y)
                )
            })
            .collect();
        say!(
            "{{\"same\":{same},\"a\":{{\"file\":{},\"fingerprint\":\"{}\",\"scenario\":{}}},\"b\":{{\"file\":{},\"fingerprint\":\"{}\",\"scenario\":{}}},\"config_changes\":[{}],\"first_difference\":{first_json},\"counts\":{{{}}},\"equity\":[{}]}}",
            json_string(&args.a.display().to_string()),
            fingerprint_hex(&a.fingerprint),
            json_string(&a.header.scenario),
            json_string(&args.b.display().to_string()),
            fingerprint_hex(&b.fingerprint),
            json_string(&b.header.scenario),
            config_changes
                .iter()
                .map(|c| json_string(c))
                .collect::<Vec<_>>()
                .join(","),
            counts.join(","),
            equity.join(",")
        );
    } else {
        say!(
            "a             {} ({}, {})",
            args.a.display(),
            a.header.scenario,
            &fingerprint_hex(&a.fingerprint)[..16]
        );
        say!(
            "b             {} ({}, {})",
            args.b.display(),
            b.header.scenario,
            &fingerprint_hex(&b.fingerprint)[..16]
        );
        for change in &config_changes {
            say!("config        {change}");
        }
        match &first {
            None if config_changes.is_empty() => say!("same          every event is the same"),
            None => say!("same events   every event but run_started's configuration digest"),
            Some((seq, x, y)) => {
                say!("first difference at seq {seq}");
                let line = |side: &Side, e: &Option<Event>| {
                    e.as_ref().map_or("(no event)".to_string(), |e| {
                        Renderer::new(&side.header).text(e)
                    })
                };
                say!("  a: {}", line(&a, x));
                say!("  b: {}", line(&b, y));
            }
        }
        say!("events by kind (a → b)");
        for k in &kinds {
            let (x, y) = (count(&a, k), count(&b, k));
            let change = if x == y {
                String::new()
            } else {
                format!("  ({:+})", y as i64 - x as i64)
            };
            say!("  {:<24}{x:>10} → {y:<10}{change}", k.name());
        }
        say!("equity (a, b, b − a)");
        for (ts, x, y) in &points {
            let show = |m: &Option<Money>| m.map_or("-".to_string(), |m| m.to_string());
            let diff = match (x, y) {
                (Some(x), Some(y)) => y.checked_sub(*x).map_or("-".to_string(), |d| d.to_string()),
                _ => "-".to_string(),
            };
            say!("  {ts}  {:>18}  {:>18}  {:>14}", show(x), show(y), diff);
        }
    }
    Ok(ExitCode::from(if same { EXIT_OK } else { EXIT_FINDING }))
}

/// The lines of the canonical configuration that differ: `- line` only in a, `+ line` only
/// in b (each line with its `[table]`), in file order.
fn config_changes(a: &str, b: &str) -> Vec<String> {
    let keyed = |text: &str| -> Vec<String> {
        let mut table = String::new();
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if line.starts_with('[') {
                table = line.to_string();
            } else {
                out.push(if table.is_empty() {
                    line.to_string()
                } else {
                    format!("{table} {line}")
                });
            }
        }
        out
    };
    let (la, lb) = (keyed(a), keyed(b));
    let mut out: Vec<String> = la
        .iter()
        .filter(|l| !lb.contains(l))
        .map(|l| format!("- {l}"))
        .collect();
    out.extend(
        lb.iter()
            .filter(|l| !la.contains(l))
            .map(|l| format!("+ {l}")),
    );
    out
}

/// About `n` equity points spread over the union of both ledgers' snapshot times (the last
/// always included), each with the latest equity of each ledger at or before that time.
fn equity_points(
    a: &[(Ts, Money)],
    b: &[(Ts, Money)],
    n: usize,
) -> Vec<(Ts, Option<Money>, Option<Money>)> {
    let mut times: Vec<Ts> = a.iter().chain(b).map(|(t, _)| *t).collect();
    times.sort_unstable();
    times.dedup();
    if times.is_empty() || n == 0 {
        return Vec::new();
    }
    let step = times.len().div_ceil(n).max(1);
    let mut chosen: Vec<Ts> = times.iter().copied().step_by(step).collect();
    if chosen.last() != times.last() {
        chosen.push(*times.last().expect("not empty"));
    }
    let at = |path: &[(Ts, Money)], t: Ts| {
        let i = path.partition_point(|(ts, _)| *ts <= t);
        (i > 0).then(|| path[i - 1].1)
    };
    chosen
        .into_iter()
        .map(|t| (t, at(a, t), at(b, t)))
        .collect()
}
