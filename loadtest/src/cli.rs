//! Command-line arguments: `run` one scenario against a running server, or `suite` to start servers and run
//! every scenario on every backend.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "xwebhook-loadtest",
    about = "Load-test a Svix-compatible webhook server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run one scenario against a running server.
    Run(RunArgs),
    /// Start the server on each backend, run the scenarios with --ceiling, and optionally rewrite BENCHMARKS.md.
    Suite(SuiteArgs),
    /// Draw the suite's charts again from the JSON reports of a run (its --json-dir).
    Charts(ChartsArgs),
    /// Start the server on one backend, send one burst of concurrent messages, and check that every answer
    /// tells the truth: 2xx ⇔ stored, and every refusal carries `Retry-After`.
    Burst(BurstArgs),
    /// Hold many idle or slow-header connections open and probe `GET /api/v1/health/ping` from fresh clients.
    SlowClients(SlowClientsArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Flood {
    /// Connect and send nothing.
    Idle,
    /// Send a request line, then one header line every 5 s, never ending the head.
    SlowHeader,
}

#[derive(Args, Clone, Debug)]
pub struct SlowClientsArgs {
    /// The server's API address.
    #[arg(long, default_value = "127.0.0.1:8071")]
    pub addr: String,
    #[arg(long, value_enum, default_value_t = Flood::Idle)]
    pub flood: Flood,
    /// Connections in the flood (this process needs as many file descriptors).
    #[arg(long, default_value_t = 1100)]
    pub connections: usize,
    /// How long to probe, seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds between probes.
    #[arg(long, default_value_t = 2)]
    pub probe_every: u64,
    /// Seconds a probe may take before it counts as unanswered.
    #[arg(long, default_value_t = 5)]
    pub probe_timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// 100 applications × 1 endpoint, 1 KiB payloads, closed loop.
    Throughput,
    /// Messages to 1 application with 50 endpoints.
    Fanout,
    /// Open loop at --rate messages/s to 10 applications.
    Latency,
    /// 20 % of endpoints answer after 2 s, 20 % answer 500, the rest are healthy.
    Isolation,
    /// The isolation layout with every endpoint healthy: the reference for isolation's ratios.
    IsolationBaseline,
    /// Half the endpoints fail for the first --fail-seconds, then recover.
    RetryStorm,
    /// One endpoint with a rate limit of --rate-limit messages/s, sent to as fast as possible.
    Ratelimit,
    /// Endpoints as given by --endpoints (one application each).
    Custom,
    /// --apps applications × 1 FIFO destination of --batch-size (no endpoints), one sender per application:
    /// ordered, batched delivery.
    Fifo,
}

impl ScenarioName {
    pub fn label(self) -> &'static str {
        match self {
            Self::Throughput => "throughput",
            Self::Fanout => "fanout",
            Self::Latency => "latency",
            Self::Isolation => "isolation",
            Self::IsolationBaseline => "isolation-baseline",
            Self::RetryStorm => "retry-storm",
            Self::Ratelimit => "ratelimit",
            Self::Custom => "custom",
            Self::Fifo => "fifo",
        }
    }
}

/// Sizes and shapes of a scenario; every one has a default that keeps a suite on one backend within minutes.
#[derive(Args, Clone, Debug)]
pub struct Workload {
    /// Messages to send (default per scenario; the latency scenario sends --rate × --seconds).
    #[arg(long)]
    pub messages: Option<u64>,
    /// Concurrent senders in closed loop.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Open-loop arrival rate in messages/s (latency scenario).
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Open-loop duration in seconds (latency scenario).
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Approximate payload size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub payload_bytes: usize,
    /// How long the failing half of retry-storm fails, from the start of sending.
    #[arg(long, default_value_t = 5)]
    pub fail_seconds: u64,
    /// The rate limit of the ratelimit scenario's endpoint, messages/s.
    #[arg(long, default_value_t = 100)]
    pub rate_limit: u16,
    /// Endpoints of the custom scenario, e.g. `ok*8,slow=2000*2,fail,throttle=1,flaky=0.3,fail-until=5`.
    #[arg(long, default_value = "ok")]
    pub endpoints: String,
    /// Applications of the fifo scenario, each with one FIFO destination and one sender.
    #[arg(long, default_value_t = 10)]
    pub apps: usize,
    /// Events per batch of the fifo scenario's destinations at most (the server takes 1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub batch_size: u16,
    /// Seconds a fifo destination's batch may wait to fill (`maxWaitSecs`); 0 sends as soon as an event waits,
    /// more lets batches fill to --batch-size once senders outpace a destination.
    #[arg(long, default_value_t = 0)]
    pub max_wait_secs: u16,
}

#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8071")]
    pub url: String,
    /// An organization token for the server.
    #[arg(long, env = "XWEBHOOK_TOKEN", hide_env_values = true)]
    pub token: String,
    #[arg(long, value_enum, default_value_t = ScenarioName::Throughput)]
    pub scenario: ScenarioName,
    #[command(flatten)]
    pub workload: Workload,
    /// How long to wait for deliveries after the last send, seconds.
    #[arg(long, default_value_t = 60)]
    pub drain_seconds: u64,
    /// First measure what the machine can do at all: plain keep-alive POSTs to the sink.
    #[arg(long)]
    pub ceiling: bool,
    /// How long the ceiling blast lasts, seconds.
    #[arg(long, default_value_t = 3)]
    pub ceiling_seconds: u64,
    /// Sample this server process's memory each second (repeatable).
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// Do not fetch endpoint secrets nor verify signatures.
    #[arg(long)]
    pub no_verify: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    pub fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_seconds)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The embedded store, one process.
    Embedded,
    /// Redis for records, queue and caches.
    Redis,
    /// Postgres for records, Redis for the queue and caches.
    Postgres,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Redis => "redis",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct SuiteArgs {
    /// The server binary to start.
    #[arg(long, default_value = "target/release/xwebhook")]
    pub server_bin: PathBuf,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "embedded,redis,postgres"
    )]
    pub backends: Vec<Backend>,
    /// Scenarios to run (isolation also runs its all-healthy baseline; latency runs each of --rates).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "throughput,fanout,latency,isolation,retry-storm,ratelimit"
    )]
    pub scenarios: Vec<ScenarioName>,
    /// Arrival rates of the latency scenario.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    pub rates: Vec<u64>,
    /// Tiny sizes for a correctness smoke (seconds per scenario).
    #[arg(long)]
    pub smoke: bool,
    /// Redis for the redis and postgres backends.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Postgres for the postgres backend (each run gets a fresh schema, dropped afterwards).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub database_url: String,
    /// Write each run's JSON report into this directory.
    #[arg(long)]
    pub json_dir: Option<PathBuf>,
    /// Rewrite the suite section of this Markdown file (between `<!-- suite:begin -->` and `<!-- suite:end -->`).
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Draw the run's charts (latency–throughput, delivered beside the ceiling) as SVG into this directory;
    /// with --write and without it, they go to `docs/bench/` beside the Markdown file.
    #[arg(long)]
    pub charts: Option<PathBuf>,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Clone, Debug)]
pub struct ChartsArgs {
    /// The reports, named `<backend>-<scenario>.json` as the suite's --json-dir writes them.
    #[arg(long)]
    pub json_dir: PathBuf,
    /// Where the SVG files go.
    #[arg(long, default_value = "docs/bench")]
    pub out: PathBuf,
}

#[derive(Args, Clone, Debug)]
pub struct BurstArgs {
    /// The server binary to start.
    #[arg(long, default_value = "target/release/xwebhook")]
    pub server_bin: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Redis)]
    pub backend: Backend,
    /// Messages sent at once, each by its own sender.
    #[arg(long, default_value_t = 3000)]
    pub senders: usize,
    /// Extra server settings, `KEY=VALUE` (repeatable), e.g. `XWEBHOOK_INTAKE_CONCURRENCY=64`.
    #[arg(long = "server-env", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub database_url: String,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

impl BurstArgs {
    /// The suite's settings for one deployment of this burst's backend.
    pub fn suite_args(&self) -> SuiteArgs {
        SuiteArgs {
            server_bin: self.server_bin.clone(),
            backends: vec![self.backend],
            scenarios: Vec::new(),
            rates: Vec::new(),
            smoke: false,
            redis_url: self.redis_url.clone(),
            database_url: self.database_url.clone(),
            json_dir: None,
            write: None,
            charts: None,
            quiet: true,
        }
    }
}
