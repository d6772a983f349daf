//! `GET /messages/{message_id}`: one message's full record.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::MessageId;

use super::dto::FeedItemDto;
use super::state::ReadState;
use crate::error::ApiError;
use crate::guard::ReadAccess;

/// The 404 of a message that is not stored (never, purged or erased).
pub(crate) const NOT_FOUND: &str = "message not found";

/// The path's `message_id`; an id no message can have is simply not found.
pub(crate) fn path_id(req: &HttpRequest) -> Result<MessageId, ApiError> {
    MessageId::new(req.match_info().query("message_id")).map_err(|_| ApiError::Missing(NOT_FOUND))
}

/// `GET /messages/{message_id}`: the feed's item for it (every field the
/// record keeps, with `seq` and `received_at`), or 404.
pub(crate) async fn message(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/messages/{message_id}", &[])?;
    let id = path_id(&req)?;
    let store = Arc::clone(&state.store);
    match web::block(move || store.get(&id)).await?? {
        Some(item) => Ok(HttpResponse::Ok().json(FeedItemDto::from(&item))),
        None => Err(ApiError::Missing(NOT_FOUND)),
    }
}
