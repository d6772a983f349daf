//! [`ReadAccess`]: the extractor every read handler takes. With read tokens
//! configured it checks the bearer token; without, every request may read.
//! [`AdminAccess`]: what an erasure takes; only `ADMIN_TOKENS` grant it.

use std::future::{Ready, ready};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::error::ApiError;
use crate::tokens::ReadTokens;

/// The tokens reads require, as app data; `None` leaves reads open.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadGuard(pub(crate) Option<ReadTokens>);

/// Proof that the request may read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadAccess;

impl FromRequest for ReadAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let guard = req.app_data::<web::Data<ReadGuard>>();
        ready(match guard.and_then(|g| g.0.as_ref()) {
            None => Ok(Self),
            Some(tokens) => {
                let header = req
                    .headers()
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                tokens
                    .check(header)
                    .map(|()| Self)
                    .map_err(ApiError::Unauthorized)
            }
        })
    }
}

/// The tokens erasure requires, as app data, and the read tokens (to tell
/// a read token, 403, from a wrong one, 401); `None` disables erasure.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdminGuard {
    pub(crate) admin: Option<ReadTokens>,
    pub(crate) read: Option<ReadTokens>,
}

/// Proof that the request may erase, with the token's fingerprint for the
/// audit log.
#[derive(Debug, Clone)]
pub(crate) struct AdminAccess {
    pub(crate) fingerprint: String,
}

impl FromRequest for AdminAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let guard = req.app_data::<web::Data<AdminGuard>>();
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        ready(match guard.and_then(|g| g.admin.as_ref().map(|a| (a, g))) {
            None => Err(ApiError::Forbidden(
                "admin routes (erasure, subscriptions) are disabled: set ADMIN_TOKENS (or ADMIN_TOKENS_FILE) to allow them",
            )),
            Some((admin, guard)) => match admin.check(header) {
                Ok(()) => Ok(Self {
                    fingerprint: crate::tokens::bearer(header)
                        .map(crate::tokens::fingerprint)
                        .unwrap_or_default(),
                }),
                Err(refusal) => {
                    let reads = guard.read.as_ref().is_some_and(|r| r.check(header).is_ok());
                    Err(if reads {
                        ApiError::Forbidden(
                            "this token may read, but only ADMIN_TOKENS may erase or manage subscriptions",
                        )
                    } else {
                        ApiError::Unauthorized(refusal)
                    })
                }
            },
        })
    }
}
