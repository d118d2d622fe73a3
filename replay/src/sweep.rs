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
use crate::walk_forward::{self, WalkForwardSpec, WindowFigures};

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
    /// A seeded random sample of a parameter space (docs/sweeps.md §Random samples).
    #[serde(default)]
    pub sample: Option<SampleSpec>,
    /// Train/test windows rolled through time (docs/sweeps.md §Walk-forward).
    #[serde(default)]
    pub walk_forward: Option<WalkForwardSpec>,
}

/// The `[sample]` table: `count` points drawn from `space` by a ChaCha stream seeded by
/// `seed`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    /// Points to draw.
    pub count: usize,
    /// The sample's seed: the same seed, the same points, on every machine.
    pub seed: u64,
    /// Dotted keys and their ranges `[low, high]`: two integers draw an integer uniformly
    /// from the closed range, two floats a float uniformly from `[low, high)`.
    pub space: BTreeMap<String, [toml::Value; 2]>,
}

impl SampleSpec {
    /// Checks the ranges; the error is what to change.
    fn validate(&self, grid: &BTreeMap<String, Vec<toml::Value>>) -> Result<(), String> {
        if self.count == 0 {
            return Err("[sample] count must be at least 1".into());
        }
        for (key, [low, high]) in &self.space {
            if grid.contains_key(key) {
                return Err(format!(
                    "[sample.space] \"{key}\" is also in [grid]: a key varies one way"
                ));
            }
            let ok = match (low, high) {
                (toml::Value::Integer(a), toml::Value::Integer(b)) => {
                    a <= b && b.abs_diff(*a) < u64::MAX
                }
                (toml::Value::Float(a), toml::Value::Float(b)) => {
                    a.is_finite() && b.is_finite() && a < b
                }
                _ => false,
            };
            if !ok {
                return Err(format!("[sample.space] \"{key}\" = [{low}, {high}]: give two integers low ≤ high, or two floats low < high"));
            }
        }
        Ok(())
    }

    /// The drawn points, in draw order; each key drawn in sorted order.
    fn points(&self) -> Vec<Vec<(String, toml::Value)>> {
        let mut rng =
            tape_engine::rng::SeededRng::new(tape_engine::rng::seed_from_u64(self.seed), 0);
        (0..self.count)
            .map(|_| {
                self.space
                    .iter()
                    .map(|(key, [low, high])| {
                        let value = match (low, high) {
                            (toml::Value::Integer(a), toml::Value::Integer(b)) => {
                                // validate() keeps the span below u64::MAX, and the drawn
                                // offset lands in [a, b], so the wrapping add is exact.
                                let span = b.abs_diff(*a) + 1;
                                toml::Value::Integer(a.wrapping_add(rng.below(span) as i64))
                            }
                            (toml::Value::Float(a), toml::Value::Float(b)) => {
                                toml::Value::Float(a + (b - a) * rng.unit())
                            }
                            _ => low.clone(),
                        };
                        (key.clone(), value)
                    })
                    .collect()
            })
            .collect()
    }
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
    spec_text: String,
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
    /// With a walk-forward: its figures on each window.
    pub windows: Vec<WindowFigures>,
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
        if let Some(sample) = &spec.sample {
            sample
                .validate(&spec.grid)
                .map_err(|message| SweepError::Spec {
                    origin: origin.clone(),
                    message,
                })?;
        }
        if let Some(wf) = &spec.walk_forward {
            wf.validate().map_err(|message| SweepError::Spec {
                origin: origin.clone(),
                message,
            })?;
            if spec.seeds.len() > 1 {
                return Err(SweepError::Spec {
                    origin,
                    message: "[walk_forward] chooses among parameters on one market: give at most one seed".into(),
                });
            }
        }
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
            spec_text: text,
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
    /// first key varying slowest; then each sampled point in draw order; seeds innermost.
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
        if let Some(sample) = &self.spec.sample {
            let drawn = sample.points();
            points = points
                .into_iter()
                .flat_map(|p| {
                    drawn.iter().map(move |d| {
                        let mut next = p.clone();
                        next.extend(d.iter().cloned());
                        next.sort_by(|a, b| a.0.cmp(&b.0));
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

    /// The results table's header: [`header`], then a walk-forward's window columns.
    pub fn table_header(&self) -> Result<Vec<String>, SweepError> {
        let mut h = header(&self.keys());
        if let Some(wf) = &self.spec.walk_forward {
            let windows = wf.windows().map_err(|message| SweepError::Spec {
                origin: "[walk_forward]".into(),
                message,
            })?;
            h.extend(walk_forward::columns(&wf.objective, windows.len()));
        }
        Ok(h)
    }

    /// Names this sweep across machines: BLAKE3 of the spec's text and its base scenario's
    /// text, so shards of one spec merge and shards of another are refused.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        for part in [&self.spec_text, &self.base_text] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().to_hex().to_string()
    }

    /// The parameter keys, sorted (the table's parameter columns): the grid's and the
    /// sample's.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.spec.grid.keys().cloned().collect();
        if let Some(sample) = &self.spec.sample {
            keys.extend(sample.space.keys().cloned());
        }
        keys.sort();
        keys
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
        let windows = match &self.spec.walk_forward {
            Some(wf) => {
                let windows = wf.windows().map_err(fail)?;
                walk_forward::measure(ledger, wf, &windows).map_err(|e| fail(e.to_string()))?
            }
            None => Vec::new(),
        };
        Ok(RunResult {
            run: run.clone(),
            fingerprint: fingerprint_hex(&outcome.ledger.fingerprint),
            figures,
            windows,
        })
    }

    /// Runs the runs `ids` on `threads` threads. Ledgers go to `ledgers` (kept) or to a
    /// scratch directory (removed). `on_result` gets each run's result as it completes (from
    /// any thread); the first error stops the threads from taking more runs.
    pub fn run_all(
        &self,
        threads: usize,
        ids: &[usize],
        ledgers: Option<&Path>,
        on_result: &(dyn Fn(&RunResult) -> Result<(), SweepError> + Sync),
    ) -> Result<(), SweepError> {
        let runs = self.runs();
        let scratch = tempfile::tempdir().map_err(|source| SweepError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        let dir = ledgers.unwrap_or(scratch.path());
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<SweepError>> = Mutex::new(None);
        let failed = || failure.lock().map_or(true, |f| f.is_some());
        std::thread::scope(|s| {
            for _ in 0..threads.max(1) {
                s.spawn(|| loop {
                    if failed() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = ids.get(i).and_then(|id| runs.get(*id)) else {
                        break;
                    };
                    let path = run_ledger(dir, run.id);
                    let result = self.execute(run, &path).and_then(|r| on_result(&r));
                    if ledgers.is_none() {
                        let _ = std::fs::remove_file(&path);
                    }
                    if let Err(e) = result {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                        break;
                    }
                });
            }
        });
        match failure.into_inner() {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => Err(SweepError::Spec {
                origin: self.origin.clone(),
                message: "a run's thread stopped unexpectedly".into(),
            }),
        }
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

/// The table's header: `run`, `seed`, the grid keys, `fingerprint`, the figures.
pub fn header(keys: &[String]) -> Vec<String> {
    let mut header: Vec<String> = vec!["run".into(), "seed".into()];
    header.extend(keys.iter().cloned());
    header.push("fingerprint".into());
    header.extend(FIGURE_COLUMNS.iter().map(|c| c.to_string()));
    header
}

/// The columns between `seed` and `fingerprint`: the parameters.
pub fn param_columns(header: &[String]) -> Vec<usize> {
    let at = |name: &str| header.iter().position(|c| c == name);
    match (at("seed"), at("fingerprint")) {
        (Some(seed), Some(fingerprint)) if seed < fingerprint => (seed + 1..fingerprint).collect(),
        _ => Vec::new(),
    }
}

/// `key=value … seed=S` of a table row, from the table's own cells.
pub fn describe_row(header: &[String], row: &[String]) -> String {
    let cell = |i: usize| row.get(i).map_or("", String::as_str);
    let mut parts: Vec<String> = param_columns(header)
        .into_iter()
        .map(|i| format!("{}={}", header[i], cell(i)))
        .collect();
    if let Some(seed) = header.iter().position(|c| c == "seed") {
        parts.push(format!("seed={}", cell(seed)));
    }
    parts.join(" ")
}

/// A run's row of the table (with its walk-forward window columns, if any).
pub fn row(keys: &[String], r: &RunResult) -> Vec<String> {
    let m = &r.figures;
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    let mut row: Vec<String> = vec![r.run.id.to_string(), r.run.seed.to_string()];
    row.extend(keys.iter().map(|key| {
        r.run
            .params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| value_text(v))
            .unwrap_or_default()
    }));
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
    row.extend(walk_forward::cells(&r.windows));
    row
}

/// A grid value as the table shows it (strings without quotes).
fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One CSV line (no line end) of `cells`.
pub(crate) fn csv_line(cells: &[String]) -> Result<String, SweepError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let fail = |e: String| SweepError::Write {
        path: PathBuf::from("results.csv"),
        source: std::io::Error::other(e),
    };
    w.write_record(cells).map_err(|e| fail(e.to_string()))?;
    let bytes = w.into_inner().map_err(|e| fail(e.to_string()))?;
    let mut line = String::from_utf8(bytes).map_err(|e| fail(e.to_string()))?;
    line.pop();
    Ok(line)
}

pub(crate) fn parse_line(line: &str) -> Option<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let record = r.records().next()?.ok()?;
    Some(record.iter().map(str::to_string).collect())
}

/// The first 16 hex digits of a row's BLAKE3: enough to tell a torn or edited row.
fn checksum(line: &str) -> String {
    blake3::hash(line.as_bytes()).to_hex()[..16].to_string()
}

/// Takes the journal's lock for as long as the sweep runs, so two sweeps never write one
/// directory (a second `tape sweep`, or a cluster job resubmitted while the first still runs).
fn lock_journal(file: &std::fs::File, path: &Path) -> Result<(), SweepError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(SweepError::Spec {
            origin: path.display().to_string(),
            message: "another `tape sweep` is writing this directory: wait for it to finish, or choose another --out".into(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(SweepError::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Completed rows, appended as runs finish (`DIR/journal.csv`): the header line, then one
/// `checksum,row` line per run, each synced. A killed sweep resumes from it; a row whose
/// checksum does not match (a torn last line) is run again, never trusted.
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Where a sweep writing into `dir` keeps its journal.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("journal.csv")
    }

    /// A new journal with the table's header.
    pub fn create(dir: &Path, header: &[String]) -> Result<Self, SweepError> {
        let path = Self::path(dir);
        let fail = |source| SweepError::Write {
            path: path.clone(),
            source,
        };
        // Locked before it is emptied: a sweep still writing here keeps its journal.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(fail)?;
        lock_journal(&file, &path)?;
        file.set_len(0).map_err(fail)?;
        use std::io::Write as _;
        writeln!(file, "{}", csv_line(header)?).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    /// The rows of an earlier, interrupted sweep whose checksums hold, by run id, and the
    /// journal reopened for appending. Refuses a journal of another spec (other header, or a
    /// run whose seed or parameters differ).
    pub fn resume(
        dir: &Path,
        header: &[String],
        expected: &[Vec<String>],
    ) -> Result<(Self, BTreeMap<usize, Vec<String>>), SweepError> {
        let path = Self::path(dir);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|source| SweepError::Write {
                path: path.clone(),
                source,
            })?;
        lock_journal(&file, &path)?;
        let text = std::fs::read_to_string(&path).map_err(|source| SweepError::Write {
            path: path.clone(),
            source,
        })?;
        let mismatch = |what: String| {
            SweepError::Spec {
            origin: path.display().to_string(),
            message: format!("{what}: this journal is another sweep's (run without --resume and with --force to start over)"),
        }
        };
        let mut lines = text.split('\n');
        if lines.next() != Some(csv_line(header)?.as_str()) {
            return Err(mismatch("its header differs from this spec's table".into()));
        }
        let mut done = BTreeMap::new();
        for line in lines {
            let Some((sum, row)) = line.split_once(',') else {
                continue;
            };
            if checksum(row) != sum {
                continue;
            }
            let Some(cells) = parse_line(row) else {
                continue;
            };
            let id: usize = cells
                .first()
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| mismatch("a row without a run id".into()))?;
            // The run's identity: id, seed and parameters, as this spec numbers them.
            let identity = expected
                .get(id)
                .ok_or_else(|| mismatch(format!("run {id} is not in this spec")))?;
            if cells.len() != header.len() || cells[..identity.len()] != identity[..] {
                return Err(mismatch(format!("run {id} has other parameters or seed")));
            }
            done.insert(id, cells);
        }
        // A torn last line must not run into the next row.
        use std::io::Write as _;
        let mut file = file;
        if !text.ends_with('\n') {
            writeln!(file).map_err(|source| SweepError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok((
            Self {
                path,
                file: Mutex::new(file),
            },
            done,
        ))
    }

    /// Appends a completed row and syncs it.
    pub fn append(&self, cells: &[String]) -> Result<(), SweepError> {
        let line = csv_line(cells)?;
        let fail = |source| SweepError::Write {
            path: self.path.clone(),
            source,
        };
        let mut file = self
            .file
            .lock()
            .map_err(|_| fail(std::io::Error::other("the journal's lock is poisoned")))?;
        use std::io::Write as _;
        writeln!(file, "{},{line}", checksum(&line)).map_err(fail)?;
        file.sync_data().map_err(fail)
    }

    /// Removes the journal once the table is written.
    pub fn remove(self) -> Result<(), SweepError> {
        std::fs::remove_file(&self.path).map_err(|source| SweepError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

impl RunSpec {
    /// The first cells of its row: id, seed, parameter values (in `keys` order).
    pub fn identity(&self, keys: &[String]) -> Vec<String> {
        let mut cells = vec![self.id.to_string(), self.seed.to_string()];
        cells.extend(keys.iter().map(|key| {
            self.params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| value_text(v))
                .unwrap_or_default()
        }));
        cells
    }
}

/// Where run `id`'s ledger goes in `dir`.
pub fn run_ledger(dir: &Path, id: usize) -> PathBuf {
    dir.join(format!("run-{id:06}.tape"))
}

/// Keeps the ledgers of the best `k` runs so far by one column of the table, deleting the
/// rest as runs complete, so a sweep never holds more than `k` (plus those in flight).
///
/// Ranking: a higher value is better; an empty or non-finite value ranks below every number;
/// among equals the lower run id wins. The kept set after all runs is the best `k` of all,
/// whatever order runs complete in: a run evicted from the best `k` of some runs is outranked
/// by `k` runs that stay ahead of it.
pub struct BestLedgers {
    k: usize,
    column: usize,
    dir: PathBuf,
    kept: Mutex<Vec<(Option<f64>, usize)>>,
}

impl BestLedgers {
    /// Best `k` by the column named `by` of `header`, ledgers in `dir`.
    pub fn new(k: usize, by: &str, header: &[String], dir: &Path) -> Result<Self, String> {
        if k == 0 {
            return Err("--keep-best must be at least 1 (or leave it out)".into());
        }
        let column = header
            .iter()
            .position(|c| c == by)
            .filter(|_| crate::walk_forward::OBJECTIVES.contains(&by))
            .ok_or_else(|| {
                format!(
                    "--by {by}: give one of {}",
                    crate::walk_forward::OBJECTIVES.join(", ")
                )
            })?;
        Ok(Self {
            k,
            column,
            dir: dir.to_path_buf(),
            kept: Mutex::new(Vec::new()),
        })
    }

    /// Ranks a completed run's row; deletes the ledger that falls out of the best `k` (the
    /// offered run's own, or one kept before).
    pub fn offer(&self, cells: &[String]) -> Result<(), SweepError> {
        let id: usize = cells.first().and_then(|c| c.parse().ok()).unwrap_or(0);
        let score = cells
            .get(self.column)
            .and_then(|c| c.parse::<f64>().ok())
            .filter(|v| v.is_finite());
        let better = |a: &(Option<f64>, usize), b: &(Option<f64>, usize)| match (a.0, b.0) {
            (Some(x), Some(y)) if x != y => x > y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            _ => a.1 < b.1,
        };
        let evicted = {
            let mut kept = self.kept.lock().map_err(|_| SweepError::Write {
                path: self.dir.clone(),
                source: std::io::Error::other("the best-ledgers lock is poisoned"),
            })?;
            let at = kept
                .iter()
                .position(|other| better(&(score, id), other))
                .unwrap_or(kept.len());
            kept.insert(at, (score, id));
            (kept.len() > self.k).then(|| kept.pop()).flatten()
        };
        if let Some((_, gone)) = evicted {
            let path = run_ledger(&self.dir, gone);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(SweepError::Write { path, source }),
            }
        }
        Ok(())
    }

    /// The kept runs' ids, best first.
    pub fn kept(&self) -> Vec<usize> {
        self.kept
            .lock()
            .map(|k| k.iter().map(|(_, id)| *id).collect())
            .unwrap_or_default()
    }
}

/// Writes a sweep's results into `dir`: `results.csv` and, in a build with the `parquet`
/// feature, `results.parquet` (see [`crate::sweep_parquet`]); returns the files written.
/// Both are functions of the header and rows alone, so a merge writes what a local sweep does.
pub fn write_results(
    dir: &Path,
    header: &[String],
    rows: &[Vec<String>],
    sweep: &str,
) -> Result<Vec<PathBuf>, SweepError> {
    let csv = dir.join("results.csv");
    write_csv(&csv, header, rows)?;
    #[cfg(feature = "parquet")]
    {
        let parquet = dir.join("results.parquet");
        crate::sweep_parquet::write(&parquet, header, rows, sweep)?;
        Ok(vec![csv, parquet])
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = sweep;
        Ok(vec![csv])
    }
}

/// Writes a CSV table: the header, then `rows` (already in run-id order).
pub fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<(), SweepError> {
    let fail = |source: std::io::Error| SweepError::Write {
        path: path.to_path_buf(),
        source,
    };
    let partial = path.with_extension("csv.partial");
    let mut text = csv_line(header)?;
    text.push('\n');
    for row in rows {
        text.push_str(&csv_line(row)?);
        text.push('\n');
    }
    std::fs::write(&partial, text).map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}
