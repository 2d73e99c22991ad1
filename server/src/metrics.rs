//! The Prometheus exporter: the recorder behind the engine's `metrics` calls, its upkeep, and `GET /metrics`,
//! served on the API's listener or on `XWEBHOOK_METRICS_LISTEN`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;
use xwebhook_engine::log_limit::SharedFailureLog;
use xwebhook_engine::metrics;
use xwebhook_engine::store::DeliveryQueue;

/// How often histograms are drained into their buckets between scrapes, which bounds the memory they hold.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder is process-wide by the `metrics` facade's design, and can be installed only once: every
/// service started in this process (tests start several) shares it.
static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the Prometheus recorder, the first time this is called in the process, and returns its handle.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    RECORDER
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build() -> anyhow::Result<PrometheusHandle> {
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in metrics::HISTOGRAM_BUCKETS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
            .with_context(|| format!("invalid buckets for {name}"))?;
    }
    let handle = builder
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    metrics::register();
    Ok(handle)
}

/// Drains histograms every few seconds until `shutdown` fires (the exporter leaves this to its user).
pub async fn upkeep(handle: PrometheusHandle, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    queue: Arc<dyn DeliveryQueue>,
    /// A scraper keeps scraping through an outage: one line a minute, not one per scrape.
    depth_failures: Arc<SharedFailureLog>,
}

/// `GET /metrics`. Queue depths are read at scrape time, so they are as fresh as the scrape.
pub fn router(handle: PrometheusHandle, queue: Arc<dyn DeliveryQueue>) -> Router {
    Router::new().route("/metrics", get(render)).with_state(Scrape {
        handle,
        queue,
        depth_failures: Arc::new(SharedFailureLog::new("reading the queue depths for /metrics")),
    })
}

async fn render(State(scrape): State<Scrape>) -> impl IntoResponse {
    // A queue that cannot answer leaves its gauges as they were; the other metrics are still worth a scrape.
    match scrape.queue.depths().await {
        Ok(depths) => {
            scrape.depth_failures.succeeded();
            metrics::queue_depths(&depths);
        }
        Err(e) => {
            scrape.depth_failures.failed(&e);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        scrape.handle.render(),
    )
}
