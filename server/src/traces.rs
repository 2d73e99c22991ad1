//! Exporting spans over OTLP/HTTP (protobuf) when `XWEBHOOK_OTLP_ENDPOINT` is set.
//!
//! The exporter sends with the hyper client the service already has, rather than reqwest. Hyper needs a tokio
//! runtime, and the SDK's batch processor exports from a thread of its own, so each export request is handed
//! to the service's runtime (see [`OnRuntime`]).

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tokio::runtime::Handle;

/// How long one export may take before it is given up (its spans are dropped, the service carries on).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Where OTLP/HTTP collectors take spans, below the base URL operators configure.
const TRACES_PATH: &str = "/v1/traces";

/// A tracer provider that batches spans and sends them to the collector at `endpoint` (its base URL, such as
/// `http://localhost:4318`), through `runtime`. Shut it down on exit, outside the runtime, to send the last batch.
pub fn otlp_provider(endpoint: &str, runtime: Handle) -> anyhow::Result<SdkTracerProvider> {
    let client = OnRuntime {
        client: HyperClient::with_default_connector(EXPORT_TIMEOUT, None),
        runtime,
    };
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(client)
        .build()
        .context("XWEBHOOK_OTLP_ENDPOINT: cannot build the span exporter")?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("xwebhook").build())
        .build())
}

/// The base URL with the traces path, unless the operator already gave the full one.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_owned()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

/// An HTTP client whose requests run on a given tokio runtime, whoever awaits them.
#[derive(Debug, Clone)]
struct OnRuntime {
    client: HyperClient,
    runtime: Handle,
}

#[async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        let cases = [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("http://collector:4318/", "http://collector:4318/v1/traces"),
            (
                "http://collector:4318/v1/traces",
                "http://collector:4318/v1/traces",
            ),
        ];
        for (endpoint, url) in cases {
            assert_eq!(traces_url(endpoint), url);
        }
    }
}
