//! What operators and people look at: health probes, `/metrics`, the
//! OpenAPI document and the inbox page.

mod health;
mod openapi;
mod scrape;
pub(crate) mod ui;

use std::sync::Arc;

use domain::MessageStore;
use metrics_exporter_prometheus::PrometheusHandle;

pub(crate) use health::{live, ready};
pub(crate) use openapi::openapi;
pub(crate) use scrape::metrics;

/// What the ops handlers share.
pub(crate) struct OpsState {
    pub(crate) store: Arc<dyn MessageStore>,
    pub(crate) metrics: PrometheusHandle,
}
