//! `tape report`: the page of built-in runs has every section, drawn charts and escaped text,
//! loads nothing from outside, is the same bytes every time, and agrees with `tape metrics`;
//! bad inputs get one sentence and never leave a partial file. (tests/browser/ opens the page
//! in a real browser; tests/run.sh runs it.)

use std::path::Path;

use tape_engine::event::{Bar, Causes, Event, EventBody, RunStarted, Seq, SymbolId};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::frame::encode_event;
use tape_engine::ledger::{FsyncPolicy, LedgerReader, LedgerWriter};
use tape_engine::time::Ts;
use tape_tests::{scratch, tape, Run};

const SECTIONS: [&str; 10] = [
    "run", "summary", "charts", "equity", "drawdown", "exposure", "monthly", "metrics", "trades",
    "config",
];

fn run_and_report(dir: &Path, scenario: &str) -> String {
    let ledger = format!("{scenario}.tape");
    tape(dir, &["run", scenario, "--out", &ledger]).expect_code(0);
    let out = format!("{scenario}.html");
    tape(dir, &["report", &ledger, "--out", &out]).expect_code(0);
    std::fs::read_to_string(dir.join(out)).expect("the report is UTF-8 text")
}

/// The text of the element that opens with `id="ID"`, up to its closing tag.
fn element<'a>(html: &'a str, id: &str, close: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element with id {id}"));
    let rest = &html[start..];
    &rest[..rest.find(close).unwrap_or(rest.len())]
}

/// Every `points="…"` list in `svg`, as point counts.
fn point_counts(svg: &str) -> Vec<usize> {
    svg.split(" points=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap_or("").split_whitespace().count())
        .collect()
}

/// The attribute values of `<polyline>` elements, by attribute name.
fn polylines<'a>(svg: &'a str, attribute: &str) -> Vec<&'a str> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| {
            let at = p.find(&format!(" {attribute}=\""))? + attribute.len() + 3;
            p[at..].split('"').next()
        })
        .collect()
}

fn assert_page_is_whole_and_self_contained(name: &str, html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
    assert!(html.trim_end().ends_with("</html>"), "{name}");
    for id in SECTIONS {
        assert!(html.contains(&format!("id=\"{id}\"")), "{name}: no #{id}");
    }
    // Nothing is loaded from anywhere: no addresses, no external scripts, styles or images.
    for forbidden in [
        "http://", "https://", "src=", "<link", "@import", "url(", "<img", "<iframe",
    ] {
        assert!(
            !html.contains(forbidden),
            "{name}: the page has {forbidden}"
        );
    }
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "{name}: one inline script"
    );
    assert_eq!(html.matches("<svg").count(), 3, "{name}: one svg per chart");
    for id in ["equity", "drawdown", "exposure"] {
        let figure = element(html, id, "</figure>");
        let svg = &figure[figure.find("<svg").expect("a chart")..];
        let svg = &svg[..svg.find("</svg>").expect("closed")];
        let counts = point_counts(svg);
        assert!(!counts.is_empty(), "{name}/{id}: no lines");
        assert!(
            counts.iter().all(|&n| (50..=1502).contains(&n)),
            "{name}/{id}: point counts {counts:?}"
        );
        // Every line carries one value per point for the hover readout.
        let times = svg
            .split("data-t=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .map_or(0, |t| t.split_whitespace().count());
        for values in polylines(svg, "data-v") {
            assert_eq!(values.split_whitespace().count(), times, "{name}/{id}");
        }
        assert!(
            svg.contains("<text class=\"title\""),
            "{name}/{id}: a title"
        );
        assert!(svg.contains("class=\"legend\""), "{name}/{id}: a legend");
        let labels = svg.matches("text-anchor=\"middle\">").count();
        assert!(labels >= 2, "{name}/{id}: {labels} time labels");
        let values = svg.matches("text-anchor=\"end\">").count();
        assert!(values >= 3, "{name}/{id}: {values} value labels");
    }
}

#[test]
fn reports_of_built_in_runs_have_every_section_and_drawn_charts() {
    let dir = scratch();
    for scenario in ["default", "crash", "stocks"] {
        let html = run_and_report(dir.path(), scenario);
        assert_page_is_whole_and_self_contained(scenario, &html);
        let m = tape(
            dir.path(),
            &["metrics", &format!("{scenario}.tape"), "--json"],
        )
        .expect_code(0)
        .json();
        let fingerprint = m["fingerprint"].as_str().expect("a fingerprint");
        assert!(element(&html, "run", "</header>").contains(fingerprint));
        assert!(element(&html, "config", "</section>").contains(fingerprint));
        assert!(html.contains("<span class=\"badge ok\">complete</span>"));
        assert!(html.contains(&format!("<h1>{scenario}</h1>")));
        // The canonical configuration, escaped: its strings' quotes become &quot;.
        let config = element(&html, "config", "</section>");
        assert!(
            config.contains(&format!("name = &quot;{scenario}&quot;")),
            "{config}"
        );
        assert!(!config.contains("name = \""), "unescaped quotes");
        let trades = m["trades"].as_u64().expect("a count") as usize;
        let rows = element(&html, "trades", "</section>")
            .matches("<tr><td class=\"n\">")
            .count();
        assert_eq!(rows, trades.min(500), "{scenario}");
    }
}

#[test]
fn the_same_ledger_gives_the_same_bytes() {
    let dir = scratch();
    tape(dir.path(), &["run", "crash", "--out", "crash.tape"]).expect_code(0);
    tape(dir.path(), &["report", "crash.tape", "--out", "a.html"]).expect_code(0);
    // The default path is the ledger's with .html; a second report replaces the first.
    let run = tape(dir.path(), &["report", "crash.tape"]);
    assert!(
        run.expect_code(0).stdout.contains("crash.html"),
        "{}",
        run.stdout
    );
    tape(dir.path(), &["report", "crash.tape"]).expect_code(0);
    let a = std::fs::read(dir.path().join("a.html")).expect("written");
    let b = std::fs::read(dir.path().join("crash.html")).expect("written");
    assert!(a == b, "two reports of one ledger differ");
    // Another copy of the ledger elsewhere: the page names no path, so the bytes are the same.
    std::fs::create_dir(dir.path().join("elsewhere")).expect("created");
    std::fs::copy(
        dir.path().join("crash.tape"),
        dir.path().join("elsewhere/renamed.tape"),
    )
    .expect("copied");
    tape(dir.path(), &["report", "elsewhere/renamed.tape"]).expect_code(0);
    let c = std::fs::read(dir.path().join("elsewhere/renamed.html")).expect("written");
    assert!(a == c, "the report depends on the ledger's path");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listed")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A displayed percentage (`"-1.23 %"`) as a fraction.
fn shown_fraction(cell: &str) -> f64 {
    cell.trim_end_matches(" %")
        .parse::<f64>()
        .unwrap_or_else(|e| panic!("'{cell}' is not a percentage: {e}"))
        / 100.0
}

/// The text of the table cell with this attribute.
fn cell<'a>(html: &'a str, attribute: &str) -> Option<&'a str> {
    let at = html.find(attribute)?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest.find("</td>")?;
    Some(&rest[start..end])
}

#[test]
fn monthly_returns_compound_the_daily_returns_of_tape_metrics() {
    let dir = scratch();
    let html = run_and_report(dir.path(), "stocks");
    let m = tape(dir.path(), &["metrics", "stocks.tape", "--json"])
        .expect_code(0)
        .json();
    let dates = m["daily"]["date"].as_array().expect("dates");
    let returns = m["daily"]["return"].as_array().expect("returns");
    assert_eq!(dates.len(), returns.len());
    // Growth per month and per year, from the JSON alone.
    let mut months: Vec<(String, f64)> = Vec::new();
    let mut years: Vec<(String, f64)> = Vec::new();
    for (date, r) in dates.iter().zip(returns) {
        let date = date.as_str().expect("a date");
        let r = r.as_f64().expect("a number");
        for (key, list) in [(&date[..7], &mut months), (&date[..4], &mut years)] {
            match list.last_mut() {
                Some((k, growth)) if k == key => *growth *= 1.0 + r,
                _ => list.push((key.to_string(), 1.0 + r)),
            }
        }
    }
    assert!(months.len() > 150, "{} months", months.len());
    let monthly = element(&html, "monthly", "</section>");
    // The month with the largest move, checked to the displayed precision …
    let (month, growth) = months
        .iter()
        .max_by(|a, b| (a.1 - 1.0).abs().total_cmp(&(b.1 - 1.0).abs()))
        .expect("months");
    let shown = cell(monthly, &format!("data-month=\"{month}\"")).expect("the month's cell");
    assert!(
        (shown_fraction(shown) - (growth - 1.0)).abs() <= 0.00005 + 1e-12,
        "{month}: shown {shown}, computed {}",
        growth - 1.0
    );
    // … and so is every other month and year.
    for (key, growth) in &months {
        let shown = cell(monthly, &format!("data-month=\"{key}\"")).expect("a cell");
        assert!(
            (shown_fraction(shown) - (growth - 1.0)).abs() <= 0.00005 + 1e-12,
            "{key}: {shown} vs {growth}"
        );
    }
    for (key, growth) in &years {
        let shown = cell(monthly, &format!("data-year=\"{key}\"")).expect("a year cell");
        assert!(
            (shown_fraction(shown) - (growth - 1.0)).abs() <= 0.00005 + 1e-12,
            "{key}: {shown} vs {growth}"
        );
    }
}

#[test]
fn the_figures_table_shows_every_figure_of_tape_metrics() {
    let dir = scratch();
    let html = run_and_report(dir.path(), "crash");
    let text = tape(dir.path(), &["metrics", "crash.tape"])
        .expect_code(0)
        .stdout
        .clone();
    let figures = element(&html, "metrics", "</section>");
    // The block of `name  value` lines between the first two blank lines.
    let block: Vec<&str> = text
        .split("\n\n")
        .nth(1)
        .expect("a figures block")
        .lines()
        .collect();
    assert!(block.len() > 20, "{text}");
    for line in block {
        let (name, value) = line.split_at(24.min(line.len()));
        let (name, value) = (name.trim(), value.trim());
        let row = format!(">{name}</td><td>");
        let at = figures
            .find(&row)
            .unwrap_or_else(|| panic!("no row '{name}' in the figures table"));
        let shown = &figures[at + row.len()..];
        let shown = &shown[..shown.find("</td>").expect("closed")];
        let normalise = |s: &str| s.replace(',', "").replace("-0.00 %", "0.00 %");
        assert_eq!(normalise(shown), normalise(value), "{name}");
    }
}

/// A minute run with a snapshot every bar (200,000 of them), and a name, description and
/// symbols full of markup.
const LONG_AND_AWKWARD: &str = r#"name = "minutes <&> \"q\" 'a'"
description = "<script>alert(1)</script> & <b>bold</b>"
seed = 1

[market]
kind = "gbm"
symbols = 2
symbol_prefix = "B<&>"
start = "2024-01-01T00:00:00Z"
bar = "1m"
bars = 100000
drift = 0.0
volatility = 0.6
initial_price = [100.0, 100.0]
tick_size = 0.01
volume = 10.0

[account]
cash = 1000000.0
snapshot_every = 1

[costs]
slippage_bps = 1
fee_bps = 1

[strategy]
kind = "sma_cross"
fast = 20
slow = 100
quantity = 1.0
"#;

#[test]
fn a_long_minute_run_gives_a_small_page_with_escaped_text() {
    let dir = scratch();
    std::fs::write(dir.path().join("long.toml"), LONG_AND_AWKWARD).expect("written");
    tape(dir.path(), &["run", "long.toml", "--out", "long.tape"]).expect_code(0);
    let run = tape(dir.path(), &["report", "long.tape", "--out", "long.html"]);
    run.expect_code(0);
    let html = std::fs::read_to_string(dir.path().join("long.html")).expect("written");
    assert_page_is_whole_and_self_contained("long", &html);
    assert!(html.len() < 600_000, "{} bytes", html.len());
    assert!(html.contains("100000 snapshots"), "every snapshot was read");
    for raw in ["<script>alert", "<b>bold", "B<&>", "<&> \"q\""] {
        assert!(!html.contains(raw), "unescaped: {raw}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"));
    assert!(html.contains("<h1>minutes &lt;&amp;&gt; &quot;q&quot; &#39;a&#39;</h1>"));
    assert!(
        html.contains("B&lt;&amp;&gt;0, B&lt;&amp;&gt;1"),
        "the symbols, escaped"
    );
}

#[test]
fn an_incomplete_ledger_says_so() {
    let dir = scratch();
    tape(dir.path(), &["run", "crash", "--out", "crash.tape"]).expect_code(0);
    let bytes = std::fs::read(dir.path().join("crash.tape")).expect("written");
    std::fs::write(dir.path().join("cut.tape"), &bytes[..bytes.len() * 2 / 3]).expect("written");
    // A torn tail is damage: no report until it is repaired.
    let torn = tape(dir.path(), &["report", "cut.tape"]);
    torn.expect_code(1);
    assert!(torn.stderr.contains("cut.tape") && torn.stderr.contains("torn tail"));
    assert!(!dir.path().join("cut.html").exists(), "no partial report");
    tape(dir.path(), &["repair", "cut.tape"]).expect_code(0);
    tape(dir.path(), &["report", "cut.tape"]).expect_code(0);
    let html = std::fs::read_to_string(dir.path().join("cut.html")).expect("written");
    assert!(html.contains("<span class=\"badge warn\">incomplete</span>"));
    assert_page_is_whole_and_self_contained("cut", &html);
}

fn one_sentence(run: &Run, code: i32, words: &[&str]) {
    run.expect_code(code);
    let err = run.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("tape: "), "{err}");
    for w in words {
        assert!(err.contains(w), "'{w}' not in: {err}");
    }
}

#[test]
fn bad_inputs_get_one_sentence_and_leave_no_file() {
    let dir = scratch();
    let d = dir.path();
    one_sentence(
        &tape(d, &["report", "missing.tape"]),
        2,
        &["missing.tape", "check the path"],
    );
    std::fs::write(d.join("notes.txt"), "not a ledger\n").expect("written");
    one_sentence(
        &tape(d, &["report", "notes.txt"]),
        2,
        &["notes.txt", "not a Tape ledger"],
    );
    assert!(!d.join("notes.html").exists());
    tape(d, &["run", "crash", "--out", "crash.tape"]).expect_code(0);
    // Only an .html file is ever written: a typo cannot replace a ledger.
    let before = std::fs::read(d.join("crash.tape")).expect("written");
    one_sentence(
        &tape(d, &["report", "crash.tape", "--out", "crash.tape"]),
        2,
        &["crash.tape", ".html"],
    );
    assert_eq!(std::fs::read(d.join("crash.tape")).expect("kept"), before);
    one_sentence(
        &tape(d, &["report", "crash.tape", "--out", "no/such/dir/r.html"]),
        2,
        &["r.html", "directory must exist"],
    );
    one_sentence(
        &tape(d, &["report", "crash.tape", "--periods-per-year", "0"]),
        2,
        &["--periods-per-year"],
    );
    one_sentence(
        &tape(d, &["report", "crash.tape", "--from", "2022-13-45"]),
        2,
        &["--from 2022-13-45", "YYYY-MM-DD"],
    );
    // A ledger named .html is never replaced by its own report.
    std::fs::copy(d.join("crash.tape"), d.join("odd.html")).expect("copied");
    one_sentence(
        &tape(d, &["report", "odd.html"]),
        2,
        &["odd.html", "choose another --out"],
    );
    assert_eq!(std::fs::read(d.join("odd.html")).expect("kept"), before);
    // Corruption in the middle is a finding, and the old report stays as it was.
    tape(d, &["report", "crash.tape", "--out", "r.html"]).expect_code(0);
    let report = std::fs::read(d.join("r.html")).expect("written");
    let mut bytes = before.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    std::fs::write(d.join("flipped.tape"), &bytes).expect("written");
    one_sentence(
        &tape(d, &["report", "flipped.tape", "--out", "r.html"]),
        1,
        &["flipped.tape", "corruption"],
    );
    assert_eq!(std::fs::read(d.join("r.html")).expect("kept"), report);
}

/// A ledger can hold no snapshot at all (a run stopped on its first bar): the page still has
/// every section, and its charts say there is nothing to draw.
#[test]
fn a_ledger_without_snapshots_still_gives_a_page() {
    let dir = scratch();
    let d = dir.path();
    tape(d, &["run", "crash", "--out", "crash.tape"]).expect_code(0);
    let header = LedgerReader::open(&d.join("crash.tape"))
        .expect("opens")
        .header()
        .clone();
    let ts = Ts::from_date(2018, 1, 1);
    let price = Price::from_raw(100 * 100_000_000).expect("positive");
    let bodies = [
        EventBody::RunStarted(RunStarted {
            config_digest: header.config_digest(),
            initial_cash: Money::from_raw(1_000_000 * 1_000_000),
            symbols: header.symbols.len() as u32,
        }),
        EventBody::Bar(Bar {
            symbol: SymbolId(0),
            open: price,
            high: price,
            low: price,
            close: price,
            volume: Quantity::from_units(10).expect("fits"),
        }),
    ];
    let mut frames = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let event = Event {
            seq: Seq(i as u64),
            ts,
            causes: Causes::NONE,
            body,
        };
        encode_event(&event, header.salt, &mut frames);
    }
    let mut writer = LedgerWriter::create(&d.join("bare.tape"), &header, FsyncPolicy::Never, false)
        .expect("creates");
    let rest = writer.submit(frames).expect("accepts");
    writer.finish(rest).expect("finishes");
    tape(d, &["report", "bare.tape"]).expect_code(0);
    let html = std::fs::read_to_string(d.join("bare.html")).expect("written");
    for id in SECTIONS {
        assert!(html.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    assert_eq!(html.matches("<svg").count(), 3);
    assert_eq!(
        html.matches("no portfolio snapshots in this ledger")
            .count(),
        3
    );
    assert!(html.contains("<span class=\"badge warn\">incomplete</span>"));
    for undefined in ["NaN", ">inf", "-inf", "inf %"] {
        assert!(
            !html.contains(undefined),
            "an undefined figure is shown: {undefined}"
        );
    }
}

/// The trend system names SPY as its benchmark and warms up for a year: with `--from`, the
/// page covers the traded days only and compares them with SPY held over the same days.
#[test]
fn a_windowed_report_of_the_trend_system_holds_its_own_benchmark() {
    let dir = scratch();
    let d = dir.path();
    tape(d, &["run", "dow30-trend", "--out", "trend.tape"]).expect_code(0);
    let run = tape(
        d,
        &[
            "report",
            "trend.tape",
            "--from",
            "2022-01-01",
            "--out",
            "trend.html",
        ],
    );
    run.expect_code(0);
    let html = std::fs::read_to_string(d.join("trend.html")).expect("written");
    assert_page_is_whole_and_self_contained("trend", &html);
    assert!(html.contains("Benchmark: SPY buy-and-hold"));
    assert!(html.contains("<dt>Window</dt><dd>from 2022-01-01 to the end"));
    // Nothing of the warm-up: no 2021 row, no chart point before the window.
    let monthly = element(&html, "monthly", "</section>");
    assert!(!monthly.contains("data-year=\"2021\""), "{monthly}");
    assert!(monthly.contains("data-month=\"2022-01\""));
    let window_start = 1_640_995_200; // 2022-01-01T00:00:00Z
    for times in html.split("data-t=\"").skip(1) {
        let first: i64 = times
            .split([' ', '"'])
            .next()
            .and_then(|t| t.parse().ok())
            .expect("a time");
        assert!(first >= window_start, "a point at {first}");
    }
    // The benchmark over the window, independently: SPY's last close over its close at the
    // last snapshot before the window (2021-12-31).
    let close = |args: &[&str]| -> f64 {
        let run = tape(d, args);
        let last = run
            .expect_code(0)
            .stdout
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        let bar: serde_json::Value = serde_json::from_str(&last).expect("a JSON line");
        bar["close"].as_f64().expect("a close")
    };
    let base = close(&[
        "show",
        "trend.tape",
        "--kind",
        "bar",
        "--symbol",
        "SPY",
        "--to",
        "2021-12-31T23:59:59Z",
        "--json",
    ]);
    let end = close(&[
        "show",
        "trend.tape",
        "--kind",
        "bar",
        "--symbol",
        "SPY",
        "--json",
    ]);
    let card = element(&html, "summary", "</section>");
    let note = card
        .split("<div class=\"note\">benchmark ")
        .nth(1)
        .and_then(|n| n.split('<').next())
        .expect("the benchmark's return beside the total return");
    assert!(
        (shown_fraction(note) - (end / base - 1.0)).abs() <= 0.00005 + 1e-12,
        "shown {note}, computed {}",
        end / base - 1.0
    );
    // The figures are those of `tape metrics` over the same window.
    let m = tape(
        d,
        &["metrics", "trend.tape", "--from", "2022-01-01", "--json"],
    )
    .expect_code(0)
    .json();
    let total = m["total_return"].as_f64().expect("a figure");
    assert!(card.contains(&format!("{:.2} %", total * 100.0)));
}
