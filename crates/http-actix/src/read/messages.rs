//! `GET /messages`: the assignment's paged listing.

use std::sync::Arc;

use actix_web::http::header::LINK;
use actix_web::{HttpRequest, HttpResponse, web};

use super::dto::PageDto;
use super::messages_query;
use super::state::ReadState;
use crate::error::ApiError;
use crate::guard::ReadAccess;

/// `GET /messages`.
pub(crate) async fn messages(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
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
