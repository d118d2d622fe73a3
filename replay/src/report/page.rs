//! The report page: one HTML document with its styles and its small hover script inline.
//!
//! Sections, in order: the run (scenario, strategy, period, status, fingerprint), key
//! figures, charts (equity against the benchmark, drawdown, exposure), monthly returns, every
//! figure of `tape metrics`, round trips, and the canonical configuration.

use std::fmt::Write as _;

use tape_engine::time::{Ts, NANOS_PER_DAY, NANOS_PER_MINUTE, NANOS_PER_SECOND};
use tape_scenarios::Scenario;

use super::series::Row;
use super::svg::{self, group, Chart, Line, Unit};
use super::{monthly_returns, Report};
use crate::metrics::{date_text, Figure, Metrics, DETAIL_ROWS};

/// The most round trips the trades table lists.
pub const MAX_TRADES: usize = 500;

/// The most symbols the header names before "and N more".
const MAX_SYMBOLS_NAMED: usize = 12;

const STRATEGY_COLOUR: &str = "#1d4ed8";
const BENCHMARK_COLOUR: &str = "#6b7280";
const DRAWDOWN_COLOUR: &str = "#dc2626";
const GROSS_COLOUR: &str = "#60a5fa";
const NET_COLOUR: &str = "#334155";
const LONG_COLOUR: &str = "#16a34a";
const SHORT_COLOUR: &str = "#dc2626";

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let text = format!("{:.2} %", x * 100.0);
    // A tiny loss reads as no change, not as "-0.00 %".
    if text == "-0.00 %" {
        "0.00 %".into()
    } else {
        text
    }
}

fn ratio(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or_else(|| "–".to_string(), |v| format!("{v:.3}"))
}

fn money(x: f64) -> String {
    if x.is_finite() {
        group(&format!("{x:.2}"))
    } else {
        "–".into()
    }
}

/// `pos` or `neg` for a signed figure, for its colour.
fn sign_class(x: f64) -> &'static str {
    if x > 0.0 {
        "pos"
    } else if x < 0.0 {
        "neg"
    } else {
        ""
    }
}

/// `YYYY-MM-DD HH:MM` (seconds only when not zero), UTC.
fn time_text(ts: Ts) -> String {
    let in_day = ts.0.rem_euclid(NANOS_PER_DAY);
    let minutes = in_day / NANOS_PER_MINUTE;
    let seconds = in_day % NANOS_PER_MINUTE / NANOS_PER_SECOND;
    let mut s = format!(
        "{} {:02}:{:02}",
        date_text(ts.day()),
        minutes / 60,
        minutes % 60
    );
    if seconds != 0 {
        let _ = write!(s, ":{seconds:02}");
    }
    s
}

/// The page of a report.
pub fn render(report: &Report) -> String {
    let m = &report.metrics;
    let mut h = String::with_capacity(256 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — Tape report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&report.header.scenario)
    );
    run_header(&mut h, report, report.scenario.as_ref());
    key_figures(&mut h, report);
    charts(&mut h, report);
    monthly_table(&mut h, m);
    metrics_table(&mut h, m);
    trades_table(&mut h, m);
    configuration(&mut h, report);
    let _ = write!(
        h,
        "<footer>Rendered by tape {} from the ledger alone. Times are UTC.</footer>\n</main>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    h
}

fn run_header(h: &mut String, report: &Report, scenario: Option<&Scenario>) {
    let m = &report.metrics;
    let header = &report.header;
    let _ = writeln!(
        h,
        "<header class=\"run\" id=\"run\">\n<p class=\"kicker\">Tape backtest report</p>\n<h1>{}</h1>",
        escape(&header.scenario)
    );
    if let Some(s) = scenario.filter(|s| !s.description.is_empty()) {
        let _ = writeln!(h, "<p class=\"lead\">{}</p>", escape(&s.description));
    }
    h.push_str("<dl class=\"meta\">\n");
    let mut item = |name: &str, value: String| {
        let _ = writeln!(h, "<dt>{name}</dt><dd>{value}</dd>");
    };
    item(
        "Strategy",
        scenario.map_or_else(|| "–".into(), |s| escape(&strategy_text(s))),
    );
    let period = match (m.days.first(), m.days.last()) {
        (Some(a), Some(b)) => format!(
            "{} to {} ({} days with a snapshot)",
            date_text(a.day),
            date_text(b.day),
            m.days.len()
        ),
        _ => "no snapshots".into(),
    };
    item("Period", period);
    let (from, to) = report.window;
    if from.is_some() || to.is_some() {
        item(
            "Window",
            format!(
                "from {} to {} (<code>--from</code>, <code>--to</code>): every figure and \
                 chart covers these days only, the first return measured from the equity \
                 before them",
                from.map_or_else(|| "the start".to_string(), date_text),
                to.map_or_else(|| "the end".to_string(), date_text)
            ),
        );
    }
    let names = &header.symbols;
    let mut symbols = names
        .iter()
        .take(MAX_SYMBOLS_NAMED)
        .map(|s| escape(s))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX_SYMBOLS_NAMED {
        let _ = write!(symbols, " and {} more", names.len() - MAX_SYMBOLS_NAMED);
    }
    item("Symbols", format!("{} — {symbols}", names.len()));
    if let Some(s) = scenario {
        item("Seed", s.seed.to_string());
    }
    item(
        "Ledger",
        if m.complete {
            "<span class=\"badge ok\">complete</span> ends with run_finished".into()
        } else {
            "<span class=\"badge warn\">incomplete</span> no run_finished: the run stopped early or the ledger was cut".into()
        },
    );
    item(
        "Accounting",
        format!(
            "{} snapshots equal the account rebuilt from the fills, exactly",
            m.snapshots_checked
        ),
    );
    item(
        "Engine",
        format!(
            "{}, ledger format {}",
            escape(&header.engine_version),
            header.format_version
        ),
    );
    item(
        "Fingerprint",
        format!("<span class=\"mono\">{}</span>", escape(&m.fingerprint)),
    );
    h.push_str("</dl>\n</header>\n");
}

/// `kind` and the strategy's scalar parameters: `sma_cross — fast 20 · slow 100`.
fn strategy_text(scenario: &Scenario) -> String {
    let table = &scenario.strategy;
    let kind = table.get("kind").and_then(|k| k.as_str()).unwrap_or("–");
    let params: Vec<String> = table
        .iter()
        .filter(|(k, v)| k.as_str() != "kind" && !v.is_table() && !v.is_array())
        .map(|(k, v)| format!("{k} {}", v.to_string().trim_matches('"')))
        .collect();
    if params.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} — {}", params.join(" · "))
    }
}

fn key_figures(h: &mut String, report: &Report) {
    let m = &report.metrics;
    let p = &report.paths;
    let r = &m.returns;
    h.push_str("<section class=\"kpis\" id=\"summary\" aria-label=\"Key figures\">\n");
    let mut card = |label: &str, value: String, class: &str, note: String| {
        let _ = writeln!(
            h,
            "<div class=\"kpi\"><div class=\"label\">{label}</div><div class=\"value {class}\">{value}</div><div class=\"note\">{note}</div></div>"
        );
    };
    card(
        "Total return",
        pct(r.total_return),
        sign_class(r.total_return),
        format!("benchmark {}", pct(p.benchmark_return)),
    );
    card(
        "CAGR",
        pct(r.cagr),
        sign_class(r.cagr),
        format!("volatility {}", pct(r.volatility)),
    );
    card(
        "Sharpe",
        ratio(r.sharpe),
        "",
        format!("Sortino {}", ratio(r.sortino)),
    );
    card(
        "Max drawdown",
        pct(m.drawdown.max),
        if m.drawdown.max > 0.0 { "neg" } else { "" },
        format!("benchmark {}", pct(p.benchmark_drawdown)),
    );
    card(
        "Round trips",
        m.round_trips.len().to_string(),
        "",
        format!(
            "hit rate {} · profit factor {}",
            m.hit_rate().map_or_else(|| "–".into(), pct),
            ratio(m.profit_factor())
        ),
    );
    card(
        "Final equity",
        group(&format!("{:.0}", m.final_equity)),
        "",
        format!("from {}", money(m.start_equity)),
    );
    h.push_str("</section>\n");
}

fn chart_of(title: &str, unit: Unit, rows: &[Row], lines: Vec<Line>) -> String {
    svg::render(&Chart {
        title: title.to_string(),
        unit,
        times: rows.iter().map(|r| r.ts).collect(),
        lines,
        include_zero: unit == Unit::Fraction,
    })
}

fn line(name: &str, colour: &'static str, rows: &[Row], pick: fn(&Row) -> f64) -> Line {
    Line {
        name: name.to_string(),
        colour,
        values: rows.iter().map(pick).collect(),
        dashed: false,
        fill: false,
    }
}

fn charts(h: &mut String, report: &Report) {
    let p = &report.paths;
    let symbols = report.header.symbols.len();
    h.push_str("<section id=\"charts\">\n<h2>Performance</h2>\n");
    let (benchmark, how) = match (&report.benchmark, symbols) {
        (Some(name), _) => (
            format!("Benchmark: {name} buy-and-hold"),
            format!(
                "the scenario names {} as its benchmark (<code>[strategy] benchmark</code>); \
                 the starting cash buys it at its first close and holds it",
                escape(name)
            ),
        ),
        (None, 1) => (
            "Benchmark: buy-and-hold".to_string(),
            "scenarios have no benchmark setting, so the benchmark is the starting cash \
             buying the run's one symbol at its first close and holding it"
                .to_string(),
        ),
        (None, _) => (
            "Benchmark: equal-weight buy-and-hold".to_string(),
            format!(
                "scenarios have no benchmark setting, so the benchmark is the starting cash \
                 split equally across the run's {symbols} symbols, each part bought at its \
                 symbol's first close and held (a part waits in cash until its symbol's first \
                 bar)"
            ),
        ),
    };
    let rebased = if report.window.0.is_some() {
        "; it is scaled to start the window at the account's equity"
    } else {
        ""
    };
    let equity = chart_of(
        "Equity",
        Unit::Money,
        &p.equity,
        vec![
            line("Strategy", STRATEGY_COLOUR, &p.equity, |r| r.equity),
            Line {
                dashed: true,
                ..line(&benchmark, BENCHMARK_COLOUR, &p.equity, |r| r.benchmark)
            },
        ],
    );
    let _ = writeln!(
        h,
        "<figure id=\"equity\">\n{equity}\n<div class=\"tip\"></div>\n<figcaption>Equity at every \
         portfolio snapshot. The benchmark is computed from the ledger's own bars: {how}, \
         without costs or dividends{rebased}.</figcaption>\n</figure>"
    );
    let drawdown = chart_of(
        "Drawdown",
        Unit::Fraction,
        &p.drawdown,
        vec![Line {
            fill: true,
            ..line(
                "Drawdown from the running peak",
                DRAWDOWN_COLOUR,
                &p.drawdown,
                |r| -r.drawdown,
            )
        }],
    );
    let _ = writeln!(
        h,
        "<figure id=\"drawdown\">\n{drawdown}\n<div class=\"tip\"></div>\n<figcaption>How far \
         equity stands below its highest value so far (the equity the figures start from counts \
         as the first peak).</figcaption>\n</figure>"
    );
    let exposure = chart_of(
        "Exposure",
        Unit::Fraction,
        &p.exposure,
        vec![
            line("Net", NET_COLOUR, &p.exposure, |r| r.net),
            Line {
                dashed: true,
                ..line("Long", LONG_COLOUR, &p.exposure, |r| r.long)
            },
            Line {
                dashed: true,
                ..line("Short", SHORT_COLOUR, &p.exposure, |r| r.short)
            },
            Line {
                fill: true,
                ..line("Gross", GROSS_COLOUR, &p.exposure, |r| r.gross)
            },
        ],
    );
    let _ = writeln!(
        h,
        "<figure id=\"exposure\">\n{exposure}\n<div class=\"tip\"></div>\n<figcaption>Positions \
         marked at each snapshot, as fractions of equity: gross = long + short, net = long − \
         short.</figcaption>\n</figure>"
    );
    let _ = writeln!(
        h,
        "<p class=\"note\">{} snapshots; each line is drawn from at most {} of them (past that, \
         per stretch of time, the ones with each line's lowest and highest value).</p>\n</section>",
        p.snapshots,
        super::series::MAX_POINTS
    );
}

fn heat(r: f64, scale: f64) -> String {
    let a = 0.06 + 0.5 * (r.abs() / scale).min(1.0);
    if r >= 0.0 {
        format!("background:rgba(22,163,74,{a:.2})")
    } else {
        format!("background:rgba(220,38,38,{a:.2})")
    }
}

fn monthly_table(h: &mut String, m: &Metrics) {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let years = monthly_returns(&m.days);
    h.push_str("<section id=\"monthly\">\n<h2>Monthly returns</h2>\n");
    if years.is_empty() {
        h.push_str(
            "<p class=\"note\">No daily returns: the ledger has no snapshots.</p>\n</section>\n",
        );
        return;
    }
    // Colours scale with the largest monthly move, so a quiet run still shows its pattern.
    let scale = years
        .iter()
        .flat_map(|y| y.months.iter().flatten())
        .fold(0.0f64, |a, r| a.max(r.abs()))
        .max(1e-4);
    h.push_str(
        "<div class=\"scroll\"><table class=\"monthly\">\n<thead><tr><th class=\"l\">Year</th>",
    );
    for name in NAMES {
        let _ = write!(h, "<th>{name}</th>");
    }
    h.push_str("<th class=\"total\">Total</th></tr></thead>\n<tbody>\n");
    for y in &years {
        let _ = write!(h, "<tr><th class=\"l\">{}</th>", y.year);
        for (i, month) in y.months.iter().enumerate() {
            match month {
                Some(r) => {
                    let _ = write!(
                        h,
                        "<td data-month=\"{:04}-{:02}\" style=\"{}\">{}</td>",
                        y.year,
                        i + 1,
                        heat(*r, scale),
                        pct(*r)
                    );
                }
                None => h.push_str("<td class=\"none\"></td>"),
            }
        }
        let _ = writeln!(
            h,
            "<td class=\"total {}\" data-year=\"{}\">{}</td></tr>",
            sign_class(y.total),
            y.year,
            pct(y.total)
        );
    }
    h.push_str("</tbody></table></div>\n<p class=\"note\">Each cell compounds the daily returns of its days (UTC): Π(1 + r) − 1. The first day's return is over the start equity: the starting cash, or with <code>--from</code> the equity at the last snapshot before the window.</p>\n</section>\n");
}

fn metrics_table(h: &mut String, m: &Metrics) {
    // The rows of `tape metrics`, in its order, in two columns.
    let [returns, trading] = m.summary().map(|rows| {
        rows.into_iter()
            .map(|(name, figure)| {
                let value = match figure {
                    Figure::Money(x) => money(x),
                    Figure::Percent(x) => pct(x),
                    Figure::Ratio(x) => ratio(x),
                    Figure::Text(t) => t,
                };
                (name, value)
            })
            .collect::<Vec<_>>()
    });
    h.push_str("<section id=\"metrics\">\n<h2>Figures</h2>\n<div class=\"columns\">\n");
    for (title, rows) in [("Returns and risk", returns), ("Trading", trading)] {
        let _ = writeln!(
            h,
            "<table class=\"figures\"><thead><tr><th class=\"l\" colspan=\"2\">{title}</th></tr></thead><tbody>"
        );
        for (name, value) in rows {
            let indent = if DETAIL_ROWS.contains(&name) {
                " sub"
            } else {
                ""
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"l{indent}\">{name}</td><td>{}</td></tr>",
                escape(&value)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</div>\n");
    let counts: Vec<String> = m.events.iter().map(|(k, n)| format!("{k}={n}")).collect();
    let c = &m.conventions;
    let _ = writeln!(
        h,
        "<p class=\"note\">Annualised with {} periods a year ({}), risk-free rate {}; daily simple \
         returns on each UTC day's last snapshot (docs/metrics.md). The same figures as \
         <code>tape metrics</code>.</p>\n<p class=\"note\">Events by kind: <code class=\"counts\">{}</code></p>\n</section>",
        c.periods_per_year,
        c.periods_per_year_source,
        pct(c.risk_free_rate),
        escape(&counts.join(" "))
    );
}

fn trades_table(h: &mut String, m: &Metrics) {
    let trips = &m.round_trips;
    let _ = writeln!(
        h,
        "<section id=\"trades\">\n<h2>Round trips</h2>\n<p class=\"note\">{} closed, {} still open at the end; in the order they closed. Profit is cash in minus cash out, minus fees.</p>",
        trips.len(),
        m.open_trips
    );
    if trips.is_empty() {
        h.push_str("</section>\n");
        return;
    }
    h.push_str(
        "<div class=\"scroll\"><table class=\"trades\">\n<thead><tr><th>#</th><th class=\"l\">Symbol</th>\
         <th class=\"l\">Side</th><th class=\"l\">Opened</th><th class=\"l\">Closed</th><th>Fills</th>\
         <th>Quantity</th><th>Entry</th><th>Exit</th><th>Profit</th></tr></thead>\n<tbody>\n",
    );
    for (i, t) in trips.iter().take(MAX_TRADES).enumerate() {
        let _ = writeln!(
            h,
            "<tr><td class=\"n\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td class=\"{}\">{}</td></tr>",
            i + 1,
            escape(&t.symbol),
            t.side,
            time_text(t.opened),
            time_text(t.closed),
            t.fills,
            group(&format!("{:.2}", t.quantity)),
            t.entry_price,
            t.exit_price,
            sign_class(t.pnl),
            money(t.pnl)
        );
    }
    h.push_str("</tbody></table></div>\n");
    if trips.len() > MAX_TRADES {
        let _ = writeln!(
            h,
            "<p class=\"note more\">{} more round trips are not listed here; <code>tape metrics --trades</code> lists every one.</p>",
            trips.len() - MAX_TRADES
        );
    }
    h.push_str("</section>\n");
}

fn configuration(h: &mut String, report: &Report) {
    let _ = writeln!(
        h,
        "<section id=\"config\">\n<h2>Configuration</h2>\n<p class=\"note\">The canonical \
         configuration recorded in the ledger's header; a run of it with this engine gives the \
         fingerprint <span class=\"mono\">{}</span>.</p>\n<pre>{}</pre>\n</section>",
        escape(&report.metrics.fingerprint),
        escape(report.header.config.trim_end())
    );
}

const STYLE: &str = r#":root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff;--pos:#15803d;--neg:#b91c1c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 20px 40px}
header.run,section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 16px}
.kicker{margin:0;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.08em}
h1{font-size:28px;line-height:1.2;margin:2px 0 6px;font-weight:700}
h2{font-size:17px;margin:0 0 12px;font-weight:650}
.lead{margin:0 0 14px;color:#374151}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:5px 18px;margin:0}
.meta dt{color:var(--muted)}
.meta dd{margin:0}
.badge{display:inline-block;padding:0 9px;border-radius:999px;font-size:12px;font-weight:600;margin-right:6px}
.badge.ok{background:#dcfce7;color:#166534}
.badge.warn{background:#fef3c7;color:#92400e}
.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.mono{word-break:break-all}
code.counts{word-spacing:.3em}
section.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(155px,1fr));gap:12px;background:none;border:0;padding:0}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.kpi .label{color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.06em}
.kpi .value{font-size:23px;font-weight:650;font-variant-numeric:tabular-nums;margin:2px 0}
.kpi .note{color:var(--muted);font-size:12px}
figure{margin:0 0 18px;position:relative}
figcaption,.note{color:var(--muted);font-size:12.5px;margin:4px 0 0}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font-size:11px;fill:#4b5563;font-variant-numeric:tabular-nums}
svg.chart text.title{font-size:15px;font-weight:650;fill:var(--ink)}
svg.chart text.legend{font-size:12px;fill:#374151}
svg.chart text.empty{font-size:14px}
.grid line{stroke:#eef0f3}
.grid line.zero{stroke:#9ca3af}
.axis line{stroke:#9ca3af}
.series{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
.area{opacity:.16;stroke:none}
.guide{stroke:#6b7280;stroke-dasharray:3 3}
.tip{position:absolute;display:none;pointer-events:none;background:rgba(17,24,39,.92);color:#fff;font-size:12px;line-height:1.45;padding:6px 9px;border-radius:6px;white-space:nowrap;font-variant-numeric:tabular-nums}
.tip .sw{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
thead th{color:var(--muted);font-weight:600;font-size:12px;border-bottom:1px solid #d1d5db}
.l{text-align:left}
td.sub{padding-left:24px;color:var(--muted)}
td.n{color:var(--muted)}
.pos{color:var(--pos)}
.neg{color:var(--neg)}
.monthly td,.monthly th{font-size:12.5px;padding:5px 6px}
.monthly td.total,.monthly th.total{font-weight:650;border-left:2px solid var(--line)}
.monthly tbody th{color:var(--ink)}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px 32px}
.figures td.l{color:#374151}
.trades td{font-size:12.5px;padding:4px 8px}
.scroll{overflow-x:auto}
pre{background:#f9fafb;border:1px solid var(--line);border-radius:8px;padding:12px 14px;overflow:auto;margin:8px 0 0;line-height:1.45}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
"#;

/// Values under the pointer: reads each chart's `data-*` attributes (times, plot bounds,
/// each line's values) and shows a guide line and a tooltip. The page reads fine without it.
const SCRIPT: &str = r#"(function () {
  "use strict";
  function amount(unit, v) {
    if (unit === "fraction") return (v * 100).toFixed(2) + " %";
    var parts = v.toFixed(2).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + parts[1];
  }
  function when(seconds) {
    var iso = new Date(seconds * 1000).toISOString();
    var time = iso.slice(11, 16);
    return time === "00:00" ? iso.slice(0, 10) : iso.slice(0, 10) + " " + time;
  }
  document.querySelectorAll("figure").forEach(function (figure) {
    var svg = figure.querySelector("svg.chart");
    var tip = figure.querySelector(".tip");
    var guide = svg && svg.querySelector(".guide");
    if (!svg || !tip || !guide || !svg.dataset.t) return;
    var t = svg.dataset.t.split(" ").map(Number);
    var t0 = Number(svg.dataset.t0), t1 = Number(svg.dataset.t1);
    var x0 = Number(svg.dataset.x0), x1 = Number(svg.dataset.x1);
    var unit = svg.dataset.unit;
    // Lines are drawn last-listed first, so the legend's order is the reverse of the page's.
    var lines = Array.prototype.map.call(svg.querySelectorAll("polyline.series"), function (p) {
      return { name: p.dataset.name, colour: p.getAttribute("stroke"), v: p.dataset.v.split(" ").map(Number) };
    }).reverse();
    function hide() {
      guide.setAttribute("visibility", "hidden");
      tip.style.display = "none";
    }
    svg.addEventListener("mouseleave", hide);
    svg.addEventListener("mousemove", function (event) {
      var ctm = svg.getScreenCTM();
      if (!ctm || t1 <= t0) return;
      var point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var p = point.matrixTransform(ctm.inverse());
      if (p.x < x0 || p.x > x1) { hide(); return; }
      var target = t0 + (p.x - x0) / (x1 - x0) * (t1 - t0);
      var lo = 0, hi = t.length - 1;
      while (hi - lo > 1) {
        var mid = (lo + hi) >> 1;
        if (t[mid] <= target) lo = mid; else hi = mid;
      }
      var i = Math.abs(target - t[lo]) <= Math.abs(t[hi] - target) ? lo : hi;
      var gx = x0 + (t[i] - t0) / (t1 - t0) * (x1 - x0);
      guide.setAttribute("x1", gx);
      guide.setAttribute("x2", gx);
      guide.setAttribute("visibility", "visible");
      tip.textContent = "";
      var head = document.createElement("div");
      head.textContent = when(t[i]);
      tip.appendChild(head);
      lines.forEach(function (line) {
        var row = document.createElement("div");
        var swatch = document.createElement("span");
        swatch.className = "sw";
        swatch.style.background = line.colour;
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(line.name + ": " + amount(unit, line.v[i])));
        tip.appendChild(row);
      });
      tip.style.display = "block";
      var box = figure.getBoundingClientRect();
      var left = event.clientX - box.left + 14;
      if (left + tip.offsetWidth > box.width) left = event.clientX - box.left - tip.offsetWidth - 14;
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = (event.clientY - box.top + 12) + "px";
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn times_read_as_utc_minutes() {
        let t = Ts::from_date(2024, 3, 5);
        assert_eq!(
            time_text(Ts(t.0 + 21 * 60 * NANOS_PER_MINUTE)),
            "2024-03-05 21:00"
        );
        assert_eq!(
            time_text(Ts(t.0 + 61 * NANOS_PER_SECOND)),
            "2024-03-05 00:01:01"
        );
    }
}
