//! The Grafana dashboard in `deploy/grafana/xwebhook.json`: it is valid JSON, takes its data source as an
//! input, and queries only metrics the service exports.

use std::collections::BTreeSet;

use serde_json::Value;

/// Every metric `/metrics` exports: the one list, beside the metrics' definitions.
const METRICS: &[&str] = xwebhook_engine::metrics::ALL;

/// The series Prometheus derives from a histogram's name.
const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_count", "_sum"];

fn dashboard() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/grafana/xwebhook.json");
    let text = std::fs::read_to_string(path).expect("the dashboard is in deploy/grafana");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every query of every panel.
fn queries(dashboard: &Value) -> Vec<(String, &Value)> {
    let panels = dashboard["panels"].as_array().expect("panels");
    panels
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| (t["expr"].as_str().expect("a PromQL expression").to_owned(), t))
        .collect()
}

/// The metric names an expression uses, histogram series folded to their histogram's name.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("xwebhook_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let folded = HISTOGRAM_SUFFIXES
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|base| METRICS.contains(base))
            .unwrap_or(name);
        names.push(folded.to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_queries_only_exported_metrics_and_all_of_them() {
    let dashboard = dashboard();
    let mut used = BTreeSet::new();
    for (expr, _) in queries(&dashboard) {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "a query without a metric: {expr}");
        for name in names {
            assert!(
                METRICS.contains(&name.as_str()),
                "`{name}` is not exported: {expr}"
            );
            used.insert(name);
        }
    }
    let unused: Vec<_> = METRICS.iter().filter(|m| !used.contains(**m)).collect();
    assert!(unused.is_empty(), "metrics without a panel: {unused:?}");
}

#[test]
fn the_dashboard_takes_its_data_source_as_an_input() {
    let dashboard = dashboard();
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    for (expr, target) in queries(&dashboard) {
        assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{expr}");
    }
}

#[test]
fn histogram_series_fold_to_their_metric() {
    let expr = "histogram_quantile(0.99, sum by (le) (rate(xwebhook_attempt_duration_seconds_bucket[5m]))) \
                / xwebhook_queue_depth{state=\"ready\"}";
    assert_eq!(
        metric_names(expr),
        ["xwebhook_attempt_duration_seconds", "xwebhook_queue_depth"]
    );
}
