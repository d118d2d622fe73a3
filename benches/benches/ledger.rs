//! Run with the ledger, verify, and replay on 1,000,000 one-minute bars.
//!
//! `cargo bench -p tape-benches`; figures go to docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tape_benches::{bench_plan, BARS};
use tape_engine::ledger::{FsyncPolicy, LedgerReader, LedgerWriter};
use tape_replay::drive::{replay_ledger, run_to_ledger, run_with_writer, BarSource, ReplayVerdict};

fn ledger(c: &mut Criterion) {
    let plan = bench_plan(BARS);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.tape");
    let outcome = run_to_ledger(&plan, &path, FsyncPolicy::Never, true, &mut |_| {})
        .expect("the bench run succeeds");
    let bytes = outcome.ledger.bytes;
    let events = outcome.stats.events;

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);

    group.throughput(Throughput::Elements(BARS));
    group.bench_function("run_1m_bars_with_ledger", |b| {
        b.iter(|| run_to_ledger(&plan, &path, FsyncPolicy::Never, true, &mut |_| {}).expect("run"));
    });

    let market: Vec<_> = plan
        .synthetic_market()
        .expect("the bench scenario is synthetic")
        .map(|r| r.map(Into::into).map_err(|never| match never {}))
        .collect();
    group.bench_function("engine_1m_bars_from_memory", |b| {
        b.iter(|| {
            let writer = LedgerWriter::create(&path, &plan.header, FsyncPolicy::Never, true)
                .expect("creates");
            let source: BarSource = Box::new(market.clone().into_iter());
            run_with_writer(&plan, plan.core(), writer, vec![source], &mut |_| {}, None)
                .expect("run")
        });
    });

    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("verify_1m_bars", |b| {
        b.iter(|| {
            LedgerReader::open(&path)
                .expect("opens")
                .verify_to_end()
                .expect("verifies")
        });
    });

    group.throughput(Throughput::Elements(events));
    group.bench_function("replay_1m_bars", |b| {
        b.iter(|| {
            let verdict = replay_ledger(&path, &mut |_| {}).expect("replays");
            assert!(matches!(verdict, ReplayVerdict::Identical(_)));
        });
    });
    group.finish();
}

criterion_group!(benches, ledger);
criterion_main!(benches);
