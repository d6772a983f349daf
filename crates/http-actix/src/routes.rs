//! The handlers. Each turns HTTP into domain calls and back; the rules live
//! in `domain`, the storage behind the `MessageStore` port.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LINK};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use domain::{InsertOutcome, Message, MessageStore, SigningKeys, StoreError};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;

use crate::dto::{PageDto, StatsDto, StatusDto};
use crate::error::{ApiError, ErrorDetail};
use crate::messages_query;
use crate::metrics::{WEBHOOK_REQUESTS, WEBHOOK_SIGNATURES};
use crate::observe::WebhookOutcome;
use crate::webhook_body::WebhookBody;
use crate::webhook_result::WebhookResult;

/// How long a client may take to send a webhook body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share.
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn MessageStore>,
    pub(crate) keys: SigningKeys,
    pub(crate) max_body_bytes: usize,
    pub(crate) metrics: PrometheusHandle,
}

/// The route table: each path with the one method it serves (any other
/// method is a 405 naming it). Unknown paths are the app's default service.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(only("/webhook", Method::POST, webhook))
        .service(only("/messages", Method::GET, messages))
        .service(only("/stats", Method::GET, stats))
        .service(only("/health/live", Method::GET, live))
        .service(only("/health/ready", Method::GET, ready))
        .service(only("/metrics", Method::GET, metrics))
        .service(only("/openapi.json", Method::GET, openapi));
}

/// `path`, served for `method` alone.
fn only<F, Args>(path: &str, method: Method, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let allow = if method == Method::POST {
        "POST"
    } else {
        "GET"
    };
    web::resource(path)
        .route(web::method(method).to(handler))
        .default_service(method_not_allowed(allow))
}

/// `POST /webhook`: size, signature, content type, JSON, rules, store, in
/// that order; each refusal stores nothing. [`receive`] decides, and the one
/// mapping below records the result for the metric and the log line.
pub(crate) async fn webhook(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut message_id = None;
    let received = receive(&req, payload, &state, &mut message_id).await;
    let result = match &received {
        Ok(InsertOutcome::Created) => WebhookResult::Created,
        Ok(InsertOutcome::Duplicate) => WebhookResult::Duplicate,
        Err(ApiError::InvalidSignature(_)) => WebhookResult::InvalidSignature,
        Err(ApiError::Validation(_)) => WebhookResult::ValidationError,
        Err(ApiError::PayloadTooLarge) => WebhookResult::PayloadTooLarge,
        Err(_) => WebhookResult::Error,
    };
    metrics::counter!(WEBHOOK_REQUESTS, "result" => result.as_str()).increment(1);
    req.extensions_mut()
        .insert(WebhookOutcome { result, message_id });
    received.map(|_| HttpResponse::Ok().json(StatusDto { status: "ok" }))
}

/// The webhook's steps; `message_id` is set as soon as the body names one,
/// so refusals after that point are logged with it.
async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    message_id: &mut Option<String>,
) -> Result<InsertOutcome, ApiError> {
    let body = read_body(req, payload, state.max_body_bytes).await?;
    let signature = req.headers().get("x-signature").map(HeaderValue::as_bytes);
    let slot = state
        .keys
        .verify(&body, signature)
        .map_err(ApiError::InvalidSignature)?;
    metrics::counter!(WEBHOOK_SIGNATURES, "slot" => slot.as_str()).increment(1);
    if let Some(detail) = unsupported_content_type(req) {
        return Err(ApiError::Validation(vec![detail]));
    }
    let decoded = WebhookBody::decode(&body).map_err(ApiError::Validation)?;
    *message_id = decoded.message_id().map(str::to_owned);
    let message = Message::parse(decoded.input())
        .map_err(|errors| ApiError::Validation(crate::inputs::body_details(&errors)))?;
    *message_id = Some(message.id().as_str().to_owned());
    let store = Arc::clone(&state.store);
    web::block(move || store.insert(message))
        .await?
        .map_err(ApiError::from)
}

async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    // Refuse a declared oversize body before reading any of it.
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(ApiError::PayloadTooLarge);
    }
    match actix_web::rt::time::timeout(BODY_TIMEOUT, payload.to_bytes_limited(limit)).await {
        Err(_elapsed) => Err(ApiError::BodyTimeout),
        Ok(Err(_too_large)) => Err(ApiError::PayloadTooLarge),
        Ok(Ok(Err(e))) => Err(ApiError::BadBody(e.to_string())),
        Ok(Ok(Ok(bytes))) => Ok(bytes),
    }
}

/// The body must be declared JSON: `application/json` or
/// `application/<anything>+json`, parameters (`; charset=utf-8`) allowed.
fn unsupported_content_type(req: &HttpRequest) -> Option<ErrorDetail> {
    let essence = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|s| s.ends_with("+json"));
    (!json).then(|| {
        ErrorDetail::new(
            &["header", "content-type"],
            "Content-Type must be application/json",
            "content_type",
        )
    })
}

/// `GET /messages`.
pub(crate) async fn messages(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = messages_query::parse(req.query_string()).map_err(ApiError::Validation)?;
    let (limit, offset) = (query.limit.get(), query.offset.get());
    let store = Arc::clone(&state.store);
    let page = web::block(move || store.list(&query)).await??;
    let mut response = HttpResponse::Ok();
    if let Some(next) = &page.next {
        let next_query = messages_query::next_query(req.query_string(), next);
        response.insert_header((LINK, format!("</messages?{next_query}>; rel=\"next\"")));
        response.insert_header(("x-next-cursor", next.to_token()));
    }
    Ok(response.json(PageDto::new(&page, limit, offset)))
}

/// `GET /stats`.
pub(crate) async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = Arc::clone(&state.store);
    let stats = web::block(move || store.stats()).await??;
    Ok(HttpResponse::Ok().json(StatsDto::from(&stats)))
}

/// `GET /health/live`: the process serves.
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(StatusDto { status: "ok" })
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
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let store = Arc::clone(&state.store);
    let result = web::block(move || store.check_ready()).await;
    let (database, schema) = match result {
        Ok(Ok(())) => ("ok", "ok"),
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

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&state.metrics))
}

/// The OpenAPI 3 document of this API, kept beside the crate.
pub(crate) const OPENAPI: &str = include_str!("../openapi.json");

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// Unknown paths.
pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// A known path with a method it does not serve.
pub(crate) fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allow)) })
}
