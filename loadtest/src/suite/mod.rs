//! The suite: for each backend and scenario, a fresh deployment of the server, one run with `--ceiling`, the
//! deployment stopped and cleaned; then the tables of `BENCHMARKS.md` rewritten. Fails when any run lost
//! deliveries or saw a bad signature.
//!
//! Layout: `server` (starting and stopping deployments), `benchmarks` (the Markdown section).

mod benchmarks;
pub mod server;

use anyhow::bail;

use crate::cli::{Backend, RunArgs, ScenarioName, SuiteArgs, Workload};
use crate::scenario;
use benchmarks::{Meta, Row};
use server::{Deployment, Options};

/// Retries every second, ten times: retry-storm measures the recovery, not the default back-off's first wait.
const FAST_RETRIES: &[(&str, &str)] = &[("XWEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1,1,1,1,1,1")];

/// One scenario run of the suite.
struct Job {
    scenario: ScenarioName,
    workload: Workload,
}

pub async fn run(args: SuiteArgs) -> anyhow::Result<()> {
    let meta = meta(args.smoke).await;
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for &backend in &args.backends {
        for job in jobs(&args) {
            let what = format!("{} on {}", job.scenario.label(), backend.label());
            eprintln!("== {what}");
            match run_one(&args, backend, &job).await {
                Ok(report) => {
                    println!("{what}\n{}", report.human());
                    if !report.is_correct() {
                        failures.push(format!(
                            "{what}: lost {}, bad signatures {}",
                            report.lost, report.bad_signatures
                        ));
                    }
                    if let Some(dir) = &args.json_dir {
                        std::fs::create_dir_all(dir)?;
                        let file = dir.join(format!("{}-{}.json", backend.label(), report.scenario));
                        std::fs::write(file, serde_json::to_vec_pretty(&report)?)?;
                    }
                    rows.push(Row {
                        backend: backend.label(),
                        report,
                    });
                }
                Err(e) => failures.push(format!("{what}: {e:#}")),
            }
        }
    }
    if let Some(path) = &args.write {
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(
            path,
            benchmarks::rewrite(&doc, &benchmarks::section(&meta, &rows)),
        )?;
    }
    if !failures.is_empty() {
        bail!("{} run(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

async fn run_one(args: &SuiteArgs, backend: Backend, job: &Job) -> anyhow::Result<crate::report::Report> {
    let options = Options {
        backend,
        // Two processes share the rate limit only where they share storage.
        processes: match (job.scenario, backend) {
            (ScenarioName::Ratelimit, Backend::Redis | Backend::Postgres) => 2,
            _ => 1,
        },
        env: match job.scenario {
            ScenarioName::RetryStorm => FAST_RETRIES,
            _ => &[],
        },
    };
    let mut deployment = Deployment::start(args, &options).await?;
    let run_args = RunArgs {
        url: deployment.url.clone(),
        token: deployment.token.clone(),
        scenario: job.scenario,
        workload: job.workload.clone(),
        drain_seconds: 60,
        ceiling: true,
        ceiling_seconds: if args.smoke { 1 } else { 3 },
        server_pids: deployment.pids(),
        no_verify: false,
        json: None,
        quiet: args.quiet,
    };
    let result = scenario::run(&run_args).await;
    let alive = deployment.check_alive();
    deployment.stop().await;
    alive?;
    result
}

fn jobs(args: &SuiteArgs) -> Vec<Job> {
    let mut jobs = Vec::new();
    for &scenario in &args.scenarios {
        let job = |scenario, rate| Job {
            scenario,
            workload: workload(scenario, args.smoke, rate),
        };
        match scenario {
            ScenarioName::Latency => jobs.extend(args.rates.iter().map(|&rate| job(scenario, rate))),
            ScenarioName::Isolation => {
                jobs.push(job(ScenarioName::IsolationBaseline, 0));
                jobs.push(job(scenario, 0));
            }
            _ => jobs.push(job(scenario, 0)),
        }
    }
    jobs
}

/// The suite's sizes: the scenarios' defaults, or tiny ones for the smoke.
fn workload(scenario: ScenarioName, smoke: bool, rate: u64) -> Workload {
    let smoke_messages = match scenario {
        ScenarioName::Throughput => 200,
        ScenarioName::Fanout => 5,
        ScenarioName::Latency => rate,
        ScenarioName::Ratelimit => 300,
        _ => 100,
    };
    Workload {
        messages: smoke.then_some(smoke_messages),
        concurrency: 32,
        rate: rate.max(1),
        seconds: if smoke { 1 } else { 5 },
        payload_bytes: 1024,
        fail_seconds: if smoke { 2 } else { 5 },
        rate_limit: 100,
        endpoints: "ok".into(),
    }
}

async fn meta(smoke: bool) -> Meta {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown memory".into());
    let commit = tokio::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .await
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        });
    Meta {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: format!("{cores} cores, {memory}"),
        commit,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        smoke,
    }
}
