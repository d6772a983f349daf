//! [`OpsState`]: what the ops handlers share.

use domain::MessageStore;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What the ops handlers share.
pub(crate) struct OpsState {
    pub(crate) store: Arc<dyn MessageStore>,
    pub(crate) metrics: PrometheusHandle,
}
