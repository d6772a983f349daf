//! What a message keeps beyond the listing: its raw bytes
//! (`GET /messages/{message_id}/raw`), the delivery status of a sent
//! message (`GET /statuses/{message_id}`), and WhatsApp's other changes
//! (`GET /whatsapp/events`).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{DeliveryStatus, EventPage, MessageId, RawLookup};
use serde::Serialize;
use serde_json::value::RawValue;

use super::dto::{embedded, rfc3339};
use super::feed_query;
use super::state::ReadState;
use crate::error::ApiError;
use crate::guard::ReadAccess;

/// `GET /messages/{message_id}/raw`: the bytes exactly as received.
pub(crate) async fn raw(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/messages/{message_id}/raw", &[])?;
    let id = req.match_info().query("message_id");
    let Ok(id) = MessageId::new(id) else {
        return Err(ApiError::Missing("message not found"));
    };
    let store = Arc::clone(&state.store);
    match web::block(move || store.raw(&id)).await?? {
        RawLookup::Bytes(bytes) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(bytes)),
        RawLookup::NotKept => Err(ApiError::Missing(
            "raw bytes are not kept for this message (stored with KEEP_RAW=off, or before hookbox kept them)",
        )),
        _ => Err(ApiError::Missing("message not found")),
    }
}

#[derive(Serialize)]
struct StatusDto<'a> {
    message_id: &'a str,
    recipient: Option<&'a str>,
    status: &'static str,
    history: Vec<HistoryDto<'a>>,
    errors: Vec<Box<RawValue>>,
}

#[derive(Serialize)]
struct HistoryDto<'a> {
    status: &'static str,
    ts: &'a str,
}

impl<'a> From<&'a DeliveryStatus> for StatusDto<'a> {
    fn from(s: &'a DeliveryStatus) -> Self {
        Self {
            message_id: &s.message_id,
            recipient: s.recipient.as_deref(),
            status: s.state.as_str(),
            history: s
                .history
                .iter()
                .map(|(state, ts)| HistoryDto {
                    status: state.as_str(),
                    ts: ts.as_str(),
                })
                .collect(),
            errors: s.errors.iter().filter_map(|e| embedded(e)).collect(),
        }
    }
}

/// `GET /statuses/{message_id}`: where a message the business sent is.
pub(crate) async fn status(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/statuses/{message_id}", &[])?;
    let id = req.match_info().query("message_id").to_owned();
    let store = Arc::clone(&state.store);
    match web::block(move || store.status(&id)).await?? {
        Some(status) => Ok(HttpResponse::Ok().json(StatusDto::from(&status))),
        None => Err(ApiError::Missing("no status is kept for this message")),
    }
}

#[derive(Serialize)]
struct EventDto<'a> {
    seq: u64,
    field: &'a str,
    received_at: String,
    raw: Option<Box<RawValue>>,
}

#[derive(Serialize)]
struct EventPageDto<'a> {
    data: Vec<EventDto<'a>>,
    next: u64,
}

impl<'a> From<&'a EventPage> for EventPageDto<'a> {
    fn from(page: &'a EventPage) -> Self {
        Self {
            data: page
                .items
                .iter()
                .map(|e| EventDto {
                    seq: e.seq.get(),
                    field: e.event.field(),
                    received_at: rfc3339(e.received_at),
                    raw: embedded(e.event.raw()),
                })
                .collect(),
            next: page.next.get(),
        }
    }
}

/// `GET /whatsapp/events`: every change kept as an event, once, in the
/// order stored.
pub(crate) async fn events(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/whatsapp/events", &["after", "limit", "field"])?;
    let query = feed_query::events(req.query_string()).map_err(ApiError::Validation)?;
    let store = Arc::clone(&state.store);
    let page = web::block(move || store.events(&query)).await??;
    Ok(HttpResponse::Ok().json(EventPageDto::from(&page)))
}
