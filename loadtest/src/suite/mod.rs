//! The suite: for each backend and scenario, a fresh deployment of the server, one run with `--ceiling`, the
//! deployment stopped and cleaned; then the run's charts drawn and the tables of `BENCHMARKS.md` rewritten.
//! Fails when any run lost deliveries or saw a bad signature.
//!
//! Layout: `server` (starting and stopping deployments), `benchmarks` (the Markdown section), `charts` (the SVG
//! pictures).

mod benchmarks;
mod charts;
pub mod server;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::ValueEnum as _;

use crate::cli::{Backend, ChartsArgs, RunArgs, ScenarioName, SuiteArgs, Workload};
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
                            "{what}: lost {}, bad signatures {}, unstamped {}, order violations {}",
                            report.lost,
                            report.bad_signatures,
                            report.unstamped,
                            report.fifo.as_ref().map_or(0, |f| f.order_violations)
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
    publish(&args, &meta, &rows)?;
    if !failures.is_empty() {
        bail!("{} run(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

/// The run's charts (with `--charts` or `--write`), then its section of the Markdown file (with `--write`).
fn publish(args: &SuiteArgs, meta: &Meta, rows: &[Row]) -> anyhow::Result<()> {
    let mut section = benchmarks::section(meta, rows);
    if let Some(dir) = charts_dir(args) {
        let drawn = charts::draw(rows)?;
        charts::write(&dir, &drawn)?;
        eprintln!("== {} chart(s) in {}", drawn.len(), dir.display());
        if let Some(markdown) = &args.write {
            section += &pictures(markdown, &dir, &drawn);
        }
    }
    if let Some(path) = &args.write {
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, benchmarks::rewrite(&doc, &section))?;
    }
    Ok(())
}

/// The charts of an earlier run, from the reports its `--json-dir` kept, in the suite's order.
pub fn redraw(args: &ChartsArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(&args.json_dir)? {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let backend = Backend::value_variants()
            .iter()
            .find(|b| name.starts_with(&format!("{}-", b.label())))
            .with_context(|| format!("{} is not named <backend>-<scenario>.json", path.display()))?;
        let report = serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| format!("reading the report {}", path.display()))?;
        rows.push(Row {
            backend: backend.label(),
            report,
        });
    }
    rows.sort_by_key(|row| (backend_rank(row.backend), scenario_rank(&row.report.scenario)));
    let drawn = charts::draw(&rows)?;
    charts::write(&args.out, &drawn)?;
    eprintln!("== {} chart(s) in {}", drawn.len(), args.out.display());
    Ok(())
}

fn backend_rank(label: &str) -> Option<usize> {
    Backend::value_variants().iter().position(|b| b.label() == label)
}

/// A scenario's place in the suite's order; a latency run's label carries its rate (`latency@1000`).
fn scenario_rank(label: &str) -> Option<usize> {
    let name = label.split('@').next().unwrap_or(label);
    ScenarioName::value_variants()
        .iter()
        .position(|s| s.label() == name)
}

/// `--charts`, or with `--write` alone `docs/bench/` beside the Markdown file.
fn charts_dir(args: &SuiteArgs) -> Option<PathBuf> {
    args.charts.clone().or_else(|| {
        let markdown = args.write.as_ref()?;
        Some(markdown.parent().unwrap_or(Path::new("")).join("docs/bench"))
    })
}

/// Markdown images of the charts, linked relative to the Markdown file; none when the charts are elsewhere.
fn pictures(markdown: &Path, dir: &Path, drawn: &[charts::Chart]) -> String {
    let Ok(relative) = dir.strip_prefix(markdown.parent().unwrap_or(Path::new(""))) else {
        return String::new();
    };
    drawn
        .iter()
        .map(|chart| {
            let link = relative.join(chart.file_name);
            format!("\n![{}]({})\n", chart.title, link.display())
        })
        .collect()
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
        ScenarioName::Fifo => 200,
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
        apps: 10,
        batch_size: 100,
        max_wait_secs: 0,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(file_name: &'static str) -> charts::Chart {
        charts::Chart {
            file_name,
            title: "A chart",
            svg: String::new(),
        }
    }

    #[test]
    fn pictures_link_the_charts_relative_to_the_markdown_file() {
        let drawn = [chart("a.svg"), chart("b.svg")];
        assert_eq!(
            pictures(Path::new("BENCHMARKS.md"), Path::new("docs/bench"), &drawn),
            "\n![A chart](docs/bench/a.svg)\n\n![A chart](docs/bench/b.svg)\n"
        );
        assert_eq!(
            pictures(
                Path::new("/repo/BENCHMARKS.md"),
                Path::new("/repo/docs/bench"),
                &drawn[..1]
            ),
            "\n![A chart](docs/bench/a.svg)\n"
        );
        assert_eq!(
            pictures(Path::new("/repo/BENCHMARKS.md"), Path::new("/elsewhere"), &drawn),
            ""
        );
    }
}
