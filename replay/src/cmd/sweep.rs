use std::path::PathBuf;
use std::process::ExitCode;

use super::{human_count, now, EXIT_INPUT, EXIT_OK};
use crate::progress::Progress;
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::sweep::{
    describe_row, param_columns, row, run_ledger, write_csv, write_results, BestLedgers, Journal,
    Sweep, SweepError,
};
use crate::sweep_shard::{self, Shard, ShardManifest};
use crate::walk_forward::{self, WalkForwardSpec};

/// Arguments of `tape sweep`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    /// `merge`: join shard directories into one table.
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// The sweep spec (TOML): a base scenario, `seeds` and a `[grid]` of parameter values.
    #[arg(required = true)]
    pub spec: Option<PathBuf>,
    /// Runs at once, each on its own core [default: the machine's cores; with --ray, per
    /// shard, default 1].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Directory for `results.csv` (and kept ledgers) [default: sweeps/<spec name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace an existing results table (or start over from an interrupted sweep's journal).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Continue an interrupted sweep: runs recorded in DIR/journal.csv with a valid checksum
    /// are not run again.
    #[arg(long)]
    pub resume: bool,
    /// Keep every run's ledger in DIR/ledgers (they are large: off by default).
    #[arg(long, conflicts_with = "keep_best")]
    pub keep_ledgers: bool,
    /// Keep only the ledgers of the best K runs (by --by) in DIR/ledgers.
    #[arg(long, value_name = "K")]
    pub keep_best: Option<usize>,
    /// The figure --keep-best ranks by, higher is better: sharpe, sortino, calmar,
    /// total_return or cagr.
    #[arg(
        long,
        value_name = "FIGURE",
        default_value = "sharpe",
        requires = "keep_best"
    )]
    pub by: String,
    /// Run only this run (its id in the table), keep its ledger, print its fingerprint.
    #[arg(long, value_name = "ID")]
    pub run: Option<usize>,
    /// Run one slice of the runs, shard I of N (the runs whose id is I−1 modulo N), for
    /// `tape sweep merge` to join with the others.
    #[arg(long, value_name = "I/N", conflicts_with = "run")]
    pub shard: Option<Shard>,
    /// Run the sweep on a Ray cluster: its job server's address (`http://HEAD:8265`). The
    /// spec, `--out` and `--ray-tape` must be paths every node sees.
    #[arg(long, value_name = "URL", conflicts_with_all = ["run", "shard", "keep_ledgers", "keep_best", "resume"])]
    pub ray: Option<String>,
    /// With --ray: shards to cut the sweep into, one Ray job each.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "ray")]
    pub shards: usize,
    /// With --ray: the `tape` binary as the nodes see it [default: this binary].
    #[arg(long, value_name = "PATH", requires = "ray")]
    pub ray_tape: Option<PathBuf>,
    /// With --ray: times a failed shard is submitted again (resuming its journal).
    #[arg(long, value_name = "R", default_value_t = 2, requires = "ray")]
    pub retries: u32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `tape sweep`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SweepCommand {
    /// Join the directories of `tape sweep --shard I/N` into the table one machine writes.
    Merge(MergeArgs),
}

/// Arguments of `tape sweep merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Every shard's `--out` directory, in any order.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Directory for the merged `results.csv`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace an existing results table.
    #[arg(long)]
    pub force: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn fail(error: &SweepError) -> ExitCode {
    eprintln!("tape: {error}");
    ExitCode::from(EXIT_INPUT)
}

/// Runs a sweep: every grid point × seed in parallel into one table sorted by run id.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(SweepCommand::Merge(merge)) = &args.command {
        return run_merge(merge);
    }
    let Some(spec) = args.spec.clone() else {
        eprintln!("tape: sweep needs a spec file, or `merge DIR...` (see tape sweep --help)");
        return Ok(ExitCode::from(EXIT_INPUT));
    };
    let sweep = match Sweep::load(&spec) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&e)),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = spec
            .file_stem()
            .map_or_else(|| "sweep".to_string(), |s| s.to_string_lossy().into_owned());
        let dir = PathBuf::from("sweeps").join(stem);
        match args.shard {
            Some(shard) => dir.join(format!("shard-{}-of-{}", shard.index, shard.count)),
            None => dir,
        }
    });
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("tape: cannot make {}: {e}", out.display());
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let runs = sweep.runs();
    if let Some(id) = args.run {
        let Some(run) = runs.get(id) else {
            eprintln!(
                "tape: {}: no run {id}: its runs are 0 to {}",
                spec.display(),
                runs.len().saturating_sub(1)
            );
            return Ok(ExitCode::from(EXIT_INPUT));
        };
        let ledger = run_ledger(&out, id);
        let result = match sweep.execute(run, &ledger) {
            Ok(r) => r,
            Err(e) => return Ok(fail(&e)),
        };
        if args.json {
            let v = serde_json::json!({
                "run": id, "params": run.describe(), "fingerprint": result.fingerprint,
                "ledger": ledger.display().to_string(),
            });
            say!("{v}");
        } else {
            say!("run           {id} ({})", run.describe());
            say!("ledger        {}", ledger.display());
            say!("fingerprint   {}", result.fingerprint);
        }
        return Ok(ExitCode::from(EXIT_OK));
    }
    let table = out.join("results.csv");
    let journal_path = Journal::path(&out);
    if let Some(address) = &args.ray {
        return run_on_ray(&args, &spec, &sweep, &out, address);
    }
    if !args.resume && !args.force {
        for (path, what) in [
            (&table, "a results table"),
            (&journal_path, "an interrupted sweep's journal"),
        ] {
            if path.exists() {
                eprintln!(
                    "tape: {} exists ({what}): pass --resume to continue an interrupted sweep, --force to start over, or choose another --out",
                    path.display()
                );
                return Ok(ExitCode::from(EXIT_INPUT));
            }
        }
    }
    let keys = sweep.keys();
    let header = match sweep.table_header() {
        Ok(h) => h,
        Err(e) => return Ok(fail(&e)),
    };
    let ledgers = out.join("ledgers");
    let best_ledgers = match args.keep_best {
        Some(k) => match BestLedgers::new(k, &args.by, &header, &ledgers) {
            Ok(b) => Some(b),
            Err(message) => {
                eprintln!("tape: {message}");
                return Ok(ExitCode::from(EXIT_INPUT));
            }
        },
        None => None,
    };
    let identities: Vec<Vec<String>> = runs.iter().map(|r| r.identity(&keys)).collect();
    let (journal, done) = if args.resume {
        if !journal_path.exists() {
            eprintln!(
                "tape: {}: no interrupted sweep to resume (run without --resume)",
                journal_path.display()
            );
            return Ok(ExitCode::from(EXIT_INPUT));
        }
        match Journal::resume(&out, &header, &identities) {
            Ok(j) => j,
            Err(e) => return Ok(fail(&e)),
        }
    } else {
        match Journal::create(&out, &header) {
            Ok(j) => (j, BTreeMap::new()),
            Err(e) => return Ok(fail(&e)),
        }
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if args.keep_ledgers || best_ledgers.is_some() {
        if let Err(e) = std::fs::create_dir_all(&ledgers) {
            eprintln!("tape: cannot make {}: {e}", ledgers.display());
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    }
    let mine = |id: usize| args.shard.is_none_or(|s| s.owns(id));
    // A journal resumed into a shard's directory keeps only that shard's rows.
    let done: BTreeMap<usize, Vec<String>> = done.into_iter().filter(|(id, _)| mine(*id)).collect();
    let todo: Vec<usize> = (0..runs.len())
        .filter(|&id| mine(id) && !done.contains_key(&id))
        .collect();
    let resumed = done.len();
    // Runs done before an interruption rank as if they had just completed: a ledger they
    // left that is no longer among the best goes.
    if let Some(best) = &best_ledgers {
        for cells in done.values() {
            if let Err(e) = best.offer(cells) {
                return Ok(fail(&e));
            }
        }
    }
    let progress =
        Progress::new((todo.len() + resumed) as u64, "runs", args.json).with_message("sweep");
    progress.set(resumed as u64);
    let started = now();
    let rows = Mutex::new(done);
    let result = sweep.run_all(
        threads,
        &todo,
        (args.keep_ledgers || best_ledgers.is_some()).then_some(ledgers.as_path()),
        &|r| {
            let cells = row(&keys, r);
            journal.append(&cells)?;
            if let Some(best) = &best_ledgers {
                best.offer(&cells)?;
            }
            if let Ok(mut rows) = rows.lock() {
                rows.insert(r.run.id, cells);
                progress.set(rows.len() as u64);
            }
            Ok(())
        },
    );
    progress.finish();
    if let Err(e) = result {
        eprintln!("tape: {e} (completed runs are kept: rerun with --resume to continue)");
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let rows: Vec<Vec<String>> = rows
        .into_inner()
        .unwrap_or_default()
        .into_values()
        .collect();
    let written = match write_results(&out, &header, &rows, &sweep.digest()) {
        Ok(files) => files,
        Err(e) => return Ok(fail(&e)),
    };
    if let Err(e) = journal.remove() {
        return Ok(fail(&e));
    }
    if let Some(shard) = args.shard {
        let manifest = ShardManifest {
            sweep: sweep.digest(),
            shard: shard.index,
            of: shard.count,
            runs: runs.len(),
            walk_forward: sweep.spec.walk_forward.clone(),
        };
        if let Err(e) = sweep_shard::write_manifest(&out, &manifest) {
            return Ok(fail(&e));
        }
    }
    // A shard holds some runs only: its study is written by the merge.
    let wf = sweep
        .spec
        .walk_forward
        .as_ref()
        .filter(|_| args.shard.is_none());
    let study = match write_study(&out, wf, &header, &rows) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&e)),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let best = best_by_sharpe(&header, &rows);
    let ran = todo.len();
    let per_s = if elapsed > 0.0 {
        ran as f64 / elapsed
    } else {
        0.0
    };
    if args.json {
        let v = serde_json::json!({
            "spec": spec.display().to_string(),
            "runs": rows.len(),
            "ran": ran,
            "resumed": resumed,
            "threads": threads,
            "shard": args.shard.map(|s| s.to_string()),
            "kept_ledgers": best_ledgers.as_ref().map(BestLedgers::kept),
            "table": table.display().to_string(),
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "best_by_sharpe": best.as_ref().map(Best::json),
            "elapsed_s": elapsed,
            "runs_per_s": per_s,
            "walk_forward": study.as_ref().map(StudyOutcome::json),
        });
        say!("{v}");
    } else {
        say!(
            "sweep         {} runs on {threads} threads in {elapsed:.2} s ({per_s:.1} runs/s){}",
            human_count(ran as u64),
            if resumed > 0 {
                format!(", {resumed} resumed from the journal")
            } else {
                String::new()
            }
        );
        say!("table         {}", shown(&written));
        if let Some(kept) = &best_ledgers {
            let ids: Vec<String> = kept.kept().iter().map(usize::to_string).collect();
            say!(
                "ledgers       the best {} by {} in {}: runs {}",
                ids.len(),
                args.by,
                ledgers.display(),
                ids.join(", ")
            );
        }
        match &study {
            Some(study) => study.say(rows.len()),
            None => match args.shard {
                Some(shard) => say!(
                    "shard         {shard}: {} of the sweep's {} runs; join the shards with `tape sweep merge DIR...`",
                    rows.len(),
                    runs.len()
                ),
                None => {
                    if let Some(best) = &best {
                        say!("{}", best.line(rows.len()));
                    }
                }
            },
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// `tape sweep merge`: the shards' rows into one table, byte-identical to a local sweep's.
fn run_merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let table = args.out.join("results.csv");
    if table.exists() && !args.force {
        eprintln!(
            "tape: {} exists: pass --force to replace it, or choose another --out",
            table.display()
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let merged = match sweep_shard::merge(&args.dirs) {
        Ok(m) => m,
        Err(e) => return Ok(fail(&e)),
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("tape: cannot make {}: {e}", args.out.display());
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let written = match write_results(&args.out, &merged.header, &merged.rows, &merged.sweep) {
        Ok(files) => files,
        Err(e) => return Ok(fail(&e)),
    };
    let study = match write_study(
        &args.out,
        merged.walk_forward.as_ref(),
        &merged.header,
        &merged.rows,
    ) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&e)),
    };
    let best = best_by_sharpe(&merged.header, &merged.rows);
    if args.json {
        let v = serde_json::json!({
            "shards": merged.shards,
            "runs": merged.rows.len(),
            "sweep": merged.sweep,
            "table": table.display().to_string(),
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "best_by_sharpe": best.as_ref().map(Best::json),
            "walk_forward": study.as_ref().map(StudyOutcome::json),
        });
        say!("{v}");
    } else {
        say!(
            "merged        {} shards, {} runs",
            merged.shards,
            human_count(merged.rows.len() as u64)
        );
        say_tables(&written, study.as_ref(), best.as_ref(), merged.rows.len());
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// `tape sweep --ray`: the shards as jobs on a Ray cluster, then merged.
fn run_on_ray(
    args: &Args,
    spec: &std::path::Path,
    sweep: &Sweep,
    out: &std::path::Path,
    address: &str,
) -> anyhow::Result<ExitCode> {
    if args.shards == 0 {
        eprintln!("tape: --shards must be at least 1");
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let absolute = |p: &std::path::Path, what: &str| {
        std::path::absolute(p).map_err(|e| {
            eprintln!("tape: cannot make {what} {} absolute: {e}", p.display());
            ExitCode::from(EXIT_INPUT)
        })
    };
    let tape = match &args.ray_tape {
        Some(p) => p.clone(),
        None => match std::env::current_exe() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tape: cannot find this binary's path ({e}): give --ray-tape");
                return Ok(ExitCode::from(EXIT_INPUT));
            }
        },
    };
    let (spec_abs, out_abs) = match (absolute(spec, "the spec"), absolute(out, "--out")) {
        (Ok(s), Ok(o)) => (s, o),
        (Err(code), _) | (_, Err(code)) => return Ok(code),
    };
    let table = out_abs.join("results.csv");
    if table.exists() && !args.force {
        eprintln!(
            "tape: {} exists (a results table): pass --force to replace it, or choose another --out",
            table.display()
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let runs = sweep.runs();
    let digest = sweep.digest();
    let plan = crate::ray::RayPlan {
        address,
        spec: &spec_abs,
        out: &out_abs,
        tape: &tape,
        shards: args.shards,
        threads: args.threads.unwrap_or(1).max(1),
        retries: args.retries,
        sweep: &digest,
    };
    let progress = Progress::new(runs.len() as u64, "runs", args.json).with_message("ray");
    let started = now();
    let outcome = crate::ray::run_shards(&plan, &progress);
    progress.finish();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tape: {e}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    };
    let merged = match sweep_shard::merge(&outcome.dirs) {
        Ok(m) => m,
        Err(e) => return Ok(fail(&e)),
    };
    let written = match write_results(&out_abs, &merged.header, &merged.rows, &merged.sweep) {
        Ok(files) => files,
        Err(e) => return Ok(fail(&e)),
    };
    let study = match write_study(
        &out_abs,
        merged.walk_forward.as_ref(),
        &merged.header,
        &merged.rows,
    ) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&e)),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let per_s = if elapsed > 0.0 {
        merged.rows.len() as f64 / elapsed
    } else {
        0.0
    };
    let best = best_by_sharpe(&merged.header, &merged.rows);
    if args.json {
        let v = serde_json::json!({
            "spec": spec.display().to_string(),
            "runs": merged.rows.len(),
            "ray": address,
            "ray_version": outcome.ray_version,
            "shards": args.shards,
            "retries": outcome.retries,
            "reused_shards": outcome.reused,
            "adopted_jobs": outcome.adopted,
            "table": table.display().to_string(),
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "best_by_sharpe": best.as_ref().map(Best::json),
            "walk_forward": study.as_ref().map(StudyOutcome::json),
            "elapsed_s": elapsed,
            "runs_per_s": per_s,
        });
        say!("{v}");
    } else {
        say!(
            "ray           {} runs in {} shards on {address} (Ray {}) in {elapsed:.2} s ({per_s:.1} runs/s); {} resubmitted, {} reused, {} followed from an earlier run",
            human_count(merged.rows.len() as u64),
            args.shards,
            outcome.ray_version,
            outcome.retries,
            outcome.reused,
            outcome.adopted
        );
        say_tables(&written, study.as_ref(), best.as_ref(), merged.rows.len());
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// A merged sweep's last summary lines: the files, then the study or else the best run.
fn say_tables(
    written: &[PathBuf],
    study: Option<&StudyOutcome>,
    best: Option<&Best>,
    trials: usize,
) {
    say!("table         {}", shown(written));
    match (study, best) {
        (Some(study), _) => study.say(trials),
        (None, Some(best)) => say!("{}", best.line(trials)),
        (None, None) => {}
    }
}

/// The written files, for the summary line.
fn shown(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run with the highest Sharpe ratio in a results table.
struct Best {
    sharpe: f64,
    run: usize,
    params: String,
}

impl Best {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "run": self.run, "params": self.params, "sharpe": self.sharpe })
    }

    /// The summary line, with the number of trials beside it.
    fn line(&self, trials: usize) -> String {
        format!(
            "best Sharpe   {:.3}, run {} ({}) — the best of {trials} trials: expect less out of sample",
            self.sharpe, self.run, self.params
        )
    }
}

/// The best row by Sharpe (the first of equals), described from the table's own cells.
fn best_by_sharpe(header: &[String], rows: &[Vec<String>]) -> Option<Best> {
    let sharpe_at = header.iter().position(|c| c == "sharpe")?;
    let mut best: Option<(f64, &Vec<String>)> = None;
    for r in rows {
        let Some(s) = r.get(sharpe_at).and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        if best.is_none_or(|(b, _)| s > b) {
            best = Some((s, r));
        }
    }
    let (sharpe, r) = best?;
    Some(Best {
        sharpe,
        run: r.first().and_then(|v| v.parse().ok()).unwrap_or(0),
        params: describe_row(header, r),
    })
}

/// A walk-forward study as written: one line per window, out of sample only.
struct StudyOutcome {
    objective: String,
    lines: Vec<String>,
    compounded: f64,
    path: PathBuf,
}

impl StudyOutcome {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "objective": self.objective,
            "windows": self.lines,
            "out_of_sample_return": self.compounded,
            "table": self.path.display().to_string(),
        })
    }

    /// The summary: out-of-sample figures only, and the number of runs tried per window.
    fn say(&self, trials: usize) {
        say!(
            "walk-forward  {} windows, parameters chosen by {} on each train window; out of sample only:",
            self.lines.len(),
            self.objective
        );
        for w in &self.lines {
            say!("  {w}");
        }
        say!(
            "out of sample {:.2} % compounded over the test windows ({trials} runs tried per window)",
            self.compounded * 100.0
        );
        say!("study         {}", self.path.display());
    }
}

/// Writes `DIR/walk_forward.csv` from the results table when the sweep is a study: the same
/// for a sweep run in one go, resumed, or merged from shards.
fn write_study(
    out: &std::path::Path,
    wf: Option<&WalkForwardSpec>,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<Option<StudyOutcome>, SweepError> {
    let Some(wf) = wf else {
        return Ok(None);
    };
    let params = param_columns(header);
    let describe = |row: &[String]| describe_row(header, row);
    let study = walk_forward::study(wf, header, rows, &params, &describe).map_err(|message| {
        SweepError::Spec {
            origin: "[walk_forward]".into(),
            message,
        }
    })?;
    let path = out.join("walk_forward.csv");
    write_csv(&path, &study.header, &study.rows)?;
    Ok(Some(StudyOutcome {
        objective: wf.objective.clone(),
        lines: study.lines,
        compounded: study.compounded,
        path,
    }))
}
