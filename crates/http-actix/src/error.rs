//! [`ApiError`]: every way a request can fail, and the one place that maps
//! them to HTTP.

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use domain::{SignatureError, StoreError};
use serde::Serialize;

pub use crate::problem::ErrorDetail;
use crate::tokens::Refusal;

/// Seconds a client is asked to wait before retrying a 503.
const RETRY_AFTER_SECS: &str = "1";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the signature is missing, malformed or wrong.
    #[error("invalid signature ({0})")]
    InvalidSignature(SignatureError),
    /// 401: a Standard Webhooks request that does not verify.
    #[error("invalid signature ({0})")]
    InvalidStandardSignature(domain::StandardSignatureError),
    /// 401: a read without a valid bearer token while `API_TOKENS` is set.
    #[error("unauthorized read ({0:?})")]
    Unauthorized(Refusal),
    /// 403: the request is authenticated but may not do this; says why.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 503: `STREAM_MAX_CLIENTS` streams are open already.
    #[error("too many open streams")]
    TooManyStreams,
    /// 404: a route whose sender is not configured.
    #[error("not configured")]
    NotConfigured(&'static str),
    /// 403: a WhatsApp verification handshake with the wrong mode or token.
    #[error("verification failed")]
    VerificationFailed,
    /// 413: the body is larger than `MAX_BODY_BYTES`.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 400: the body could not be read (a broken chunked encoding, say).
    #[error("malformed request body: {0}")]
    BadBody(String),
    /// 408: the body did not arrive in time.
    #[error("request body timed out")]
    BodyTimeout,
    /// 422: the input breaks the contract.
    #[error("validation failed ({} problems)", .0.len())]
    Validation(Vec<ErrorDetail>),
    /// 404: no such route.
    #[error("not found")]
    NotFound,
    /// 404: the route exists, the thing asked for does not; says which.
    #[error("not found: {0}")]
    Missing(&'static str),
    /// 405: the route exists, the method does not; carries the allowed method.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// 503 (transient, with `Retry-After`) or 500: the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 500: a blocking task was cancelled or panicked.
    #[error("blocking task failed: {0}")]
    Blocking(String),
    /// 500: a handler panicked (the message is logged, never sent).
    #[error("handler panicked: {0}")]
    Panicked(String),
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct OwnedDetail {
    detail: String,
}

#[derive(Serialize)]
struct Details<'a> {
    detail: &'a [ErrorDetail],
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidSignature(_) | Self::InvalidStandardSignature(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::TooManyStreams => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConfigured(_) => StatusCode::NOT_FOUND,
            Self::VerificationFailed | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadBody(_) => StatusCode::BAD_REQUEST,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Store(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::SchemaMismatch { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) | Self::Blocking(_) | Self::Panicked(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((RETRY_AFTER, RETRY_AFTER_SECS));
        }
        if let Self::MethodNotAllowed(allow) = self {
            response.insert_header((ALLOW, *allow));
        }
        if let Self::Unauthorized(refusal) = self {
            response.insert_header((
                WWW_AUTHENTICATE,
                match refusal {
                    Refusal::Missing => "Bearer realm=\"hookbox\"",
                    Refusal::Invalid => "Bearer realm=\"hookbox\", error=\"invalid_token\"",
                },
            ));
        }
        // 5xx bodies say nothing about the cause; the log line has it.
        let detail = match self {
            Self::Validation(details) => return response.json(Details { detail: details }),
            Self::InvalidSignature(_) => "invalid signature",
            Self::InvalidStandardSignature(e) => {
                if let domain::StandardSignatureError::OutsideTolerance { tolerance } = e {
                    return response.json(OwnedDetail {
                        detail: format!(
                            "invalid signature: webhook-timestamp is outside the tolerance of {tolerance} s"
                        ),
                    });
                }
                "invalid signature"
            }
            Self::Unauthorized(Refusal::Missing) => {
                "a bearer token is required: send Authorization: Bearer <token>"
            }
            Self::Unauthorized(Refusal::Invalid) => "the bearer token is not valid",
            Self::TooManyStreams => "too many open streams, retry later",
            Self::NotConfigured(detail) => detail,
            Self::VerificationFailed => "verification failed",
            Self::PayloadTooLarge => "payload too large",
            Self::BadBody(_) => "malformed request body",
            Self::BodyTimeout => "request body timed out",
            Self::NotFound => "not found",
            Self::Missing(detail) | Self::Forbidden(detail) => detail,
            Self::MethodNotAllowed(_) => "method not allowed",
            Self::Store(_) | Self::Blocking(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                "service unavailable, retry later"
            }
            Self::Store(_) | Self::Blocking(_) | Self::Panicked(_) => "internal server error",
        };
        response.json(Detail { detail })
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Blocking(e.to_string())
    }
}

/// The error and its sources, joined, for the one log line that records it.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
