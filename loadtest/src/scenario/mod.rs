//! Named scenarios and the one runner they share: a scenario is only a plan (which applications and endpoints,
//! how each endpoint answers, how messages are sent); `run` sets it up through the API, optionally measures the
//! ceiling, sends, waits for the deliveries owed and builds the report.
//!
//! Layout: one file per scenario with its plan (`fifo` also with its destinations' set-up and report);
//! `outcome` turns what was seen into a `Report`.

mod fanout;
pub mod fifo;
mod isolation;
mod latency;
mod outcome;
mod ratelimit;
mod retry_storm;
mod throughput;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;

use crate::api::{Api, EndpointSpec};
use crate::cli::{RunArgs, ScenarioName, Workload};
use crate::load::{self, Driver, Ingest};
use crate::payload::PayloadBuilder;
use crate::report::Report;
use crate::signature::Verifier;
use crate::sink::behaviour::{self, Behaviour};
use crate::sink::{FIFO_GROUP, Sink};
use crate::{ceiling, progress, rss};

/// How messages are sent.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Closed {
        messages: u64,
        concurrency: usize,
    },
    /// Closed loop with one sender per application (see `load::ordered_loop`).
    Ordered {
        messages: u64,
    },
    Open {
        messages: u64,
        rate: u64,
    },
}

/// What a scenario sets up and sends.
pub struct Plan {
    /// Per application, the behaviour of each of its endpoints.
    pub apps: Vec<Vec<Behaviour>>,
    /// The FIFO destination every application gets besides its endpoints, if any.
    pub fifo: Option<fifo::Destination>,
    /// The rate limit every endpoint is created with.
    pub rate_limit: Option<u16>,
    pub mode: Mode,
}

impl Plan {
    fn closed(apps: Vec<Vec<Behaviour>>, w: &Workload, default_messages: u64) -> Self {
        Self {
            apps,
            fifo: None,
            rate_limit: None,
            mode: Mode::Closed {
                messages: w.messages.unwrap_or(default_messages),
                concurrency: w.concurrency,
            },
        }
    }
}

pub fn plan(name: ScenarioName, w: &Workload) -> anyhow::Result<Plan> {
    Ok(match name {
        ScenarioName::Throughput => throughput::plan(w),
        ScenarioName::Fanout => fanout::plan(w),
        ScenarioName::Latency => latency::plan(w),
        ScenarioName::Isolation => isolation::plan(w, false),
        ScenarioName::IsolationBaseline => isolation::plan(w, true),
        ScenarioName::RetryStorm => retry_storm::plan(w),
        ScenarioName::Ratelimit => ratelimit::plan(w),
        ScenarioName::Fifo => fifo::plan(w),
        ScenarioName::Custom => {
            let endpoints = behaviour::parse_list(&w.endpoints).map_err(anyhow::Error::msg)?;
            Plan::closed(endpoints.into_iter().map(|b| vec![b]).collect(), w, 1000)
        }
    })
}

/// Runs the scenario of `args` against the server of `args`.
pub async fn run(args: &RunArgs) -> anyhow::Result<Report> {
    let plan = plan(args.scenario, &args.workload)?;
    let behaviours: Vec<Behaviour> = plan.apps.iter().flatten().copied().collect();
    let destinations = if plan.fifo.is_some() { plan.apps.len() } else { 0 };
    let sink = Sink::start(&behaviours, destinations).await?;
    let api = Api::new(&args.url, &args.token);
    let SetUp { apps, destinations } = set_up(&api, &sink, &plan, !args.no_verify).await?;
    let payload = PayloadBuilder::new(args.workload.payload_bytes);
    let ceiling = if args.ceiling {
        let seconds = Duration::from_secs(args.ceiling_seconds);
        Some(ceiling::measure(&sink, &payload, args.workload.concurrency, seconds).await?)
    } else {
        None
    };
    let driver = Arc::new(Driver::new(api, apps, payload));
    let (peaks, sampler) = rss::spawn(args.server_pids.clone());
    let progress =
        (!args.quiet).then(|| progress::spawn(args.scenario.label().into(), driver.clone(), sink.clone()));
    let started = tokio::time::Instant::now();
    sink.mark_start(started.into_std());
    let ingest = send(&plan, driver.clone()).await;
    let owed = owed(&plan, &driver);
    let sent_by = tokio::time::Instant::now();
    sink.wait_for(owed.values().sum(), sent_by + args.drain()).await;
    sampler.abort();
    if let Some(progress) = progress {
        progress.abort();
    }
    let not_enabled = fifo::not_enabled(&driver.api, &destinations).await;
    let seen = outcome::Seen {
        plan: &plan,
        args,
        ingest,
        owed,
        started: started.into_std(),
        sent_by: sent_by.into_std(),
        ceiling,
        peaks: &peaks,
        not_enabled,
    };
    let report = outcome::report(seen, &sink);
    sink.stop();
    Ok(report)
}

/// What `set_up` created.
struct SetUp {
    apps: Vec<String>,
    /// `(application id, destination id)` of each FIFO destination, in the applications' order.
    destinations: Vec<(String, String)>,
}

/// Creates the applications, endpoints and destinations, and gives the sink their secrets.
async fn set_up(api: &Api, sink: &Sink, plan: &Plan, verify: bool) -> anyhow::Result<SetUp> {
    api.health()
        .await
        .context("the server does not answer its health check")?;
    let mut created = SetUp {
        apps: Vec::with_capacity(plan.apps.len()),
        destinations: Vec::new(),
    };
    let mut index = 0;
    for (a, endpoints) in plan.apps.iter().enumerate() {
        let app_id = api.create_app(&format!("loadtest-{a}")).await?;
        for _ in endpoints {
            let spec = EndpointSpec {
                url: sink.endpoint_url(index),
                rate_limit: plan.rate_limit,
            };
            let endpoint_id = api.create_endpoint(&app_id, &spec).await?;
            if verify {
                let secret = api.endpoint_secret(&app_id, &endpoint_id).await?;
                sink.set_verifier(index, Verifier::from_secret(&secret)?);
            }
            index += 1;
        }
        if let Some(destination) = &plan.fifo {
            let id = destination.create(api, sink, &app_id, a, verify).await?;
            created.destinations.push((app_id.clone(), id));
        }
        created.apps.push(app_id);
    }
    Ok(created)
}

async fn send(plan: &Plan, driver: Arc<Driver>) -> Ingest {
    match plan.mode {
        Mode::Closed {
            messages,
            concurrency,
        } => load::closed_loop(driver, messages, concurrency).await,
        Mode::Ordered { messages } => load::ordered_loop(driver, messages).await,
        Mode::Open { messages, rate } => load::open_loop(driver, messages, rate).await,
    }
}

/// Deliveries owed per endpoint group: each message the API accepted, once per endpoint of its application that
/// must receive everything, and once to its application's FIFO destination.
fn owed(plan: &Plan, driver: &Driver) -> BTreeMap<&'static str, u64> {
    let mut owed = BTreeMap::new();
    for (endpoints, sent) in plan.apps.iter().zip(&driver.sent_per_app) {
        let sent = sent.load(Ordering::Relaxed);
        for behaviour in endpoints.iter().filter(|b| b.delivers()) {
            *owed.entry(behaviour.group()).or_default() += sent;
        }
        if plan.fifo.is_some() {
            *owed.entry(FIFO_GROUP).or_default() += sent;
        }
    }
    owed
}
