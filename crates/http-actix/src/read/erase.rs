//! Erasure on request: `DELETE /messages/{message_id}` and
//! `DELETE /messages?from=<msisdn>`, for `ADMIN_TOKENS` only. Each
//! erasure is one audit log line and counts in
//! `hookbox_erased_messages_total`; open streams stop sending what it
//! erased.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{Erasure, Msisdn};
use serde::Serialize;

use super::message::{NOT_FOUND, path_id};
use super::messages_query::restore_plus;
use super::state::ReadState;
use crate::error::{ApiError, ErrorDetail};
use crate::guard::AdminAccess;
use crate::metrics::ERASED_MESSAGES;

/// Rows one erasure transaction deletes: small enough that inserts queued
/// behind it wait a few milliseconds, not the whole erasure.
const BATCH: u32 = 200;

#[derive(Serialize)]
struct Deleted {
    deleted: u64,
}

/// `DELETE /messages/{message_id}`: 200 `{"deleted":1}`, or 404.
pub(crate) async fn erase_message(
    admin: AdminAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/messages/{message_id}", &[])?;
    let id = path_id(&req)?;
    let deleted = erase(
        &state,
        Erasure::Message(id.clone()),
        &admin,
        "message_id",
        id.as_str(),
    )
    .await?;
    if deleted == 0 {
        return Err(ApiError::Missing(NOT_FOUND));
    }
    Ok(HttpResponse::Ok().json(Deleted { deleted }))
}

/// `DELETE /messages?from=<msisdn>`: every message of that sender, 200
/// with how many. Without `from` a 422: there is no erase-everything.
pub(crate) async fn erase_sender(
    admin: AdminAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "DELETE /messages", &["from"])?;
    let from = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "from")
        .map(|(_, v)| restore_plus(v.into_owned()))
        .filter(|f| !f.is_empty());
    let Some(from) = from else {
        return Err(ApiError::Validation(vec![ErrorDetail::new(
            &["query", "from"],
            "Field required: DELETE /messages erases one sender's messages; name them with from=",
            "missing",
        )]));
    };
    let sender = Msisdn::new(&from).map_err(|problem| {
        ApiError::Validation(vec![
            ErrorDetail::new(&["query", "from"], problem.to_string(), problem.code())
                .with_input(from.clone()),
        ])
    })?;
    let deleted = erase(&state, Erasure::Sender(sender), &admin, "from", &from).await?;
    Ok(HttpResponse::Ok().json(Deleted { deleted }))
}

/// Erases in batches until none is left, tells the streams, counts, and
/// writes the audit line (what was asked, how many, whose token: its
/// fingerprint, never the token).
async fn erase(
    state: &ReadState,
    what: Erasure,
    admin: &AdminAccess,
    field: &'static str,
    value: &str,
) -> Result<u64, ApiError> {
    state.hub.forget(what.clone());
    let mut deleted = 0_u64;
    loop {
        let store = Arc::clone(&state.store);
        let batch = what.clone();
        let n = web::block(move || store.erase(&batch, BATCH)).await??;
        deleted += n;
        if n < u64::from(BATCH) {
            break;
        }
    }
    metrics::counter!(ERASED_MESSAGES).increment(deleted);
    slog::info!(state.logger, "messages erased";
        "deleted" => deleted,
        field => value,
        "token" => admin.fingerprint.as_str());
    Ok(deleted)
}
