//! `GET /health/live` and `GET /health/ready`.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::StoreError;
use serde::Serialize;

use super::state::OpsState;

/// `GET /health/live`: the process serves.
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

#[derive(Serialize)]
struct Checks {
    database: &'static str,
    schema: &'static str,
    secret: &'static str,
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    checks: Checks,
}

/// `GET /health/ready`: a real query through the pool, the schema version,
/// the secret. 503 names the check that failed.
pub(crate) async fn ready(state: web::Data<OpsState>) -> HttpResponse {
    let store = Arc::clone(&state.store);
    let result = web::block(move || store.check_ready()).await;
    let (database, schema) = match result {
        Ok(Ok(())) => ("ok", "ok"),
        // Newer and incompatible: a newer build migrated past what this
        // one may write (it refuses writes). Older: not migrated yet.
        Ok(Err(StoreError::SchemaMismatch { found, expected })) if found > expected => {
            ("ok", "incompatible")
        }
        Ok(Err(StoreError::SchemaMismatch { .. })) => ("ok", "outdated"),
        Ok(Err(_)) | Err(_) => ("unavailable", "unknown"),
    };
    // The secret is validated at start-up and read once; a running server
    // always has one (the README says so).
    let checks = Checks {
        database,
        schema,
        secret: "ok",
    };
    let ok = database == "ok" && schema == "ok";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(status).json(Readiness {
        status: if ok { "ready" } else { "unavailable" },
        checks,
    })
}
