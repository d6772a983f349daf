//! Prometheus metrics: the recorder (the process's one global) and the names
//! hookbox records under.

use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Counter: every HTTP request, by `method`, `path` (route pattern) and `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Counter: webhook outcomes, by `result`.
pub const WEBHOOK_REQUESTS: &str = "webhook_requests_total";
/// Counter: accepted signatures, by secret `slot` (`primary`, `previous`).
pub const WEBHOOK_SIGNATURES: &str = "webhook_signatures_total";
/// Histogram: request latency in milliseconds, by `path`.
pub const REQUEST_LATENCY: &str = "request_latency_ms";
/// Gauge: always 1, labelled with the `version`.
pub const BUILD_INFO: &str = "hookbox_build_info";

/// The latency buckets, in milliseconds.
pub const LATENCY_BUCKETS_MS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
];

/// Every webhook `result` label value.
pub const WEBHOOK_RESULTS: &[&str] = &[
    "created",
    "duplicate",
    "invalid_signature",
    "validation_error",
    "payload_too_large",
    "error",
];

/// Installs the global Prometheus recorder and returns the handle that
/// renders it. Also starts a thread that drains histogram samples every few
/// seconds, so memory stays flat between scrapes.
///
/// # Errors
/// [`BuildError`] when a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(REQUEST_LATENCY.to_owned()),
            LATENCY_BUCKETS_MS,
        )?
        .install_recorder()?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("hookbox-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| BuildError::FailedToCreateHTTPListener(e.to_string()))?;
    describe();
    Ok(handle)
}

fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests by method, route and status");
    metrics::describe_counter!(WEBHOOK_REQUESTS, "Webhook outcomes by result");
    metrics::describe_counter!(
        WEBHOOK_SIGNATURES,
        "Verified webhook signatures by secret slot"
    );
    metrics::describe_histogram!(
        REQUEST_LATENCY,
        metrics::Unit::Milliseconds,
        "Request latency by route"
    );
    metrics::describe_gauge!(BUILD_INFO, "Build information");
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for result in WEBHOOK_RESULTS {
        metrics::counter!(WEBHOOK_REQUESTS, "result" => *result).increment(0);
    }
}
