//! `/webhook/whatsapp`: Meta's verification handshake (`GET`) and its
//! notifications (`POST`).

use actix_web::http::header::HeaderValue;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::body::read_body;
use super::state::WhatsAppState;
use super::whatsapp_body;
use crate::config::WhatsAppConfig;
use crate::error::ApiError;
use crate::metrics::{
    MESSAGES, SIGNATURE_FAILURES, WEBHOOK_SIGNATURES, WHATSAPP_IGNORED, WHATSAPP_STATUSES,
};
use crate::outcome::{BatchCounts, Source, WebhookOutcome, WebhookResult};

/// The 404 detail of the WhatsApp routes while they are not configured.
const NOT_CONFIGURED: &str =
    "WhatsApp is not configured: set WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN";

fn configured(state: &WhatsAppState) -> Result<&WhatsAppConfig, ApiError> {
    state
        .config
        .as_ref()
        .ok_or(ApiError::NotConfigured(NOT_CONFIGURED))
}

/// `GET /webhook/whatsapp`: with `hub.mode=subscribe` and the configured
/// token (compared in constant time), the answer is the challenge alone,
/// as plain text; otherwise 403, the challenge not echoed.
pub(crate) async fn whatsapp_verify(
    req: HttpRequest,
    state: web::Data<WhatsAppState>,
) -> Result<HttpResponse, ApiError> {
    let wa = configured(&state)?;
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

/// `POST /webhook/whatsapp`: signature first (`X-Hub-Signature-256:
/// sha256=<hex>` over the raw bytes), then every inbound message stored in
/// one commit; statuses and other changes are acknowledged and counted;
/// messages that cannot be mapped are skipped, each with a WARN line, so
/// Meta does not retry the rest for days.
pub(crate) async fn whatsapp_notify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WhatsAppState>,
) -> Result<HttpResponse, ApiError> {
    let wa = configured(&state)?;
    let mut outcome = WebhookOutcome {
        result: WebhookResult::Error,
        message_id: None,
        source: Some(Source::WhatsApp),
        batch: None,
    };
    let result = notify(&req, payload, wa, &state, &mut outcome).await;
    outcome.result = match &result {
        Ok(()) => WebhookResult::Created,
        Err(ApiError::InvalidSignature(_)) => WebhookResult::InvalidSignature,
        Err(ApiError::Validation(_)) => WebhookResult::ValidationError,
        Err(ApiError::PayloadTooLarge) => WebhookResult::PayloadTooLarge,
        Err(_) => WebhookResult::Error,
    };
    req.extensions_mut().insert(outcome);
    result.map(|()| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#)
    })
}

async fn notify(
    req: &HttpRequest,
    payload: web::Payload,
    wa: &WhatsAppConfig,
    state: &WhatsAppState,
    outcome: &mut WebhookOutcome,
) -> Result<(), ApiError> {
    let body = read_body(req, payload, wa.max_body_bytes).await?;
    let header = req
        .headers()
        .get("x-hub-signature-256")
        .map(HeaderValue::as_bytes);
    match wa.keys.verify_meta(&body, header) {
        Ok(slot) => metrics::counter!(WEBHOOK_SIGNATURES, "slot" => slot.as_str()).increment(1),
        Err(e) => {
            metrics::counter!(SIGNATURE_FAILURES, "source" => Source::WhatsApp.as_str())
                .increment(1);
            return Err(ApiError::InvalidSignature(e));
        }
    }
    let decoded = whatsapp_body::decode(&body).map_err(ApiError::Validation)?;
    let source = Source::WhatsApp.as_str();
    for skipped in &decoded.skipped {
        slog::warn!(state.logger, "whatsapp message skipped";
            "source" => source,
            "message_id" => skipped.id.clone().unwrap_or_default(),
            "reason" => skipped.reason.clone());
        metrics::counter!(MESSAGES, "source" => source, "result" => "skipped").increment(1);
    }
    let skipped = BatchCounts {
        skipped: decoded.skipped.len(),
        ..BatchCounts::default()
    };
    outcome.batch = Some(skipped);
    if !decoded.messages.is_empty() {
        let (_, counts) = state
            .ingest
            .submit(decoded.messages, Source::WhatsApp)
            .await?;
        outcome.batch = Some(BatchCounts {
            skipped: skipped.skipped,
            ..counts
        });
    }
    let kinds: Vec<&'static str> = decoded.events.iter().map(|k| k.kind).collect();
    let events = decoded.events.into_iter().map(|k| k.event).collect();
    let statuses = decoded.statuses.len();
    let (_, kept) = state.ingest.record(decoded.statuses, events).await?;
    if statuses > 0 {
        metrics::counter!(WHATSAPP_STATUSES).increment(u64::try_from(statuses).unwrap_or(0));
    }
    // What used to be ignored is kept as an event now; counted as kept.
    for (kind, o) in kinds.into_iter().zip(&kept) {
        if *o == domain::InsertOutcome::Created {
            metrics::counter!(WHATSAPP_IGNORED, "kind" => kind).increment(1);
        }
    }
    Ok(())
}
