//! `GET /messages/feed` and its live form, `GET /messages/stream`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use super::dto::FeedPageDto;
use super::state::ReadState;
use super::{feed_query, stream};
use crate::error::ApiError;
use crate::guard::ReadAccess;
use crate::peer::PeerSocket;

/// `GET /messages/feed`: every message once, in the order stored.
pub(crate) async fn feed(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/messages/feed", &["after", "limit", "from", "q"])?;
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
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(
        &req,
        "/messages/stream",
        &["after", "limit", "from", "q", "follow"],
    )?;
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
