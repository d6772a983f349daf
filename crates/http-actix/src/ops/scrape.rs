//! `GET /metrics`: Prometheus text exposition. Before each render the
//! store's gauges (write queue, pool), the feed's last number and
//! readiness are read, and the process's own series follow the rest.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use domain::StoreGauges;

use super::process;
use super::state::OpsState;
use crate::metrics::{
    FEED_LAST_SEQ, POOL_CONNECTIONS, POOL_IDLE, POOL_MAX, READY, WAL_BYTES, WRITE_QUEUE_CAPACITY,
    WRITE_QUEUE_DEPTH,
};

/// What the store says at one scrape.
struct Reading {
    gauges: StoreGauges,
    last_seq: Option<domain::Seq>,
    ready: bool,
}

/// `GET /metrics`.
pub(crate) async fn metrics(state: web::Data<OpsState>) -> HttpResponse {
    let store = Arc::clone(&state.store);
    let reading = web::block(move || Reading {
        gauges: store.gauges(),
        last_seq: store.last_seq().ok(),
        ready: store.check_ready().is_ok(),
    })
    .await;
    if let Ok(reading) = reading {
        publish(&reading);
    }
    let mut body = crate::metrics::render(&state.metrics);
    body.push_str(&process::render());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}

#[expect(clippy::cast_precision_loss, reason = "gauges are f64")]
fn publish(r: &Reading) {
    let g = r.gauges;
    metrics::gauge!(WRITE_QUEUE_DEPTH).set(g.write_queue_depth as f64);
    metrics::gauge!(WRITE_QUEUE_CAPACITY).set(g.write_queue_capacity as f64);
    if let Some(pool) = g.pool {
        metrics::gauge!(POOL_CONNECTIONS).set(pool.connections as f64);
        metrics::gauge!(POOL_IDLE).set(pool.idle as f64);
        metrics::gauge!(POOL_MAX).set(pool.max as f64);
    }
    if let Some(bytes) = g.log_bytes {
        metrics::counter!(WAL_BYTES).absolute(bytes);
    }
    if let Some(seq) = r.last_seq {
        metrics::gauge!(FEED_LAST_SEQ).set(seq.get() as f64);
    }
    metrics::gauge!(READY).set(if r.ready { 1.0 } else { 0.0 });
}
