//! The handlers. Each turns HTTP into domain calls and back; the rules live
//! in `domain`, the storage behind the `MessageStore` port.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LINK};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use domain::{
    InsertOutcome, Message, MessageStore, SignatureError, SigningKeys, StandardHeaders, StoreError,
};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;

use crate::config::WhatsAppConfig;
use crate::dto::{DailyDto, FeedPageDto, PageDto, StatsDto, StatusDto};
use crate::error::{ApiError, ErrorDetail};
use crate::metrics::{
    MESSAGES, SIGNATURE_FAILURES, WEBHOOK_REQUESTS, WEBHOOK_SIGNATURES, WHATSAPP_IGNORED,
};
use crate::observe::{BatchCounts, WebhookOutcome};
use crate::peer::PeerSocket;
use crate::read_access::{ReadAccess, ReadTokens};
use crate::stream::{self, Hub};
use crate::webhook_body::WebhookBody;
use crate::webhook_result::{Source, WebhookResult};
use crate::{feed_query, messages_query, ui};

/// How long a client may take to send a webhook body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share.
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn MessageStore>,
    pub(crate) keys: SigningKeys,
    pub(crate) max_body_bytes: usize,
    pub(crate) tolerance_seconds: u64,
    pub(crate) whatsapp: Option<WhatsAppConfig>,
    pub(crate) metrics: PrometheusHandle,
    pub(crate) read_tokens: Option<ReadTokens>,
    pub(crate) hub: Arc<Hub>,
}

/// The 404 detail of the WhatsApp routes while they are not configured.
const WHATSAPP_NOT_CONFIGURED: &str =
    "WhatsApp is not configured: set WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN";

/// The route table: each path with the one method it serves (any other
/// method is a 405 naming it). Unknown paths are the app's default service.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(only("/webhook", Method::POST, webhook))
        .service(
            web::resource("/webhook/whatsapp")
                .route(web::get().to(whatsapp_verify))
                .route(web::post().to(whatsapp_notify))
                .default_service(method_not_allowed("GET, POST")),
        )
        .service(only("/messages", Method::GET, messages))
        .service(only("/messages/feed", Method::GET, feed))
        .service(only("/messages/stream", Method::GET, message_stream))
        .service(only("/stats", Method::GET, stats))
        .service(only("/stats/daily", Method::GET, daily))
        .service(only("/ui", Method::GET, ui::page))
        .service(only("/ui/app.js", Method::GET, ui::script))
        .service(only("/ui/app.css", Method::GET, ui::style))
        .service(only("/ui/icon.svg", Method::GET, ui::icon))
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
    let mut seen = Seen::default();
    let received = receive(&req, payload, &state, &mut seen).await;
    let result = match &received {
        Ok(InsertOutcome::Created) => WebhookResult::Created,
        Ok(InsertOutcome::Duplicate) => WebhookResult::Duplicate,
        Err(ApiError::InvalidSignature(_) | ApiError::InvalidStandardSignature(_)) => {
            WebhookResult::InvalidSignature
        }
        Err(ApiError::Validation(_)) => WebhookResult::ValidationError,
        Err(ApiError::PayloadTooLarge) => WebhookResult::PayloadTooLarge,
        Err(_) => WebhookResult::Error,
    };
    metrics::counter!(WEBHOOK_REQUESTS, "result" => result.as_str()).increment(1);
    if let (Some(source), Ok(outcome)) = (seen.source, &received) {
        let label = match outcome {
            InsertOutcome::Created => "created",
            InsertOutcome::Duplicate => "duplicate",
        };
        metrics::counter!(MESSAGES, "source" => source.as_str(), "result" => label).increment(1);
    }
    req.extensions_mut().insert(WebhookOutcome {
        result,
        message_id: seen.message_id,
        source: seen.source,
        batch: None,
    });
    received.map(|_| HttpResponse::Ok().json(StatusDto { status: "ok" }))
}

/// What [`receive`] learnt before it finished, for the log line.
#[derive(Default)]
struct Seen {
    message_id: Option<String>,
    source: Option<Source>,
}

/// The webhook's steps; `seen` is filled in as the request reveals it, so
/// refusals after that point are logged with it.
async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    seen: &mut Seen,
) -> Result<InsertOutcome, ApiError> {
    let body = read_body(req, payload, state.max_body_bytes).await?;
    seen.source = Some(verify_webhook(req, &body, state)?);
    if let Some(detail) = unsupported_content_type(req) {
        return Err(ApiError::Validation(vec![detail]));
    }
    let decoded = WebhookBody::decode(&body).map_err(ApiError::Validation)?;
    seen.message_id = decoded.message_id().map(str::to_owned);
    let message = Message::parse(decoded.input())
        .map_err(|errors| ApiError::Validation(crate::inputs::body_details(&errors)))?;
    seen.message_id = Some(message.id().as_str().to_owned());
    // Awaited, not on a blocking thread: every webhook in flight can join
    // the writer's next commit.
    let outcome = submitted(state.store.submit(vec![message]).await)?
        .pop()
        .ok_or_else(|| ApiError::Store(StoreError::Internal("the store gave no outcome".into())))?;
    if outcome == InsertOutcome::Created {
        state.hub.notify();
    }
    Ok(outcome)
}

/// A submit's answer; a store that dropped the request is a 503.
fn submitted(answer: Option<domain::SubmitResult>) -> Result<Vec<InsertOutcome>, ApiError> {
    answer
        .unwrap_or_else(|| {
            Err(StoreError::Unavailable(
                "the store dropped the request".into(),
            ))
        })
        .map_err(ApiError::from)
}

/// Verifies `POST /webhook`: by Standard Webhooks when the request carries
/// `webhook-signature` (or `svix-signature`), else by `X-Signature`.
fn verify_webhook(req: &HttpRequest, body: &[u8], state: &AppState) -> Result<Source, ApiError> {
    let header = |name: &str| req.headers().get(name).map(HeaderValue::as_bytes);
    let standard = header("webhook-signature")
        .map(|s| (header("webhook-id"), header("webhook-timestamp"), s))
        .or_else(|| {
            header("svix-signature").map(|s| (header("svix-id"), header("svix-timestamp"), s))
        });
    let (source, verified) = match standard {
        Some((id, timestamp, signature)) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let headers = StandardHeaders {
                id,
                timestamp,
                signature: Some(signature),
            };
            (
                Source::StandardWebhooks,
                state
                    .keys
                    .verify_standard(headers, body, now, state.tolerance_seconds)
                    .map_err(ApiError::InvalidStandardSignature),
            )
        }
        None => (
            Source::XSignature,
            state
                .keys
                .verify(body, header("x-signature"))
                .map_err(ApiError::InvalidSignature),
        ),
    };
    match verified {
        Ok(slot) => {
            metrics::counter!(WEBHOOK_SIGNATURES, "slot" => slot.as_str()).increment(1);
            Ok(source)
        }
        Err(e) => {
            metrics::counter!(SIGNATURE_FAILURES, "source" => source.as_str()).increment(1);
            Err(e)
        }
    }
}

/// `GET /webhook/whatsapp`: Meta's verification handshake. With
/// `hub.mode=subscribe` and the configured token (compared in constant
/// time), the answer is the challenge alone, as plain text; otherwise 403,
/// the challenge not echoed.
pub(crate) async fn whatsapp_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let wa = state
        .whatsapp
        .as_ref()
        .ok_or(ApiError::NotConfigured(WHATSAPP_NOT_CONFIGURED))?;
    let params: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let token_ok = get("hub.verify_token").is_some_and(|t| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            t.as_bytes(),
            wa.verify_token.as_bytes(),
        ))
    });
    let challenge = get("hub.challenge").filter(|c| !c.is_empty());
    match (get("hub.mode") == Some("subscribe") && token_ok, challenge) {
        (true, Some(challenge)) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(challenge.to_owned())),
        _ => Err(ApiError::VerificationFailed),
    }
}

/// `POST /webhook/whatsapp`: a notification from Meta. Signature first
/// (`X-Hub-Signature-256: sha256=<hex>` over the raw bytes), then every
/// inbound message stored in one transaction; statuses and other changes
/// are acknowledged and counted; messages that cannot be mapped are
/// skipped, each with a WARN line, so Meta does not retry the rest for days.
pub(crate) async fn whatsapp_notify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    observer: web::Data<crate::observe::Observer>,
) -> Result<HttpResponse, ApiError> {
    let wa = state
        .whatsapp
        .as_ref()
        .ok_or(ApiError::NotConfigured(WHATSAPP_NOT_CONFIGURED))?;
    let mut outcome = WebhookOutcome {
        result: WebhookResult::Error,
        message_id: None,
        source: Some(Source::WhatsApp),
        batch: None,
    };
    let result = notify(&req, payload, wa, &state, &observer, &mut outcome).await;
    outcome.result = match &result {
        Ok(_) => WebhookResult::Created,
        Err(ApiError::InvalidSignature(_)) => WebhookResult::InvalidSignature,
        Err(ApiError::Validation(_)) => WebhookResult::ValidationError,
        Err(ApiError::PayloadTooLarge) => WebhookResult::PayloadTooLarge,
        Err(_) => WebhookResult::Error,
    };
    req.extensions_mut().insert(outcome);
    result
}

async fn notify(
    req: &HttpRequest,
    payload: web::Payload,
    wa: &WhatsAppConfig,
    state: &AppState,
    observer: &crate::observe::Observer,
    outcome: &mut WebhookOutcome,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(req, payload, wa.max_body_bytes).await?;
    let header = req
        .headers()
        .get("x-hub-signature-256")
        .map(HeaderValue::as_bytes)
        .map(<[u8]>::trim_ascii)
        .filter(|h| !h.is_empty());
    // Meta always writes the `sha256=` prefix: without it, the header is
    // not one of Meta's.
    let verified = match header {
        None => Err(SignatureError::Missing),
        Some(h) if h.len() < 7 || !h[..7].eq_ignore_ascii_case(b"sha256=") => {
            Err(SignatureError::Malformed)
        }
        Some(h) => wa.keys.verify(&body, Some(h)),
    };
    match verified {
        Ok(slot) => metrics::counter!(WEBHOOK_SIGNATURES, "slot" => slot.as_str()).increment(1),
        Err(e) => {
            metrics::counter!(SIGNATURE_FAILURES, "source" => Source::WhatsApp.as_str())
                .increment(1);
            return Err(ApiError::InvalidSignature(e));
        }
    }
    let decoded = crate::whatsapp::decode(&body).map_err(ApiError::Validation)?;
    let ignored = |kind: &'static str, n: usize| {
        if n > 0 {
            metrics::counter!(WHATSAPP_IGNORED, "kind" => kind)
                .increment(u64::try_from(n).unwrap_or(u64::MAX));
        }
    };
    ignored("status", decoded.statuses);
    ignored("field", decoded.other_fields);
    ignored("object", usize::from(decoded.other_object));
    let source = Source::WhatsApp.as_str();
    for skipped in &decoded.skipped {
        slog::warn!(observer.logger(), "whatsapp message skipped";
            "source" => source,
            "message_id" => skipped.id.clone().unwrap_or_default(),
            "reason" => skipped.reason.clone());
        metrics::counter!(MESSAGES, "source" => source, "result" => "skipped").increment(1);
    }
    let mut counts = BatchCounts {
        skipped: decoded.skipped.len(),
        ..BatchCounts::default()
    };
    outcome.batch = Some(counts);
    if !decoded.messages.is_empty() {
        let outcomes = submitted(state.store.submit(decoded.messages).await)?;
        if outcomes.contains(&InsertOutcome::Created) {
            state.hub.notify();
        }
        for o in &outcomes {
            let label = match o {
                InsertOutcome::Created => {
                    counts.stored += 1;
                    "created"
                }
                InsertOutcome::Duplicate => {
                    counts.duplicates += 1;
                    "duplicate"
                }
            };
            metrics::counter!(MESSAGES, "source" => source, "result" => label).increment(1);
        }
        outcome.batch = Some(counts);
    }
    Ok(HttpResponse::Ok().json(StatusDto { status: "ok" }))
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
    _: ReadAccess,
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
pub(crate) async fn stats(
    _: ReadAccess,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = Arc::clone(&state.store);
    let stats = web::block(move || store.stats()).await??;
    Ok(HttpResponse::Ok().json(StatsDto::from(&stats)))
}

/// `GET /stats/daily`: messages per UTC day of `ts`, every day of the
/// range listed (zero when none).
pub(crate) async fn daily(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let today = time::OffsetDateTime::now_utc().date();
    let (first, last) =
        feed_query::days(req.query_string(), today).map_err(ApiError::Validation)?;
    let store = Arc::clone(&state.store);
    let counts = web::block(move || store.daily_counts(first, last)).await??;
    Ok(HttpResponse::Ok().json(DailyDto::new(&domain::every_day(first, last, &counts))))
}

/// `GET /messages/feed`: every message once, in the order stored.
pub(crate) async fn feed(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = feed_query::parse(req.query_string()).map_err(ApiError::Validation)?;
    let store = Arc::clone(&state.store);
    let page = web::block(move || store.feed(&query)).await??;
    Ok(HttpResponse::Ok().json(FeedPageDto::from(&page)))
}

/// `GET /messages/stream`: the feed as Server-Sent Events, from
/// `Last-Event-ID`, else `after=`, else from now on.
pub(crate) async fn message_stream(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = feed_query::parse(req.query_string()).map_err(ApiError::Validation)?;
    let follow = feed_query::follow(req.query_string()).map_err(ApiError::Validation)?;
    let explicit_after =
        form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "after");
    let after = match req.headers().get("last-event-id") {
        Some(id) => feed_query::last_event_id(id.as_bytes()).map_err(ApiError::Validation)?,
        None if explicit_after => query.after,
        None => {
            let store = Arc::clone(&state.store);
            web::block(move || store.last_seq()).await??
        }
    };
    let slot = state.hub.admit().ok_or(ApiError::TooManyStreams)?;
    let body = stream::open(
        slot,
        domain::FeedQuery { after, ..query },
        follow,
        req.conn_data::<PeerSocket>().cloned(),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
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
