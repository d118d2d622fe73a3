//! The `tape` application: run, verify, replay, repair, show, bench.
//!
//! Read first: [`plan::RunPlan`] (a scenario made runnable, or a ledger's recorded run made
//! re-runnable) and [`drive`] (the loops that feed the core and write or compare ledgers).

/// One module per CLI verb.
pub mod cmd;
/// Feeding the core: run to a ledger, replay a ledger, causal chains.
pub mod drive;
/// Ledger events as tables (CSV, Parquet) for `tape export`.
pub mod export;
/// The look-ahead fuzzer: the prefix property over many cuts, and fill timing.
pub mod fuzz;
/// Performance figures from a ledger, with its accounting checked against its fills.
pub mod metrics;
/// Parity of outputs: exact or tolerant comparison, content-hash manifests.
pub mod parity;
/// Run plans from scenarios or ledger headers.
pub mod plan;
/// Progress bars on stderr.
pub mod progress;
/// `tape sweep --ray`: shards as jobs on a Ray cluster.
pub mod ray;
/// Events as text and JSON lines.
pub mod render;
/// A run's report as one self-contained HTML page: figures, charts, trades, configuration.
pub mod report;
/// Parameter sweeps: a grid of runs in parallel into one table.
pub mod sweep;
/// A sweep's results as Parquet.
#[cfg(feature = "parquet")]
pub mod sweep_parquet;
/// `tape sweep --shard I/N` and `tape sweep merge`.
pub mod sweep_shard;
/// The trend system's seven CSV outputs.
pub mod trend_outputs;
/// Walk-forward studies over a sweep's runs.
pub mod walk_forward;
