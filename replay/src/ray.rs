//! `tape sweep --ray URL`: a sweep's shards as jobs on a Ray cluster, through the Ray Jobs
//! REST API of its head node (the dashboard port, 8265 by default), then merged.
//!
//! Each shard is one job whose entrypoint is `tape sweep SPEC --shard I/N --out DIR`, run by
//! the `tape` binary at the path the nodes see (`--ray-tape`), reserving `--threads` CPUs
//! (`entrypoint_num_cpus`) so Ray spreads shards over nodes. Every path handed to a job is
//! absolute and must name the same file on every node (shared storage).
//!
//! Invariants:
//! - A shard's outcome is its directory, never the job's status alone: a shard counts as done
//!   when its `shard.json` names this sweep and its table is complete (no journal left).
//! - A failed or stopped job is submitted again, up to `--retries` times, with `--resume`
//!   when its journal exists, so runs it completed are not run again.
//! - One job per shard at a time: a job of an interrupted earlier `tape sweep --ray` of the
//!   same sweep that is still pending or running is followed instead of submitting another
//!   (and the shard's journal lock refuses a second writer anyway).
//! - The merged table comes from [`crate::sweep_shard::merge`], so it is the local table's
//!   bytes whatever ran where.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::progress::Progress;
use crate::sweep_shard::{ShardManifest, MANIFEST};

/// Why the cluster could not run the sweep.
#[derive(Debug, thiserror::Error)]
pub enum RayError {
    /// No answer from the job server.
    #[error("cannot reach the Ray job server at {address} ({detail}): give the head node's dashboard address (port 8265 by default) and check the cluster is up")]
    Unreachable {
        /// The address tried.
        address: String,
        /// What failed.
        detail: String,
    },
    /// The job server answered with an error.
    #[error("the Ray job server at {address} answered {status} to {what}: {body}")]
    Refused {
        /// The address.
        address: String,
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// What it said.
        body: String,
    },
    /// A shard failed on every attempt.
    #[error("shard {shard} failed {attempts} times on the Ray cluster at {address} ({message}); its log ends: {log_tail} (runs it completed are kept in {dir}: run the same command again to resume)")]
    ShardFailed {
        /// `I/N`.
        shard: String,
        /// Attempts made.
        attempts: u32,
        /// The cluster.
        address: String,
        /// Ray's last message about it.
        message: String,
        /// The last lines of its log.
        log_tail: String,
        /// Its output directory.
        dir: String,
    },
}

/// A job's state, as the job server reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for resources.
    Pending,
    /// Running.
    Running,
    /// Exited 0.
    Succeeded,
    /// Exited non-zero, or could not start.
    Failed,
    /// Stopped by someone.
    Stopped,
}

impl JobStatus {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "STOPPED" => Self::Stopped,
            _ => return None,
        })
    }
}

/// A client of one cluster's job server.
pub struct RayClient {
    address: String,
    agent: ureq::Agent,
}

impl RayClient {
    /// A client of the job server at `address` (`http://host:port`).
    pub fn new(address: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            address: address.trim_end_matches('/').to_string(),
            agent,
        }
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> RayError {
        RayError::Unreachable {
            address: self.address.clone(),
            detail: e.to_string(),
        }
    }

    /// Reads a response: its JSON body when the status is 2xx, else [`RayError::Refused`].
    fn answer(
        &self,
        what: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<serde_json::Value, RayError> {
        let mut response = response.map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.unreachable(e))?;
        if !(200..300).contains(&status) {
            return Err(RayError::Refused {
                address: self.address.clone(),
                what: what.to_string(),
                status,
                body: body.trim().chars().take(300).collect(),
            });
        }
        serde_json::from_str(&body).map_err(|e| RayError::Refused {
            address: self.address.clone(),
            what: what.to_string(),
            status,
            body: format!("not JSON ({e})"),
        })
    }

    /// The cluster's Ray version (`GET /api/version`): a cheap check that it answers.
    pub fn version(&self) -> Result<String, RayError> {
        let url = format!("{}/api/version", self.address);
        let v = self.answer("GET /api/version", self.agent.get(&url).call())?;
        Ok(v["ray_version"].as_str().unwrap_or("unknown").to_string())
    }

    /// Submits `entrypoint` as job `id`, reserving `cpus` CPUs for it.
    pub fn submit(&self, id: &str, entrypoint: &str, cpus: usize) -> Result<(), RayError> {
        let url = format!("{}/api/jobs/", self.address);
        let body = serde_json::json!({
            "entrypoint": entrypoint,
            "submission_id": id,
            "entrypoint_num_cpus": cpus,
        })
        .to_string();
        let sent = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.as_str());
        self.answer("POST /api/jobs/", sent).map(|_| ())
    }

    /// Job `id`'s status and Ray's message about it.
    pub fn status(&self, id: &str) -> Result<(JobStatus, String), RayError> {
        let url = format!("{}/api/jobs/{id}", self.address);
        let what = format!("GET /api/jobs/{id}");
        let v = self.answer(&what, self.agent.get(&url).call())?;
        let text = v["status"].as_str().unwrap_or_default();
        let status = JobStatus::parse(text).ok_or_else(|| RayError::Refused {
            address: self.address.clone(),
            what,
            status: 200,
            body: format!("an unknown job status \"{text}\""),
        })?;
        let message = v["message"].as_str().unwrap_or_default();
        Ok((
            status,
            message.lines().next().unwrap_or_default().to_string(),
        ))
    }

    /// The submission ids of the jobs still pending or running (`GET /api/jobs/`).
    pub fn active_jobs(&self) -> Result<Vec<String>, RayError> {
        let url = format!("{}/api/jobs/", self.address);
        let v = self.answer("GET /api/jobs/", self.agent.get(&url).call())?;
        // A list of job details; older servers answered an object keyed by job id.
        let jobs: Vec<serde_json::Value> = match v {
            serde_json::Value::Array(list) => list,
            serde_json::Value::Object(map) => map.into_iter().map(|(_, j)| j).collect(),
            _ => Vec::new(),
        };
        Ok(jobs
            .iter()
            .filter(|j| matches!(j["status"].as_str(), Some("PENDING" | "RUNNING")))
            .filter_map(|j| j["submission_id"].as_str().map(str::to_string))
            .collect())
    }

    /// Job `id`'s log (`GET /api/jobs/{id}/logs`).
    pub fn logs(&self, id: &str) -> Result<String, RayError> {
        let url = format!("{}/api/jobs/{id}/logs", self.address);
        let v = self.answer(
            &format!("GET /api/jobs/{id}/logs"),
            self.agent.get(&url).call(),
        )?;
        Ok(v["logs"].as_str().unwrap_or_default().to_string())
    }
}

/// What to run on the cluster.
pub struct RayPlan<'a> {
    /// The job server, `http://host:port`.
    pub address: &'a str,
    /// The spec, as the nodes see it (absolute).
    pub spec: &'a Path,
    /// The shared output directory (absolute); shards go to `out/shards/shard-I-of-N`.
    pub out: &'a Path,
    /// The `tape` binary, as the nodes see it.
    pub tape: &'a Path,
    /// Shards to cut the sweep into.
    pub shards: usize,
    /// Threads (and CPUs reserved) per shard.
    pub threads: usize,
    /// Resubmissions allowed per shard.
    pub retries: u32,
    /// The sweep's digest (names its jobs and checks finished shards).
    pub sweep: &'a str,
}

/// How the cluster run went.
pub struct RayOutcome {
    /// Every shard's directory, in shard order.
    pub dirs: Vec<PathBuf>,
    /// The cluster's Ray version.
    pub ray_version: String,
    /// Resubmissions made.
    pub retries: u32,
    /// Shards found complete from an earlier run and not submitted.
    pub reused: usize,
    /// Shards whose job, left running by an interrupted earlier run, was followed.
    pub adopted: usize,
}

/// One shard's progress through the cluster.
struct ShardJob {
    index: usize,
    dir: PathBuf,
    attempts: u32,
    id: Option<String>,
    done: bool,
}

/// Quotes `s` for a POSIX shell: the job server runs entrypoints through one.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether `dir` holds this sweep's finished shard: its manifest, its table, no journal.
fn finished(dir: &Path, sweep: &str) -> bool {
    let manifest = std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str::<ShardManifest>(&t).ok());
    manifest.is_some_and(|m| m.sweep == sweep)
        && dir.join("results.csv").exists()
        && !dir.join("journal.csv").exists()
}

/// Runs recorded so far in a shard's directory (its journal while it runs, its table after).
fn runs_recorded(dir: &Path) -> usize {
    for name in ["journal.csv", "results.csv"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
            return text.lines().count().saturating_sub(1);
        }
    }
    0
}

/// Submits every unfinished shard, follows the jobs until each succeeds (resubmitting a
/// failed one with `--resume`), and returns the shards' directories for the merge.
pub fn run_shards(plan: &RayPlan, progress: &Progress) -> Result<RayOutcome, RayError> {
    let client = RayClient::new(plan.address);
    let ray_version = client.version()?;
    let mut jobs: Vec<ShardJob> = (1..=plan.shards)
        .map(|index| ShardJob {
            index,
            dir: plan
                .out
                .join("shards")
                .join(format!("shard-{index}-of-{}", plan.shards)),
            attempts: 0,
            id: None,
            done: false,
        })
        .collect();
    let tag = &plan.sweep[..12.min(plan.sweep.len())];
    let prefix = |index: usize| format!("tape-sweep-{tag}-{index}of{}-", plan.shards);
    // A job of an earlier, interrupted `tape sweep --ray` that is still going is followed,
    // not doubled: two jobs would write one shard directory.
    let active = client.active_jobs()?;
    let mut reused = 0;
    let mut adopted = 0;
    for job in &mut jobs {
        if finished(&job.dir, plan.sweep) {
            job.done = true;
            reused += 1;
        } else if let Some(id) = active.iter().find(|id| id.starts_with(&prefix(job.index))) {
            job.id = Some(id.clone());
            job.attempts = 1;
            adopted += 1;
        }
    }
    let submit = |job: &mut ShardJob| -> Result<(), RayError> {
        job.attempts += 1;
        let resume = job.dir.join("journal.csv").exists();
        let entrypoint = format!(
            "{} sweep {} --shard {}/{} --out {} --threads {} {} --json",
            shell_quote(&plan.tape.display().to_string()),
            shell_quote(&plan.spec.display().to_string()),
            job.index,
            plan.shards,
            shell_quote(&job.dir.display().to_string()),
            plan.threads,
            if resume { "--resume" } else { "--force" },
        );
        let id = format!(
            "{}{}-{}",
            prefix(job.index),
            std::process::id(),
            job.attempts
        );
        client.submit(&id, &entrypoint, plan.threads)?;
        job.id = Some(id);
        Ok(())
    };
    for job in jobs.iter_mut().filter(|j| !j.done && j.id.is_none()) {
        submit(job)?;
    }
    let mut retries = 0;
    while jobs.iter().any(|j| !j.done) {
        std::thread::sleep(Duration::from_millis(500));
        for job in jobs.iter_mut().filter(|j| !j.done) {
            let Some(id) = job.id.clone() else { continue };
            let (status, message) = client.status(&id)?;
            match status {
                JobStatus::Pending | JobStatus::Running => {}
                JobStatus::Succeeded if finished(&job.dir, plan.sweep) => job.done = true,
                JobStatus::Succeeded | JobStatus::Failed | JobStatus::Stopped => {
                    if job.attempts > plan.retries {
                        let log = client.logs(&id).unwrap_or_default();
                        let tail: Vec<&str> = log.lines().rev().take(3).collect();
                        let tail: Vec<&str> = tail.into_iter().rev().collect();
                        return Err(RayError::ShardFailed {
                            shard: format!("{}/{}", job.index, plan.shards),
                            attempts: job.attempts,
                            address: plan.address.to_string(),
                            message: if message.is_empty() {
                                format!("{status:?}")
                            } else {
                                message
                            },
                            log_tail: tail.join(" | "),
                            dir: job.dir.display().to_string(),
                        });
                    }
                    retries += 1;
                    submit(job)?;
                }
            }
        }
        progress.set(jobs.iter().map(|j| runs_recorded(&j.dir)).sum::<usize>() as u64);
    }
    Ok(RayOutcome {
        dirs: jobs.into_iter().map(|j| j.dir).collect(),
        ray_version,
        retries,
        reused,
        adopted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn every_job_status_the_server_sends_is_known() {
        for (text, status) in [
            ("PENDING", JobStatus::Pending),
            ("RUNNING", JobStatus::Running),
            ("SUCCEEDED", JobStatus::Succeeded),
            ("FAILED", JobStatus::Failed),
            ("STOPPED", JobStatus::Stopped),
        ] {
            assert_eq!(JobStatus::parse(text), Some(status));
        }
        assert_eq!(JobStatus::parse("succeeded"), None);
    }
}
