//! `xwebhook`: a Svix-compatible webhook sending service.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use xwebhook::config::{Config, Overrides};
use xwebhook::{contract, limits, logging, operator, run, secret_file, traces};
use xwebhook_api::JwtAuth;
use xwebhook_engine::id::OrgId;
use xwebhook_engine::store::DeliveryQueue;

/// jemalloc rather than the system's malloc: a message's many short-lived allocations cost ~20 % less server
/// CPU with it (BENCHMARKS.md, "Issue 13: allocation and copies"). Only the binary chooses an allocator; the
/// library crates never do.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "xwebhook",
    version,
    about = "A Svix-compatible webhook sending service"
)]
struct Cli {
    /// A TOML configuration file (its values are overridden by XWEBHOOK_* variables and flags).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Where the embedded store keeps its data (XWEBHOOK_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// The commands. `openapi` is apart because it depends on no configuration: a broken one must not stop the
/// contract check, and every other command runs with the configuration loaded.
#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Configured(Configured),
    /// Print our OpenAPI document, or check it against a reference contract.
    Openapi {
        /// Compare with this OpenAPI document (Svix's): list what ours lacks and exit 1, or exit 0.
        #[arg(long, value_name = "FILE")]
        check_against: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Configured {
    /// Run the API and the delivery worker.
    Serve {
        /// Address to listen on (XWEBHOOK_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Which parts to run: api, worker or all (XWEBHOOK_ROLE).
        #[arg(long)]
        role: Option<String>,
        /// Redis for records, queue and cache instead of the embedded store (XWEBHOOK_REDIS_URL).
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// Apply pending Postgres migrations (XWEBHOOK_DATABASE_URL), then exit.
    Migrate,
    /// Delete messages created before a time, with their attempts and destinations, then exit.
    Prune {
        /// An RFC 3339 time (2026-01-31T00:00:00Z) or an age such as 30d, 12h, 1d12h (units s, m, h, d, w).
        #[arg(long, value_name = "TIME")]
        older_than: String,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Inspect the delivery queue.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// List or redrive dead-lettered delivery tasks (tasks leased too often without finishing).
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Manage API tokens.
    Jwt {
        #[command(subcommand)]
        command: JwtCommand,
    },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// Print how many tasks are ready, in flight, scheduled for a retry and dead-lettered.
    Stats {
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Print dead-lettered tasks without moving them.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Move dead-lettered tasks back to the ready queue, with a fresh delivery count.
    Redrive {
        /// At most this many (all by default).
        #[arg(long)]
        max: Option<usize>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum JwtCommand {
    /// Print an organization token signed with the deployment's secret.
    Generate {
        /// The organization the token is for.
        #[arg(default_value = OrgId::DEFAULT)]
        org_id: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Openapi { check_against } => return openapi(check_against.as_deref()),
        Command::Configured(command) => command,
    };
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("XWEBHOOK_"))
        .collect();
    let mut flags = Overrides {
        data_dir: cli.data_dir,
        ..Overrides::default()
    };
    if let Configured::Serve {
        listen,
        role,
        redis_url,
    } = &command
    {
        flags.listen = listen.clone();
        flags.role = role.clone();
        flags.redis_url = redis_url.clone();
    }
    let config = Config::load(cli.config.as_deref(), &env, &flags)?;
    match command {
        Configured::Serve { .. } => serve(config),
        Configured::Jwt {
            command: JwtCommand::Generate { org_id },
        } => generate_token(&config, &org_id),
        Configured::Migrate => migrate(config),
        Configured::Prune { older_than, json } => prune(config, &older_than, json),
        Configured::Queue {
            command: QueueCommand::Stats { json },
        } => operate(config, json, |q| async move { operator::stats(&*q).await }),
        Configured::Dlq {
            command: DlqCommand::List { limit, json },
        } => operate(config, json, |q| async move { operator::list(&*q, limit).await }),
        Configured::Dlq {
            command: DlqCommand::Redrive { max, json },
        } => operate(config, json, |q| async move { operator::redrive(&*q, max).await }),
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let spans = match &config.telemetry.otlp_endpoint {
        Some(endpoint) => Some(traces::otlp_provider(endpoint, runtime.handle().clone())?),
        None => None,
    };
    logging::init(&config.telemetry.log, config.telemetry.log_format, spans.as_ref())?;
    limits::raise_open_file_limit();
    let served = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        run::serve(config, shutdown).await
    });
    // Outside the runtime, which still runs the export requests of the last batch.
    if let Some(Err(e)) = spans.map(|provider| provider.shutdown()) {
        tracing::warn!(error = %e, "the last spans could not be exported");
    }
    served
}

/// Runs a one-off command's future on a single-threaded runtime, with logging set up.
fn run_once<T>(config: &Config, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    logging::init(&config.telemetry.log, config.telemetry.log_format, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(work)
}

/// Runs an operator command on the configured queue and prints its result, as text or as one JSON object.
fn operate<R, F, Fut>(config: Config, json: bool, command: F) -> anyhow::Result<()>
where
    R: std::fmt::Display + serde::Serialize,
    F: FnOnce(Arc<dyn DeliveryQueue>) -> Fut,
    Fut: Future<Output = anyhow::Result<R>>,
{
    let result = run_once(&config, async {
        let queue = operator::open_queue(&config).await?;
        command(queue).await
    })?;
    print_result(&result, json)
}

fn print_result(result: &(impl std::fmt::Display + serde::Serialize), json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(result)?);
    } else {
        println!("{result}");
    }
    Ok(())
}

fn migrate(config: Config) -> anyhow::Result<()> {
    let applied = run_once(&config, run::migrate(&config))?;
    if applied.is_empty() {
        println!("the database schema is up to date");
    } else {
        println!("applied migrations: {applied:?}");
    }
    Ok(())
}

/// Prints our document, or the differences from the contract (exit 1 when there are any). Output goes through
/// `writeln!` so that a closed pipe (`| head`) is an error, not a panic.
fn openapi(check_against: Option<&Path>) -> anyhow::Result<()> {
    let ours = serde_json::to_value(xwebhook_api::openapi::document())?;
    let mut out = std::io::stdout().lock();
    let Some(file) = check_against else {
        serde_json::to_writer_pretty(&mut out, &ours)?;
        writeln!(out)?;
        return Ok(());
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the contract {}", file.display()))?;
    let contract: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the contract {} is not JSON", file.display()))?;
    let differences = contract::compare(&contract, &ours);
    for difference in &differences {
        writeln!(out, "{difference}")?;
    }
    if differences.is_empty() {
        writeln!(out, "our OpenAPI document covers the contract {}", file.display())?;
        return Ok(());
    }
    out.flush()?;
    eprintln!(
        "{} difference(s) from the contract {}",
        differences.len(),
        file.display()
    );
    std::process::exit(1)
}

fn prune(config: Config, older_than: &str, json: bool) -> anyhow::Result<()> {
    let cutoff = xwebhook::prune::parse_cutoff(older_than, chrono::Utc::now()).context("--older-than")?;
    let report = run_once(&config, xwebhook::prune::prune(&config, cutoff))?;
    print_result(&report, json)
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight work");
    shutdown.cancel();
}

fn generate_token(config: &Config, org_id: &str) -> anyhow::Result<()> {
    let org = OrgId::parse(org_id).with_context(|| format!("`{org_id}` is not an organization id"))?;
    let secret = match &config.auth.jwt_secret {
        Some(s) => s.clone(),
        // The error names the file and what is wrong with it.
        None => secret_file::read_or_create(&config.storage.data_dir)?.0,
    };
    let token = JwtAuth::new(secret.expose().as_bytes()).issue_org_token(&org, unix_seconds_now())?;
    println!("{token}");
    Ok(())
}

/// Seconds since the Unix epoch: the `iat` of a token.
fn unix_seconds_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
