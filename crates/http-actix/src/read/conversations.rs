//! `GET /conversations`: each sender with their latest message, the most
//! recent activity first.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::ConversationPage;
use serde::Serialize;

use super::dto::FeedItemDto;
use super::feed_query;
use super::state::ReadState;
use super::strict::strict;
use crate::error::ApiError;
use crate::guard::ReadAccess;

#[derive(Serialize)]
struct ConversationDto<'a> {
    from: &'a str,
    sender_name: Option<&'a str>,
    message_count: u64,
    last_message: FeedItemDto<'a>,
}

#[derive(Serialize)]
struct ConversationPageDto<'a> {
    data: Vec<ConversationDto<'a>>,
    next_cursor: Option<String>,
}

impl<'a> From<&'a ConversationPage> for ConversationPageDto<'a> {
    fn from(page: &'a ConversationPage) -> Self {
        Self {
            data: page
                .conversations
                .iter()
                .map(|c| ConversationDto {
                    from: c.from.as_str(),
                    sender_name: c.last.message.envelope().sender_name(),
                    message_count: c.message_count,
                    last_message: FeedItemDto::from(&c.last),
                })
                .collect(),
            next_cursor: page.next.map(domain::ConversationCursor::to_token),
        }
    }
}

/// `GET /conversations?limit=&cursor=`.
pub(crate) async fn conversations(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    strict(&req, "/conversations", &["limit", "cursor"])?;
    let query = feed_query::conversations(req.query_string()).map_err(ApiError::Validation)?;
    let store = Arc::clone(&state.store);
    let page = web::block(move || store.conversations(&query)).await??;
    Ok(HttpResponse::Ok().json(ConversationPageDto::from(&page)))
}
