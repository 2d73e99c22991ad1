//! Log output and span export. `XWEBHOOK_LOG` is an `EnvFilter` directive and `XWEBHOOK_LOG_FORMAT` picks text
//! or JSON lines; given a tracer provider (see [`crate::traces`]), spans are exported through it as well.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, fmt};

use crate::config::LogFormat;

/// Installs the process's subscriber: log lines as `filter` selects, and, with `spans`, every span at info or
/// above. The two are filtered apart so that a quiet log (`XWEBHOOK_LOG=warn`) does not lose the traces.
pub fn init(filter: &str, format: LogFormat, spans: Option<&SdkTracerProvider>) -> anyhow::Result<()> {
    let mut filter = EnvFilter::try_new(filter).map_err(|e| anyhow::anyhow!("XWEBHOOK_LOG: {e}"))?;
    if !filter.to_string().contains("lapin") {
        // lapin logs a message the broker returned, body and all, at `warn`: a customer's payload has no place
        // in our logs. Its errors still show; the sink reports the rest as `failureReason`.
        filter = filter.add_directive("lapin=error".parse()?);
    }
    let lines = fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines.json().flatten_event(true).boxed(),
    };
    let traces = spans.map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("xwebhook"))
            .with_filter(LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
