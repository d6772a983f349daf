//! `GET /messages/export`: every matching message's full record as NDJSON,
//! one per line, in feed order, read from the store page by page while
//! the client takes them, so memory stays flat at any size.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{FeedLimit, FeedQuery, MAX_FEED_LIMIT, MessageStore};
use tokio::sync::mpsc;

use super::dto::FeedItemDto;
use super::feed_query;
use super::state::ReadState;
use super::strict::strict;
use crate::error::ApiError;
use crate::guard::ReadAccess;

/// The parameters `GET /messages/export` takes.
pub(crate) const KNOWN: &[&str] = &["after", "from", "since", "until"];

/// Pages rendered ahead of the client: one being sent, one ready.
const PAGES_AHEAD: usize = 2;

/// `GET /messages/export`.
pub(crate) async fn export(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    strict(&req, "/messages/export", KNOWN)?;
    let query = feed_query::export(req.query_string()).map_err(ApiError::Validation)?;
    let (tx, rx) = mpsc::channel(PAGES_AHEAD);
    actix_web::rt::spawn(pump(Arc::clone(&state.store), query, tx));
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"hookbox-export.ndjson\"",
        ))
        .streaming(Lines(rx)))
}

/// Why an export stopped short: the store failed mid-way. The response
/// is cut off (no final chunk), so a client cannot mistake it for whole.
#[derive(Debug, thiserror::Error)]
#[error("the export stopped: the store failed")]
struct Cut;

impl actix_web::ResponseError for Cut {}

/// Reads pages of the feed and hands each, rendered, to the body; waits
/// while the client is `PAGES_AHEAD` pages behind.
async fn pump(
    store: Arc<dyn MessageStore>,
    mut query: FeedQuery,
    tx: mpsc::Sender<Result<Bytes, Cut>>,
) {
    query.limit = FeedLimit::new(i64::from(MAX_FEED_LIMIT)).unwrap_or_default();
    loop {
        let reader = Arc::clone(&store);
        let asked = query.clone();
        let page = match web::block(move || reader.feed(&asked)).await {
            Ok(Ok(page)) => page,
            _ => {
                let _ = tx.send(Err(Cut)).await;
                return;
            }
        };
        let full = page.items.len() == usize::try_from(MAX_FEED_LIMIT).unwrap_or(usize::MAX);
        let mut chunk = Vec::with_capacity(page.items.len() * 512);
        for item in &page.items {
            if serde_json::to_writer(&mut chunk, &FeedItemDto::for_lines(item)).is_ok() {
                chunk.push(b'\n');
            }
        }
        if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
            return;
        }
        if !full {
            return;
        }
        query.after = page.next;
    }
}

/// The response body: the pages as the pump renders them.
struct Lines(mpsc::Receiver<Result<Bytes, Cut>>);

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, Cut>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
