//! Ledgers: their hashes for the manifest, and their comparison — event for event in exact
//! mode, by their performance figures in tolerant mode.
//!
//! The payload hash of a kind is BLAKE3 over its events in ledger order, each as its `ts`
//! (`i64`), its payload's length (`u32`) and the payload bytes as framed (padding included),
//! all little-endian. Seqs and causes are left out, so an event added or removed changes the
//! hash of its own kind only, not of every kind after it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use tape_engine::event::EventKind;
use tape_engine::ledger::frame::FRAME_HEADER_LEN;
use tape_engine::ledger::{fingerprint_hex, LedgerReader};

use super::files::StreamHasher;
use super::report::{Difference, FileStatus, Place, Report, What};
use super::tolerance::{Mode, Tolerances};
use super::ParityError;
use crate::metrics::{self, Options};
use crate::render::Renderer;

/// Where in a frame the part that does not depend on the ledger's salt begins: the kind code,
/// after length, checksum and salt.
const KIND_OFFSET: usize = 12;

fn read_error(shown: &str) -> impl Fn(tape_engine::ledger::LedgerReadError) -> ParityError + '_ {
    move |source| ParityError::Ledger {
        path: shown.to_string(),
        source,
    }
}

/// One kind's count and payload hash.
#[derive(Default)]
struct KindHash {
    count: u64,
    hasher: StreamHasher,
}

/// The manifest's `ledger` object: fingerprint, events, and per kind the count and the
/// payload hash.
pub fn manifest(path: &Path, shown: &str) -> Result<serde_json::Value, ParityError> {
    let err = read_error(shown);
    let mut reader = LedgerReader::open(path).map_err(&err)?;
    let mut kinds: BTreeMap<EventKind, KindHash> = BTreeMap::new();
    let mut events = 0u64;
    while let Some(frame) = reader.next_event().map_err(&err)? {
        events += 1;
        let start = FRAME_HEADER_LEN + 8 * usize::from(frame.header.cause_count);
        let payload = frame.bytes.get(start..).unwrap_or(&[]);
        let kind = kinds.entry(frame.kind()).or_default();
        kind.count += 1;
        kind.hasher.update(&frame.header.ts.to_le_bytes());
        kind.hasher.update(&(payload.len() as u32).to_le_bytes());
        kind.hasher.update(payload);
    }
    let summary = reader.summary().map_err(&err)?;
    let kinds: serde_json::Map<String, serde_json::Value> = kinds
        .into_iter()
        .map(|(kind, h)| {
            let hash = blake3::Hash::from(h.hasher.finish());
            (
                kind.name().to_string(),
                json!({"count": h.count, "payload_blake3": hash.to_hex().as_str()}),
            )
        })
        .collect();
    Ok(json!({
        "fingerprint": fingerprint_hex(&summary.fingerprint),
        "events": events,
        "kinds": kinds,
    }))
}

/// Compares two ledgers whose bytes differ.
pub fn compare(
    file: &str,
    a: (&Path, &str),
    b: (&Path, &str),
    mode: Mode,
    tolerances: &Tolerances,
    report: &mut Report,
) -> Result<FileStatus, ParityError> {
    match mode {
        Mode::Exact => exact(file, a, b, report),
        Mode::Tolerant => tolerant(file, a, b, tolerances, report),
    }
}

/// Event for event: the first that differs, the counts by kind, the fingerprints.
fn exact(
    file: &str,
    a: (&Path, &str),
    b: (&Path, &str),
    report: &mut Report,
) -> Result<FileStatus, ParityError> {
    let (ea, eb) = (read_error(a.1), read_error(b.1));
    let mut ra = LedgerReader::open(a.0).map_err(&ea)?;
    let mut rb = LedgerReader::open(b.0).map_err(&eb)?;
    let mut counts: BTreeMap<EventKind, (u64, u64)> = BTreeMap::new();
    let mut first: Option<u64> = None;
    // run_started carries the digest of the configuration: when only it differs, the first
    // difference is sought after it, as `tape diff` does.
    let mut config_differs = false;
    let mut seq = 0u64;
    loop {
        let fa = ra.next_event().map_err(&ea)?;
        let fb = rb.next_event().map_err(&eb)?;
        if fa.is_none() && fb.is_none() {
            break;
        }
        if let Some(f) = &fa {
            counts.entry(f.kind()).or_default().0 += 1;
        }
        if let Some(f) = &fb {
            counts.entry(f.kind()).or_default().1 += 1;
        }
        let same = match (&fa, &fb) {
            (Some(x), Some(y)) => x.bytes.get(KIND_OFFSET..) == y.bytes.get(KIND_OFFSET..),
            _ => false,
        };
        let both_start = matches!(
            (&fa, &fb),
            (Some(x), Some(y)) if x.kind() == EventKind::RunStarted && y.kind() == EventKind::RunStarted
        );
        if !same && both_start {
            config_differs = true;
        } else if !same && first.is_none() {
            first = Some(seq);
        }
        seq += 1;
    }
    let fingerprint_a = ra.summary().map_err(&ea)?.fingerprint;
    let fingerprint_b = rb.summary().map_err(&eb)?.fingerprint;
    if fingerprint_a == fingerprint_b {
        return Ok(FileStatus::Equal);
    }
    let before = report.total;
    if config_differs {
        let (x, y) = (event_text(a, 0)?, event_text(b, 0)?);
        let mut d = Difference::new(file, What::Event, x, y).column("run_started");
        d.at = Some(Place::Seq(0));
        d.key = Some("the configuration differs".to_string());
        report.push(d);
    }
    match first {
        Some(seq) => {
            let (x, y) = (event_text(a, seq)?, event_text(b, seq)?);
            let mut d = Difference::new(file, What::Event, x, y).column("events");
            d.at = Some(Place::Seq(seq));
            d.key = Some("the first event that differs".to_string());
            report.push(d);
        }
        None if !config_differs => {
            let mut d = Difference::new(
                file,
                What::Event,
                fingerprint_hex(&fingerprint_a),
                fingerprint_hex(&fingerprint_b),
            )
            .column("fingerprint");
            d.key = Some(
                "every event is the same; the headers differ (engine version, inputs or salt)"
                    .to_string(),
            );
            report.push(d);
        }
        None => {}
    }
    for (kind, (x, y)) in counts {
        if x != y {
            report.push(
                Difference::new(file, What::EventCount, x.to_string(), y.to_string())
                    .column(kind.name()),
            );
        }
    }
    Ok(if report.total > before {
        FileStatus::Differs
    } else {
        FileStatus::Equal
    })
}

/// The event at `seq`, as `tape show` prints it, or `(none)` past the end.
fn event_text(side: (&Path, &str), seq: u64) -> Result<String, ParityError> {
    let err = read_error(side.1);
    let mut reader = LedgerReader::open(side.0).map_err(&err)?;
    let header = reader.header().clone();
    while let Some(frame) = reader.next_event().map_err(&err)? {
        if frame.header.seq == seq {
            let event = frame.decode().map_err(&err)?;
            return Ok(Renderer::new(&header).text(&event));
        }
    }
    Ok("(none)".to_string())
}

/// By the figures of `tape metrics` (every round trip included), compared as its JSON is;
/// the counts of events by kind are among them, and exact.
fn tolerant(
    file: &str,
    a: (&Path, &str),
    b: (&Path, &str),
    tolerances: &Tolerances,
    report: &mut Report,
) -> Result<FileStatus, ParityError> {
    let figures = |side: (&Path, &str)| {
        metrics::from_ledger(side.0, &Options::default())
            .map(|m| m.to_json(true))
            .map_err(|source| ParityError::Metrics {
                path: side.1.to_string(),
                source,
            })
    };
    let (ma, mb) = (figures(a)?, figures(b)?);
    Ok(super::json::compare(
        file,
        &ma,
        &mb,
        Mode::Tolerant,
        tolerances,
        report,
    ))
}
