//! `GET /metrics`: Prometheus text exposition.

use actix_web::{HttpResponse, web};

use super::state::OpsState;

/// `GET /metrics`.
pub(crate) async fn metrics(state: web::Data<OpsState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&state.metrics))
}
