//! Parameter sweeps: one base scenario, a grid of parameter values and a list of market
//! seeds, each combination run on its own core, in parallel, into one results table.
//!
//! Invariants: runs are numbered by a fixed order of the grid (keys sorted, each key's values
//! in the order given, seeds innermost), so a run's id names the same run whatever the
//! number of threads; each run is an independent core with no shared mutable state; the
//! table is written sorted by run id, so its bytes do not depend on `--threads`; a run
//! re-run alone (`--run ID`) has the fingerprint the table records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Deserialize;
use tape_engine::ledger::{fingerprint_hex, FsyncPolicy};
use tape_scenarios::builtin;

use crate::drive::run_to_ledger;
use crate::metrics::{self, Options};
use crate::plan::RunPlan;

/// A sweep spec, as written in its TOML file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The base scenario: a built-in name, or a scenario file relative to the spec.
    pub scenario: String,
    /// Market seeds to run every grid point with (default: the scenario's own seed).
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Dotted keys of the scenario (`"strategy.fast"`) and the values each takes.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
}

/// Why a sweep cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The spec file cannot be read.
    #[error("cannot read {path}: {source} (check the path)")]
    Read {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The spec is not valid.
    #[error("{origin}: {message}")]
    Spec {
        /// The file.
        origin: String,
        /// What is wrong, with its line when known.
        message: String,
    },
    /// One run failed.
    #[error("run {id} ({params}): {message}")]
    Run {
        /// The run's id.
        id: usize,
        /// Its parameters.
        params: String,
        /// What failed.
        message: String,
    },
    /// The results could not be written.
    #[error("cannot write {path}: {source} (check the directory and free space)")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Its id: its position in the sweep's fixed order, from 0.
    pub id: usize,
    /// The market seed.
    pub seed: u64,
    /// The grid point: (dotted key, value), keys sorted.
    pub params: Vec<(String, toml::Value)>,
}

impl RunSpec {
    /// `key=value …`, for messages.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.push(format!("seed={}", self.seed));
        parts.join(" ")
    }
}

/// A spec with its base scenario's text, ready to expand and run.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The spec.
    pub spec: SweepSpec,
    base_text: String,
    origin: String,
    base_dir: PathBuf,
    default_seed: u64,
}

/// The figures of one run, a row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The run.
    pub run: RunSpec,
    /// Its ledger's fingerprint.
    pub fingerprint: String,
    /// `tape metrics`' figures of its ledger.
    pub figures: metrics::Metrics,
}

impl Sweep {
    /// Reads a spec file and its base scenario.
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Read {
            path: origin.clone(),
            source,
        })?;
        let spec: SweepSpec = toml::from_str(&text).map_err(|e| SweepError::Spec {
            origin: origin.clone(),
            message: toml_message(&text, &e),
        })?;
        let spec_dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let (base_text, scenario_origin, base_dir) = match builtin::find(&spec.scenario) {
            Some(b) => (
                b.toml.to_string(),
                format!("built-in scenario '{}'", b.name),
                PathBuf::from("."),
            ),
            None => {
                let file = spec_dir.join(&spec.scenario);
                let text = std::fs::read_to_string(&file).map_err(|source| SweepError::Spec {
                    origin: origin.clone(),
                    message: format!(
                        "scenario = \"{}\" is neither a built-in nor a readable file ({source})",
                        spec.scenario
                    ),
                })?;
                let dir = file
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                (text, file.display().to_string(), dir)
            }
        };
        for (key, values) in &spec.grid {
            if values.is_empty() {
                return Err(SweepError::Spec {
                    origin,
                    message: format!("[grid] \"{key}\" has no values: give at least one"),
                });
            }
        }
        let base =
            tape_scenarios::Scenario::from_toml(&base_text, &scenario_origin).map_err(|e| {
                SweepError::Spec {
                    origin: origin.clone(),
                    message: e.to_string(),
                }
            })?;
        let sweep = Self {
            default_seed: base.seed,
            spec,
            base_text,
            origin: scenario_origin,
            base_dir,
        };
        // Every grid point must make a valid scenario before anything runs.
        for run in sweep.runs() {
            sweep.plan(&run).map_err(|message| SweepError::Spec {
                origin: origin.clone(),
                message: format!("run {} ({}): {message}", run.id, run.describe()),
            })?;
        }
        Ok(sweep)
    }

    /// Every run, in id order: grid keys sorted, each key's values in the given order, the
    /// first key varying slowest, seeds innermost.
    pub fn runs(&self) -> Vec<RunSpec> {
        let seeds = if self.spec.seeds.is_empty() {
            vec![self.default_seed]
        } else {
            self.spec.seeds.clone()
        };
        let mut points: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
        for (key, values) in &self.spec.grid {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut next = p.clone();
                        next.push((key.clone(), v.clone()));
                        next
                    })
                })
                .collect();
        }
        let mut runs = Vec::new();
        for params in points {
            for &seed in &seeds {
                runs.push(RunSpec {
                    id: runs.len(),
                    seed,
                    params: params.clone(),
                });
            }
        }
        runs
    }

    /// The parameter keys, sorted (the table's parameter columns).
    pub fn keys(&self) -> Vec<String> {
        self.spec.grid.keys().cloned().collect()
    }

    /// The run's scenario: the base with the grid point's values set and its seed.
    fn plan(&self, run: &RunSpec) -> Result<RunPlan, String> {
        let mut table: toml::Table = self.base_text.parse().map_err(|e| format!("{e}"))?;
        for (key, value) in &run.params {
            set_dotted(&mut table, key, value.clone())?;
        }
        table.insert("seed".into(), toml::Value::Integer(run.seed as i64));
        let text = toml::to_string(&table).map_err(|e| e.to_string())?;
        let origin = format!("{} (sweep run {})", self.origin, run.id);
        let scenario =
            tape_scenarios::Scenario::from_toml(&text, &origin).map_err(|e| e.to_string())?;
        RunPlan::from_scenario_in(scenario, &origin, &self.base_dir).map_err(|e| e.to_string())
    }

    /// Runs one run into a ledger at `ledger` and measures it.
    pub fn execute(&self, run: &RunSpec, ledger: &Path) -> Result<RunResult, SweepError> {
        let fail = |message: String| SweepError::Run {
            id: run.id,
            params: run.describe(),
            message,
        };
        let plan = self.plan(run).map_err(fail)?;
        let outcome = run_to_ledger(&plan, ledger, FsyncPolicy::Never, true, &mut |_| {})
            .map_err(|e| fail(e.to_string()))?;
        let figures =
            metrics::from_ledger(ledger, &Options::default()).map_err(|e| fail(e.to_string()))?;
        Ok(RunResult {
            run: run.clone(),
            fingerprint: fingerprint_hex(&outcome.ledger.fingerprint),
            figures,
        })
    }

    /// Runs every run on `threads` threads. Ledgers go to `ledgers` (kept) or to a scratch
    /// directory (removed). `on_done` is called after each run with the count done.
    pub fn run_all(
        &self,
        threads: usize,
        ledgers: Option<&Path>,
        on_done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<RunResult>, SweepError> {
        let runs = self.runs();
        let scratch = tempfile::tempdir().map_err(|source| SweepError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        let dir = ledgers.unwrap_or(scratch.path());
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<RunResult, SweepError>>>> =
            Mutex::new((0..runs.len()).map(|_| None).collect());
        std::thread::scope(|s| {
            for _ in 0..threads.max(1) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = runs.get(i) else { break };
                    let path = dir.join(format!("run-{:06}.tape", run.id));
                    let result = self.execute(run, &path);
                    if ledgers.is_none() {
                        let _ = std::fs::remove_file(&path);
                    }
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(result);
                    }
                    on_done(done.fetch_add(1, Ordering::Relaxed) + 1);
                });
            }
        });
        let all = results.into_inner().unwrap_or_default();
        all.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(SweepError::Spec {
                        origin: self.origin.clone(),
                        message: "a run did not report".into(),
                    })
                })
            })
            .collect()
    }
}

/// Sets `a.b.c` in a TOML table, creating nothing: every table on the path but the last key
/// must exist, so a misspelt key is an error rather than a silent new table.
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let (last, path) = parts.split_last().ok_or("an empty key")?;
    let mut at = table;
    for part in path {
        at = at
            .get_mut(*part)
            .and_then(toml::Value::as_table_mut)
            .ok_or_else(|| format!("[grid] \"{key}\": the scenario has no [{part}] table"))?;
    }
    at.insert((*last).to_string(), value);
    Ok(())
}

/// A TOML error as one line with its line number.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

/// The table's figure columns, after `run`, `seed`, the parameters and `fingerprint`.
pub const FIGURE_COLUMNS: [&str; 12] = [
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "turnover_total",
    "slippage_total",
    "trades",
    "hit_rate",
    "profit_factor",
];

/// Writes the results table as CSV, sorted by run id (they come in id order).
pub fn write_csv(path: &Path, keys: &[String], results: &[RunResult]) -> Result<(), SweepError> {
    let fail = |source: std::io::Error| SweepError::Write {
        path: path.to_path_buf(),
        source,
    };
    let partial = path.with_extension("csv.partial");
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(&partial)
        .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
    let mut header: Vec<String> = vec!["run".into(), "seed".into()];
    header.extend(keys.iter().cloned());
    header.push("fingerprint".into());
    header.extend(FIGURE_COLUMNS.iter().map(|c| c.to_string()));
    w.write_record(&header)
        .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in results {
        let m = &r.figures;
        let mut row: Vec<String> = vec![r.run.id.to_string(), r.run.seed.to_string()];
        for key in keys {
            let value = r
                .run
                .params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            row.push(value);
        }
        row.push(r.fingerprint.clone());
        row.extend([
            m.returns.total_return.to_string(),
            m.returns.cagr.to_string(),
            m.returns.volatility.to_string(),
            opt(m.returns.sharpe),
            opt(m.returns.sortino),
            opt(m.calmar),
            m.drawdown.max.to_string(),
            m.turnover_total.to_string(),
            m.slippage_total.to_string(),
            m.round_trips.len().to_string(),
            opt(m.hit_rate()),
            opt(m.profit_factor()),
        ]);
        w.write_record(&row)
            .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
    }
    w.flush().map_err(fail)?;
    drop(w);
    std::fs::rename(&partial, path).map_err(fail)
}
