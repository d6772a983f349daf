//! `POST /webhook`: size, signature, content type, JSON, rules, store, in
//! that order; each refusal stores nothing.

use actix_web::http::header::HeaderValue;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use domain::{Envelope, InsertOutcome, Kind, Message, StandardHeaders, StoreError};

use super::body::{read_body, unsupported_content_type};
use super::decode::body_details;
use super::state::WebhookState;
use super::webhook_body::WebhookBody;
use crate::error::ApiError;
use crate::metrics::{SIGNATURE_FAILURES, WEBHOOK_REQUESTS, WEBHOOK_SIGNATURES};
use crate::outcome::{Source, WebhookOutcome, WebhookResult};

/// `POST /webhook`. [`receive`] decides, and the one mapping below records
/// the result for the metric and the log line.
pub(crate) async fn webhook(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebhookState>,
) -> Result<HttpResponse, ApiError> {
    let mut seen = Seen::default();
    let received = receive(&req, payload, &state, &mut seen).await;
    let result = match &received {
        Ok(InsertOutcome::Created) => WebhookResult::Created,
        Ok(_) => WebhookResult::Duplicate,
        Err(ApiError::InvalidSignature(_) | ApiError::InvalidStandardSignature(_)) => {
            WebhookResult::InvalidSignature
        }
        Err(ApiError::Validation(_)) => WebhookResult::ValidationError,
        Err(ApiError::PayloadTooLarge) => WebhookResult::PayloadTooLarge,
        Err(_) => WebhookResult::Error,
    };
    metrics::counter!(WEBHOOK_REQUESTS, "result" => result.as_str()).increment(1);
    req.extensions_mut().insert(WebhookOutcome {
        result,
        message_id: seen.message_id,
        source: seen.source,
        batch: None,
    });
    received.map(|_| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#)
    })
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
    state: &WebhookState,
    seen: &mut Seen,
) -> Result<InsertOutcome, ApiError> {
    let body = read_body(req, payload, state.max_body_bytes).await?;
    let source = verify(req, &body, state)?;
    seen.source = Some(source);
    if let Some(detail) = unsupported_content_type(req) {
        return Err(ApiError::Validation(vec![detail]));
    }
    let decoded = WebhookBody::decode(&body).map_err(ApiError::Validation)?;
    seen.message_id = decoded.message_id().map(str::to_owned);
    let message =
        Message::parse(decoded.input()).map_err(|e| ApiError::Validation(body_details(&e)))?;
    seen.message_id = Some(message.id().as_str().to_owned());
    // The whole body is the message's raw JSON: it re-verifies against its
    // signature. Standard Webhooks' `webhook-id` names the delivery.
    let delivery_id = (source == Source::StandardWebhooks)
        .then(|| {
            ["webhook-id", "svix-id"]
                .iter()
                .find_map(|h| req.headers().get(*h)?.to_str().ok())
        })
        .flatten();
    let message = message.with_envelope(
        Envelope::new(source, Kind::text())
            .with_delivery_id(delivery_id)
            .with_raw(state.ingest.keep_raw().then(|| body.to_vec())),
    );
    let (mut outcomes, _) = state.ingest.submit(vec![message], source).await?;
    outcomes
        .pop()
        .ok_or_else(|| ApiError::Store(StoreError::Internal("the store gave no outcome".into())))
}

/// Verifies the request: by Standard Webhooks when it carries
/// `webhook-signature` (or `svix-signature`), else by `X-Signature`.
fn verify(req: &HttpRequest, body: &[u8], state: &WebhookState) -> Result<Source, ApiError> {
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
