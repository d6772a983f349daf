//! Reading a webhook's body: the size limit (declared and actual), the
//! time limit, and the JSON content type.

use std::time::Duration;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{HttpRequest, web};

use crate::error::ApiError;
use crate::problem::ErrorDetail;

/// How long a client may take to send a webhook body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole body, at most `limit` bytes.
pub(super) async fn read_body(
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
pub(super) fn unsupported_content_type(req: &HttpRequest) -> Option<ErrorDetail> {
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
